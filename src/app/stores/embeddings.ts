/**
 * Item-embeddings store (stage 2): the SASRec presets and the config being edited, the running
 * SASRec job with its live curves (events are buffered and applied in batches, so a fast stream
 * of metrics re-renders the charts a few times per second, not per event), the text-embedding
 * job, and the stored tables per dataset.
 */
import { create } from 'zustand';
import type {
  EmbeddingKind,
  EmbeddingSummary,
  Result,
  SasrecPresetInfo,
  SasrecPresetName,
  SasrecTrainResult,
  TextEmbeddingOptions,
} from '../../../workers/api.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/events.ts';
import { getStudioClient } from '../workerClient.ts';
import type { JobProgress } from './job.ts';
import { createJobSlice, internal, progressFrom } from './jobEvents.ts';
import { NO_PAUSE, type PauseView } from './pause.ts';
import { EMBEDDINGS_STAGE } from '../../core/stages/embeddings.ts';
import type { StageDecl } from '../../core/stages/fields.ts';
import { checkForm, presetFormValues } from '../stageForm.ts';

export interface LossPoint { step: number; loss: number }
export interface EpochPoint { epoch: number; trainLoss?: number; recall10?: number; ndcg10?: number }

export interface TrainDraft {
  preset: SasrecPresetName;
  /** Field key → the text of every field of the SASRec declaration, as the form edits it. */
  values: Record<string, string>;
  /** Blank = whole epochs. */
  maxStepsPerEpoch: number | null;
}

interface JobView extends PauseView {
  running: boolean;
  cancelling: boolean;
  datasetId: string | null;
  startedAt: number;
  progress: JobProgress | null;
  error: StudioErrorInfo | null;
  cancelFn: (() => Promise<void>) | null;
}

const IDLE_JOB: JobView = { running: false, cancelling: false, datasetId: null, startedAt: 0, progress: null, error: null, cancelFn: null, ...NO_PAUSE };

export interface TrainView extends JobView {
  loss: LossPoint[];
  epochs: EpochPoint[];
  log: string[];
  result: SasrecTrainResult | null;
}

const IDLE_TRAIN: TrainView = { ...IDLE_JOB, loss: [], epochs: [], log: [], result: null };

/** SASRec's metric events added to the curves: batch losses, and per epoch train loss, valid recall/ndcg@10. */
function sasrecCurves(t: TrainView, events: ProgressEvent[]): Pick<TrainView, 'loss' | 'epochs'> {
  let { loss, epochs } = t;
  const newLoss: LossPoint[] = [];
  const epochUpdates = new Map<number, EpochPoint>();
  for (const e of events) {
    if (e.type !== 'metric') continue;
    if (e.name === 'loss') newLoss.push({ step: e.step, loss: e.value });
    else if (e.name === 'train_loss' || e.name === 'valid/recall@10' || e.name === 'valid/ndcg@10') {
      const prev = epochUpdates.get(e.step) ?? epochs.find((p) => p.epoch === e.step) ?? { epoch: e.step };
      const next = { ...prev };
      if (e.name === 'train_loss') next.trainLoss = e.value;
      if (e.name === 'valid/recall@10') next.recall10 = e.value;
      if (e.name === 'valid/ndcg@10') next.ndcg10 = e.value;
      epochUpdates.set(e.step, next);
    }
  }
  if (newLoss.length) loss = [...loss, ...newLoss];
  if (epochUpdates.size) {
    const map = new Map(epochs.map((p) => [p.epoch, p]));
    for (const [k, v] of epochUpdates) map.set(k, v);
    epochs = [...map.values()].sort((a, b) => a.epoch - b.epoch);
  }
  return { loss, epochs };
}

export interface TextView extends JobView {
  result: EmbeddingSummary | null;
  warnings: string[];
}

interface EmbeddingsState {
  presets: SasrecPresetInfo[] | null;
  presetsError: StudioErrorInfo | null;
  draft: TrainDraft | null;
  train: TrainView;
  text: TextView;
  tables: Record<string, EmbeddingSummary[] | undefined>;
  listError: StudioErrorInfo | null;
  loadPresets(): Promise<void>;
  setPreset(name: SasrecPresetName): void;
  setValue(key: string, text: string): void;
  setMaxSteps(n: number | null): void;
  startTraining(datasetId: string): Promise<void>;
  cancelTraining(): Promise<void>;
  /** Pauses or resumes the running training. */
  togglePause(): Promise<void>;
  computeText(datasetId: string, options: TextEmbeddingOptions): Promise<void>;
  cancelText(): Promise<void>;
  refresh(datasetId: string): Promise<void>;
  importTable(datasetId: string, file: File, kind: EmbeddingKind): Promise<Result<EmbeddingSummary>>;
  buildDual(datasetId: string, collabId: string, textId: string, normalize: boolean): Promise<Result<EmbeddingSummary>>;
  remove(datasetId: string, id: string): Promise<Result<void>>;
}

export const useEmbeddingsStore = create<EmbeddingsState>()((set, get) => {
  const training = createJobSlice<EmbeddingsState, 'train', SasrecTrainResult>(set, get, 'train', {
    idle: IDLE_TRAIN,
    log: { keep: 50, text: true },
    apply: (t, events) => sasrecCurves(t, events),
    batching: 'interval',
    refresh: (datasetId) => get().refresh(datasetId),
    // The result's curves are complete (no throttling): show them as the final state.
    finish: (t, res) => {
      if (!res.ok) return {};
      const r = res.value;
      return {
        loss: r.curves.steps.length ? r.curves.steps : t.loss,
        epochs: r.curves.epochs.length
          ? r.curves.epochs.map((p) => ({ epoch: p.epoch, trainLoss: p.trainLoss, recall10: p.validRecall10, ndcg10: p.validNdcg10 }))
          : t.epochs,
      };
    },
  });

  return {
    presets: null,
    presetsError: null,
    draft: null,
    train: IDLE_TRAIN,
    text: { ...IDLE_JOB, result: null, warnings: [] },
    tables: {},
    listError: null,

    async loadPresets() {
      if (get().presets) return;
      let res: Result<SasrecPresetInfo[]>;
      try {
        res = await getStudioClient().getSasrecPresets();
      } catch (err) {
        res = internal(err);
      }
      if (!res.ok) {
        set({ presetsError: res.error });
        return;
      }
      const presets = res.value;
      set({ presets, presetsError: null });
      if (!get().draft) {
        const quick = presets.find((p) => p.name === 'quick') ?? presets[0];
        set({ draft: { preset: quick.name, values: presetFormValues(EMBEDDINGS_STAGE as StageDecl<object>, quick.name), maxStepsPerEpoch: null } });
      }
    },

    setPreset(name) {
      const p = get().presets?.find((x) => x.name === name);
      const d = get().draft;
      if (!p || !d) return;
      set({ draft: { ...d, preset: name, values: presetFormValues(EMBEDDINGS_STAGE as StageDecl<object>, name) } });
    },

    setValue(key, text) {
      const d = get().draft;
      if (!d) return;
      set({ draft: { ...d, values: { ...d.values, [key]: text } } });
    },

    setMaxSteps(n) {
      const d = get().draft;
      if (d) set({ draft: { ...d, maxStepsPerEpoch: n } });
    },

    async startTraining(datasetId) {
      const d = get().draft;
      if (!d) return;
      // the page disables Start while a value is refused; the worker checks the config again
      const config = checkForm(EMBEDDINGS_STAGE, d.preset, d.values).config;
      if (!config) return;
      await training.run(datasetId, {}, (cb) => getStudioClient().trainSasrec(datasetId, config, cb,
        d.maxStepsPerEpoch ? { maxStepsPerEpoch: d.maxStepsPerEpoch } : undefined));
    },

    cancelTraining: training.cancel,

    togglePause: training.togglePause,

    async computeText(datasetId, options) {
      if (get().text.running) return;
      set({ text: { ...IDLE_JOB, running: true, datasetId, startedAt: Date.now(), result: null, warnings: [] } });
      let res: Result<EmbeddingSummary>;
      try {
        const job = getStudioClient().computeTextEmbeddings(datasetId, options, (e) => {
          set((s) => ({
            text: {
              ...s.text,
              progress: progressFrom(s.text.progress, e),
              warnings: e.type === 'log' && e.level === 'warn' ? [...s.text.warnings, e.message] : s.text.warnings,
            },
          }));
        });
        set((s) => ({ text: { ...s.text, cancelFn: job.cancel } }));
        res = await job.result;
      } catch (err) {
        res = internal(err);
      }
      set((s) => ({
        text: { ...s.text, running: false, cancelling: false, cancelFn: null, result: res.ok ? res.value : null, error: res.ok ? null : res.error },
      }));
      await get().refresh(datasetId);
    },

    async cancelText() {
      const fn = get().text.cancelFn;
      if (!fn) return;
      set((s) => ({ text: { ...s.text, cancelling: true } }));
      await fn();
    },

    async refresh(datasetId) {
      let res: Result<EmbeddingSummary[]>;
      try {
        res = await getStudioClient().listEmbeddings(datasetId);
      } catch (err) {
        res = internal(err);
      }
      if (res.ok) set((s) => ({ tables: { ...s.tables, [datasetId]: res.value }, listError: null }));
      else set({ listError: res.error });
    },

    async importTable(datasetId, file, kind) {
      let res: Result<EmbeddingSummary>;
      try {
        res = await getStudioClient().importEmbedding(datasetId, file, file.name, kind);
      } catch (err) {
        res = internal(err);
      }
      await get().refresh(datasetId);
      return res;
    },

    async buildDual(datasetId, collabId, textId, normalize) {
      let res: Result<EmbeddingSummary>;
      try {
        res = await getStudioClient().buildDualEmbedding(datasetId, collabId, textId, normalize);
      } catch (err) {
        res = internal(err);
      }
      await get().refresh(datasetId);
      return res;
    },

    async remove(datasetId, id) {
      let res: Result<void>;
      try {
        res = await getStudioClient().deleteEmbedding(id);
      } catch (err) {
        res = internal(err);
      }
      await get().refresh(datasetId);
      return res;
    },
  };
});
