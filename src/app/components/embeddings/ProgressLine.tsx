/** A job's progress bar with phase, counts, percent, ETA and elapsed time (embeddings stage). */
import { useEffect, useState } from 'react';
import type { JobProgress } from '../../stores/job.ts';
import { formatDuration, formatInt } from '../../format.ts';

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

export function ProgressLine({ progress, startedAt, testId }: { progress: JobProgress | null; startedAt: number; testId: string }) {
  const now = useNow(true);
  const pct = progress?.total ? Math.min(100, (100 * progress.done) / progress.total) : null;
  return (
    <div data-testid={testId} aria-busy="true">
      <div
        className={`progress ${pct === null ? 'indeterminate' : ''}`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
      >
        <div className="progress-fill" style={pct === null ? undefined : { width: `${pct}%` }} />
      </div>
      <div className="row spread small">
        <span data-testid={`${testId}-phase`}>
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
          {pct !== null && <span>{pct.toFixed(0)} %</span>}
          {progress?.etaSeconds !== undefined && <span data-testid={`${testId}-eta`}> · ETA {formatDuration(progress.etaSeconds)}</span>}
          <span className="muted"> · {formatDuration((now - startedAt) / 1000)} elapsed</span>
        </span>
      </div>
    </div>
  );
}
