/**
 * The StudioWorkerApi implementation, independent of the Worker global so Node tests can drive it
 * (with fake-indexeddb). studio.worker.ts only adds the browser specifics and Comlink.expose.
 */
import type { TestFault } from './contract.ts';
import * as Comlink from 'comlink';
import { selectBackend, type SelectBackendOptions } from '../src/core/backend.ts';
import { exportReferenceZip } from '../src/core/data/referenceBundle.ts';
import { importToDataset, type ImportSourceFile } from '../src/core/data/importer.ts';
import type { PrepareConfig, PreparedDataset } from '../src/core/data/types.ts';
import { StudioError, throwIfCancelled } from '../src/core/errors.ts';
import type { ProgressSink } from '../src/core/events.ts';
import { safeName } from '../src/core/names.ts';
import {
  deleteDatasetWithArtifacts,
  deleteExperiment,
  deleteJointRun,
  deleteGrpoRun,
  listExperiments,
  listDatasets,
  loadDataset,
  openStudioDb,
  saveDataset,
  saveEmbeddingTable,
  type StudioDb,
} from '../src/storage/index.ts';
import type {
  BackendName,
  BackendReport,
  ExportedFile,
  ImportResult,
  ProgressCallback,
  Result,
  StorageInfo,
  StudioWorkerApi,
} from './api.ts';
import { DatasetView } from './datasetViews.ts';
import { createEmbeddingMethods } from './embeddings.ts';
import { createTokenizerMethods } from './tokenizer.ts';
import { createJointService } from './joint.ts';
import { createExperimentMethods } from './experiments.ts';
import { createRunsMethods } from './runs.ts';
import { createGrpoMethods } from './grpo.ts';
import { asResult, blobSource, forwardProgress, JobRegistry } from './jobs.ts';
import { fetchSample, type FetchLike } from './sample.ts';

export interface StudioServiceOptions {
  dbName?: string;
  /** The app's base URL (where sample/sample.json lives). */
  appBase?: () => string;
  fetch?: FetchLike;
  backend?: SelectBackendOptions;
  /** Chunk size for stored arrays (tests use tiny chunks). */
  chunkBytes?: number;
  progressIntervalMs?: number;
}

interface ImportJob {
  files: ImportSourceFile[];
  metadata?: ImportSourceFile;
  name: string;
  format: ImportSourceFormat;
  metadataFormat?: Parameters<typeof importToDataset>[0]['metadataFormat'];
  config: PrepareConfig;
}
type ImportSourceFormat = Parameters<typeof importToDataset>[0]['format'];

export interface StudioService extends StudioWorkerApi {
  /** Closes the database connection (tests). */
  close(): void;
  injectFault(kind: TestFault): Promise<void>;
}

export function createStudioService(opts: StudioServiceOptions = {}): StudioService {
  const jobs = new JobRegistry();
  let dbPromise: Promise<StudioDb> | null = null;
  let view: { id: string; promise: Promise<DatasetView> } | null = null;
  let backend: Promise<BackendReport> | null = null;

  const db = (): Promise<StudioDb> => {
    if (!dbPromise) {
      dbPromise = openStudioDb(opts.dbName, { onClose: () => { dbPromise = null; } });
      dbPromise.catch(() => { dbPromise = null; });
    }
    return dbPromise;
  };

  /** The last used dataset stays in memory, so paging does not reload it. */
  const getView = (id: string): Promise<DatasetView> => {
    if (view?.id !== id) {
      const promise = db().then((d) => loadDataset(d, id)).then((ds) => new DatasetView(id, ds));
      view = { id, promise };
      promise.catch(() => { if (view?.promise === promise) view = null; });
    }
    return view.promise;
  };

  async function runImport(job: ImportJob, signal: AbortSignal, sink: ProgressSink): Promise<ImportResult> {
    const out = await importToDataset({ ...job, signal, onEvent: sink });
    throwIfCancelled(signal);
    const warnings = [...out.warnings];
    sink({ type: 'phase', stage: 'data', phase: 'save', message: 'saving to browser storage' });
    const summary = await saveDataset(await db(), out.dataset, {
      signal,
      ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}),
      onProgress: (done, total) => sink({ type: 'progress', stage: 'data', phase: 'save', done, total, unit: 'chunks' }),
    });
    try {
      // A bundle's .npy tables become the dataset's embedding tables; should one fail, the dataset
      // goes too, so the import still either completes or leaves storage as it was.
      for (const e of out.embeddings) {
        const data = e.padRow ? e.data.subarray(e.cols) : e.data;
        await saveEmbeddingTable(await db(), summary.id, {
          kind: /text/i.test(e.name) ? 'text' : 'collab',
          name: e.name.replace(/\.npy$/i, ''),
          rows: e.padRow ? e.rows - 1 : e.rows,
          cols: e.cols,
          data,
          source: `import:${e.name}`,
          createdAt: Date.now(),
          meta: { fileRows: e.rows, droppedPadRow: e.padRow, fromBundle: true },
        }, { signal, ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}) });
      }
    } catch (err) {
      await deleteDatasetWithArtifacts(await db(), summary.id);
      throw err;
    }
    if (out.embeddings.length) warnings.push(`Stored ${out.embeddings.length} embedding table(s) from the bundle: ${out.embeddings.map((e) => e.name).join(', ')}.`);
    const ds: PreparedDataset = { ...out.dataset, name: summary.name };
    view = { id: summary.id, promise: Promise.resolve(new DatasetView(summary.id, ds)) };
    return { dataset: summary, warnings };
  }

  function importJob(jobId: string, onEvent: ProgressCallback, make: (signal: AbortSignal, sink: ProgressSink) => Promise<ImportJob>) {
    const sink = forwardProgress(onEvent, opts.progressIntervalMs ?? 100);
    return jobs
      .run(jobId, async (signal) => runImport(await make(signal, sink), signal, sink))
      .finally(() => sink.flush());
  }

  // Shared by the stage method groups: the dataset cache, the job registry and a lazily chosen backend.
  const stageDeps = {
    db,
    jobs,
    dataset: async (id: string) => (await getView(id)).ds,
    ensureBackend: () => {
      if (!backend) {
        backend = selectBackend(undefined, { ...opts.backend, skipSoftwareAdapter: true });
        backend.catch(() => { backend = null; });
      }
      return backend;
    },
    progressIntervalMs: opts.progressIntervalMs ?? 100,
    ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}),
  };
  const embeddings = createEmbeddingMethods(stageDeps);
  const tokenizers = createTokenizerMethods(stageDeps);
  const jointService = createJointService(stageDeps);
  const joint = jointService.methods;
  const experiments = createExperimentMethods({ ...stageDeps, trainer: jointService.trainer, joint });
  const runs = createRunsMethods({
    db, listJointRuns: () => joint.listJointRuns(), listGrpoRuns: () => grpo.listGrpoRuns(), deleteJointRun: joint.deleteJointRun,
    deleteTokenizer: tokenizers.deleteTokenizer, deleteEmbedding: embeddings.deleteEmbedding,
    deleteDataset: (id) => deleteDatasetAndRuns(id),
  });
  const grpo = createGrpoMethods(stageDeps);
  /** The dataset with its artifacts (one transaction), then its joint and GRPO runs not training now. */
  function deleteDatasetAndRuns(id: string): Promise<Result<void>> {
    return asResult(async () => {
      // The dataset and its embedding tables, in one transaction.
      await deleteDatasetWithArtifacts(await db(), id);
      // Its joint-training runs (records + checkpoints) go too; a run still training is left to finish.
      const live = await joint.listJointRuns(id);
      if (live.ok) for (const r of live.value) if (!r.active) await deleteJointRun(await db(), r.id);
      const liveGrpo = await grpo.listGrpoRuns(id);
      if (liveGrpo.ok) for (const r of liveGrpo.value) if (!r.active) await deleteGrpoRun(await db(), r.id);
      // Its experiment sweeps (their runs went with the joint runs above).
      for (const e of await listExperiments(await db(), id)) await deleteExperiment(await db(), e.id);
      if (view?.id === id) view = null;
    });
  }

  return {
    ...embeddings,
    ...tokenizers,
    ...joint,
    ...runs,
    ...grpo,
    ...experiments,

    async initBackend(preference?: BackendName[], wasmThreads?: number): Promise<BackendReport> {
      try {
        const threads = wasmThreads !== undefined && Number.isInteger(wasmThreads) && wasmThreads >= 1 ? { wasmThreads } : {};
        // auto (no preference) passes over a software WebGPU adapter; an explicit choice is kept
        const p = selectBackend(preference, { ...opts.backend, ...threads, skipSoftwareAdapter: !preference?.length });
        // at once, so a job that arrives while this selection runs waits for it instead of starting its own
        backend = p;
        p.catch(() => { if (backend === p) backend = null; });
        return await p;
      } catch (err) {
        // Comlink keeps only the message of a thrown Error; make it the whole story.
        throw new Error(err instanceof StudioError ? err.message : String((err as Error)?.message ?? err), { cause: err });
      }
    },

    importDataset(request, jobId, onEvent): Promise<Result<ImportResult>> {
      return importJob(jobId, onEvent, async () => ({
        files: request.files.map((f) => blobSource(f.name, f.data)),
        ...(request.metadata ? { metadata: blobSource(request.metadata.name, request.metadata.data) } : {}),
        name: request.name,
        format: request.format,
        ...(request.metadataFormat ? { metadataFormat: request.metadataFormat } : {}),
        config: request.config,
      }));
    },

    loadSample(jobId, onEvent): Promise<Result<ImportResult>> {
      return importJob(jobId, onEvent, async (signal, sink) => {
        if (!opts.appBase) throw new StudioError({ code: 'not_found', message: 'No app base URL is known, so the bundled sample cannot be fetched' });
        sink({ type: 'phase', stage: 'data', phase: 'fetch', message: 'fetching the bundled sample' });
        const { manifest, source } = await fetchSample(opts.appBase(), signal, opts.fetch);
        if (manifest.attribution) sink({ type: 'log', stage: 'data', level: 'info', message: `Sample data: ${manifest.attribution}` });
        return { files: [source], name: manifest.name, format: manifest.format, config: { kcore: manifest.kcore, maxLen: manifest.maxLen } };
      });
    },

    async cancel(jobId: string): Promise<void> {
      jobs.cancel(jobId);
    },

    async pauseJob(jobId: string): Promise<boolean> {
      return jobs.pause(jobId);
    },

    async resumeJob(jobId: string): Promise<boolean> {
      return jobs.resume(jobId);
    },

    async jobStatus(jobId: string) {
      return jobs.status(jobId);
    },

    async injectFault(kind: TestFault) {
      if (kind === 'wasm_memory') jobs.injectMemoryFault();
      if (kind === 'nan_weights') jobs.injectNanWeights();
    },

    listDatasets: () => asResult(async () => listDatasets(await db())),

    deleteDataset: (id) => deleteDatasetAndRuns(id),

    getItems: (id, q) => asResult(async () => (await getView(id)).items(q)),
    getUsers: (id, q) => asResult(async () => (await getView(id)).users(q)),
    getUserSequence: (id, u) => asResult(async () => (await getView(id)).sequence(u)),

    async exportDataset(id): Promise<Result<ExportedFile>> {
      const r = await asResult(async () => {
        const v = await getView(id);
        let bytes = exportReferenceZip(v.ds);
        if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
        return { fileName: `${safeName(v.ds.name, 'dataset')}.reference.zip`, bytes };
      });
      return r.ok ? Comlink.transfer(r, [r.value.bytes.buffer]) : r;
    },

    storageInfo: () =>
      asResult(async (): Promise<StorageInfo> => {
        const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
        if (!storage?.estimate) {
          throw new StudioError({ code: 'storage_failed', message: 'This context has no navigator.storage, so usage and quota are unknown' });
        }
        const est = await storage.estimate();
        const persisted = typeof storage.persisted === 'function' ? await storage.persisted() : false;
        return { usage: est.usage ?? 0, quota: est.quota ?? 0, persisted };
      }),

    close() {
      void dbPromise?.then((d) => d.close()).catch(() => undefined);
      dbPromise = null;
      view = null;
    },
  };
}
