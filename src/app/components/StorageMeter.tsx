/** Browser storage usage/quota (from the worker) and a persistent-storage request (in the page). */
import { useDatasetsStore } from '../stores/datasets.ts';
import { formatBytes, formatPercent } from '../format.ts';

export function StorageMeter() {
  const storage = useDatasetsStore((s) => s.storage);
  const storageError = useDatasetsStore((s) => s.storageError);
  const persistAnswer = useDatasetsStore((s) => s.persistAnswer);
  const requestPersist = useDatasetsStore((s) => s.requestPersist);

  const fraction = storage && storage.quota > 0 ? Math.min(1, storage.usage / storage.quota) : 0;
  return (
    <section className="card storage-meter" data-testid="storage-meter">
      <h3>Browser storage</h3>
      {storage ? (
        <>
          <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={storage.quota} aria-valuenow={storage.usage}>
            <div className="meter-fill" style={{ width: `${Math.max(fraction * 100, 0.5)}%` }} />
          </div>
          <p className="small">
            {formatBytes(storage.usage)} used of {formatBytes(storage.quota)} ({formatPercent(fraction, 2)}) ·{' '}
            {storage.persisted ? 'persistent' : 'best-effort (the browser may evict it under pressure)'}
          </p>
        </>
      ) : storageError ? (
        <p className="small bad">Storage estimate unavailable: {storageError.message}</p>
      ) : (
        <p className="small muted">Measuring…</p>
      )}
      <div className="row">
        <button type="button" onClick={() => void requestPersist()} disabled={storage?.persisted}>
          Request persistent storage
        </button>
        {persistAnswer && (
          <span className="small" data-testid="persist-answer">
            {persistAnswer === 'granted'
              ? 'Granted: stored data will not be evicted automatically.'
              : persistAnswer === 'denied'
                ? 'Denied by the browser (it decides from site engagement; try again after bookmarking or installing).'
                : 'This browser does not support persistent storage.'}
          </span>
        )}
      </div>
    </section>
  );
}
