/** Inputs, preset with provenance, the main overrides, Start / Cancel, progress and the outcome. */
import { useEffect, useMemo, useState } from 'react';
import type { JointInputs, JointPresetName } from '../../../../workers/jointApi.ts';
import { JOINT_STAGE } from '../../../core/stages/joint.ts';
import type { StageDecl } from '../../../core/stages/fields.ts';
import { checkForm, formContext, startBlockers } from '../../stageForm.ts';
import { useBackendStore } from '../../stores/backend.ts';
import { StageConfigForm, StartReasons } from '../StageConfigForm.tsx';
import { ShareLink } from '../ShareLink.tsx';
import { chooseInputs, HIGH_COLLISION, useJointStore } from '../../stores/joint.ts';
import { ErrorBox } from '../ErrorBox.tsx';
import { formatPercent } from '../../format.ts';
import { runStatusLabel } from '../../../core/runs/runTable.ts';
import { PauseButton, PausedLabel } from '../PauseButton.tsx';
import { ProgressLine } from '../embeddings/ProgressLine.tsx';

/** The semantic table and tokenizer selects (a tokenizer must read vectors of the table's width). */
export function InputSelects({ inputs, embeddingId, tokenizerId, onEmbedding, onTokenizer, testIdPrefix }: {
  inputs: JointInputs; embeddingId: string; tokenizerId: string; onEmbedding: (id: string) => void; onTokenizer: (id: string) => void; testIdPrefix: string;
}) {
  const { emb, fitting, tok } = chooseInputs(inputs, embeddingId, tokenizerId);
  return (
    <>
      <label>Semantic table{' '}
        <select data-testid={`${testIdPrefix}-embedding`} value={emb?.id ?? ''} onChange={(e) => onEmbedding(e.target.value)}>
          {inputs.embeddings.length === 0 && <option value="">none — create one in stage 2</option>}
          {inputs.embeddings.map((e) => <option key={e.id} value={e.id}>{e.name} ({e.rows} × {e.cols}, {e.kind})</option>)}
        </select>
      </label>
      <label>Tokenizer{' '}
        <select data-testid={`${testIdPrefix}-tokenizer`} value={tok?.id ?? ''} onChange={(e) => onTokenizer(e.target.value)}>
          {fitting.length === 0 && <option value="">none for this table — train one in stage 3</option>}
          {fitting.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name} ({t.numEmbList.join('×')}, collision {formatPercent(t.collisionRate)}){t.embeddingId && t.embeddingId !== emb?.id ? ' — trained on another table' : ''}
            </option>
          ))}
        </select>
      </label>
      {tok && tok.collisionRate > HIGH_COLLISION && (
        <p className="small warn" data-testid={`${testIdPrefix}-tokenizer-collision`}>
          Tokenizer “{tok.name}” gives {formatPercent(tok.collisionRate)} of the items a code another item has: the recommender cannot
          tell those items apart.{fitting.some((t) => t.collisionRate < tok.collisionRate) ? ' A tokenizer with a lower collision rate is listed.' : ' Train one with larger codebooks or more epochs.'}
        </p>
      )}
    </>
  );
}

const SHARE_FIELDS: readonly string[] = JOINT_STAGE.fields.map((f) => f.key);

export function ConfigPanel({ datasetId, inputs }: { datasetId: string; inputs: JointInputs }) {
  const presets = useJointStore((s) => s.presets);
  const presetsError = useJointStore((s) => s.presetsError);
  const preset = useJointStore((s) => s.preset);
  const values = useJointStore((s) => s.values);
  const train = useJointStore((s) => s.train);
  const formOf = useJointStore((s) => s.formOf);
  const { loadPresets, setPreset, setValue, start, cancel, togglePause } = useJointStore.getState();
  const [embeddingId, setEmbeddingId] = useState('');
  const [tokenizerId, setTokenizerId] = useState('');
  const [name, setName] = useState('');

  useEffect(() => { void loadPresets(); }, [loadPresets]);
  // a stored run shown in the form brings its inputs along
  useEffect(() => {
    if (!formOf) return;
    if (formOf.embeddingId) setEmbeddingId(formOf.embeddingId);
    if (formOf.tokenizerId) setTokenizerId(formOf.tokenizerId);
  }, [formOf]);

  const { emb, tok } = chooseInputs(inputs, embeddingId, tokenizerId);
  const info = presets?.find((p) => p.name === preset);
  const mine = train.datasetId === datasetId;
  const backend = useBackendStore((s) => s.report?.backend);
  const check = checkForm(JOINT_STAGE, preset, values, formContext(emb?.rows, backend));
  const blockers = startBlockers(check, [
    train.running && 'a joint training is running',
    !emb && 'choose a semantic table',
    !tok && 'choose a tokenizer for this table',
    !presets && 'the presets are loading',
  ]);
  const presetNames = useMemo(() => presets?.map((p) => p.name) ?? null, [presets]);

  return (
    <section className="card" data-testid="joint-config">
      <h3>New joint training</h3>
      {presetsError && <ErrorBox error={presetsError} title="Could not read the presets" />}
      <div className="row tok-controls">
        <InputSelects inputs={inputs} embeddingId={embeddingId} tokenizerId={tokenizerId} onEmbedding={setEmbeddingId} onTokenizer={setTokenizerId} testIdPrefix="joint" />
        <label>Preset{' '}
          <select data-testid="joint-preset" value={preset} onChange={(e) => setPreset(e.target.value as JointPresetName)}>
            {(presets ?? []).map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </select>
        </label>
        <label>Run name{' '}
          <input data-testid="joint-name" value={name} placeholder="auto" onChange={(e) => setName(e.target.value)} />
        </label>
      </div>
      {info && <p className="small muted" data-testid="joint-preset-description">{info.description}</p>}
      {formOf && (
        <p className="small" data-testid="joint-form-of">
          The form shows the configuration of {runStatusLabel(formOf.status)} run <strong>{formOf.name}</strong>
          {formOf.status === 'paused' ? ': Resume continues it with these values; Start begins a new run from them.' : '; Start begins a new run from it.'}
        </p>
      )}
      <StageConfigForm decl={JOINT_STAGE as StageDecl<object>} preset={preset} values={values} onChange={setValue} check={check} testIdPrefix="joint" disabled={train.running} />
      <div className="row tok-controls">
        <button type="button" className="primary" data-testid="joint-start" data-shortcut="start" disabled={blockers.length > 0}
          onClick={() => emb && tok && void start(datasetId, emb.id, tok.id, name.trim())}>
          Start joint training
        </button>
        {train.running && (
          <button type="button" data-testid="joint-cancel" data-shortcut="cancel" title="Stops after keeping the last finished epoch (Alt+X); Resume in the run list continues" disabled={train.cancelling || !train.cancelFn} onClick={() => void cancel()}>
            {train.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {train.running && (
          <PauseButton testId="joint-pause" paused={train.paused} disabled={train.cancelling || !train.pauseFn} onToggle={() => void togglePause()} />
        )}
      </div>
      {!train.running && <StartReasons reasons={blockers} testId="joint-start-reasons" />}
      <ShareLink stage="joint" datasetId={datasetId} testId="joint" presets={presetNames} fields={SHARE_FIELDS} preset={preset} values={values} name={name}
        inputs={{ ...(emb ? { embeddingId: emb.id } : {}), ...(tok ? { tokenizerId: tok.id } : {}) }}
        apply={(c) => {
          setPreset(c.preset as JointPresetName);
          for (const [k, v] of Object.entries(c.values)) setValue(k, v);
          if (c.inputs?.embeddingId) setEmbeddingId(c.inputs.embeddingId);
          if (c.inputs?.tokenizerId) setTokenizerId(c.inputs.tokenizerId);
          if (c.name) setName(c.name);
        }} />
      {mine && train.running && (
        <>
          <p className="small" data-testid="joint-running-name">Training {train.runName ?? ''}</p>
          {train.paused && <PausedLabel testId="joint-paused" />}
          <ProgressLine progress={train.progress} startedAt={train.startedAt} testId="joint-progress" />
        </>
      )}
      {mine && train.result && <p className="small" data-testid="joint-note">{train.result.note}</p>}
      {mine && train.error && <ErrorBox error={train.error} title="Joint training failed" />}
      {mine && train.log.length > 0 && (
        <details className="small"><summary>log ({train.log.length})</summary>
          <ul data-testid="joint-log">{train.log.map((l, i) => <li key={i} className={l.level === 'warn' ? 'warn-list' : ''}>{l.message}</li>)}</ul>
        </details>
      )}
    </section>
  );
}
