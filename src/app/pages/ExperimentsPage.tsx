/**
 * Experiments: the paper's Table 4 on a dataset as a sweep — pick the inputs, a joint preset (with
 * the joint page's editable values), the ablation variants and the number of seeds; the worker
 * trains the runs one after the other (each an ordinary, resumable joint run listed on the Runs
 * page), and the table fills in with mean ± sd per variant and the paired comparison with full.
 * A stored sweep survives a reload; Resume continues its remaining runs.
 */
import { useEffect, useMemo, useState } from 'react';
import type { ExperimentSummary } from '../../../workers/experimentsApi.ts';
import type { AblationName } from '../../../workers/jointApi.ts';
import { ABLATION_DIAGNOSTICS, ABLATION_LABELS, ABLATION_VARIANTS, ablationCsv, ablationOrdering, type AblationVariantSummary, type PairedComparison } from '../../core/experiments/ablation.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import { safeName } from '../../core/names.ts';
import { CollapseBadge } from '../components/Diagnostics.tsx';
import { ErrorBox } from '../components/ErrorBox.tsx';
import { PauseButton, PausedLabel } from '../components/PauseButton.tsx';
import { ProgressLine } from '../components/embeddings/ProgressLine.tsx';
import { InputSelects } from '../components/joint/ConfigPanel.tsx';
import { StageConfigForm, StartReasons } from '../components/StageConfigForm.tsx';
import { JOINT_STAGE } from '../../core/stages/joint.ts';
import type { StageDecl } from '../../core/stages/fields.ts';
import { checkForm, formContext, startBlockers } from '../stageForm.ts';
import { useBackendStore } from '../stores/backend.ts';
import { pct } from '../diagnostics.ts';
import { downloadBytes } from '../download.ts';
import { EXPERIMENT_HIDDEN, experimentSummary, fmtMeanSd, pairedParts } from '../experiments.ts';
import { SWEEP_DECL, sweepSeeds } from '../../core/stages/experiments.ts';
import { formatDuration, formatInt } from '../format.ts';
import { LocalTime } from '../components/LocalTime.tsx';
import { datasetHref, experimentsHref, jointHref, navigate } from '../route.ts';
import { useDatasetsStore } from '../stores/datasets.ts';
import { useExperimentsStore } from '../stores/experiments.ts';
import { chooseInputs, useJointStore } from '../stores/joint.ts';
import { checkedVariants } from '../stores/experiments.ts';
import '../diagnostics.css';
import '../tokenizer.css';

const STATUS_CLASS: Record<string, string> = { finished: 'badge-ok', paused: 'badge-warn', cancelled: 'badge-warn', failed: 'badge-bad', running: '' };

function SweepForm({ datasetId }: { datasetId: string }) {
  const inputs = useJointStore((s) => s.inputs[datasetId]);
  const presets = useJointStore((s) => s.presets);
  const presetsError = useJointStore((s) => s.presetsError);
  const preset = useExperimentsStore((s) => s.preset);
  const values = useExperimentsStore((s) => s.values);
  const sweepValues = useExperimentsStore((s) => s.sweep);
  const job = useExperimentsStore((s) => s.job);
  const { initForm, setPreset, setValue, toggleVariant, setSweepValue, start, cancel, togglePause } = useExperimentsStore.getState();
  const [embeddingId, setEmbeddingId] = useState('');
  const [tokenizerId, setTokenizerId] = useState('');
  const [name, setName] = useState('');

  useEffect(() => { void useJointStore.getState().loadPresets(); }, []);
  useEffect(() => { if (presets) initForm(presets); }, [presets, initForm]);

  const info = presets?.find((p) => p.name === preset);
  const { emb, tok } = inputs ? chooseInputs(inputs, embeddingId, tokenizerId) : { emb: undefined, tok: undefined };
  const sweepCheck = checkForm(SWEEP_DECL, preset, sweepValues);
  const variants = checkedVariants(sweepValues.variants ?? '');
  const seeds = sweepCheck.config ? sweepSeeds(sweepCheck.config) : null;
  const mine = job.datasetId === datasetId;
  const backend = useBackendStore((s) => s.report?.backend);
  const check = checkForm(JOINT_STAGE, preset, values, formContext(emb?.rows, backend));
  const blockers = startBlockers({ errors: [...sweepCheck.errors, ...check.errors] }, [
    job.running && 'a sweep is running',
    !emb && 'choose a semantic table',
    !tok && 'choose a tokenizer for this table',
    !presets && 'the presets are loading',
  ]);
  const canStart = blockers.length === 0;

  return (
    <section className="card" data-testid="exp-form">
      <h3>New ablation sweep (Table 4)</h3>
      <p className="small muted">
        Each variant × seed is one joint run of the chosen preset (named &lt;dataset&gt;_ablate_&lt;variant&gt;_seed&lt;seed&gt;), trained one after the
        other in the worker; every run is stored after each epoch and resumable, and appears on the Runs page. The seeds run up from first_seed (2020, 2021, … by default).
      </p>
      {presetsError && <ErrorBox error={presetsError} title="Could not read the presets" />}
      <div className="row tok-controls">
        {inputs && <InputSelects inputs={inputs} embeddingId={embeddingId} tokenizerId={tokenizerId} onEmbedding={setEmbeddingId} onTokenizer={setTokenizerId} testIdPrefix="exp" />}
        <label>Joint preset{' '}
          <select data-testid="exp-preset" value={preset} disabled={!presets} onChange={(e) => presets && setPreset(e.target.value, presets)}>
            {(presets ?? []).map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </select>
        </label>
        <label>Sweep name{' '}
          <input data-testid="exp-name" value={name} placeholder="auto" onChange={(e) => setName(e.target.value)} />
        </label>
      </div>
      {info && <p className="small muted" data-testid="exp-preset-description">{info.description}</p>}
      <fieldset className="exp-variants" data-testid="exp-variants">
        <legend className="small">Variants</legend>
        {ABLATION_VARIANTS.map((v) => (
          <label key={v}>
            <input type="checkbox" data-testid={`exp-variant-${v}`} checked={variants.includes(v)} onChange={() => toggleVariant(v)} />
            {ABLATION_LABELS[v]}
          </label>
        ))}
      </fieldset>
      {sweepCheck.byField.variants && <p className="small error" data-testid="exp-sweep-error-variants">{sweepCheck.byField.variants.join('; ')}</p>}
      <StageConfigForm decl={SWEEP_DECL as StageDecl<object>} preset={preset} values={sweepValues} onChange={setSweepValue} check={sweepCheck} testIdPrefix="exp-sweep" hidden={['variants']} disabled={job.running} />
      <p className="small" data-testid="exp-plan">
        {seeds ? `${variants.length} variant(s) × ${seeds.length} seed(s) (${seeds.length > 1 ? `${seeds[0]}–${seeds[seeds.length - 1]}` : seeds[0]}) = ${variants.length * seeds.length} joint run(s).` : 'Fix the sweep values above.'}
        {variants.length > 0 && !variants.includes('full') && ' Without "full" the table has no paired comparison.'}
      </p>
      <details className="exp-fields" data-testid="exp-fields-details">
        <summary>Joint values for every run (edited from the {preset} preset; variant and seed are set per run)</summary>
        <StageConfigForm decl={JOINT_STAGE as StageDecl<object>} preset={preset} values={values} onChange={setValue} check={check} testIdPrefix="exp" hidden={EXPERIMENT_HIDDEN} disabled={job.running} />
      </details>
      <div className="row tok-controls">
        <button type="button" className="primary" data-testid="exp-start" data-shortcut="start" disabled={!canStart}
          onClick={() => emb && tok && void start(datasetId, emb.id, tok.id, name.trim())}>
          Start sweep
        </button>
        {job.running && (
          <button type="button" data-testid="exp-cancel" data-shortcut="cancel" title="Stops the current run after keeping its last finished epoch (Alt+X); Resume continues the sweep" disabled={job.cancelling || !job.cancelFn} onClick={() => void cancel()}>
            {job.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {job.running && <PauseButton testId="exp-pause" paused={job.paused} disabled={job.cancelling || !job.pauseFn} onToggle={() => void togglePause()} />}
      </div>
      {!job.running && <StartReasons reasons={blockers} testId="exp-start-reasons" />}
      {mine && job.running && (
        <>
          {job.paused && <PausedLabel testId="exp-paused" />}
          <ProgressLine progress={job.progress} startedAt={job.startedAt} testId="exp-progress" />
        </>
      )}
      {mine && job.result && <p className="small" data-testid="exp-note">{job.result.note}</p>}
      {mine && job.error && <ErrorBox error={job.error} title="The sweep stopped" />}
      {mine && job.log.length > 0 && (
        <details className="small"><summary>log ({job.log.length})</summary>
          <ul data-testid="exp-log">{job.log.map((l, i) => <li key={i} className={l.level === 'warn' ? 'warn-list' : ''}>{l.message}</li>)}</ul>
        </details>
      )}
    </section>
  );
}

function diagnosticCell(v: AblationVariantSummary, k: (typeof ABLATION_DIAGNOSTICS)[number], digits: number) {
  return fmtMeanSd(v.diagnostics[k], digits);
}

/** The paired difference on one line and "full ahead k/n" below it. */
function PairedCell({ p, testId }: { p: PairedComparison | undefined; testId?: string }) {
  const parts = pairedParts(p);
  return (
    <td className="num" data-testid={testId}>
      {parts ? <>{parts[0]}<br /><span className="small muted"> ({parts[1]})</span></> : '—'}
    </td>
  );
}

function SweepTable({ exp }: { exp: ExperimentSummary }) {
  const summary = useMemo(() => experimentSummary(exp), [exp]);
  const order = ablationOrdering(summary);
  if (!summary.variants.length) return <p className="muted small" data-testid="exp-table-empty">No run has finished yet; the table fills in as runs finish.</p>;
  return (
    <>
      <div className="diag-table-wrap">
        <table className="diag-table exp-table" data-testid="exp-table">
          <thead>
            <tr>
              <th>variant</th><th className="num">seeds</th>
              <th className="num">R@5</th><th className="num">R@10</th><th className="num">N@5</th><th className="num">N@10</th>
              <th className="num" title="Distinct first-ranked test recommendations (mean over seeds)">distinct top-1</th>
              <th className="num" title="History-shuffle test on the test split, nats">shuffle gap</th>
              <th className="num" title="Share of generated test codes that match no item">invalid</th>
              <th className="num" title="variant − full over the seeds both finished (mean ± sd), and on how many seeds full scored higher">Δ N@10 vs full</th>
              <th className="num">Δ R@10 vs full</th>
            </tr>
          </thead>
          <tbody>
            {summary.variants.map((v) => (
              <tr key={v.variant} data-testid="exp-variant-row" data-variant={v.variant} data-seeds={v.seeds.length}>
                <th title={v.variant}>{v.label}</th>
                <td className="num" data-testid="exp-cell-seeds">{v.seeds.length}</td>
                {(['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'] as const).map((m) => (
                  <td key={m} className={`num${summary.ranking[0] === v.variant && m === 'ndcg@10' ? ' best' : ''}`} data-testid={`exp-cell-${m}`}>{fmtMeanSd(v.metrics[m])}</td>
                ))}
                <td className="num" data-testid="exp-cell-distinct">{diagnosticCell(v, 'distinctTop1', 1)}</td>
                <td className="num" data-testid="exp-cell-shuffle">{diagnosticCell(v, 'shuffleGap', 4)}</td>
                <td className="num" data-testid="exp-cell-invalid">{v.diagnostics.invalidRate.n ? pct(v.diagnostics.invalidRate.mean) : '—'}</td>
                <PairedCell p={v.vsFull?.['ndcg@10']} testId="exp-cell-vsfull" />
                <PairedCell p={v.vsFull?.['recall@10']} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="small muted" data-testid="exp-ordering">
        Ranking by mean test N@10: {order.text}.
        {order.fullBest !== null && ` Full strictly ahead of every other variant: ${order.fullBest ? 'yes' : 'no'}.`}
        {order.noAlternationWorst !== null && ` w/o AT strictly the worst: ${order.noAlternationWorst ? 'yes' : 'no'}.`}
      </p>
    </>
  );
}

function SweepCard({ exp, open }: { exp: ExperimentSummary; open: boolean }) {
  const job = useExperimentsStore((s) => s.job);
  const { resume, remove } = useExperimentsStore.getState();
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const summary = useMemo(() => experimentSummary(exp), [exp]);
  const total = exp.runs.length;
  const seconds = exp.runs.reduce((s, r) => s + (r.seconds ?? 0), 0);
  const overrides = Object.keys(exp.overrides).length;

  function download() {
    const csv = ablationCsv(summary);
    downloadBytes(`${safeName(exp.name, 'experiment')}.ablation.csv`, new TextEncoder().encode(csv), 'text/csv');
  }

  return (
    <details className="card exp-sweep" open={open} data-testid="exp-sweep" data-id={exp.id} data-status={exp.active ? 'running' : exp.status}>
      <summary>
        <strong data-testid="exp-sweep-name">{exp.name}</strong>{' '}
        <span className={`badge ${STATUS_CLASS[exp.status] ?? ''}`} data-testid="exp-sweep-status" title={exp.error ?? undefined}>{exp.active ? 'running' : exp.status === 'paused' ? 'interrupted' : exp.status}</span>{' '}
        <span className="small" data-testid="exp-sweep-progress">{exp.finished} of {total} run(s) finished</span>{' '}
        <span className="small muted">· {exp.preset} preset{overrides ? ' (edited)' : ''} · {exp.embeddingName} · {exp.tokenizerName} · <LocalTime ms={exp.createdAt} />{seconds ? ` · ${formatDuration(seconds)} of training` : ''}</span>
      </summary>
      {exp.error && <p className="small error-text" data-testid="exp-sweep-error">{exp.error}</p>}
      {error && <ErrorBox error={error} title="Action failed" />}
      <div className="row tok-controls">
        {exp.resumable && (
          <button type="button" data-testid="exp-resume" disabled={job.running} title="Continue: the interrupted run resumes from its last stored epoch, then the remaining runs" onClick={() => void resume(exp.datasetId, exp.id)}>
            Resume ({total - exp.finished} left)
          </button>
        )}
        <button type="button" data-testid="exp-csv" disabled={!summary.variants.length} onClick={download}>Download CSV</button>
        <button type="button" className="danger" data-testid="exp-delete" disabled={exp.active} onClick={() => {
          if (confirm(`Delete the sweep "${exp.name}" and its ${exp.runs.filter((r) => r.runId).length} joint run(s)?`)) void remove(exp.datasetId, exp.id, true).then((r) => setError(r.ok ? null : r.error));
        }}>Delete</button>
      </div>
      <SweepTable exp={exp} />
      <details className="small" data-testid="exp-runs-details">
        <summary>Runs ({exp.finished} / {total})</summary>
        <table className="diag-table" data-testid="exp-runs">
          <thead><tr><th>variant</th><th className="num">seed</th><th>joint run</th><th>status</th><th className="num">epochs</th><th className="num">test N@10</th><th className="num">invalid</th><th className="num">distinct top-1</th><th className="num">shuffle gap</th></tr></thead>
          <tbody>
            {exp.runs.map((r) => (
              <tr key={r.key} data-testid="exp-run" data-key={r.key} data-status={r.status}>
                <td>{ABLATION_LABELS[r.variant as AblationName] ?? r.variant}</td>
                <td className="num">{r.seed}</td>
                <td>{r.runName ? <a href={jointHref(exp.datasetId)}>{r.runName}</a> : '—'}<CollapseBadge result={r.test} /></td>
                <td>{r.active ? 'training' : r.status}</td>
                <td className="num">{r.epochs || '—'}</td>
                <td className="num">{r.test ? (r.test.metrics['ndcg@10'] ?? 0).toFixed(4) : '—'}</td>
                <td className="num">{r.test ? pct(r.test.invalidRate) : '—'}</td>
                <td className="num">{r.test?.diagnostics ? formatInt(r.test.diagnostics.distinctTop1) : '—'}</td>
                <td className="num">{r.test?.diagnostics?.shuffle ? r.test.diagnostics.shuffle.gap.toFixed(4) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </details>
  );
}

export function ExperimentsPage({ datasetId }: { datasetId: string | null }) {
  const datasets = useDatasetsStore((s) => s.datasets);
  const loaded = useDatasetsStore((s) => s.loaded);
  const experiments = useExperimentsStore((s) => (datasetId ? s.experiments[datasetId] : undefined));
  const listError = useExperimentsStore((s) => s.listError);
  const dataset = datasets.find((d) => d.id === datasetId);

  useEffect(() => {
    if (!datasetId && datasets.length > 0) navigate(experimentsHref(datasets[0].id));
  }, [datasetId, datasets]);

  useEffect(() => {
    if (!dataset) return;
    void useJointStore.getState().refresh(dataset.id);
    void useExperimentsStore.getState().refresh(dataset.id);
  }, [dataset]);

  return (
    <div className="page" data-testid="experiments-page">
      <div className="page-head">
        <div>
          <h2>Experiments</h2>
          <p className="muted">
            The paper&apos;s Table 4 on your data: ETEGRec and its ablations (without the sequence–item or preference–semantic alignment, without
            both, without alternating optimisation, and the two-stage TIGER-style model without end-to-end training), each over several seeds,
            summarised as mean ± sd and compared with the full model seed by seed.
          </p>
        </div>
        <label className="dataset-picker">
          Dataset{' '}
          <select data-testid="exp-dataset" value={dataset?.id ?? ''} onChange={(e) => navigate(experimentsHref(e.target.value))} disabled={datasets.length === 0}>
            {!dataset && <option value="">{datasets.length ? 'choose a dataset' : 'no datasets'}</option>}
            {datasets.map((d) => <option key={d.id} value={d.id}>{d.name} ({formatInt(d.stats.num_items)} items)</option>)}
          </select>
        </label>
      </div>
      {!dataset ? (
        <p className="muted" data-testid="exp-no-dataset">
          {!loaded ? 'Loading…' : datasets.length === 0 ? 'No datasets yet. Load the sample or import one in the data stage first.' : 'Pick a dataset.'}{' '}
          <a href="#/data">Go to the data stage</a>
        </p>
      ) : (
        <>
          <p className="small muted">
            <a href={datasetHref(dataset.id)}>{dataset.name}</a>: {formatInt(dataset.stats.num_items)} items · {experiments === undefined ? '…' : `${experiments.length} sweep(s)`}
          </p>
          {listError && <p className="error-text small">{listError.message}</p>}
          <SweepForm datasetId={dataset.id} />
          <section data-testid="exp-sweeps">
            {experiments?.length === 0 && <p className="muted" data-testid="exp-none">No sweeps yet.</p>}
            {experiments?.map((e, i) => <SweepCard key={e.id} exp={e} open={i === 0} />)}
          </section>
        </>
      )}
    </div>
  );
}
