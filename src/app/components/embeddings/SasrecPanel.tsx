/**
 * SASRec panel: preset, every config value editable with its provenance and a mark where it
 * differs from the preset, Train / Cancel, progress with ETA, live curves, then the results table
 * (SASRec vs popularity, test and valid).
 */
import { useEffect, useMemo, useState } from 'react';
import type { RankingMetrics, SasrecPresetInfo, SasrecPresetName, SasrecTrainResult } from '../../../../workers/api.ts';
import { useBackendStore } from '../../stores/backend.ts';
import { useEmbeddingsStore } from '../../stores/embeddings.ts';
import { formatDuration } from '../../format.ts';
import { EMBEDDINGS_STAGE } from '../../../core/stages/embeddings.ts';
import type { StageDecl } from '../../../core/stages/fields.ts';
import { checkForm, formContext, startBlockers } from '../../stageForm.ts';
import { StageConfigForm, StartReasons } from '../StageConfigForm.tsx';
import { ErrorBox } from '../ErrorBox.tsx';
import { ShareLink } from '../ShareLink.tsx';
import { PauseButton, PausedLabel } from '../PauseButton.tsx';
import { ProgressLine } from './ProgressLine.tsx';
import { LossChart, ValidChart } from './TrainingCharts.tsx';

const SHARE_FIELDS: readonly string[] = EMBEDDINGS_STAGE.fields.map((f) => f.key);

/** Test ids the e2e specs use for the most-edited values. */
const FIELD_TEST_IDS: Readonly<Record<string, string>> = { epochs: 'sasrec-epochs', seed: 'sasrec-seed' };

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
  const setValue = useEmbeddingsStore((s) => s.setValue);
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
  const presetNames = useMemo(() => presets?.map((p) => p.name) ?? null, [presets]);
  const check = draft ? checkForm(EMBEDDINGS_STAGE, draft.preset, draft.values, formContext(undefined, backend ?? undefined)) : null;
  const blockers = check ? startBlockers(check, [train.running && 'a SASRec training is running']) : ['the presets are loading'];

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
          <ShareLink stage="embeddings" datasetId={datasetId} testId="sasrec" presets={presetNames} fields={SHARE_FIELDS}
            preset={draft.preset} values={draft.values}
            apply={(c) => {
              if (!presets.some((p) => p.name === c.preset)) return;
              setPreset(c.preset as SasrecPresetName);
              const { setValue } = useEmbeddingsStore.getState();
              for (const [k, v] of Object.entries(c.values)) setValue(k, v);
            }} />
          <details className="config-details" open>
            <summary>Configuration ({EMBEDDINGS_STAGE.fields.length} values, each with its source)</summary>
            {check && <StageConfigForm decl={EMBEDDINGS_STAGE as StageDecl<object>} preset={draft.preset} values={draft.values} check={check}
              onChange={setValue} testIdPrefix="sasrec" fieldTestIds={FIELD_TEST_IDS} disabled={train.running} />}
          </details>
          <div className="row">
            <button
              type="button"
              className="primary"
              data-testid="sasrec-train"
              data-shortcut="start"
              disabled={blockers.length > 0}
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
          {!train.running && <StartReasons reasons={blockers} testId="sasrec-start-reasons" />}
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
