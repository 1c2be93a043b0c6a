/** The starting joint run, preset with provenance, the main overrides, Start / Cancel, progress with ETA. */
import { useEffect, useMemo, useState } from 'react';
import type { GrpoPresetName } from '../../../../workers/grpoApi.ts';
import type { JointRunSummary } from '../../../../workers/jointApi.ts';
import { GRPO_STAGE } from '../../../core/stages/grpo.ts';
import type { StageDecl } from '../../../core/stages/fields.ts';
import { checkForm, startBlockers } from '../../stageForm.ts';
import { useGrpoStore } from '../../stores/grpo.ts';
import { StageConfigForm, StartReasons } from '../StageConfigForm.tsx';
import { ErrorBox } from '../ErrorBox.tsx';
import { ShareLink } from '../ShareLink.tsx';
import { PauseButton, PausedLabel } from '../PauseButton.tsx';
import { ProgressLine } from '../embeddings/ProgressLine.tsx';

const SHARE_FIELDS: readonly string[] = GRPO_STAGE.fields.map((f) => f.key);

export function GrpoConfigPanel({ datasetId, jointRuns }: { datasetId: string; jointRuns: JointRunSummary[] }) {
  const presets = useGrpoStore((s) => s.presets);
  const presetsError = useGrpoStore((s) => s.presetsError);
  const preset = useGrpoStore((s) => s.preset);
  const values = useGrpoStore((s) => s.values);
  const train = useGrpoStore((s) => s.train);
  const { loadPresets, setPreset, setValue, start, cancel, togglePause } = useGrpoStore.getState();
  const [jointRunId, setJointRunId] = useState('');
  const [name, setName] = useState('');

  useEffect(() => { void loadPresets(); }, [loadPresets]);

  const finished = jointRuns.filter((r) => r.status === 'finished');
  const joint = finished.find((r) => r.id === jointRunId) ?? finished[0];
  const info = presets?.find((p) => p.name === preset);
  const presetNames = useMemo(() => presets?.map((p) => p.name) ?? null, [presets]);
  const mine = train.datasetId === datasetId;
  const check = checkForm(GRPO_STAGE, preset, values);
  const blockers = startBlockers(check, [
    train.running && 'a GRPO run is going',
    !joint && 'choose a finished joint run',
    !presets && 'the presets are loading',
  ]);

  return (
    <section className="card" data-testid="grpo-config">
      <h3>New GRPO fine-tuning</h3>
      {presetsError && <ErrorBox error={presetsError} title="Could not read the presets" />}
      <div className="row tok-controls">
        <label>Joint run (SFT policy){' '}
          <select data-testid="grpo-joint-run" value={joint?.id ?? ''} onChange={(e) => setJointRunId(e.target.value)}>
            {finished.length === 0 && <option value="">none finished — train one in stage 4</option>}
            {finished.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}{r.test ? ` (test ndcg@10 ${(r.test.metrics['ndcg@10'] ?? 0).toFixed(4)})` : ''}
              </option>
            ))}
          </select>
        </label>
        <label>Preset{' '}
          <select data-testid="grpo-preset" value={preset} onChange={(e) => setPreset(e.target.value as 'quick' | 'paper')}>
            {(presets ?? []).map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </select>
        </label>
        <label>Run name{' '}
          <input data-testid="grpo-name" value={name} placeholder="auto" onChange={(e) => setName(e.target.value)} />
        </label>
      </div>
      {info && <p className="small muted" data-testid="grpo-preset-description">{info.description}</p>}
      <StageConfigForm decl={GRPO_STAGE as StageDecl<object>} preset={preset} values={values} onChange={setValue} check={check} testIdPrefix="grpo" disabled={train.running} />
      <div className="row tok-controls">
        <button type="button" className="primary" data-testid="grpo-start" data-shortcut="start" disabled={blockers.length > 0}
          onClick={() => joint && void start(datasetId, joint.id, name.trim())}>
          Start GRPO
        </button>
        {train.running && (
          <button type="button" data-testid="grpo-cancel" data-shortcut="cancel" disabled={train.cancelling || !train.cancelFn} onClick={() => void cancel()}>
            {train.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {train.running && (
          <PauseButton testId="grpo-pause" paused={train.paused} disabled={train.cancelling || !train.pauseFn} onToggle={() => void togglePause()} />
        )}
      </div>
      {!train.running && <StartReasons reasons={blockers} testId="grpo-start-reasons" />}
      <ShareLink stage="grpo" datasetId={datasetId} testId="grpo" presets={presetNames} fields={SHARE_FIELDS} preset={preset} values={values} name={name}
        apply={(c) => {
          setPreset(c.preset as GrpoPresetName);
          for (const [k, v] of Object.entries(c.values)) setValue(k, v);
          if (c.name) setName(c.name);
        }} />
      {mine && train.running && train.paused && <PausedLabel testId="grpo-paused" />}
      {mine && train.running && <ProgressLine progress={train.progress} startedAt={train.startedAt} testId="grpo-progress" />}
      {mine && train.result && <p className="small" data-testid="grpo-note">{train.result.note}</p>}
      {mine && train.error && <ErrorBox error={train.error} title="GRPO failed" />}
      {mine && train.log.length > 0 && (
        <details className="small"><summary>log ({train.log.length})</summary>
          <ul data-testid="grpo-log">{train.log.map((l, i) => <li key={i} className={l.level === 'warn' ? 'warn-list' : ''}>{l.message}</li>)}</ul>
        </details>
      )}
    </section>
  );
}
