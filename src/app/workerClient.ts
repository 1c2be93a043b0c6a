/**
 * The UI's only door to the studio worker: a typed wrapper over comlink that proxies progress
 * callbacks (and releases them when a job ends) and gives every long job an id and a cancel().
 * The wrapped worker proxy is kept in a module-level reference for the page's lifetime, because a
 * garbage-collected comlink proxy can hang a pending call.
 */
import * as Comlink from 'comlink';
import type { ProgressEvent } from '../core/events.ts';
import type {
  BackendName,
  BackendReport,
  DatasetSummary,
  EmbeddingKind,
  EmbeddingSummary,
  ExportedFile,
  ImportRequest,
  ImportResult,
  ItemRow,
  Page,
  PageQuery,
  Result,
  SasrecConfig,
  SasrecPresetInfo,
  SasrecTrainOptions,
  SasrecTrainResult,
  SequenceEntry,
  StorageInfo,
  StudioWorkerApi,
  TextEmbeddingOptions,
  UserRow,
} from '../../workers/api.ts';
import type { TokenizerConfig, TokenizerTrainResult, TokenizerWorkerApi } from '../../workers/tokenizerApi.ts';
import type { JointStartRequest, JointTrainResult, JointWorkerApi } from '../../workers/jointApi.ts';
import type { RunsWorkerApi } from '../../workers/runsApi.ts';
import type { TestFault } from '../../workers/contract.ts';
import type { GrpoStartRequest, GrpoTrainResult, GrpoWorkerApi } from '../../workers/grpoApi.ts';
import type { ExperimentResult, ExperimentStartRequest, ExperimentsWorkerApi } from '../../workers/experimentsApi.ts';

export interface Job<T> {
  id: string;
  result: Promise<Result<T>>;
  cancel(): Promise<void>;
  /** Pauses a training job at its next step (no-op for jobs that never wait); resolves whether it was running. */
  pause(): Promise<boolean>;
  resume(): Promise<boolean>;
}

export interface StudioClient {
  initBackend(preference?: BackendName[], wasmThreads?: number): Promise<BackendReport>;
  importDataset(request: ImportRequest, onEvent: (e: ProgressEvent) => void): Job<ImportResult>;
  loadSample(onEvent: (e: ProgressEvent) => void): Job<ImportResult>;
  listDatasets(): Promise<Result<DatasetSummary[]>>;
  deleteDataset(id: string): Promise<Result<void>>;
  getItems(datasetId: string, query: PageQuery): Promise<Result<Page<ItemRow>>>;
  getUsers(datasetId: string, query: PageQuery): Promise<Result<Page<UserRow>>>;
  getUserSequence(datasetId: string, userIndex: number): Promise<Result<SequenceEntry[]>>;
  exportDataset(datasetId: string): Promise<Result<ExportedFile>>;
  storageInfo(): Promise<Result<StorageInfo>>;
  getSasrecPresets(): Promise<Result<SasrecPresetInfo[]>>;
  trainSasrec(
    datasetId: string,
    config: SasrecConfig,
    onEvent: (e: ProgressEvent) => void,
    options?: SasrecTrainOptions,
  ): Job<SasrecTrainResult>;
  computeTextEmbeddings(datasetId: string, options: TextEmbeddingOptions, onEvent: (e: ProgressEvent) => void): Job<EmbeddingSummary>;
  importEmbedding(datasetId: string, file: Blob, fileName: string, kind: EmbeddingKind): Promise<Result<EmbeddingSummary>>;
  buildDualEmbedding(datasetId: string, collabId: string, textId: string, normalize: boolean): Promise<Result<EmbeddingSummary>>;
  listEmbeddings(datasetId: string): Promise<Result<EmbeddingSummary[]>>;
  exportEmbedding(id: string): Promise<Result<ExportedFile>>;
  deleteEmbedding(id: string): Promise<Result<void>>;
  // Stage 3: the RQ-VAE tokenizer (the plain calls have the worker's signatures).
  getTokenizerPresets: TokenizerWorkerApi['getTokenizerPresets'];
  trainTokenizer(datasetId: string, embeddingId: string, config: TokenizerConfig, onEvent: (e: ProgressEvent) => void): Job<TokenizerTrainResult>;
  listTokenizers: TokenizerWorkerApi['listTokenizers'];
  getTokenizerView: TokenizerWorkerApi['getTokenizerView'];
  exportTokenizer: TokenizerWorkerApi['exportTokenizer'];
  importTokenizer: TokenizerWorkerApi['importTokenizer'];
  compareTokenizers: TokenizerWorkerApi['compareTokenizers'];
  deleteTokenizer: TokenizerWorkerApi['deleteTokenizer'];
  // Stage 4: joint training.
  getJointPresets: JointWorkerApi['getJointPresets'];
  listJointInputs: JointWorkerApi['listJointInputs'];
  startJoint(request: JointStartRequest, onEvent: (e: ProgressEvent) => void): Job<JointTrainResult>;
  resumeJoint(runId: string, onEvent: (e: ProgressEvent) => void): Job<JointTrainResult>;
  listJointRuns: JointWorkerApi['listJointRuns'];
  deleteJointRun: JointWorkerApi['deleteJointRun'];
  recommendations: JointWorkerApi['recommendations'];
  exportJointBundle: JointWorkerApi['exportJointBundle'];
  exportReferenceLayout: JointWorkerApi['exportReferenceLayout'];
  importJointBundle: JointWorkerApi['importJointBundle'];
  // Every stage's runs (the Runs page).
  listAllRuns: RunsWorkerApi['listAllRuns'];
  deleteRun: RunsWorkerApi['deleteRun'];
  // GRPO fine-tuning (spec §6).
  getGrpoPresets: GrpoWorkerApi['getGrpoPresets'];
  startGrpo(request: GrpoStartRequest, onEvent: (e: ProgressEvent) => void): Job<GrpoTrainResult>;
  listGrpoRuns: GrpoWorkerApi['listGrpoRuns'];
  deleteGrpoRun: GrpoWorkerApi['deleteGrpoRun'];
  exportGrpoBundle: GrpoWorkerApi['exportGrpoBundle'];
  // Experiment sweeps (Table 4 ablations).
  startExperiment(request: ExperimentStartRequest, onEvent: (e: ProgressEvent) => void): Job<ExperimentResult>;
  resumeExperiment(id: string, onEvent: (e: ProgressEvent) => void): Job<ExperimentResult>;
  listExperiments: ExperimentsWorkerApi['listExperiments'];
  deleteExperiment: ExperimentsWorkerApi['deleteExperiment'];
}

let worker: Worker | null = null;
let remote: Comlink.Remote<StudioWorkerApi> | null = null;
let client: StudioClient | null = null;
let jobCounter = 0;
/** The backend order the page asked for, so a restarted worker starts on the same one. */
let lastPreference: BackendName[] | undefined;
let lastThreads: number | undefined;

/** A replaced worker: when, why, and the backend report of its successor. */
export interface WorkerRestart {
  at: number;
  reason: string;
  backend: Promise<BackendReport>;
}
const restartListeners = new Set<(r: WorkerRestart) => void>();

/** Observes worker restarts (after a wasm memory fault); returns an unsubscribe function. */
export function onWorkerRestart(fn: (r: WorkerRestart) => void): () => void {
  restartListeners.add(fn);
  return () => restartListeners.delete(fn);
}

export const RESTART_NOTE = 'The studio worker ran out of WebAssembly memory, which leaves it unusable, so it was restarted: the next run starts on a fresh worker.';

/**
 * After a wasm memory fault the worker's heap is corrupted and every later call in it would fail
 * too: the worker is terminated and the next call starts a new one on the same backend.
 */
function restartWorker(failed: Worker, reason: string): void {
  if (worker !== failed) return;
  failed.terminate();
  worker = null;
  remote = null;
  client = null;
  const backend = getStudioClient().initBackend(lastPreference, lastThreads);
  backend.catch(() => undefined);
  for (const fn of restartListeners) fn({ at: Date.now(), reason, backend });
}

function isResult(x: unknown): x is Result<unknown> {
  return !!x && typeof x === 'object' && typeof (x as { ok?: unknown }).ok === 'boolean';
}

/**
 * The worker's methods, watched: a Result that failed with 'worker_memory' restarts the worker and
 * says so in its message. (Comlink's remote is a Proxy; this one forwards each call to it.)
 */
function watched(api: Comlink.Remote<StudioWorkerApi>, w: Worker): Comlink.Remote<StudioWorkerApi> {
  return new Proxy(api, {
    get(target, prop) {
      const member = (target as unknown as Record<string | symbol, unknown>)[prop];
      if (typeof prop !== 'string' || typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        const out = (member as (...a: unknown[]) => unknown)(...args);
        if (!(out instanceof Promise)) return out;
        return out.then((r: unknown) => {
          if (isResult(r) && !r.ok && r.error.code === 'worker_memory') {
            restartWorker(w, r.error.message);
            return { ...r, error: { ...r.error, message: `${r.error.message.replace(/\.?\s*$/, '.')} ${RESTART_NOTE}` } };
          }
          return r;
        });
      };
    },
  });
}

function startJob<T>(
  api: Comlink.Remote<StudioWorkerApi>,
  onEvent: (e: ProgressEvent) => void,
  run: (jobId: string, cb: (e: ProgressEvent) => void) => Promise<Result<T>>,
): Job<T> {
  const id = `job-${Date.now().toString(36)}-${++jobCounter}`;
  const cb = Comlink.proxy(onEvent);
  const result = run(id, cb).finally(() => {
    // Release the callback proxy so the worker-side port is closed.
    (cb as unknown as { [Comlink.releaseProxy]?: () => void })[Comlink.releaseProxy]?.();
  });
  return { id, result, cancel: () => api.cancel(id), pause: () => api.pauseJob(id), resume: () => api.resumeJob(id) };
}

export function getStudioClient(): StudioClient {
  if (client) return client;
  const w = new Worker(new URL('../../workers/studio.worker.ts', import.meta.url), { type: 'module', name: 'studio' });
  worker = w;
  remote = Comlink.wrap<StudioWorkerApi>(w);
  const api = watched(remote, w);
  client = {
    initBackend: (preference, wasmThreads) => {
      lastPreference = preference;
      lastThreads = wasmThreads;
      return api.initBackend(preference, wasmThreads);
    },
    importDataset: (request, onEvent) => startJob(api, onEvent, (id, cb) => api.importDataset(request, id, cb)),
    loadSample: (onEvent) => startJob(api, onEvent, (id, cb) => api.loadSample(id, cb)),
    listDatasets: () => api.listDatasets(),
    deleteDataset: (id) => api.deleteDataset(id),
    getItems: (id, q) => api.getItems(id, q),
    getUsers: (id, q) => api.getUsers(id, q),
    getUserSequence: (id, u) => api.getUserSequence(id, u),
    exportDataset: (id) => api.exportDataset(id),
    storageInfo: () => api.storageInfo(),
    getSasrecPresets: () => api.getSasrecPresets(),
    trainSasrec: (datasetId, config, onEvent, options) =>
      startJob(api, onEvent, (id, cb) => api.trainSasrec(datasetId, config, id, cb, options)),
    computeTextEmbeddings: (datasetId, options, onEvent) =>
      startJob(api, onEvent, (id, cb) => api.computeTextEmbeddings(datasetId, options, id, cb)),
    importEmbedding: (datasetId, file, fileName, kind) => api.importEmbedding(datasetId, file, fileName, kind),
    buildDualEmbedding: (datasetId, c, t, normalize) => api.buildDualEmbedding(datasetId, c, t, normalize),
    listEmbeddings: (datasetId) => api.listEmbeddings(datasetId),
    exportEmbedding: (id) => api.exportEmbedding(id),
    deleteEmbedding: (id) => api.deleteEmbedding(id),
    getTokenizerPresets: (inDim) => api.getTokenizerPresets(inDim),
    trainTokenizer: (datasetId, embeddingId, config, onEvent) =>
      startJob(api, onEvent, (id, cb) => api.trainTokenizer(datasetId, embeddingId, config, id, cb)),
    listTokenizers: (datasetId) => api.listTokenizers(datasetId),
    getTokenizerView: (id) => api.getTokenizerView(id),
    exportTokenizer: (id, snapshot) => api.exportTokenizer(id, snapshot),
    importTokenizer: (datasetId, file, fileName, embeddingId) => api.importTokenizer(datasetId, file, fileName, embeddingId),
    compareTokenizers: (a, b) => api.compareTokenizers(a, b),
    deleteTokenizer: (id) => api.deleteTokenizer(id),
    getJointPresets: () => api.getJointPresets(),
    listJointInputs: (datasetId) => api.listJointInputs(datasetId),
    startJoint: (request, onEvent) => startJob(api, onEvent, (id, cb) => api.startJoint(request, id, cb)),
    resumeJoint: (runId, onEvent) => startJob(api, onEvent, (id, cb) => api.resumeJoint(runId, id, cb)),
    listJointRuns: (datasetId) => api.listJointRuns(datasetId),
    deleteJointRun: (id) => api.deleteJointRun(id),
    recommendations: (runId, query) => api.recommendations(runId, query),
    exportJointBundle: (runId) => api.exportJointBundle(runId),
    exportReferenceLayout: (runId, gpus) => api.exportReferenceLayout(runId, gpus),
    importJointBundle: (datasetId, files, name) => api.importJointBundle(datasetId, files, name),
    listAllRuns: () => api.listAllRuns(),
    deleteRun: (stage, id) => api.deleteRun(stage, id),
    getGrpoPresets: () => api.getGrpoPresets(),
    startGrpo: (request, onEvent) => startJob(api, onEvent, (id, cb) => api.startGrpo(request, id, cb)),
    listGrpoRuns: (datasetId) => api.listGrpoRuns(datasetId),
    deleteGrpoRun: (id) => api.deleteGrpoRun(id),
    exportGrpoBundle: (runId) => api.exportGrpoBundle(runId),
    startExperiment: (request, onEvent) => startJob(api, onEvent, (id, cb) => api.startExperiment(request, id, cb)),
    resumeExperiment: (expId, onEvent) => startJob(api, onEvent, (id, cb) => api.resumeExperiment(expId, id, cb)),
    listExperiments: (datasetId) => api.listExperiments(datasetId),
    deleteExperiment: (id, withRuns) => api.deleteExperiment(id, withRuns),
  };
  return client;
}

// The e2e specs' fault injection (development builds only): the current worker fails its next
// trainings as one with an overrun wasm heap does.
if (import.meta.env.DEV && typeof window !== 'undefined') {
  (window as unknown as { __etegrecTest?: unknown }).__etegrecTest = {
    injectWorkerFault: async (kind: TestFault = 'wasm_memory') => {
      getStudioClient();
      await (remote as unknown as { injectFault(kind: TestFault): Promise<void> }).injectFault(kind);
    },
  };
}
