/**
 * The studio worker: the StudioWorkerApi (workers/studioService.ts) exposed with comlink, plus the
 * browser specifics: tfjs-wasm binaries as Vite asset URLs, wasm threads where the page is isolated,
 * and the app base URL for the bundled sample.
 */
import * as Comlink from 'comlink';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { StudioWorkerApi, TestFault } from './api.ts';
import { appBaseUrl } from './sample.ts';
import { createStudioService } from './studioService.ts';

const service = createStudioService({
  appBase: () => appBaseUrl(self.location.origin, import.meta.env.BASE_URL),
  backend: {
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmPlainUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
    },
    // The threaded SIMD binary needs cross-origin isolation (SharedArrayBuffer; the COOP/COEP headers
    // of vite.config.ts) and the build fix there. One thread unless the page asks (?threads=N): on
    // 2 cores, 2 threads cost 2.5x the CPU and ran 2-3x slower (docs/measurements.md), since only
    // XNNPACK's matMuls run in parallel.
    wasmMultithread: self.crossOriginIsolated,
    wasmThreads: 1,
  },
});

const api: StudioWorkerApi = {
  initBackend: (p, t) => service.initBackend(p, t),
  importDataset: (r, id, cb) => service.importDataset(r, id, cb),
  loadSample: (id, cb) => service.loadSample(id, cb),
  cancel: (id) => service.cancel(id),
  pauseJob: (id) => service.pauseJob(id),
  resumeJob: (id) => service.resumeJob(id),
  jobStatus: (id) => service.jobStatus(id),
  // the e2e specs' fault injection; absent from production builds
  ...(import.meta.env.DEV ? { injectFault: (k: TestFault) => service.injectFault(k) } : {}),
  listDatasets: () => service.listDatasets(),
  deleteDataset: (id) => service.deleteDataset(id),
  getItems: (id, q) => service.getItems(id, q),
  getUsers: (id, q) => service.getUsers(id, q),
  getUserSequence: (id, u) => service.getUserSequence(id, u),
  exportDataset: (id) => service.exportDataset(id),
  storageInfo: () => service.storageInfo(),
  getSasrecPresets: () => service.getSasrecPresets(),
  trainSasrec: (ds, cfg, id, cb, o) => service.trainSasrec(ds, cfg, id, cb, o),
  computeTextEmbeddings: (ds, o, id, cb) => service.computeTextEmbeddings(ds, o, id, cb),
  importEmbedding: (ds, f, n, k) => service.importEmbedding(ds, f, n, k),
  buildDualEmbedding: (ds, c, t, n) => service.buildDualEmbedding(ds, c, t, n),
  listEmbeddings: (ds) => service.listEmbeddings(ds),
  exportEmbedding: (id) => service.exportEmbedding(id),
  deleteEmbedding: (id) => service.deleteEmbedding(id),
  getTokenizerPresets: (d) => service.getTokenizerPresets(d),
  trainTokenizer: (ds, e, cfg, id, cb) => service.trainTokenizer(ds, e, cfg, id, cb),
  listTokenizers: (ds) => service.listTokenizers(ds),
  getTokenizerView: (id) => service.getTokenizerView(id),
  exportTokenizer: (id, snap) => service.exportTokenizer(id, snap),
  importTokenizer: (ds, f, n, e) => service.importTokenizer(ds, f, n, e),
  compareTokenizers: (a, b) => service.compareTokenizers(a, b),
  deleteTokenizer: (id) => service.deleteTokenizer(id),
  getJointPresets: () => service.getJointPresets(),
  listJointInputs: (ds) => service.listJointInputs(ds),
  startJoint: (r, id, cb) => service.startJoint(r, id, cb),
  resumeJoint: (run, id, cb) => service.resumeJoint(run, id, cb),
  listJointRuns: (ds) => service.listJointRuns(ds),
  deleteJointRun: (id) => service.deleteJointRun(id),
  recommendations: (run, q) => service.recommendations(run, q),
  exportJointBundle: (run) => service.exportJointBundle(run),
  exportReferenceLayout: (run, gpus) => service.exportReferenceLayout(run, gpus),
  importJointBundle: (ds, f, n) => service.importJointBundle(ds, f, n),
  listAllRuns: () => service.listAllRuns(),
  deleteRun: (stage, id) => service.deleteRun(stage, id),
  getGrpoPresets: () => service.getGrpoPresets(),
  startGrpo: (r, id, cb) => service.startGrpo(r, id, cb),
  listGrpoRuns: (ds) => service.listGrpoRuns(ds),
  deleteGrpoRun: (id) => service.deleteGrpoRun(id),
  exportGrpoBundle: (run) => service.exportGrpoBundle(run),
  startExperiment: (r, id, cb) => service.startExperiment(r, id, cb),
  resumeExperiment: (e, id, cb) => service.resumeExperiment(e, id, cb),
  listExperiments: (ds) => service.listExperiments(ds),
  deleteExperiment: (e, withRuns) => service.deleteExperiment(e, withRuns),
};

Comlink.expose(api);
