/** Per-user sequence viewer: search users (client.getUsers), pick one, see the chronological items. */
import { useEffect, useState } from 'react';
import type { Page, SequenceEntry, UserRow } from '../../../workers/api.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import { getStudioClient } from '../workerClient.ts';
import { formatInt, formatUtcDate, plural } from '../format.ts';
import { ErrorBox } from './ErrorBox.tsx';
import { Pager } from './ItemTable.tsx';
import { useDebounced } from './useDebounced.ts';

const PAGE_SIZE = 12;

export function SequenceViewer({ datasetId, hasTimestamps }: { datasetId: string; hasTimestamps: boolean }) {
  const [query, setQuery] = useState('');
  const [offset, setOffset] = useState(0);
  const [users, setUsers] = useState<Page<UserRow> | null>(null);
  const [selected, setSelected] = useState<UserRow | null>(null);
  const [sequence, setSequence] = useState<SequenceEntry[] | null>(null);
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const debounced = useDebounced(query.trim(), 250);

  useEffect(() => {
    let live = true;
    void getStudioClient()
      .getUsers(datasetId, { offset, limit: PAGE_SIZE, query: debounced || undefined })
      .then((res) => {
        if (!live) return;
        if (res.ok) {
          setUsers(res.value);
          setError(null);
        } else setError(res.error);
      });
    return () => {
      live = false;
    };
  }, [datasetId, offset, debounced]);

  useEffect(() => {
    if (!selected) return;
    let live = true;
    void getStudioClient()
      .getUserSequence(datasetId, selected.index)
      .then((res) => {
        if (!live) return;
        if (res.ok) {
          setSequence(res.value);
          setError(null);
        } else setError(res.error);
      });
    return () => {
      live = false;
    };
  }, [datasetId, selected]);

  return (
    <section className="card" data-testid="sequence-viewer">
      <h3>User sequences</h3>
      {error && <ErrorBox error={error} title="Could not read the users" />}
      <div className="seq-layout">
        <div className="user-picker">
          <input
            type="search"
            placeholder="Search user id"
            aria-label="Search users"
            data-testid="user-search"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setOffset(0);
            }}
          />
          <ul className="user-list">
            {users?.rows.map((u) => (
              <li key={u.index}>
                <button
                  type="button"
                  className={`user-button ${selected?.index === u.index ? 'selected' : ''}`}
                  data-testid="user-option"
                  onClick={() => {
                    setSelected(u);
                    setSequence(null);
                  }}
                >
                  <span className="mono">{u.userId}</span>
                  <span className="muted small">{plural(u.length, 'item')}</span>
                </button>
              </li>
            ))}
            {users && users.rows.length === 0 && <li className="muted small">No users match.</li>}
          </ul>
          <Pager offset={offset} limit={PAGE_SIZE} total={users?.total ?? 0} onChange={setOffset} />
        </div>
        <div className="sequence">
          {!selected ? (
            <p className="muted">Pick a user to see their items in order, with the leave-one-out split.</p>
          ) : !sequence ? (
            <p className="muted">Loading…</p>
          ) : (
            <>
              <p className="small">
                User <strong className="mono" data-testid="selected-user">{selected.userId}</strong> ·{' '}
                {formatInt(sequence.length)} interactions, oldest first
              </p>
              <div className="table-wrap">
                <table className="table" data-testid="sequence-table">
                  <thead>
                    <tr>
                      <th className="num">#</th>
                      <th>{hasTimestamps ? 'Date (UTC)' : 'Position'}</th>
                      <th className="num">Item</th>
                      <th>ASIN / raw id</th>
                      <th>Title</th>
                      <th>Split</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sequence.map((e, i) => (
                      <tr key={i} data-testid="sequence-row">
                        <td className="num">{i + 1}</td>
                        <td className="nowrap">
                          {e.time === null ? '—' : hasTimestamps ? formatUtcDate(e.time) : formatInt(e.time)}
                        </td>
                        <td className="num">{e.itemId}</td>
                        <td className="mono">{e.asin}</td>
                        <td className="title-cell">{e.title ?? <span className="muted">—</span>}</td>
                        <td>
                          <span className={`split split-${e.split}`} data-testid="split-badge">{e.split}</span>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </div>
      </div>
    </section>
  );
}
