/**
 * The typed contract between the UI and the studio worker. Types only: the UI imports this file
 * (never tfjs or IndexedDB code); the worker implements it and exposes it through comlink.
 */
// The stored summaries are declared by their repositories (type-only: no IndexedDB code reaches the UI).
export type { DatasetSummary } from '../src/storage/datasets.ts';
export type { EmbeddingSummary } from '../src/storage/artifacts.ts';
import type { DatasetSummary } from '../src/storage/datasets.ts';
import type { EmbeddingSummary } from '../src/storage/artifacts.ts';

// The shared pieces (Result, ImportFile, ExportedFile, ProgressCallback) live in contract.ts.
export type * from './contract.ts';
import type { ExportedFile, ImportFile, ProgressCallback, Result, TestFault } from './contract.ts';
import type { InteractionFormat, MetadataFormat, PrepareConfig } from '../src/core/data/types.ts';

// Backend types live with the selection code in core (type-only import: nothing of tfjs reaches the UI).
export type { AdapterInfo, BackendAttempt, BackendName, BackendReport } from '../src/core/backend.ts';
import type { BackendName, BackendReport } from '../src/core/backend.ts';

// Stage 2 types (type-only: the UI gets the shapes, never the tfjs code behind them).
export type { EmbeddingKind } from '../src/core/embeddings/types.ts';
export type { SasrecConfig, SasrecPresetName } from '../src/core/models/sasrec.ts';
export type { RankingMetrics } from '../src/core/eval/ranking.ts';
import type { EmbeddingKind } from '../src/core/embeddings/types.ts';
import type { SasrecConfig, SasrecPresetName } from '../src/core/models/sasrec.ts';
import type { RankingMetrics } from '../src/core/eval/ranking.ts';

// Stage 3 types (the RQ-VAE tokenizer) live in tokenizerApi.ts.
export type * from './tokenizerApi.ts';
import type { TokenizerWorkerApi } from './tokenizerApi.ts';

// Stage 4 types (joint training) live in jointApi.ts.
export type * from './jointApi.ts';
import type { JointWorkerApi } from './jointApi.ts';
import type { RunsWorkerApi } from './runsApi.ts';
export type * from './grpoApi.ts';
import type { GrpoWorkerApi } from './grpoApi.ts';
export type * from './experimentsApi.ts';
import type { ExperimentsWorkerApi } from './experimentsApi.ts';

export interface ImportRequest {
  /** Interaction file(s): one review/sequence file, or the files (or a .zip) of a reference bundle. */
  files: ImportFile[];
  /** Optional item metadata (titles). */
  metadata?: ImportFile;
  name: string;
  format: InteractionFormat | 'auto';
  metadataFormat?: MetadataFormat | 'auto';
  config: PrepareConfig;
}

export interface ImportResult {
  dataset: DatasetSummary;
  /** Non-fatal findings (malformed lines skipped, items without titles…), for the user. */
  warnings: string[];
}

export interface ItemRow {
  id: number;
  asin: string;
  title: string | null;
  /** Interactions with this item. */
  count: number;
}

export interface UserRow {
  index: number;
  userId: string;
  length: number;
}

export interface SequenceEntry {
  itemId: number;
  asin: string;
  title: string | null;
  /** Seconds; null for sequence files without timestamps. */
  time: number | null;
  split: 'train' | 'valid' | 'test';
}

export interface Page<T> {
  total: number;
  rows: T[];
}

export interface PageQuery {
  offset: number;
  limit: number;
  /** Case-insensitive substring of id / asin / title (items) or user id (users). */
  query?: string;
  sort?: 'id' | 'count' | 'length';
}

export interface StorageInfo {
  usage: number;
  quota: number;
  persisted: boolean;
}

// ---- Stage 2: item embeddings -------------------------------------------------------------

/** A SASRec preset: every value with where it comes from. */
export interface SasrecPresetInfo {
  name: SasrecPresetName;
  config: SasrecConfig;
  provenance: Record<keyof SasrecConfig, string>;
}

export interface SasrecTrainOptions {
  /** At most this many optimisation steps per epoch (smoke runs, tests). */
  maxStepsPerEpoch?: number;
  /** Users per evaluation chunk (default 256). */
  evalChunk?: number;
}

export interface SasrecTrainResult {
  /** The run was cancelled; the best table so far was stored if one existed (see `embedding`). */
  cancelled: boolean;
  /** The stored best-valid table; null when a cancel came before the first validation. */
  embedding: EmbeddingSummary | null;
  /** One sentence for the user about what was stored. */
  note: string;
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
  seconds: number;
  backend: string;
  seed: number;
  /** SASRec at the best-valid epoch (full ranking). */
  valid: RankingMetrics;
  test: RankingMetrics;
  popularity: { valid: RankingMetrics; test: RankingMetrics };
  curves: {
    epochs: { epoch: number; trainLoss: number; validNdcg10?: number; validRecall10?: number }[];
    steps: { step: number; loss: number }[];
  };
}

export interface TextEmbeddingOptions {
  /** Output width (SVD rank); reduced, with a warning, when the TF-IDF matrix has fewer directions. */
  dim: number;
  /** Terms in fewer item texts are dropped (default 2). */
  minDf?: number;
  maxVocab?: number;
  /** L2-normalise rows (default true). */
  normalize?: boolean;
  seed?: number;
}

export interface StudioWorkerApi extends RunsWorkerApi, TokenizerWorkerApi, JointWorkerApi, GrpoWorkerApi, ExperimentsWorkerApi {
  /** Picks the backend (webgpu → webgl → wasm → cpu unless a preference is given) and reports why. */
  /** `wasmThreads`: XNNPACK threads of the threaded wasm binary (where the page is isolated); default 1. */
  initBackend(preference?: BackendName[], wasmThreads?: number): Promise<BackendReport>;
  importDataset(request: ImportRequest, jobId: string, onEvent: ProgressCallback): Promise<Result<ImportResult>>;
  /** Imports the bundled sample (fetched from the app's public folder). */
  loadSample(jobId: string, onEvent: ProgressCallback): Promise<Result<ImportResult>>;
  /** Cancels a running job; its stored data stays as it was before the job. */
  cancel(jobId: string): Promise<void>;
  /**
   * Pauses a running training job at its next step boundary (results are unchanged by a pause; a
   * cancel still works while paused). Returns whether a running job was found.
   */
  pauseJob(jobId: string): Promise<boolean>;
  /** Resumes a paused job; returns whether a running job was found. */
  resumeJob(jobId: string): Promise<boolean>;
  /** 'idle' (not running), 'running' or 'paused'. */
  jobStatus(jobId: string): Promise<'idle' | 'running' | 'paused'>;
  /**
   * Test hook (development builds only): from now on every training in this worker fails at its
   * first step with "memory access out of bounds", as one with an overrun wasm heap does.
   */
  injectFault?(kind: TestFault): Promise<void>;
  listDatasets(): Promise<Result<DatasetSummary[]>>;
  deleteDataset(id: string): Promise<Result<void>>;
  getItems(datasetId: string, query: PageQuery): Promise<Result<Page<ItemRow>>>;
  getUsers(datasetId: string, query: PageQuery): Promise<Result<Page<UserRow>>>;
  getUserSequence(datasetId: string, userIndex: number): Promise<Result<SequenceEntry[]>>;
  /** The prepared dataset in the reference format as one .zip. */
  exportDataset(datasetId: string): Promise<Result<ExportedFile>>;
  storageInfo(): Promise<Result<StorageInfo>>;

  // ---- Stage 2: item embeddings ----
  /** The SASRec presets (values and provenance); core's module imports tfjs, so the UI asks here. */
  getSasrecPresets(): Promise<Result<SasrecPresetInfo[]>>;
  /**
   * Trains SASRec on the current backend and stores the best-valid item table (kind 'collab',
   * source 'sasrec'); a cancel still stores the best table so far when one exists.
   */
  trainSasrec(
    datasetId: string,
    config: SasrecConfig,
    jobId: string,
    onEvent: ProgressCallback,
    options?: SasrecTrainOptions,
  ): Promise<Result<SasrecTrainResult>>;
  /** TF-IDF + randomized SVD over the item titles (datasets with titles only). */
  computeTextEmbeddings(
    datasetId: string,
    options: TextEmbeddingOptions,
    jobId: string,
    onEvent: ProgressCallback,
  ): Promise<Result<EmbeddingSummary>>;
  /** A `.npy` table with N or N+1 rows (PAD row dropped); nothing is stored when it is invalid. */
  importEmbedding(datasetId: string, file: Blob, fileName: string, kind: EmbeddingKind): Promise<Result<EmbeddingSummary>>;
  /** [collab ‖ text] per item, each part optionally L2-normalised. */
  buildDualEmbedding(datasetId: string, collabId: string, textId: string, normalize: boolean): Promise<Result<EmbeddingSummary>>;
  /** The dataset's tables, newest first. */
  listEmbeddings(datasetId: string): Promise<Result<EmbeddingSummary[]>>;
  /** The table as a float32 `.npy` (N rows). */
  exportEmbedding(id: string): Promise<Result<ExportedFile>>;
  deleteEmbedding(id: string): Promise<Result<void>>;
}
