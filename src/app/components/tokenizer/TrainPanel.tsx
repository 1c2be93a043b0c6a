/**
 * RQ-VAE pretraining: the embedding table, the preset (every value editable, with provenance),
 * Train / Cancel, progress with ETA, live charts and the outcome.
 */
import { useEffect, useMemo, useState } from 'react';
import type { EmbeddingSummary } from '../../../../workers/api.ts';
import type { TokenizerConfig, TokenizerPresetName } from '../../../../workers/tokenizerApi.ts';
import { useBackendStore } from '../../stores/backend.ts';
import { useTokenizerStore } from '../../stores/tokenizer.ts';
import type { JobProgress } from '../../stores/job.ts';
import { formatDuration, formatInt } from '../../format.ts';
import { jsonValuesOf, parseJsonValues } from '../../shareConfig.ts';
import { ShareLink } from '../ShareLink.tsx';
import { ErrorBox } from '../ErrorBox.tsx';
import { PauseButton, PausedLabel } from '../PauseButton.tsx';
import { LiveCharts } from './LiveCharts.tsx';

const ORDER: (keyof TokenizerConfig)[] = [
  'in_dim', 'layers', 'e_dim', 'num_emb_list', 'epochs', 'batch_size', 'lr', 'weight_decay', 'warmup_epochs', 'eval_step',
  'patience', 'kmeans_init', 'kmeans_iters', 'clip_norm', 'beta', 'quant_loss_weight', 'sk_epsilons', 'sk_iters', 'seed',
];
/** What a share link carries: every edited value but the width (it follows the chosen table). */
const SHARE_FIELDS: readonly string[] = ORDER.filter((k) => k !== 'in_dim');

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function ArrayField({ value, onChange, testId, integer }: { value: number[]; onChange: (v: number[]) => void; testId: string; integer: boolean }) {
  const [text, setText] = useState(value.join(', '));
  const [seen, setSeen] = useState(value);
  if (!same(seen, value)) {
    // The value changed from outside (a preset switch): show it.
    setSeen(value);
    setText(value.join(', '));
  }
  return (
    <input
      type="text"
      className="num-input"
      data-testid={testId}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        const parts = e.target.value.split(/[\s,]+/).filter(Boolean).map(Number);
        if (parts.every((x) => Number.isFinite(x) && (!integer || Number.isInteger(x)))) {
          setSeen(parts);
          onChange(parts);
        }
      }}
    />
  );
}

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
  const train = useTokenizerStore((s) => s.train);
  const { loadPresets, setPreset, setValue, startTraining, cancelTraining, togglePause } = useTokenizerStore.getState();
  const backend = useBackendStore((s) => s.report?.backend);
  const emb = embeddings.find((e) => e.id === embeddingId);

  useEffect(() => {
    if (emb) void loadPresets(emb.cols);
  }, [emb, loadPresets]);

  const preset = presets?.find((p) => p.name === draft?.preset);
  const changed = draft && preset ? ORDER.filter((k) => !same(draft.config[k], preset.config[k])) : [];
  const mine = train.datasetId === datasetId || train.datasetId === null;
  const presetNames = useMemo(() => presets?.map((p) => p.name) ?? null, [presets]);
  const shareValues = draft && preset
    ? jsonValuesOf(draft.config as unknown as Record<string, unknown>, preset.config as unknown as Record<string, unknown>, SHARE_FIELDS)
    : {};

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
          {draft && preset && (
            <details className="config-details" open>
              <summary>
                Configuration{' '}
                <span data-testid="tok-changed-count">{changed.length ? `(${changed.length} values differ from the ${draft.preset} preset)` : `(the ${draft.preset} preset)`}</span>
              </summary>
              <table className="config-table compact">
                <tbody>
                  {ORDER.map((k) => {
                    const v = draft.config[k];
                    const isChanged = changed.includes(k);
                    return (
                      <tr key={k} className={isChanged ? 'changed' : undefined}>
                        <td><code>{k}</code>{isChanged && <span data-testid={`tok-changed-${k}`} title={`preset: ${JSON.stringify(preset.config[k])}`}> *</span>}</td>
                        <td>
                          {k === 'in_dim' ? (
                            <span data-testid="tok-field-in_dim">{v as number}</span>
                          ) : typeof v === 'boolean' ? (
                            <input type="checkbox" data-testid={`tok-field-${k}`} checked={v} disabled={train.running} onChange={(e) => setValue(k, e.target.checked as never)} />
                          ) : Array.isArray(v) ? (
                            <ArrayField value={v} integer={k !== 'sk_epsilons'} testId={`tok-field-${k}`} onChange={(a) => setValue(k, a as never)} />
                          ) : (
                            <input
                              type="number"
                              className="num-input"
                              data-testid={`tok-field-${k}`}
                              value={Number.isFinite(v as number) ? (v as number) : ''}
                              step="any"
                              disabled={train.running}
                              onChange={(e) => setValue(k, (e.target.value === '' ? NaN : Number(e.target.value)) as never)}
                            />
                          )}
                        </td>
                        <td className="provenance small muted">{preset.provenance[k] ?? ''}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </details>
          )}
          <div className="row">
            <button className="primary" data-testid="tok-train" data-shortcut="start" disabled={train.running || !draft || !emb} onClick={() => void startTraining(datasetId, embeddingId)}>
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
          <ShareLink stage="tokenizer" datasetId={datasetId} testId="tok" presets={presetNames} fields={SHARE_FIELDS}
            preset={draft?.preset ?? 'quick'} values={shareValues}
            apply={(c) => {
              const info = presets?.find((p) => p.name === c.preset);
              if (!info) return;
              setPreset(info.name);
              const parsed = parseJsonValues(c.values, info.config as unknown as Record<string, unknown>);
              for (const [k, v] of Object.entries(parsed.values)) setValue(k as keyof TokenizerConfig, v as never);
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
      {mine && (train.running || train.points.length > 0) && <LiveCharts points={train.points} levels={draft?.config.num_emb_list.length ?? 3} />}
    </section>
  );
}
