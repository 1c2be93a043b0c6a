/** Paged item table (client.getItems): search by id/asin/title, sort by id or count. */
import { useEffect, useState } from 'react';
import type { ItemRow, Page } from '../../../workers/api.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import { getStudioClient } from '../workerClient.ts';
import { formatInt } from '../format.ts';
import { ErrorBox } from './ErrorBox.tsx';
import { useDebounced } from './useDebounced.ts';

const PAGE_SIZE = 20;

export function ItemTable({ datasetId }: { datasetId: string }) {
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<'id' | 'count'>('id');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page<ItemRow> | null>(null);
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const debounced = useDebounced(query.trim(), 250);

  useEffect(() => {
    let live = true;
    void getStudioClient()
      .getItems(datasetId, { offset, limit: PAGE_SIZE, query: debounced || undefined, sort })
      .then((res) => {
        if (!live) return;
        if (res.ok) {
          setPage(res.value);
          setError(null);
        } else setError(res.error);
      });
    return () => {
      live = false;
    };
  }, [datasetId, offset, debounced, sort]);

  const total = page?.total ?? 0;
  return (
    <section className="card" data-testid="item-table">
      <div className="row spread">
        <h3>Items</h3>
        <div className="row">
          <input
            type="search"
            placeholder="Search id, ASIN or title"
            aria-label="Search items"
            data-testid="item-search"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setOffset(0);
            }}
          />
          <label className="small">
            Sort{' '}
            <select
              value={sort}
              data-testid="item-sort"
              onChange={(e) => {
                setSort(e.target.value as 'id' | 'count');
                setOffset(0);
              }}
            >
              <option value="id">by id</option>
              <option value="count">by interactions</option>
            </select>
          </label>
        </div>
      </div>
      {error && <ErrorBox error={error} title="Could not read the items" />}
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th className="num">Id</th>
              <th>ASIN / raw id</th>
              <th>Title</th>
              <th className="num">Interactions</th>
            </tr>
          </thead>
          <tbody>
            {page?.rows.map((r) => (
              <tr key={r.id} data-testid="item-row">
                <td className="num">{r.id}</td>
                <td className="mono">{r.asin}</td>
                <td className="title-cell">{r.title ?? <span className="muted">—</span>}</td>
                <td className="num">{formatInt(r.count)}</td>
              </tr>
            ))}
            {page && page.rows.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">No items match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} limit={PAGE_SIZE} total={total} onChange={setOffset} testId="item-pager" />
    </section>
  );
}

export function Pager({
  offset, limit, total, onChange, testId,
}: { offset: number; limit: number; total: number; onChange: (offset: number) => void; testId?: string }) {
  if (total === 0) return null;
  return (
    <div className="row pager small" data-testid={testId}>
      <button type="button" className="secondary" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        ← Prev
      </button>
      <span>
        {formatInt(offset + 1)}–{formatInt(Math.min(total, offset + limit))} of {formatInt(total)}
      </span>
      <button type="button" className="secondary" disabled={offset + limit >= total} onClick={() => onChange(offset + limit)}>
        Next →
      </button>
    </div>
  );
}
