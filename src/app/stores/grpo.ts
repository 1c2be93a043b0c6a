/**
 * GRPO store (spec §6): presets and the edited values, the running job with its live curves (one
 * point per update; x = the 1-based update count, each validation at the update that ended its
 * epoch, x = 0 holds the pre-GRPO validation), the dataset's finished joint runs (the starting
 * points) and its GRPO runs.
 */
import { create } from 'zustand';
import type { ExportedFile, Result } from '../../../workers/api.ts';
import type { GrpoEpochRecord, GrpoPresetInfo, GrpoPresetName, GrpoRunSummary, GrpoTrainResult } from '../../../workers/grpoApi.ts';
import type { JointRunSummary } from '../../../workers/jointApi.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/events.ts';
import { getStudioClient } from '../workerClient.ts';
import type { JobProgress } from './job.ts';
import { createJobSlice, internal } from './jobEvents.ts';
import { NO_PAUSE, type PauseView } from './pause.ts';
import { GRPO_STAGE } from '../../core/stages/grpo.ts';
import type { StageDecl } from '../../core/stages/fields.ts';
import { editedValues, presetFormValues } from '../stageForm.ts';

export interface GrpoPoint {
  x: number;
  [metric: string]: number;
}

/**
 * The trainer's metric names from stored epoch records (charts of a stored run): one point per
 * update; records stored before per-update numbers existed give one point per epoch (its means) at
 * the update that ended it.
 */
export function grpoPointsFromRun(run: GrpoRunSummary): GrpoPoint[] {
  const pts: GrpoPoint[] = [];
  if (run.validBefore) pts.push({ x: 0, 'valid/ndcg@10': run.validBefore.metrics['ndcg@10'] ?? 0, 'valid/invalid_rate': run.validBefore.invalidRate });
  for (const r of run.history as GrpoEpochRecord[]) {
    const end = r.endStep ?? r.epoch + 1;
    const steps = r.steps ?? [{ step: end, rewardMean: r.rewardMean, hitRate: r.hitRate, invalidRate: r.invalidRate, kl: r.kl, policyLoss: r.policyLoss, loss: r.loss, gradNorm: r.gradNorm, lr: r.lr }];
    for (const st of steps) {
      pts.push({ x: st.step, reward_mean: st.rewardMean, hit_rate: st.hitRate, invalid_rate: st.invalidRate, kl: st.kl, policy_loss: st.policyLoss, loss: st.loss, grad_norm: st.gradNorm, lr: st.lr });
    }
    if (r.valid) {
      const last = pts[pts.length - 1];
      const p = last && last.x === end ? last : (pts.push({ x: end }), pts[pts.length - 1]);
      p['valid/ndcg@10'] = r.valid.metrics['ndcg@10'] ?? 0;
      p['valid/invalid_rate'] = r.valid.invalidRate;
    }
  }
  return pts;
}

export interface GrpoTrainView extends PauseView {
  running: boolean;
  cancelling: boolean;
  datasetId: string | null;
  startedAt: number;
  progress: JobProgress | null;
  error: StudioErrorInfo | null;
  cancelFn: (() => Promise<void>) | null;
  points: GrpoPoint[];
  log: { level: 'info' | 'warn'; message: string }[];
  result: GrpoTrainResult | null;
}

const IDLE: GrpoTrainView = { running: false, cancelling: false, datasetId: null, startedAt: 0, progress: null, error: null, cancelFn: null, points: [], log: [], result: null, ...NO_PAUSE };

interface GrpoState {
  presets: GrpoPresetInfo[] | null;
  presetsError: StudioErrorInfo | null;
  preset: GrpoPresetName;
  values: Record<string, string>;
  train: GrpoTrainView;
  jointRuns: Record<string, JointRunSummary[] | undefined>;
  runs: Record<string, GrpoRunSummary[] | undefined>;
  listError: StudioErrorInfo | null;
  loadPresets(): Promise<void>;
  setPreset(name: GrpoPresetName): void;
  setValue(key: string, value: string): void;
  refresh(datasetId: string): Promise<void>;
  start(datasetId: string, jointRunId: string, name: string): Promise<void>;
  cancel(): Promise<void>;
  /** Pauses or resumes the running training. */
  togglePause(): Promise<void>;
  remove(datasetId: string, id: string): Promise<Result<void>>;
  exportBundle(id: string): Promise<Result<ExportedFile>>;
}

/** Every metric's step is the update count (x); the pre-GRPO validation → x = 0; the test is not charted. */
function pointX(name: string, step: number): number | null {
  if (name.startsWith('test/')) return null;
  if (name.startsWith('valid_before/')) return 0;
  return step;
}

/** The trainer's metric events added to the points (x by pointX; the pre-GRPO validation under valid/…). */
export function withGrpoMetricEvents(prev: GrpoPoint[], events: ProgressEvent[]): GrpoPoint[] {
  const points = [...prev];
  const index = new Map<number, number>();
  points.forEach((p, i) => index.set(p.x, i));
  for (const e of events) {
    if (e.type !== 'metric') continue;
    const x = pointX(e.name, e.step);
    if (x === null) continue;
    const name = e.name.startsWith('valid_before/') ? `valid/${e.name.slice('valid_before/'.length)}` : e.name;
    const at = index.get(x);
    if (at !== undefined) points[at] = { ...points[at], [name]: e.value };
    else {
      index.set(x, points.length);
      points.push({ x, [name]: e.value });
    }
  }
  return points.sort((a, b) => a.x - b.x);
}

export const useGrpoStore = create<GrpoState>()((set, get) => {
  const job = createJobSlice<GrpoState, 'train', GrpoTrainResult>(set, get, 'train', {
    idle: IDLE,
    log: { keep: 50 },
    apply: (t, events) => ({ points: withGrpoMetricEvents(t.points, events) }),
    // the running record gains its SFT validation and epochs as they are stored: the table shows them
    pollMs: 5000,
    refresh: (datasetId) => get().refresh(datasetId),
  });

  return {
    presets: null,
    presetsError: null,
    preset: 'quick',
    // the declaration is here already: the form is editable before the worker answers
    values: presetFormValues(GRPO_STAGE as StageDecl<object>, 'quick'),
    train: IDLE,
    jointRuns: {},
    runs: {},
    listError: null,

    async loadPresets() {
      if (get().presets) return;
      let r: Result<GrpoPresetInfo[]>;
      try {
        r = await getStudioClient().getGrpoPresets();
      } catch (err) {
        r = internal(err);
      }
      if (!r.ok) {
        set({ presetsError: r.error });
        return;
      }
      const { preset, values } = get();
      const info = r.value.find((p) => p.name === preset) ?? r.value[0];
      // an edit made while the presets were loading is kept
      const kept = info.name === preset ? values : presetFormValues(GRPO_STAGE as StageDecl<object>, info.name);
      set({ presets: r.value, presetsError: null, preset: info.name, values: kept });
    },

    setPreset(name) {
      const info = get().presets?.find((p) => p.name === name);
      if (info) set({ preset: name, values: presetFormValues(GRPO_STAGE as StageDecl<object>, info.name) });
    },

    setValue(key, value) {
      set((s) => ({ values: { ...s.values, [key]: value } }));
    },

    async refresh(datasetId) {
      const client = getStudioClient();
      try {
        const [j, g] = await Promise.all([client.listJointRuns(datasetId), client.listGrpoRuns(datasetId)]);
        set((s) => ({
          jointRuns: j.ok ? { ...s.jointRuns, [datasetId]: j.value } : s.jointRuns,
          runs: g.ok ? { ...s.runs, [datasetId]: g.value } : s.runs,
          listError: !j.ok ? j.error : !g.ok ? g.error : null,
        }));
      } catch (err) {
        set({ listError: internal(err).error });
      }
    },

    start(datasetId, jointRunId, name) {
      const { preset, values } = get();
      return job.run(datasetId, {}, (cb) => getStudioClient().startGrpo({ jointRunId, preset, overrides: editedValues(GRPO_STAGE as StageDecl<object>, preset, values), ...(name ? { name } : {}) }, cb));
    },

    cancel: job.cancel,

    togglePause: job.togglePause,

    async remove(datasetId, id) {
      let r: Result<void>;
      try {
        r = await getStudioClient().deleteGrpoRun(id);
      } catch (err) {
        r = internal(err);
      }
      await get().refresh(datasetId);
      return r;
    },

    async exportBundle(id) {
      try {
        return await getStudioClient().exportGrpoBundle(id);
      } catch (err) {
        return internal(err);
      }
    },
  };
});
