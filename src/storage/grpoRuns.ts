/**
 * GRPO fine-tuning runs (spec §6): one record in the `runs` store (type 'grpo') and, once the run
 * has finished, its bundle zip (the best GRPO recommender + the SFT tokenizer + code.json +
 * metrics.json) in `chunks` under [runId, 'bundle', i]. No schema change. Record and bundle are
 * written in one readwrite transaction (bytes chunked before it opens), as jointRuns does.
 */
import { deleteBlobRun, getBlobRun, listBlobRuns, loadBlobRunBytes, newRunId, saveBlobRun, type BlobRunKind } from './blobRuns.ts';
import { DEFAULT_CHUNK_BYTES } from './datasets.ts';
import type { StoredRun, StudioDb } from './db.ts';

export type GrpoRunStatus = 'running' | 'cancelled' | 'failed' | 'finished';

/** Structured-cloneable run fields (the worker owns their meaning; storage keeps them verbatim). */
export interface GrpoRunFields {
  name: string;
  datasetId: string;
  /** The finished joint run GRPO started from. */
  jointRunId: string;
  status: GrpoRunStatus;
  updatedAt: number;
  backend: string;
  /** The WebGPU adapter ('google/swiftshader'), null on wasm/cpu; absent in older records. */
  adapter?: string | null;
  preset: string;
  config: unknown;
  seed: number;
  /** GrpoEpochRecord[]. */
  history: unknown[];
  validBefore: unknown;
  validAfter: unknown;
  test: unknown;
  bestEpoch: number | null;
  timings: Record<string, number>;
  error: string | null;
  meta: Record<string, unknown>;
}

export interface StoredGrpoRun extends StoredRun, GrpoRunFields {
  id: string;
  createdAt: number;
  type: 'grpo';
  stage: 'grpo';
  recordVersion: 1;
  /** The stored bundle zip, or null before the run finished. */
  bundle: { byteLength: number; chunkCount: number } | null;
}

export type GrpoRunInput = GrpoRunFields & { id: string; createdAt: number };

const GRPO: BlobRunKind<StoredGrpoRun> = {
  type: 'grpo',
  blob: 'bundle',
  fixed: { stage: 'grpo' },
  what: 'GRPO run',
  noBlob: (rec) => `GRPO run "${rec.name}" has no stored model (it did not finish).`,
  is: (r): r is StoredGrpoRun => isGrpoRun(r),
};

export function isGrpoRun(r: StoredRun | undefined): r is StoredGrpoRun {
  return !!r && r.type === 'grpo';
}

export function newGrpoRunId(): string {
  return newRunId('grpo');
}

/** Writes the record and, when `bundle` is given, replaces the stored bundle — in one transaction. */
export function saveGrpoRun(db: StudioDb, record: GrpoRunInput, bundle?: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<StoredGrpoRun> {
  return saveBlobRun(db, GRPO, record as unknown as Record<string, unknown> & { id: string }, bundle, chunkBytes);
}

export function getGrpoRun(db: StudioDb, id: string): Promise<StoredGrpoRun> {
  return getBlobRun(db, GRPO, id);
}

/** GRPO runs (of one dataset, or all), newest first. */
export function listGrpoRuns(db: StudioDb, datasetId?: string): Promise<StoredGrpoRun[]> {
  return listBlobRuns(db, GRPO, datasetId);
}

/** The record and its bundle bytes, read in one transaction. */
export function loadGrpoBundleBytes(db: StudioDb, id: string): Promise<{ record: StoredGrpoRun; bytes: Uint8Array }> {
  return loadBlobRunBytes(db, GRPO, id);
}

/** Deletes the record and its bundle in one transaction; false when there was no such run. */
export function deleteGrpoRun(db: StudioDb, id: string): Promise<boolean> {
  return deleteBlobRun(db, GRPO, id);
}
