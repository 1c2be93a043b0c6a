/** Stored joint runs (Resume / Delete / Export bundle / Continue on the reference trainer / Recommendations), interrupted runs, bundle import. */
import { useRef, useState } from 'react';
import type { JointImportResult, JointRunSummary } from '../../../../workers/jointApi.ts';
import type { StudioErrorInfo } from '../../../core/errors.ts';
import { downloadBytes } from '../../download.ts';
import { formatBytes, plural } from '../../format.ts';
import { LocalTime } from '../LocalTime.tsx';
import { pct } from '../../diagnostics.ts';
import { runStatusLabel } from '../../../core/runs/runTable.ts';
import { interruptedRuns, useJointStore } from '../../stores/joint.ts';
import { CollapseBadge } from '../Diagnostics.tsx';
import { ErrorBox } from '../ErrorBox.tsx';

const STATUS_CLASS: Record<string, string> = { finished: 'badge-ok', paused: 'badge-warn', cancelled: 'badge-warn', failed: 'badge-bad', running: '' };

function epochsText(r: JointRunSummary): string {
  const alt = r.history.filter((h) => h.stage === 'alternating').length;
  const ft = r.history.filter((h) => h.stage === 'finetune').length;
  return r.history.length ? `${alt} + ${ft} finetune` : '—';
}

export function InterruptedRuns({ datasetId, runs }: { datasetId: string; runs: JointRunSummary[] }) {
  const running = useJointStore((s) => s.train.running);
  const resume = useJointStore((s) => s.resume);
  const stale = interruptedRuns(runs);
  if (!stale.length) return null;
  return (
    <section className="card" data-testid="joint-interrupted">
      <h3>Interrupted runs</h3>
      <p className="small muted">These runs stopped without finishing (page reload, closed tab or a crashed worker). Every finished epoch is stored; Resume continues from the last one.</p>
      <ul>
        {stale.map((r) => (
          <li key={r.id} data-testid="joint-interrupted-row">
            <strong>{r.name}</strong> — {r.progress ? `${r.progress.stage} stage, next epoch ${r.progress.nextEpoch + 1}` : 'before the first epoch'} · {plural(r.history.length, 'epoch')} stored{' '}
            <button type="button" data-testid="joint-resume-interrupted" disabled={running} onClick={() => void resume(datasetId, r)}>Resume</button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function RunList({ datasetId, runs, loaded, onRecommend, selected, onSelect }: {
  datasetId: string; runs: JointRunSummary[]; loaded: boolean; onRecommend: (id: string) => void; selected: string | null; onSelect: (id: string) => void;
}) {
  const running = useJointStore((s) => s.train.running);
  const { resume, remove, exportBundle, exportReference } = useJointStore.getState();
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [gpus, setGpus] = useState(1);

  async function doExport(id: string, kind: 'bundle' | 'reference' = 'bundle') {
    setBusy(`${kind}:${id}`);
    const r = kind === 'bundle' ? await exportBundle(id) : await exportReference(id, gpus);
    setBusy(null);
    if (!r.ok) setError(r.error);
    else { setError(null); downloadBytes(r.value.fileName, r.value.bytes, 'application/zip'); }
  }

  return (
    <section className="card" data-testid="joint-runs">
      <h3>Runs</h3>
      {error && <ErrorBox error={error} title="Run action failed" />}
      {runs.some((r) => r.status === 'finished' && r.checkpointBytes > 0) && (
        <p className="small muted">
          <label>GPUs for “Continue on the reference trainer”{' '}
            <input type="number" data-testid="joint-reference-gpus" min={1} max={64} value={gpus} style={{ width: '4em' }} onChange={(e) => setGpus(Math.max(1, Math.min(64, Math.round(Number(e.target.value)) || 1)))} />
          </label>{' '}
          — a zip to unpack into the reference PyTorch repository: its config, dataset folder and checkpoints, accelerate's DDP config and run.sh (optimizer state and RNG are not carried over).
        </p>
      )}
      {!loaded ? <p className="muted">Loading…</p> : runs.length === 0 ? (
        <p className="muted" data-testid="joint-none">No joint runs yet.</p>
      ) : (
        <table className="compact tok-table" data-testid="joint-list">
          <thead>
            <tr>
              <th>name</th><th>status</th><th>epochs</th><th>test R@10</th><th>test N@10</th>
              <th title="Share of generated test codes that match no item">invalid</th>
              <th title="Distinct first-ranked test recommendations / test users">distinct top-1</th>
              <th title="History-shuffle test on the test split, in nats (≈ 0: the history is not used)">shuffle gap</th>
              <th>before finetune N@10</th><th>backend</th><th>updated</th><th>checkpoint</th><th />
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-testid="joint-row" data-status={r.status} className={selected === r.id ? 'selected' : undefined}>
                <td title={r.source}>
                  <button type="button" className="link-button" data-testid="joint-row-name" title="Show this run's results" onClick={() => onSelect(r.id)}>{r.name}</button>
                  {r.meta.ablation && r.meta.ablation !== 'full' ? <span className="tok-chip">{String(r.meta.ablation)}</span> : null}
                  <CollapseBadge result={r.test} />
                </td>
                <td><span className={`badge ${STATUS_CLASS[r.status] ?? ''}`} data-testid="joint-status" title={r.error ?? undefined}>{runStatusLabel(r.status, { active: r.active, errorCode: r.errorCode })}</span></td>
                <td data-testid="joint-epochs">{epochsText(r)}</td>
                <td data-testid="joint-test-recall">{r.test?.metrics['recall@10']?.toFixed(4) ?? '—'}</td>
                <td data-testid="joint-test-ndcg">{r.test?.metrics['ndcg@10']?.toFixed(4) ?? '—'}</td>
                <td data-testid="joint-test-invalid">{r.test ? pct(r.test.invalidRate) : '—'}</td>
                <td data-testid="joint-test-distinct">{r.test?.diagnostics ? `${r.test.diagnostics.distinctTop1} / ${r.test.diagnostics.users}` : '—'}</td>
                <td data-testid="joint-test-shuffle">{r.test?.diagnostics?.shuffle ? r.test.diagnostics.shuffle.gap.toFixed(4) : '—'}</td>
                <td>{r.testBeforeFinetune?.metrics['ndcg@10']?.toFixed(4) ?? '—'}</td>
                <td>{r.backend}</td>
                <td className="small"><LocalTime ms={r.updatedAt} /></td>
                <td className="small">{r.checkpointBytes ? formatBytes(r.checkpointBytes) : '—'}</td>
                <td className="row">
                  {r.resumable && <button type="button" data-testid="joint-resume" disabled={running} onClick={() => void resume(datasetId, r)}>Resume</button>}
                  {r.checkpointBytes > 0 && <button type="button" data-testid="joint-recs" onClick={() => onRecommend(r.id)}>Recommendations</button>}
                  {r.checkpointBytes > 0 && <button type="button" data-testid="joint-export" disabled={busy === `bundle:${r.id}`} onClick={() => void doExport(r.id)}>{busy === `bundle:${r.id}` ? 'Exporting…' : 'Export bundle'}</button>}
                  {r.checkpointBytes > 0 && r.status === 'finished' && (
                    <button type="button" data-testid="joint-export-reference" disabled={busy === `reference:${r.id}`} title={`Download the run laid out for the reference PyTorch trainer (accelerate, ${gpus} GPU${gpus === 1 ? '' : 's'})`} onClick={() => void doExport(r.id, 'reference')}>
                      {busy === `reference:${r.id}` ? 'Exporting…' : 'Continue on the reference trainer'}
                    </button>
                  )}
                  <button type="button" data-testid="joint-delete" disabled={r.active} onClick={() => {
                    if (confirm(`Delete run "${r.name}" and its checkpoint?`)) void remove(datasetId, r.id).then((x) => setError(x.ok ? null : x.error));
                  }}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ImportBundlePanel({ datasetId }: { datasetId: string }) {
  const importBundle = useJointStore((s) => s.importBundle);
  const input = useRef<HTMLInputElement>(null);
  const [files, setFiles] = useState<File[]>([]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<JointImportResult | null>(null);
  const [error, setError] = useState<StudioErrorInfo | null>(null);

  async function submit() {
    if (!files.length) return;
    setBusy(true);
    setResult(null);
    setError(null);
    const r = await importBundle(datasetId, files);
    setBusy(false);
    if (r.ok) setResult(r.value);
    else setError(r.error);
  }

  return (
    <section className="card" data-testid="joint-import-panel">
      <h3>Import a bundle</h3>
      <p className="small muted">
        A bundle exported here (.zip), or its files, or the reference trainer's run folder: &lt;epoch&gt;.pt, &lt;epoch&gt;.pt.rqvae,
        &lt;epoch&gt;.code.json (the newest epoch when there are several) and its config YAML (reference keys, mapped onto the studio&apos;s), or a
        “Continue on the reference trainer” zip. Every tensor must match its expected name and shape; anything else is refused and nothing is stored.
      </p>
      <div className="row tok-controls">
        <input ref={input} type="file" multiple accept=".zip,.safetensors,.json,.yaml,.yml,.csv,.pt,.rqvae" data-testid="joint-import-file"
          onChange={(e) => setFiles(Array.from(e.target.files ?? []))} />
        <button type="button" data-testid="joint-import-submit" disabled={!files.length || busy} onClick={() => void submit()}>{busy ? 'Importing…' : 'Import'}</button>
      </div>
      {result && (
        <div data-testid="joint-import-result">
          <p><strong data-testid="joint-import-message">{result.message}</strong></p>
          <p className="small muted" data-testid="joint-import-detail">{result.detail}; stored as run “{result.run.name}”.</p>
          {result.warnings.length > 0 && <ul className="small warn-list">{result.warnings.map((w, i) => <li key={i}>{w}</li>)}</ul>}
        </div>
      )}
      {error && <ErrorBox error={error} title="Import refused" />}
    </section>
  );
}
