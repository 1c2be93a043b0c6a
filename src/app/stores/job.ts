/**
 * Current-job store: the one long job (sample load or import) at a time, its live progress from the
 * worker's typed events, and its outcome (error, or the imported dataset plus warnings).
 */
import { create } from 'zustand';
import type { ImportRequest, ImportResult, Result } from '../../../workers/api.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/events.ts';
import { getStudioClient, type Job } from '../workerClient.ts';
import { useDatasetsStore } from './datasets.ts';

export type JobKind = 'sample' | 'import';

export interface JobProgress {
  phase: string;
  message?: string;
  done: number;
  total?: number;
  unit: string;
  etaSeconds?: number;
}

interface JobState {
  kind: JobKind | null;
  label: string;
  running: boolean;
  cancelling: boolean;
  startedAt: number;
  progress: JobProgress | null;
  /** Log lines of the job (warn level first-class: they are shown after the job). */
  log: { level: 'info' | 'warn'; message: string }[];
  error: StudioErrorInfo | null;
  result: ImportResult | null;
  cancelFn: (() => Promise<void>) | null;
  loadSample(): Promise<ImportResult | null>;
  importDataset(request: ImportRequest): Promise<ImportResult | null>;
  cancel(): Promise<void>;
  dismiss(): void;
}

export const useJobStore = create<JobState>()((set, get) => {
  function onEvent(e: ProgressEvent): void {
    switch (e.type) {
      case 'phase':
        set({ progress: { phase: e.phase, message: e.message, done: 0, unit: '' } });
        break;
      case 'progress':
        set((s) => ({
          progress: {
            phase: e.phase,
            message: s.progress?.phase === e.phase ? s.progress.message : undefined,
            done: e.done,
            total: e.total,
            unit: e.unit,
            etaSeconds: e.etaSeconds,
          },
        }));
        break;
      case 'log':
        set((s) => ({ log: [...s.log.slice(-199), { level: e.level, message: e.message }] }));
        break;
      case 'metric':
        break;
    }
  }

  async function run(kind: JobKind, label: string, start: () => Job<ImportResult>): Promise<ImportResult | null> {
    if (get().running) return null;
    set({
      kind, label, running: true, cancelling: false, startedAt: Date.now(), progress: null,
      log: [], error: null, result: null, cancelFn: null,
    });
    let res: Result<ImportResult>;
    try {
      const job = start();
      set({ cancelFn: job.cancel });
      res = await job.result;
    } catch (err) {
      res = { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
    }
    set({ running: false, cancelling: false, cancelFn: null });
    if (res.ok) set({ result: res.value, error: null });
    else set({ error: res.error, result: null });
    await useDatasetsStore.getState().refresh();
    return res.ok ? res.value : null;
  }

  return {
    kind: null,
    label: '',
    running: false,
    cancelling: false,
    startedAt: 0,
    progress: null,
    log: [],
    error: null,
    result: null,
    cancelFn: null,
    loadSample: () => run('sample', 'Loading the sample dataset', () => getStudioClient().loadSample(onEvent)),
    importDataset: (request) =>
      run('import', `Importing "${request.name}"`, () => getStudioClient().importDataset(request, onEvent)),
    async cancel() {
      const fn = get().cancelFn;
      if (!fn) return;
      set({ cancelling: true });
      await fn();
    },
    dismiss: () => set({ error: null, result: null, log: [], progress: null, kind: null }),
  };
});
