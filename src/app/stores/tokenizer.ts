/**
 * Tokenizer store (stage 3): the RQ-VAE presets and the config being edited, the running training
 * job with its live curves (events buffered and applied a few times per second), the dataset's
 * embedding tables and stored tokenizers, the inspector's view, import and comparison.
 */
import { create } from 'zustand';
import type { EmbeddingSummary, Result } from '../../../workers/api.ts';
import type {
  TokenizerComparison,
  TokenizerImportResult,
  TokenizerPresetInfo,
  TokenizerPresetName,
  TokenizerSummary,
  TokenizerTrainResult,
  TokenizerView,
} from '../../../workers/tokenizerApi.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/events.ts';
import { getStudioClient } from '../workerClient.ts';
import type { JobProgress } from './job.ts';
import { createJobSlice, internal } from './jobEvents.ts';
import { NO_PAUSE, type PauseView } from './pause.ts';
import { tokenizerStage } from '../../core/stages/tokenizer.ts';
import type { StageDecl } from '../../core/stages/fields.ts';
import { checkForm, presetFormValues } from '../stageForm.ts';

/** One row per epoch (losses, lr) merged with the evaluation metrics of that epoch. */
export interface TokPoint {
  epoch: number;
  [metric: string]: number;
}

export interface TokTrainView extends PauseView {
  running: boolean;
  cancelling: boolean;
  datasetId: string | null;
  startedAt: number;
  progress: JobProgress | null;
  error: StudioErrorInfo | null;
  cancelFn: (() => Promise<void>) | null;
  points: TokPoint[];
  log: { level: 'info' | 'warn'; message: string }[];
  result: TokenizerTrainResult | null;
}

const IDLE: TokTrainView = {
  running: false, cancelling: false, datasetId: null, startedAt: 0, progress: null, error: null, cancelFn: null,
  points: [], log: [], result: null, ...NO_PAUSE,
};

export interface TokDraft {
  preset: TokenizerPresetName;
  /** Field key → the text of every field of the tokenizer declaration (for the table's width). */
  values: Record<string, string>;
}

interface TokenizerState {
  presets: TokenizerPresetInfo[] | null;
  presetsDim: number | null;
  presetsError: StudioErrorInfo | null;
  draft: TokDraft | null;
  train: TokTrainView;
  embeddings: Record<string, EmbeddingSummary[] | undefined>;
  tokenizers: Record<string, TokenizerSummary[] | undefined>;
  listError: StudioErrorInfo | null;
  view: { id: string | null; loading: boolean; data: TokenizerView | null; error: StudioErrorInfo | null };
  compare: { loading: boolean; data: TokenizerComparison | null; error: StudioErrorInfo | null; pair: [string, string] | null };
  loadPresets(inDim: number): Promise<void>;
  setPreset(name: TokenizerPresetName): void;
  setValue(key: string, text: string): void;
  refresh(datasetId: string): Promise<void>;
  startTraining(datasetId: string, embeddingId: string): Promise<void>;
  cancelTraining(): Promise<void>;
  /** Pauses or resumes the running training. */
  togglePause(): Promise<void>;
  openView(id: string): Promise<void>;
  closeView(): void;
  importTokenizer(datasetId: string, file: File, embeddingId?: string): Promise<Result<TokenizerImportResult>>;
  compareWith(a: string, b: string): Promise<void>;
  remove(datasetId: string, id: string): Promise<Result<void>>;
}

/** The trainer's metric events merged into the points of their epochs (step + 1). */
export function withTokMetricEvents(prev: TokPoint[], events: ProgressEvent[]): TokPoint[] {
  const byEpoch = new Map<number, TokPoint>();
  const points = [...prev];
  const index = new Map<number, number>();
  points.forEach((p, i) => index.set(p.epoch, i));
  for (const e of events) {
    if (e.type !== 'metric') continue;
    const epoch = e.step + 1;
    let p = byEpoch.get(epoch);
    if (!p) {
      const at = index.get(epoch);
      p = at !== undefined ? { ...points[at] } : { epoch };
      byEpoch.set(epoch, p);
    }
    p[e.name] = e.value;
  }
  for (const [epoch, p] of byEpoch) {
    const at = index.get(epoch);
    if (at !== undefined) points[at] = p;
    else {
      index.set(epoch, points.length);
      points.push(p);
    }
  }
  return points.sort((a, b) => a.epoch - b.epoch);
}

export const useTokenizerStore = create<TokenizerState>()((set, get) => {
  const job = createJobSlice<TokenizerState, 'train', TokenizerTrainResult>(set, get, 'train', {
    idle: IDLE,
    log: { keep: 50 },
    apply: (t, events) => ({ points: withTokMetricEvents(t.points, events) }),
    refresh: (datasetId) => get().refresh(datasetId),
  });

  return {
    presets: null,
    presetsDim: null,
    presetsError: null,
    draft: null,
    train: IDLE,
    embeddings: {},
    tokenizers: {},
    listError: null,
    view: { id: null, loading: false, data: null, error: null },
    compare: { loading: false, data: null, error: null, pair: null },

    async loadPresets(inDim) {
      if (get().presetsDim === inDim && get().presets) return;
      let r: Result<TokenizerPresetInfo[]>;
      try {
        r = await getStudioClient().getTokenizerPresets(inDim);
      } catch (err) {
        r = internal(err);
      }
      if (!r.ok) {
        set({ presetsError: r.error });
        return;
      }
      // A concurrent call for the same width already answered: keep its draft (and any edits since).
      if (get().presetsDim === inDim && get().presets) return;
      const presets = r.value;
      const prev = get().draft;
      const preset = prev?.preset ?? 'quick';
      const info = presets.find((p) => p.name === preset) ?? presets[0];
      // The layout follows the new table: its width is in_dim, and the preset's values are set again.
      set({ presets, presetsDim: inDim, presetsError: null, draft: { preset: info.name, values: presetFormValues(tokenizerStage(inDim) as StageDecl<object>, info.name) } });
    },

    setPreset(name) {
      const info = get().presets?.find((p) => p.name === name);
      const dim = get().presetsDim;
      if (info && dim !== null) set({ draft: { preset: name, values: presetFormValues(tokenizerStage(dim) as StageDecl<object>, name) } });
    },

    setValue(key, text) {
      const d = get().draft;
      if (d) set({ draft: { ...d, values: { ...d.values, [key]: text } } });
    },

    async refresh(datasetId) {
      const client = getStudioClient();
      try {
        const [e, t] = await Promise.all([client.listEmbeddings(datasetId), client.listTokenizers(datasetId)]);
        set((s) => ({
          embeddings: e.ok ? { ...s.embeddings, [datasetId]: e.value } : s.embeddings,
          tokenizers: t.ok ? { ...s.tokenizers, [datasetId]: t.value } : s.tokenizers,
          listError: !e.ok ? e.error : !t.ok ? t.error : null,
        }));
      } catch (err) {
        set({ listError: internal(err).error });
      }
    },

    async startTraining(datasetId, embeddingId) {
      const d = get().draft;
      const dim = get().presetsDim;
      if (!d || dim === null) return;
      // the page disables Start while a value is refused; the worker checks the config again
      const config = checkForm(tokenizerStage(dim), d.preset, d.values).config;
      if (!config) return;
      await job.run(datasetId, {}, (cb) => getStudioClient().trainTokenizer(datasetId, embeddingId, config, cb));
    },

    cancelTraining: job.cancel,

    togglePause: job.togglePause,

    async openView(id) {
      set({ view: { id, loading: true, data: null, error: null } });
      let r: Result<TokenizerView>;
      try {
        r = await getStudioClient().getTokenizerView(id);
      } catch (err) {
        r = internal(err);
      }
      if (get().view.id !== id) return;
      set({ view: { id, loading: false, data: r.ok ? r.value : null, error: r.ok ? null : r.error } });
    },

    closeView: () => set({ view: { id: null, loading: false, data: null, error: null } }),

    async importTokenizer(datasetId, file, embeddingId) {
      let r: Result<TokenizerImportResult>;
      try {
        r = await getStudioClient().importTokenizer(datasetId, file, file.name, embeddingId);
      } catch (err) {
        r = internal(err);
      }
      await get().refresh(datasetId);
      return r;
    },

    async compareWith(a, b) {
      set({ compare: { loading: true, data: null, error: null, pair: [a, b] } });
      let r: Result<TokenizerComparison>;
      try {
        r = await getStudioClient().compareTokenizers(a, b);
      } catch (err) {
        r = internal(err);
      }
      set({ compare: { loading: false, data: r.ok ? r.value : null, error: r.ok ? null : r.error, pair: [a, b] } });
    },

    async remove(datasetId, id) {
      let r: Result<void>;
      try {
        r = await getStudioClient().deleteTokenizer(id);
      } catch (err) {
        r = internal(err);
      }
      if (get().view.id === id) get().closeView();
      await get().refresh(datasetId);
      return r;
    },
  };
});
