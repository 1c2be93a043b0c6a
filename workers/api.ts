/**
 * The typed contract between the UI and the studio worker. Types only: the UI imports this file
 * (never tfjs or IndexedDB code); the worker implements it and exposes it through comlink.
 */
import type { StudioErrorInfo } from '../src/core/errors.ts';
import type { ProgressEvent } from '../src/core/events.ts';
import type {
  DatasetSource,
  DatasetStats,
  InteractionFormat,
  MetadataFormat,
  PrepareConfig,
} from '../src/core/data/types.ts';

// Backend types live with the selection code in core (type-only import: nothing of tfjs reaches the UI).
export type { AdapterInfo, BackendAttempt, BackendName, BackendReport } from '../src/core/backend.ts';
import type { BackendName, BackendReport } from '../src/core/backend.ts';

/** Every worker call returns a value or a structured error (comlink keeps only name/message of Errors). */
export type Result<T> = { ok: true; value: T } | { ok: false; error: StudioErrorInfo };

export interface DatasetSummary {
  id: string;
  name: string;
  createdAt: number;
  config: PrepareConfig;
  source: DatasetSource;
  stats: DatasetStats;
  /** Bytes of stored arrays. */
  sizeBytes: number;
}

export interface ImportFile {
  name: string;
  data: Blob;
}

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

export interface ExportedFile {
  fileName: string;
  bytes: Uint8Array;
}

export type ProgressCallback = (event: ProgressEvent) => void;

export interface StudioWorkerApi {
  /** Picks the backend (webgpu → webgl → wasm → cpu unless a preference is given) and reports why. */
  initBackend(preference?: BackendName[]): Promise<BackendReport>;
  importDataset(request: ImportRequest, jobId: string, onEvent: ProgressCallback): Promise<Result<ImportResult>>;
  /** Imports the bundled sample (fetched from the app's public folder). */
  loadSample(jobId: string, onEvent: ProgressCallback): Promise<Result<ImportResult>>;
  /** Cancels a running job; its stored data stays as it was before the job. */
  cancel(jobId: string): Promise<void>;
  listDatasets(): Promise<Result<DatasetSummary[]>>;
  deleteDataset(id: string): Promise<Result<void>>;
  getItems(datasetId: string, query: PageQuery): Promise<Result<Page<ItemRow>>>;
  getUsers(datasetId: string, query: PageQuery): Promise<Result<Page<UserRow>>>;
  getUserSequence(datasetId: string, userIndex: number): Promise<Result<SequenceEntry[]>>;
  /** The prepared dataset in the reference format as one .zip. */
  exportDataset(datasetId: string): Promise<Result<ExportedFile>>;
  storageInfo(): Promise<Result<StorageInfo>>;
}
