/**
 * Joint-training runs (stage 4): one record in the `runs` store (type 'joint') and the run's latest
 * resumable checkpoint (packJointCheckpoint bytes) in `chunks` under [runId, 'checkpoint', i].
 * No schema change: `runs` and `chunks` exist since v1.
 *
 * The record and its checkpoint are written in ONE readwrite transaction (old chunks deleted, new
 * chunks put, record put), so a crash or a quota error leaves either the previous epoch's pair or
 * the new one — never a record that points at a half-written checkpoint. The bytes are chunked
 * before the transaction opens (no non-IndexedDB awaits inside it).
 */
import { deleteBlobRun, getBlobRun, listBlobRuns, loadBlobRunBytes, newRunId, saveBlobRun, updateBlobRun, type BlobRunKind } from './blobRuns.ts';
import { DEFAULT_CHUNK_BYTES } from './datasets.ts';
import type { StoredRun, StudioDb } from './db.ts';

export type JointRunStatus = 'running' | 'paused' | 'cancelled' | 'failed' | 'finished';

/** Structured-cloneable run fields (the worker owns their meaning; storage keeps them verbatim). */
export interface JointRunFields {
  name: string;
  datasetId: string;
  embeddingId: string | null;
  tokenizerId: string | null;
  status: JointRunStatus;
  updatedAt: number;
  backend: string;
  /** The WebGPU adapter ('google/swiftshader'), null on wasm/cpu; absent in older records. */
  adapter?: string | null;
  /** Preset name and the resolved JointTrainConfig. */
  preset: string;
  config: unknown;
  /** JointEpochRecord[] of the stored checkpoint. */
  history: unknown[];
  /** Where the checkpoint stands: stage, next epoch, finished. */
  progress: { stage: string; nextEpoch: number; finished: boolean } | null;
  test: unknown;
  testBeforeFinetune: unknown;
  error: string | null;
  /** The StudioError code of a failure ('diverged' = the loss became NaN/Inf); absent in older records. */
  errorCode?: string | null;
  /** 'train' (trained here) or 'import:<file>'. */
  source: string;
  meta: Record<string, unknown>;
}

export interface StoredJointRun extends StoredRun, JointRunFields {
  id: string;
  createdAt: number;
  type: 'joint';
  recordVersion: 1;
  /** The latest checkpoint's bytes, or null before the first one. */
  checkpoint: { byteLength: number; chunkCount: number } | null;
}

/** What a caller writes (the stored record adds type, version and the checkpoint pointer). */
export type JointRunInput = JointRunFields & { id: string; createdAt: number };


const JOINT: BlobRunKind<StoredJointRun> = {
  type: 'joint',
  blob: 'checkpoint',
  what: 'joint-training run',
  noBlob: (rec) => `Run "${rec.name}" has no stored checkpoint yet (it ended before its first epoch).`,
  is: (r): r is StoredJointRun => isJointRun(r),
};

export function isJointRun(r: StoredRun | undefined): r is StoredJointRun {
  return !!r && r.type === 'joint';
}

export function newJointRunId(): string {
  return newRunId('joint');
}

/**
 * Writes the record and, when `checkpoint` is given, replaces the stored checkpoint — all in one
 * transaction. Without `checkpoint` the stored one (and the record's pointer to it) is kept.
 */
export function saveJointRun(db: StudioDb, record: JointRunInput, checkpoint?: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<StoredJointRun> {
  return saveBlobRun(db, JOINT, record as unknown as Record<string, unknown> & { id: string }, checkpoint, chunkBytes);
}

/** Changes record fields only (status, error…); the checkpoint stays as stored. */
export function updateJointRun(db: StudioDb, id: string, patch: Partial<JointRunFields>): Promise<StoredJointRun> {
  return updateBlobRun<StoredJointRun>(db, JOINT, id, patch as Partial<StoredJointRun>);
}

export function getJointRun(db: StudioDb, id: string): Promise<StoredJointRun> {
  return getBlobRun(db, JOINT, id);
}

/** Joint runs (of one dataset, or all), newest first. */
export function listJointRuns(db: StudioDb, datasetId?: string): Promise<StoredJointRun[]> {
  return listBlobRuns(db, JOINT, datasetId);
}

/** The record and its checkpoint bytes, read in one transaction (a consistent pair). */
export function loadJointCheckpointBytes(db: StudioDb, id: string): Promise<{ record: StoredJointRun; bytes: Uint8Array }> {
  return loadBlobRunBytes(db, JOINT, id);
}

/** Deletes the record and its checkpoint in one transaction; false when there was no such run. */
export function deleteJointRun(db: StudioDb, id: string): Promise<boolean> {
  return deleteBlobRun(db, JOINT, id);
}
