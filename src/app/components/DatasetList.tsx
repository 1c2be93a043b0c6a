/** The stored datasets: name, counts, creation time, size; open and delete (with a confirm step). */
import { useState } from 'react';
import type { DatasetSummary } from '../../../workers/api.ts';
import { useDatasetsStore } from '../stores/datasets.ts';
import { useJobStore } from '../stores/job.ts';
import { datasetHref } from '../route.ts';
import { formatBytes, formatInt } from '../format.ts';
import { LocalTime } from './LocalTime.tsx';
import { ErrorBox } from './ErrorBox.tsx';

function DeleteButton({ dataset }: { dataset: DatasetSummary }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const remove = useDatasetsStore((s) => s.remove);
  const jobRunning = useJobStore((s) => s.running);

  async function onClick() {
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setBusy(true);
    const ok = await remove(dataset.id);
    if (!ok) {
      setBusy(false);
      setConfirming(false);
    }
  }

  return (
    <span className="row nowrap">
      <button
        type="button"
        className={confirming ? 'danger' : 'secondary'}
        data-testid="delete-dataset"
        aria-label={confirming ? `Confirm delete of ${dataset.name}` : `Delete ${dataset.name}`}
        onClick={() => void onClick()}
        disabled={busy || jobRunning}
      >
        {busy ? 'Deleting…' : confirming ? 'Confirm delete' : 'Delete'}
      </button>
      {confirming && !busy && (
        <button type="button" className="link-button" onClick={() => setConfirming(false)}>
          keep
        </button>
      )}
    </span>
  );
}

export function DatasetList() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const loaded = useDatasetsStore((s) => s.loaded);
  const listError = useDatasetsStore((s) => s.listError);
  const deleteError = useDatasetsStore((s) => s.deleteError);

  return (
    <section className="card">
      <h3>Stored datasets</h3>
      {listError && <ErrorBox error={listError} title="Could not list the stored datasets" />}
      {deleteError && <ErrorBox error={deleteError} title="Delete failed — the dataset is unchanged" />}
      {!loaded ? (
        <p className="muted">Reading the browser's storage…</p>
      ) : datasets.length === 0 ? (
        <p className="muted" data-testid="no-datasets">
          No datasets yet. Load the bundled sample or import your own files below.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="dataset-list">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Users</th>
                <th className="num">Items</th>
                <th className="num">Interactions</th>
                <th>Format</th>
                <th>Created</th>
                <th className="num">Size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {datasets.map((d) => (
                <tr key={d.id} data-testid="dataset-row" data-name={d.name}>
                  <td>
                    <a href={datasetHref(d.id)} data-testid="open-dataset">{d.name}</a>
                  </td>
                  <td className="num" data-testid="row-users">{formatInt(d.stats.num_users)}</td>
                  <td className="num" data-testid="row-items">{formatInt(d.stats.num_items)}</td>
                  <td className="num" data-testid="row-interactions">{formatInt(d.stats.num_interactions)}</td>
                  <td className="mono">{d.source.format}</td>
                  <td className="nowrap"><LocalTime ms={d.createdAt} /></td>
                  <td className="num nowrap">{formatBytes(d.sizeBytes)}</td>
                  <td className="actions">
                    <DeleteButton dataset={d} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
