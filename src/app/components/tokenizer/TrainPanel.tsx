/**
 * RQ-VAE pretraining: the embedding table, the preset (every value editable, with provenance),
 * Train / Cancel, progress with ETA, live charts and the outcome.
 */
import { useEffect, useMemo, useState } from 'react';
import type { EmbeddingSummary } from '../../../../workers/api.ts';
import type { TokenizerPresetName } from '../../../../workers/tokenizerApi.ts';
import { tokenizerStage } from '../../../core/stages/tokenizer.ts';
import type { StageDecl } from '../../../core/stages/fields.ts';
import { checkForm, formContext, startBlockers } from '../../stageForm.ts';
import { StageConfigForm, StartReasons } from '../StageConfigForm.tsx';
import { useBackendStore } from '../../stores/backend.ts';
import { useTokenizerStore } from '../../stores/tokenizer.ts';
import type { JobProgress } from '../../stores/job.ts';
import { formatDuration, formatInt } from '../../format.ts';
import { ShareLink } from '../ShareLink.tsx';
import { ErrorBox } from '../ErrorBox.tsx';
import { PauseButton, PausedLabel } from '../PauseButton.tsx';
import { LiveCharts } from './LiveCharts.tsx';

/** What a share link carries: every value but the width (it follows the chosen table). */
const SHARE_FIELDS: readonly string[] = tokenizerStage().fields.map((f) => f.key).filter((k) => k !== 'in_dim');
const READ_ONLY: readonly string[] = ['in_dim'];

export function ProgressBar({ progress, startedAt, testId }: { progress: JobProgress | null; startedAt: number; testId: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, []);
  const pct = progress?.total ? Math.min(100, (100 * progress.done) / progress.total) : null;
  return (
    <div data-testid={testId} aria-busy="true">
      <div className={`progress ${pct === null ? 'indeterminate' : ''}`} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct ?? undefined}>
        <div className="progress-fill" style={pct === null ? undefined : { width: `${pct}%` }} />
      </div>
      <div className="row spread small">
        <span data-testid={`${testId}-phase`}>
          {progress ? progress.phase : 'starting'}
          {progress?.message ? ` — ${progress.message}` : ''}
          {progress && progress.unit && (
            <span className="muted"> · {formatInt(progress.done)}{progress.total !== undefined ? ` / ${formatInt(progress.total)}` : ''} {progress.unit}</span>
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

export function TrainPanel({ datasetId, embeddings, embeddingId, onEmbedding }: {
  datasetId: string;
  embeddings: EmbeddingSummary[];
  embeddingId: string;
  onEmbedding: (id: string) => void;
}) {
  const presets = useTokenizerStore((s) => s.presets);
  const presetsError = useTokenizerStore((s) => s.presetsError);
  const draft = useTokenizerStore((s) => s.draft);
  const presetsDim = useTokenizerStore((s) => s.presetsDim);
  const train = useTokenizerStore((s) => s.train);
  const { loadPresets, setPreset, setValue, startTraining, cancelTraining, togglePause } = useTokenizerStore.getState();
  const backend = useBackendStore((s) => s.report?.backend);
  const emb = embeddings.find((e) => e.id === embeddingId);

  useEffect(() => {
    if (emb) void loadPresets(emb.cols);
  }, [emb, loadPresets]);

  const preset = presets?.find((p) => p.name === draft?.preset);
  const mine = train.datasetId === datasetId || train.datasetId === null;
  const presetNames = useMemo(() => presets?.map((p) => p.name) ?? null, [presets]);
  const decl = useMemo(() => (presetsDim === null ? null : tokenizerStage(presetsDim)), [presetsDim]);
  const check = decl && draft ? checkForm(decl, draft.preset, draft.values, formContext(emb?.rows, backend)) : null;
  const blockers = check ? startBlockers(check, [train.running && 'a tokenizer training is running', !emb && 'choose an embedding table']) : ['the presets are loading'];
  const shareValues = draft ? Object.fromEntries(SHARE_FIELDS.map((k) => [k, draft.values[k] ?? ''])) : {};

  return (
    <section className="card" data-testid="tok-train-panel">
      <h3>Pretrain the RQ-VAE tokenizer</h3>
      <p className="small muted">
        Encoder → 3-level residual quantiser → decoder on the item vectors (spec §4), k-means initialised, evaluated on
        all items every eval_step epochs. The best-collision snapshot is stored (also the best-Gini and best-loss ones).
      </p>
      {embeddings.length === 0 ? (
        <p className="muted" data-testid="tok-no-embeddings">
          This dataset has no embedding table yet. Create or import one in <a href={`#/embeddings/${encodeURIComponent(datasetId)}`}>the embeddings stage</a>.
        </p>
      ) : (
        <>
          <div className="row tok-controls">
            <label>
              Embedding table{' '}
              <select data-testid="tok-embedding" value={embeddingId} onChange={(e) => onEmbedding(e.target.value)} disabled={train.running}>
                {embeddings.map((e) => (
                  <option key={e.id} value={e.id}>{e.name} ({e.kind}, {e.rows} × {e.cols})</option>
                ))}
              </select>
            </label>
            <label>
              Preset{' '}
              <select data-testid="tok-preset" value={draft?.preset ?? 'quick'} onChange={(e) => setPreset(e.target.value as TokenizerPresetName)} disabled={train.running || !presets}>
                <option value="quick">quick</option>
                <option value="paper">paper</option>
              </select>
            </label>
            <span className="small muted" data-testid="tok-backend">backend: {backend ?? '…'}</span>
          </div>
          {preset && <p className="small muted">{preset.description}</p>}
          {presetsError && <ErrorBox error={presetsError} title="Could not read the presets" />}
          {draft && preset && decl && check && (
            <details className="config-details" open>
              <summary>Configuration ({decl.fields.length} values, each with its source)</summary>
              <StageConfigForm decl={decl as StageDecl<object>} preset={draft.preset} values={draft.values} onChange={setValue} check={check}
                testIdPrefix="tok" readOnly={READ_ONLY} disabled={train.running} />
            </details>
          )}
          <div className="row">
            <button className="primary" data-testid="tok-train" data-shortcut="start" disabled={blockers.length > 0} onClick={() => void startTraining(datasetId, embeddingId)}>
              Train tokenizer
            </button>
            {train.running && (
              <button className="danger" data-testid="tok-cancel" data-shortcut="cancel" disabled={train.cancelling} onClick={() => void cancelTraining()}>
                {train.cancelling ? 'Cancelling…' : 'Cancel (keeps the best snapshot)'}
              </button>
            )}
            {train.running && (
              <PauseButton testId="tok-pause" paused={train.paused} disabled={train.cancelling || !train.pauseFn} onToggle={() => void togglePause()} />
            )}
          </div>
          {!train.running && <StartReasons reasons={blockers} testId="tok-start-reasons" />}
          <ShareLink stage="tokenizer" datasetId={datasetId} testId="tok" presets={presetNames} fields={SHARE_FIELDS} {...(decl ? { decl: decl as StageDecl<object> } : {})}
            preset={draft?.preset ?? 'quick'} values={shareValues}
            apply={(c) => {
              const info = presets?.find((p) => p.name === c.preset);
              if (!info) return;
              setPreset(info.name);
              for (const [k, v] of Object.entries(c.values)) if (k !== 'in_dim') setValue(k, v);
            }} />
        </>
      )}
      {mine && train.running && train.paused && <PausedLabel testId="tok-paused" />}
      {mine && train.running && <ProgressBar progress={train.progress} startedAt={train.startedAt} testId="tok-progress" />}
      {mine && train.error && <ErrorBox error={train.error} title="Tokenizer training failed" />}
      {mine && train.result && (
        <p className={`note ${train.result.tokenizer ? 'ok' : ''}`} data-testid="tok-note">
          {train.result.note} ({train.result.epochsRun} epochs in {formatDuration(train.result.seconds)} on {train.result.backend}
          {train.result.stoppedEarly ? ', stopped early' : ''})
        </p>
      )}
      {mine && train.log.some((l) => l.level === 'warn') && (
        <ul className="small warn-list" data-testid="tok-warnings">
          {train.log.filter((l) => l.level === 'warn').slice(-5).map((l, i) => <li key={i}>{l.message}</li>)}
        </ul>
      )}
      {mine && (train.running || train.points.length > 0) && <LiveCharts points={train.points} levels={check?.config?.num_emb_list.length ?? 3} />}
    </section>
  );
}
