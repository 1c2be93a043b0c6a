/**
 * Joint-training store (stage 4): presets and the edited values, the running (or resumed) job with
 * its live curves — one point per finished epoch, seeded from the stored history on resume — the
 * dataset's inputs and runs, the recommendations view and the bundle import.
 */
import { create } from 'zustand';
import type { ExportedFile, Result } from '../../../workers/api.ts';
import type {
  JointEpochRecord,
  JointImportResult,
  JointInputs,
  JointPresetInfo,
  JointPresetName,
  JointRunSummary,
  JointTrainConfig,
  JointTrainResult,
  RecommendationQuery,
  Recommendations,
} from '../../../workers/jointApi.ts';
import type { Diagnostics } from '../../core/eval/diagnostics.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/events.ts';
import { getStudioClient } from '../workerClient.ts';
import type { JobProgress } from './job.ts';
import { createJobSlice, internal } from './jobEvents.ts';
import { JOINT_STAGE } from '../../core/stages/joint.ts';
import { formValuesOf, type StageDecl } from '../../core/stages/fields.ts';
import { editedValues, presetFormValues } from '../stageForm.ts';
import { NO_PAUSE, type PauseView } from './pause.ts';

/** One point per finished epoch (x = 1-based epoch count over both stages), metric name → value. */
export interface JointPoint {
  x: number;
  [metric: string]: number;
}

/** The joint page's form: field key → text of every field of the declaration in `preset`. */
export function jointFormValues(preset: string): Record<string, string> {
  return presetFormValues(JOINT_STAGE as StageDecl<object>, preset);
}

/** A stored run's config as the form's text (every field, via the declaration). */
export function jointValuesOfConfig(c: JointTrainConfig): Record<string, string> {
  // train_limit is absent from configs stored before it existed: 0 = all, its meaning there
  return formValuesOf(JOINT_STAGE as StageDecl<object>, { train_limit: 0, ...c });
}

/** The same metric names the trainer emits, from stored epoch records (charts after a reload). */
export function pointsFromHistory(history: JointEpochRecord[]): JointPoint[] {
  return history.map((r, i) => {
    const p: JointPoint = { x: i + 1 };
    const phase = r.stage === 'finetune' ? 'finetune' : r.phase;
    for (const [k, v] of Object.entries(r.loss)) if (Number.isFinite(v)) p[`loss/${phase}/${k}`] = v;
    p['lr/recommender'] = r.lrRecommender;
    p['lr/tokenizer'] = r.lrTokenizer;
    if (r.codes) {
      p['codes/collision_rate'] = r.codes.collisionRate;
      p['codes/churn'] = r.codes.churn;
      p['codes/gini'] = r.codes.giniMean;
    }
    if (r.valid) {
      for (const [k, v] of Object.entries(r.valid.metrics)) p[`valid/${k}`] = v;
      p['valid/invalid_rate'] = r.valid.invalidRate;
      Object.assign(p, diagnosticPoint(r.valid.diagnostics));
    }
    return p;
  });
}

/** A validation's diagnostics under the trainer's live metric names (the overlap is not among the live ones). */
function diagnosticPoint(d: Diagnostics | undefined): Record<string, number> {
  if (!d) return {};
  const p: Record<string, number> = {
    'valid/distinct_top1': d.distinctTop1,
    'valid/distinct_top10': d.distinctTopK,
    'valid/modal_top10_share': d.modalTopKShare,
    'valid/coverage@10': d.coverageAtK,
    'valid/popularity_overlap@10': d.popularityOverlapAtK,
  };
  if (d.shuffle) p['valid/shuffle_gap'] = d.shuffle.gap;
  return p;
}

/**
 * The trainer's per-epoch metric events added to the points. An epoch's events carry step = the
 * number of finished epochs including it, so x = step: the same x as pointsFromHistory gives the
 * stored epoch (a resumed run's curves continue its stored ones without a gap).
 */
export function withMetricEvents(points: JointPoint[], events: ProgressEvent[]): JointPoint[] {
  const out = [...points];
  const index = new Map<number, number>();
  out.forEach((p, i) => index.set(p.x, i));
  for (const e of events) {
    if (e.type !== 'metric') continue;
    const x = e.step;
    const at = index.get(x);
    if (at !== undefined) out[at] = { ...out[at], [e.name]: e.value };
    else {
      index.set(x, out.length);
      out.push({ x, [e.name]: e.value });
    }
  }
  return out.sort((a, b) => a.x - b.x);
}

/**
 * Live points with what only the stored epochs have (e.g. the popularity overlap) filled in; the
 * live values win where both exist. Both count epochs from 1 over both stages.
 */
export function withStoredPoints(live: JointPoint[], stored: JointPoint[]): JointPoint[] {
  if (!stored.length) return live;
  const byX = new Map(stored.map((p) => [p.x, p]));
  const out = live.map((p) => ({ ...byX.get(p.x), ...p }));
  const have = new Set(live.map((p) => p.x));
  for (const p of stored) if (!have.has(p.x)) out.push(p);
  return out.sort((a, b) => a.x - b.x);
}

/** Runs that stopped without finishing and can be resumed (a reload, a closed tab, a crashed worker), newest first. */
export function interruptedRuns(runs: JointRunSummary[]): JointRunSummary[] {
  return runs.filter((r) => r.resumable && (r.status === 'paused' || r.status === 'running')).sort((a, b) => b.updatedAt - a.updatedAt);
}

/** A tokenizer whose codes collide on more than this share of items is flagged on the joint page. */
export const HIGH_COLLISION = 0.1;

/**
 * The table and tokenizer a form starts from: the chosen ones when they still fit, else the first
 * table and, of the tokenizers of its width, the one with the lowest collision rate (those trained
 * on this table first; the newest is not necessarily the best).
 */
export function chooseInputs(inputs: JointInputs, embeddingId: string, tokenizerId: string): {
  emb: JointInputs['embeddings'][number] | undefined;
  fitting: JointInputs['tokenizers'];
  tok: JointInputs['tokenizers'][number] | undefined;
} {
  const emb = inputs.embeddings.find((e) => e.id === embeddingId) ?? inputs.embeddings[0];
  const fitting = inputs.tokenizers.filter((t) => emb && t.inDim === emb.cols);
  const byCollision = (list: JointInputs['tokenizers']) => [...list].sort((a, b) => a.collisionRate - b.collisionRate)[0];
  const tok = fitting.find((t) => t.id === tokenizerId) ?? byCollision(fitting.filter((t) => t.embeddingId === emb?.id)) ?? byCollision(fitting);
  return { emb, fitting, tok };
}

export interface JointTrainView extends PauseView {
  running: boolean;
  cancelling: boolean;
  datasetId: string | null;
  /** The run being trained (known once the worker lists it). */
  runName: string | null;
  startedAt: number;
  progress: JobProgress | null;
  error: StudioErrorInfo | null;
  cancelFn: (() => Promise<void>) | null;
  points: JointPoint[];
  log: { level: 'info' | 'warn'; message: string }[];
  result: JointTrainResult | null;
}

const IDLE: JointTrainView = {
  running: false, cancelling: false, datasetId: null, runName: null, startedAt: 0, progress: null, error: null,
  cancelFn: null, points: [], log: [], result: null, ...NO_PAUSE,
};

/** The stored run whose configuration the form shows (after a reload: the interrupted run; after Resume: the resumed one). */
export interface FormOfRun {
  runId: string;
  name: string;
  status: string;
  embeddingId: string | null;
  tokenizerId: string | null;
}

interface JointState {
  presets: JointPresetInfo[] | null;
  presetsError: StudioErrorInfo | null;
  preset: JointPresetName;
  values: Record<string, string>;
  /** Set while the form shows a stored run's configuration unchanged; any edit clears it. */
  formOf: FormOfRun | null;
  train: JointTrainView;
  inputs: Record<string, JointInputs | undefined>;
  runs: Record<string, JointRunSummary[] | undefined>;
  listError: StudioErrorInfo | null;
  recs: { runId: string | null; loading: boolean; data: Recommendations | null; error: StudioErrorInfo | null };
  loadPresets(): Promise<void>;
  setPreset(name: JointPresetName): void;
  setValue(key: string, value: string): void;
  /** Shows a stored run's preset, values and inputs in the form. */
  showRunConfig(run: JointRunSummary): void;
  refresh(datasetId: string): Promise<void>;
  start(datasetId: string, embeddingId: string, tokenizerId: string, name: string): Promise<void>;
  resume(datasetId: string, run: JointRunSummary): Promise<void>;
  cancel(): Promise<void>;
  /** Pauses or resumes the running training. */
  togglePause(): Promise<void>;
  remove(datasetId: string, id: string): Promise<Result<void>>;
  exportBundle(id: string): Promise<Result<ExportedFile>>;
  /** The run laid out for the reference PyTorch trainer (one zip; accelerate with `gpus` processes). */
  exportReference(id: string, gpus: number): Promise<Result<ExportedFile>>;
  importBundle(datasetId: string, files: File[]): Promise<Result<JointImportResult>>;
  showRecommendations(runId: string, query: RecommendationQuery): Promise<void>;
}

export const useJointStore = create<JointState>()((set, get) => {
  const job = createJobSlice<JointState, 'train', JointTrainResult>(set, get, 'train', {
    idle: IDLE,
    log: { keep: 50 },
    apply: (t, events) => ({ points: withMetricEvents(t.points, events) }),
    // The run list follows the stored epochs while the job runs (every finished epoch is stored).
    pollMs: 2000,
    refresh: (datasetId) => get().refresh(datasetId),
    finish: (t, res) => ({ runName: res.ok ? res.value.run.name : t.runName }),
  });

  return {
    presets: null,
    presetsError: null,
    preset: 'quick',
    values: {},
    formOf: null,
    train: IDLE,
    inputs: {},
    runs: {},
    listError: null,
    recs: { runId: null, loading: false, data: null, error: null },

    async loadPresets() {
      if (get().presets) return;
      let r: Result<JointPresetInfo[]>;
      try {
        r = await getStudioClient().getJointPresets();
      } catch (err) {
        r = internal(err);
      }
      if (!r.ok) {
        set({ presetsError: r.error });
        return;
      }
      // A second, concurrent load (StrictMode runs effects twice) must not reset edited values.
      if (get().presets) return;
      const info = r.value.find((p) => p.name === get().preset) ?? r.value[0];
      // a stored run's configuration shown before the presets arrived stays
      if (get().formOf) set({ presets: r.value, presetsError: null });
      else set({ presets: r.value, presetsError: null, preset: info.name, values: jointFormValues(info.name) });
    },

    setPreset(name) {
      const info = get().presets?.find((p) => p.name === name);
      if (info) set({ preset: name, values: jointFormValues(name), formOf: null });
    },

    setValue(key, value) {
      set((s) => ({ values: { ...s.values, [key]: value }, formOf: s.values[key] === value ? s.formOf : null }));
    },

    showRunConfig(run) {
      const preset = (JOINT_STAGE.presets[run.preset] ? run.preset : get().preset) as JointPresetName;
      set({
        preset,
        values: jointValuesOfConfig(run.config),
        formOf: { runId: run.id, name: run.name, status: run.status, embeddingId: run.embeddingId, tokenizerId: run.tokenizerId },
      });
    },

    async refresh(datasetId) {
      const client = getStudioClient();
      try {
        const [i, r] = await Promise.all([client.listJointInputs(datasetId), client.listJointRuns(datasetId)]);
        set((s) => ({
          inputs: i.ok ? { ...s.inputs, [datasetId]: i.value } : s.inputs,
          runs: r.ok ? { ...s.runs, [datasetId]: r.value } : s.runs,
          listError: !i.ok ? i.error : !r.ok ? r.error : null,
        }));
      } catch (err) {
        set({ listError: internal(err).error });
      }
    },

    start(datasetId, embeddingId, tokenizerId, name) {
      const { preset, values } = get();
      return job.run(datasetId, { runName: name || null, points: [] }, (cb) =>
        getStudioClient().startJoint({ datasetId, embeddingId, tokenizerId, preset, overrides: editedValues(JOINT_STAGE as StageDecl<object>, preset, values), ...(name ? { name } : {}) }, cb));
    },

    resume(datasetId, run) {
      get().showRunConfig(run);
      return job.run(datasetId, { runName: run.name, points: pointsFromHistory(run.history) }, (cb) => getStudioClient().resumeJoint(run.id, cb));
    },

    cancel: job.cancel,

    togglePause: job.togglePause,

    async remove(datasetId, id) {
      let r: Result<void>;
      try {
        r = await getStudioClient().deleteJointRun(id);
      } catch (err) {
        r = internal(err);
      }
      if (get().recs.runId === id) set({ recs: { runId: null, loading: false, data: null, error: null } });
      await get().refresh(datasetId);
      return r;
    },

    async exportBundle(id) {
      try {
        return await getStudioClient().exportJointBundle(id);
      } catch (err) {
        return internal(err);
      }
    },

    async exportReference(id, gpus) {
      try {
        return await getStudioClient().exportReferenceLayout(id, gpus);
      } catch (err) {
        return internal(err);
      }
    },

    async importBundle(datasetId, files) {
      let r: Result<JointImportResult>;
      try {
        r = await getStudioClient().importJointBundle(datasetId, files.map((f) => ({ name: f.name, data: f })));
      } catch (err) {
        r = internal(err);
      }
      await get().refresh(datasetId);
      return r;
    },

    async showRecommendations(runId, query) {
      set({ recs: { runId, loading: true, data: get().recs.runId === runId ? get().recs.data : null, error: null } });
      let r: Result<Recommendations>;
      try {
        r = await getStudioClient().recommendations(runId, query);
      } catch (err) {
        r = internal(err);
      }
      if (get().recs.runId !== runId) return;
      set({ recs: { runId, loading: false, data: r.ok ? r.value : null, error: r.ok ? null : r.error } });
    },
  };
});
