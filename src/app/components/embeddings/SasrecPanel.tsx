/**
 * SASRec panel: preset, every config value editable with its provenance and a mark where it
 * differs from the preset, Train / Cancel, progress with ETA, live curves, then the results table
 * (SASRec vs popularity, test and valid).
 */
import { useEffect, useMemo, useState } from 'react';
import type { RankingMetrics, SasrecConfig, SasrecPresetInfo, SasrecTrainResult } from '../../../../workers/api.ts';
import { useBackendStore } from '../../stores/backend.ts';
import { useEmbeddingsStore } from '../../stores/embeddings.ts';
import { formatDuration } from '../../format.ts';
import { jsonValuesOf, parseJsonValues } from '../../shareConfig.ts';
import { ErrorBox } from '../ErrorBox.tsx';
import { ShareLink } from '../ShareLink.tsx';
import { PauseButton, PausedLabel } from '../PauseButton.tsx';
import { ProgressLine } from './ProgressLine.tsx';
import { LossChart, ValidChart } from './TrainingCharts.tsx';

/** Test ids the e2e specs use for the most-edited values. */
const FIELD_TEST_IDS: Partial<Record<keyof SasrecConfig, string>> = {
  epochs: 'sasrec-epochs',
  seed: 'sasrec-seed',
};

function fieldTestId(key: keyof SasrecConfig): string {
  return FIELD_TEST_IDS[key] ?? `sasrec-field-${key}`;
}

function show(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
}

/** A number input that keeps the typed text (e.g. "1e-", "0.") until it parses. */
function NumberField({ value, onChange, testId, label }: { value: number; onChange(v: number): void; testId: string; label: string }) {
  const [text, setText] = useState(String(value));
  const [prev, setPrev] = useState(value);
  if (prev !== value) {
    setPrev(value);
    if (Number(text) !== value) setText(String(value));
  }
  const parsed = text.trim() === '' ? NaN : Number(text);
  const invalid = !Number.isFinite(parsed);
  return (
    <input
      type="text"
      inputMode="decimal"
      className="num-input"
      aria-label={label}
      aria-invalid={invalid}
      data-testid={testId}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        const v = e.target.value.trim() === '' ? NaN : Number(e.target.value);
        if (Number.isFinite(v)) onChange(v);
      }}
    />
  );
}

function ConfigTable({ preset, config, disabled }: { preset: SasrecPresetInfo; config: SasrecConfig; disabled: boolean }) {
  const setValue = useEmbeddingsStore((s) => s.setValue);
  const keys = Object.keys(preset.config) as (keyof SasrecConfig)[];
  return (
    <div className="table-wrap">
      <table className="table config-table" data-testid="sasrec-config">
        <thead>
          <tr>
            <th>Key</th>
            <th>Value</th>
            <th>Source of the preset value</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => {
            const value = config[key];
            const base = preset.config[key];
            const changed = value !== base;
            const label = `SASRec ${key}`;
            let input;
            if (typeof base === 'number') {
              input = (
                <NumberField
                  value={value as number}
                  testId={fieldTestId(key)}
                  label={label}
                  onChange={(v) => setValue(key, v as never)}
                />
              );
            } else if (typeof base === 'boolean') {
              input = (
                <input
                  type="checkbox"
                  aria-label={label}
                  data-testid={fieldTestId(key)}
                  checked={value as boolean}
                  onChange={(e) => setValue(key, e.target.checked as never)}
                />
              );
            } else {
              input = (
                <select aria-label={label} data-testid={fieldTestId(key)} value={String(value)} disabled title="The only option implemented">
                  <option value={String(base)}>{String(base)}</option>
                </select>
              );
            }
            return (
              <tr key={key} className={changed ? 'changed' : undefined} data-testid="sasrec-config-row" data-key={key}>
                <td className="mono">{key}</td>
                <td>
                  <fieldset className="inline-field" disabled={disabled}>
                    {input}
                    {changed && (
                      <span className="badge badge-warn" data-testid={`sasrec-changed-${key}`} title={`${preset.name} preset: ${show(base)}`}>
                        changed · preset {show(base)}
                      </span>
                    )}
                  </fieldset>
                </td>
                <td className="small muted provenance">{changed ? `changed by you; preset value from: ${preset.provenance[key]}` : preset.provenance[key]}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

const METRIC_KEYS = ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'] as const;

function MetricCells({ m }: { m: RankingMetrics }) {
  return (
    <>
      {METRIC_KEYS.map((k) => (
        <td key={k} className="num" data-metric={k}>{m[k] === undefined ? '—' : m[k].toFixed(4)}</td>
      ))}
    </>
  );
}

export function ResultsTable({ result }: { result: SasrecTrainResult }) {
  const rows: { label: string; split: string; m: RankingMetrics; id: string }[] = [
    { label: 'SASRec', split: 'test', m: result.test, id: 'sasrec-test' },
    { label: 'Popularity', split: 'test', m: result.popularity.test, id: 'popularity-test' },
    { label: 'SASRec', split: 'valid', m: result.valid, id: 'sasrec-valid' },
    { label: 'Popularity', split: 'valid', m: result.popularity.valid, id: 'popularity-valid' },
  ];
  return (
    <div className="table-wrap">
      <table className="table" data-testid="sasrec-results">
        <thead>
          <tr>
            <th>Model</th>
            <th>Split</th>
            <th className="num">Recall@5</th>
            <th className="num">Recall@10</th>
            <th className="num">NDCG@5</th>
            <th className="num">NDCG@10</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-testid={`results-${r.id}`}>
              <td>{r.label}</td>
              <td><span className={`split split-${r.split}`}>{r.split}</span></td>
              <MetricCells m={r.m} />
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">
        Full ranking over all items (PAD excluded, history not masked), SASRec at its best validation epoch
        ({result.bestEpoch} of {result.epochsRun}{result.stoppedEarly ? ', stopped early' : ''}); popularity ranks items
        by training interactions. {result.backend} · seed {result.seed} · {formatDuration(result.seconds)}.
      </p>
    </div>
  );
}

export function SasrecPanel({ datasetId }: { datasetId: string }) {
  const presets = useEmbeddingsStore((s) => s.presets);
  const presetsError = useEmbeddingsStore((s) => s.presetsError);
  const draft = useEmbeddingsStore((s) => s.draft);
  const train = useEmbeddingsStore((s) => s.train);
  const loadPresets = useEmbeddingsStore((s) => s.loadPresets);
  const setPreset = useEmbeddingsStore((s) => s.setPreset);
  const setMaxSteps = useEmbeddingsStore((s) => s.setMaxSteps);
  const startTraining = useEmbeddingsStore((s) => s.startTraining);
  const cancelTraining = useEmbeddingsStore((s) => s.cancelTraining);
  const togglePause = useEmbeddingsStore((s) => s.togglePause);
  const backend = useBackendStore((s) => s.report?.backend ?? null);
  const [dismissed, setDismissed] = useState(false);

  useEffect(() => {
    void loadPresets();
  }, [loadPresets]);

  const preset = presets?.find((p) => p.name === draft?.preset);
  const mine = train.datasetId === datasetId;
  const otherRunning = train.running && !mine;
  const changedCount = preset && draft
    ? (Object.keys(preset.config) as (keyof SasrecConfig)[]).filter((k) => draft.config[k] !== preset.config[k]).length
    : 0;
  const presetNames = useMemo(() => presets?.map((p) => p.name) ?? null, [presets]);
  const shareFields = useMemo(() => (presets?.[0] ? Object.keys(presets[0].config) : []), [presets]);
  const shareValues = draft && preset
    ? jsonValuesOf(draft.config as unknown as Record<string, unknown>, preset.config as unknown as Record<string, unknown>, shareFields)
    : {};

  return (
    <section className="card" data-testid="sasrec-panel">
      <div className="row spread">
        <h3>Collaborative embeddings: SASRec</h3>
        <span className="small muted" data-testid="sasrec-backend">
          trains on <strong>{backend ?? '…'}</strong> in the studio worker
        </span>
      </div>
      <p className="hint">
        SASRec (RecBole configuration) trained on the training samples; its item embedding table at the best validation
        epoch becomes the collaborative table (N items × hidden_size).
      </p>
      {presetsError && <ErrorBox error={presetsError} title="Could not read the SASRec presets" />}
      {!presets || !draft || !preset ? (
        <p className="muted">Loading the presets…</p>
      ) : (
        <>
          <div className="row sasrec-controls">
            <label>
              Preset{' '}
              <select
                data-testid="sasrec-preset"
                value={draft.preset}
                disabled={train.running}
                onChange={(e) => setPreset(e.target.value as SasrecPresetInfo['name'])}
              >
                {presets.map((p) => (
                  <option key={p.name} value={p.name}>{p.name}</option>
                ))}
              </select>
            </label>
            <span className="small muted" data-testid="sasrec-changed-count">
              {changedCount === 0 ? `all values as in the ${preset.name} preset` : `${changedCount} value${changedCount > 1 ? 's' : ''} differ from the ${preset.name} preset`}
            </span>
            <label title="ours: stop each epoch after this many steps (smoke runs); blank = whole epochs">
              Max steps per epoch{' '}
              <input
                type="number"
                min={1}
                className="num-input"
                data-testid="sasrec-max-steps"
                placeholder="all"
                value={draft.maxStepsPerEpoch ?? ''}
                disabled={train.running}
                onChange={(e) => {
                  const v = Number(e.target.value);
                  setMaxSteps(e.target.value === '' || !(v >= 1) ? null : Math.floor(v));
                }}
              />
            </label>
          </div>
          <ShareLink stage="embeddings" datasetId={datasetId} testId="sasrec" presets={presetNames} fields={shareFields}
            preset={draft.preset} values={shareValues}
            apply={(c) => {
              const info = presets.find((p) => p.name === c.preset);
              if (!info) return;
              setPreset(info.name);
              const { setValue } = useEmbeddingsStore.getState();
              const parsed = parseJsonValues(c.values, info.config as unknown as Record<string, unknown>);
              for (const [k, v] of Object.entries(parsed.values)) setValue(k as keyof SasrecConfig, v as never);
            }} />
          <details className="config-details" open>
            <summary>Configuration ({Object.keys(preset.config).length} values, each with its source)</summary>
            <ConfigTable preset={preset} config={draft.config} disabled={train.running} />
          </details>
          <div className="row">
            <button
              type="button"
              className="primary"
              data-testid="sasrec-train"
              data-shortcut="start"
              disabled={train.running}
              onClick={() => {
                setDismissed(false);
                void startTraining(datasetId);
              }}
            >
              Train SASRec
            </button>
            {train.running && mine && (
              <button type="button" className="danger" data-testid="sasrec-cancel" data-shortcut="cancel" disabled={train.cancelling} onClick={() => void cancelTraining()}>
                {train.cancelling ? 'Cancelling…' : 'Cancel (keeps the best table)'}
              </button>
            )}
            {train.running && mine && (
              <PauseButton testId="sasrec-pause" paused={train.paused} disabled={train.cancelling || !train.pauseFn} onToggle={() => void togglePause()} />
            )}
            {otherRunning && <span className="small warn">A training of another dataset is running.</span>}
          </div>
        </>
      )}

      {mine && train.running && train.paused && <PausedLabel testId="sasrec-paused" />}
      {mine && train.running && <ProgressLine progress={train.progress} startedAt={train.startedAt} testId="sasrec-progress" />}
      {mine && (train.running || train.loss.length > 0 || train.epochs.length > 0) && (
        <div className="two-col">
          <LossChart points={train.loss} />
          <ValidChart points={train.epochs} />
        </div>
      )}
      {mine && !train.running && train.error && !dismissed && (
        <ErrorBox
          error={train.error}
          title={train.error.code === 'cancelled' ? 'Training cancelled — nothing was stored' : 'Training failed — nothing was stored'}
          onDismiss={() => setDismissed(true)}
        />
      )}
      {mine && !train.running && train.result && (
        <>
          <p className={`card ${train.result.embedding ? 'notice' : 'warn-box'}`} data-testid="sasrec-note">
            {train.result.note}
          </p>
          <ResultsTable result={train.result} />
        </>
      )}
    </section>
  );
}
