/** The valid_before / valid_after / test table of a GRPO run with its diagnostics, and the stored runs (Export / Delete). */
import { useState } from 'react';
import type { GrpoRunSummary } from '../../../../workers/grpoApi.ts';
import type { StudioErrorInfo } from '../../../core/errors.ts';
import { pct } from '../../diagnostics.ts';
import { downloadBytes } from '../../download.ts';
import { formatBytes, formatDuration } from '../../format.ts';
import { LocalTime } from '../LocalTime.tsx';
import { useGrpoStore } from '../../stores/grpo.ts';
import { CollapseBadge, CollapseWarning, ResultsTable, type ResultRow } from '../Diagnostics.tsx';
import { ErrorBox } from '../ErrorBox.tsx';

const STATUS_CLASS: Record<string, string> = { finished: 'badge-ok', cancelled: 'badge-warn', interrupted: 'badge-warn', failed: 'badge-bad', running: '' };

export function GrpoResultsTable({ run }: { run: GrpoRunSummary }) {
  const rows: ResultRow[] = [
    { key: 'valid_before', label: 'valid, SFT model (before GRPO)', result: run.validBefore },
    { key: 'valid_after', label: `valid, kept state (${run.bestEpoch === null ? '—' : run.bestEpoch < 0 ? 'the SFT state' : `epoch ${run.bestEpoch + 1}`})`, result: run.validAfter },
    { key: 'test', label: run.test || run.status === 'running' || run.active ? 'test, kept state' : `test, kept state (not tested: ${run.status})`, result: run.test },
  ];
  return (
    <section className="card" data-testid="grpo-results">
      <h3>Results of {run.name}{run.active ? ' (running)' : run.status === 'cancelled' ? ' (cancelled)' : ''}</h3>
      {run.status === 'cancelled' && (
        <p className="small muted" data-testid="grpo-cancelled-note">
          {run.bundleBytes
            ? `Cancelled: the best state validated so far is kept (${run.bestEpoch === null || run.bestEpoch < 0 ? 'the SFT state: no epoch improved on it' : `epoch ${run.bestEpoch + 1}`}); Export gives it. It was not tested.`
            : 'Cancelled before any update: nothing was kept.'}
        </p>
      )}
      <CollapseWarning result={run.test} what="the GRPO model on the test split" />
      <ResultsTable rows={rows} testId="grpo-results-table" rowTestId={(k) => `grpo-result-${k}`} />
      <p className="small muted">
        From joint run {run.jointRunName || run.jointRunId} · {run.preset} preset, G {run.config.group_size}, β {run.config.kl_coeff}, seed {run.seed} · {run.backend}
        {run.timings.total !== undefined ? ` · ${formatDuration(run.timings.total)}` : ''}
      </p>
    </section>
  );
}

export function GrpoRunList({ datasetId, runs, loaded, selected, onSelect }: { datasetId: string; runs: GrpoRunSummary[]; loaded: boolean; selected: string | null; onSelect: (id: string) => void }) {
  const running = useGrpoStore((s) => s.train.running);
  const { remove, exportBundle } = useGrpoStore.getState();
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  async function doExport(id: string) {
    setBusy(id);
    const r = await exportBundle(id);
    setBusy(null);
    if (!r.ok) setError(r.error);
    else { setError(null); downloadBytes(r.value.fileName, r.value.bytes, 'application/zip'); }
  }

  async function doDelete(id: string) {
    setBusy(id);
    const r = await remove(datasetId, id);
    setBusy(null);
    setError(r.ok ? null : r.error);
  }

  return (
    <section className="card" data-testid="grpo-runs">
      <h3>GRPO runs</h3>
      {error && <ErrorBox error={error} title="Run action failed" />}
      {!loaded ? <p className="muted">Loading…</p> : runs.length === 0 ? (
        <p className="muted" data-testid="grpo-none">No GRPO runs yet.</p>
      ) : (
        <table className="compact tok-table" data-testid="grpo-list">
          <thead>
            <tr><th>name</th><th>status</th><th>from</th><th>epochs</th><th>valid ndcg@10 before → after</th><th>test ndcg@10</th><th title="Share of generated test codes that match no item">test invalid</th><th>size</th><th>created</th><th /></tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-testid="grpo-row" className={selected === r.id ? 'selected' : undefined}>
                <td><button type="button" className="link" data-testid="grpo-row-show" onClick={() => onSelect(r.id)}>{r.name}</button><CollapseBadge result={r.test} /></td>
                <td><span className={`badge ${STATUS_CLASS[r.status] ?? ''}`} data-testid="grpo-row-status" title={r.error ?? undefined}>{r.active ? 'running' : r.status}</span></td>
                <td>{r.jointRunName || '—'}</td>
                <td>{r.history.length}</td>
                <td>{r.validBefore ? (r.validBefore.metrics['ndcg@10'] ?? 0).toFixed(4) : '—'} → {r.validAfter ? (r.validAfter.metrics['ndcg@10'] ?? 0).toFixed(4) : '—'}</td>
                <td>{r.test ? (r.test.metrics['ndcg@10'] ?? 0).toFixed(4) : '—'}</td>
                <td>{r.test ? pct(r.test.invalidRate) : '—'}</td>
                <td>{r.bundleBytes ? formatBytes(r.bundleBytes) : '—'}</td>
                <td><LocalTime ms={r.createdAt} /></td>
                <td>
                  <button type="button" data-testid="grpo-export" disabled={!r.bundleBytes || busy === r.id} onClick={() => void doExport(r.id)}>Export</button>{' '}
                  <button type="button" data-testid="grpo-delete" disabled={r.active || running || busy === r.id} onClick={() => void doDelete(r.id)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
