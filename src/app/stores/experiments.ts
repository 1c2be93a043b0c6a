/**
 * Experiments store: the sweep form (joint preset and its edited values — the joint page's field
 * handling — the variants and the number of seeds), the running sweep job (progress of its current
 * run, log, cancel, pause) and the stored sweeps per dataset, polled while a job runs so the table
 * fills in as runs finish.
 */
import { create } from 'zustand';
import type { Result } from '../../../workers/api.ts';
import type { ExperimentResult, ExperimentSummary } from '../../../workers/experimentsApi.ts';
import type { AblationName, JointPresetInfo } from '../../../workers/jointApi.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import { ABLATION_VARIANT_NAMES, SWEEP_DECL } from '../../core/stages/experiments.ts';
import { parseFieldValue } from '../../core/stages/fields.ts';
import { experimentOverrides } from '../experiments.ts';
import { checkForm, editedValues, presetFormValues } from '../stageForm.ts';
import { JOINT_STAGE } from '../../core/stages/joint.ts';
import type { StageDecl } from '../../core/stages/fields.ts';
import { getStudioClient } from '../workerClient.ts';
import type { JobProgress } from './job.ts';
import { createJobSlice, internal } from './jobEvents.ts';
import { jointFormValues } from './joint.ts';
import { NO_PAUSE, type PauseView } from './pause.ts';

export interface ExperimentJobView extends PauseView {
  running: boolean;
  cancelling: boolean;
  datasetId: string | null;
  startedAt: number;
  progress: JobProgress | null;
  log: { level: 'info' | 'warn'; message: string }[];
  error: StudioErrorInfo | null;
  result: ExperimentResult | null;
  cancelFn: (() => Promise<void>) | null;
}

const IDLE: ExperimentJobView = { running: false, cancelling: false, datasetId: null, startedAt: 0, progress: null, log: [], error: null, result: null, cancelFn: null, ...NO_PAUSE };

/** The form's values of a preset: the joint page's (the sweep's own fields are hidden, not sent). */
function formValues(info: JointPresetInfo): Record<string, string> {
  return jointFormValues(info.name);
}

/** The variants a form text names (the checkboxes' state; unknown names are not checked). */
export function checkedVariants(text: string): AblationName[] {
  const r = parseFieldValue(SWEEP_DECL.fields[0], text);
  if (r.ok) return r.value as AblationName[];
  const named = text.split(',').map((x) => x.trim());
  return ABLATION_VARIANT_NAMES.filter((v) => named.includes(v));
}

interface ExperimentsState {
  preset: string;
  values: Record<string, string>;
  /** The sweep's own fields as text (variants, seeds, first_seed; SWEEP_DECL). */
  sweep: Record<string, string>;
  job: ExperimentJobView;
  experiments: Record<string, ExperimentSummary[] | undefined>;
  listError: StudioErrorInfo | null;
  /** Fills the form from the presets once they are known (keeps edits made since). */
  initForm(presets: JointPresetInfo[]): void;
  setPreset(name: string, presets: JointPresetInfo[]): void;
  setValue(key: string, value: string): void;
  toggleVariant(v: AblationName): void;
  setSweepValue(key: string, text: string): void;
  refresh(datasetId: string): Promise<void>;
  start(datasetId: string, embeddingId: string, tokenizerId: string, name: string): Promise<void>;
  resume(datasetId: string, id: string): Promise<void>;
  cancel(): Promise<void>;
  togglePause(): Promise<void>;
  remove(datasetId: string, id: string, withRuns: boolean): Promise<Result<void>>;
}

export const useExperimentsStore = create<ExperimentsState>()((set, get) => {
  const job = createJobSlice<ExperimentsState, 'job', ExperimentResult>(set, get, 'job', {
    idle: IDLE,
    log: { keep: 100 },
    // The table follows the stored runs while the sweep trains (each finished run is stored).
    pollMs: 2000,
    refresh: (datasetId) => get().refresh(datasetId),
  });

  return {
    preset: SWEEP_DECL.defaultPreset,
    values: {},
    sweep: presetFormValues(SWEEP_DECL as StageDecl<object>, SWEEP_DECL.defaultPreset),
    job: IDLE,
    experiments: {},
    listError: null,

    initForm(presets) {
      if (Object.keys(get().values).length || !presets.length) return;
      const info = presets.find((p) => p.name === get().preset) ?? presets[0];
      set({ preset: info.name, values: formValues(info) });
    },

    setPreset(name, presets) {
      const info = presets.find((p) => p.name === name);
      if (info) set({ preset: name, values: formValues(info) });
    },

    setValue(key, value) {
      set((s) => ({ values: { ...s.values, [key]: value } }));
    },

    toggleVariant(v) {
      set((s) => {
        const now = checkedVariants(s.sweep.variants ?? '');
        const on = now.includes(v);
        // Kept in the paper's order, whatever the clicking order.
        return { sweep: { ...s.sweep, variants: ABLATION_VARIANT_NAMES.filter((x) => (x === v ? !on : now.includes(x))).join(',') } };
      });
    },

    setSweepValue(key, text) {
      set((s) => ({ sweep: { ...s.sweep, [key]: text } }));
    },

    async refresh(datasetId) {
      try {
        const r = await getStudioClient().listExperiments(datasetId);
        set((s) => ({ experiments: r.ok ? { ...s.experiments, [datasetId]: r.value } : s.experiments, listError: r.ok ? null : r.error }));
      } catch (err) {
        set({ listError: internal(err).error });
      }
    },

    start(datasetId, embeddingId, tokenizerId, name) {
      const { preset, values, sweep } = get();
      const refused = checkForm(SWEEP_DECL, preset, sweep).errors[0];
      if (refused) {
        set({ job: { ...IDLE, datasetId, error: { code: 'bad_option', field: refused.field, message: refused.message } } });
        return Promise.resolve();
      }
      // the worker resolves the sweep against the same declaration and names a refused field
      return job.run(datasetId, {}, (cb) => getStudioClient().startExperiment({
        datasetId, embeddingId, tokenizerId, preset, overrides: experimentOverrides(editedValues(JOINT_STAGE as StageDecl<object>, preset, values)),
        sweep: { ...sweep }, ...(name ? { name } : {}),
      }, cb));
    },

    resume(datasetId, id) {
      return job.run(datasetId, {}, (cb) => getStudioClient().resumeExperiment(id, cb));
    },

    cancel: job.cancel,

    togglePause: job.togglePause,

    async remove(datasetId, id, withRuns) {
      let r: Result<void>;
      try {
        r = await getStudioClient().deleteExperiment(id, withRuns);
      } catch (err) {
        r = internal(err);
      }
      await get().refresh(datasetId);
      return r;
    },
  };
});
