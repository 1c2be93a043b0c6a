/** The current job: phase, progress bar with percent and ETA, cancel; then its outcome. */
import { useEffect, useState } from 'react';
import { useJobStore } from '../stores/job.ts';
import { formatDuration, formatInt } from '../format.ts';
import { ErrorBox } from './ErrorBox.tsx';

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

export function JobPanel() {
  const running = useJobStore((s) => s.running);
  const cancelling = useJobStore((s) => s.cancelling);
  const label = useJobStore((s) => s.label);
  const progress = useJobStore((s) => s.progress);
  const startedAt = useJobStore((s) => s.startedAt);
  const error = useJobStore((s) => s.error);
  const cancel = useJobStore((s) => s.cancel);
  const dismiss = useJobStore((s) => s.dismiss);
  const now = useNow(running);

  if (running) {
    const pct = progress?.total ? Math.min(100, (100 * progress.done) / progress.total) : null;
    return (
      <section className="card job-panel" data-testid="job-panel" aria-busy="true">
        <div className="row spread">
          <strong>{label}</strong>
          <button type="button" className="danger" data-testid="cancel-job" onClick={() => void cancel()} disabled={cancelling}>
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        </div>
        <div
          className={`progress ${pct === null ? 'indeterminate' : ''}`}
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct ?? undefined}
          data-testid="job-progress"
        >
          <div className="progress-fill" style={pct === null ? undefined : { width: `${pct}%` }} />
        </div>
        <div className="row spread small">
          <span data-testid="job-phase">
            {progress ? progress.phase : 'starting'}
            {progress?.message ? ` — ${progress.message}` : ''}
            {progress && progress.unit && (
              <span className="muted">
                {' '}
                · {formatInt(progress.done)}
                {progress.total !== undefined ? ` / ${formatInt(progress.total)}` : ''} {progress.unit}
              </span>
            )}
          </span>
          <span>
            {pct !== null && <span data-testid="job-percent">{pct.toFixed(0)} %</span>}
            {progress?.etaSeconds !== undefined && <span> · ETA {formatDuration(progress.etaSeconds)}</span>}
            <span className="muted"> · {formatDuration((now - startedAt) / 1000)} elapsed</span>
          </span>
        </div>
      </section>
    );
  }

  if (error?.code === 'cancelled') {
    return (
      <section className="card notice" data-testid="job-cancelled">
        <div className="row spread">
          <span>{label}: cancelled. The stored datasets are unchanged.</span>
          <button type="button" className="link-button" onClick={dismiss}>Dismiss</button>
        </div>
      </section>
    );
  }
  if (error) return <ErrorBox error={error} title={`${label} failed — nothing was stored`} onDismiss={dismiss} />;
  return null;
}

/** Non-fatal warnings of the last successful import (shown on the datasets and dataset pages). */
export function ImportWarnings({ datasetId }: { datasetId?: string }) {
  const result = useJobStore((s) => s.result);
  const log = useJobStore((s) => s.log);
  const dismiss = useJobStore((s) => s.dismiss);
  if (!result || (datasetId && result.dataset.id !== datasetId)) return null;
  const logWarnings = log.filter((l) => l.level === 'warn').map((l) => l.message);
  const warnings = [...new Set([...result.warnings, ...logWarnings])];
  return (
    <section className={`card ${warnings.length ? 'warn-box' : 'notice'}`} data-testid="import-result">
      <div className="row spread">
        <span>
          Imported <strong>{result.dataset.name}</strong>
          {warnings.length ? ` with ${warnings.length} warning${warnings.length > 1 ? 's' : ''}:` : ' without warnings.'}
        </span>
        <button type="button" className="link-button" onClick={dismiss}>Dismiss</button>
      </div>
      {warnings.length > 0 && (
        <ul className="warning-list" data-testid="import-warnings">
          {warnings.slice(0, 50).map((w, i) => <li key={i}>{w}</li>)}
        </ul>
      )}
    </section>
  );
}
