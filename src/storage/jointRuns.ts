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
import { StudioError } from '../core/errors.ts';
import { DEFAULT_CHUNK_BYTES } from './datasets.ts';
import { chunkRange, type StoredRun, type StudioDb } from './db.ts';
import { toStorageError } from './errors.ts';

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

const CHECKPOINT = 'checkpoint';

export function isJointRun(r: StoredRun | undefined): r is StoredJointRun {
  return !!r && r.type === 'joint';
}

export function newJointRunId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return `joint-${c.randomUUID()}`;
  return `joint-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function abortQuietly(tx: { abort(): void }): void {
  try { tx.abort(); } catch { /* already finished */ }
}

function notFound(id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored joint-training run with id "${id}" (it may have been deleted).` });
}

/**
 * Writes the record and, when `checkpoint` is given, replaces the stored checkpoint — all in one
 * transaction. Without `checkpoint` the stored one (and the record's pointer to it) is kept.
 */
export async function saveJointRun(
  db: StudioDb,
  record: JointRunInput,
  checkpoint?: Uint8Array,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Promise<StoredJointRun> {
  const chunks: ArrayBuffer[] = [];
  if (checkpoint) {
    for (let at = 0; at < checkpoint.byteLength; at += chunkBytes) {
      chunks.push(checkpoint.slice(at, Math.min(checkpoint.byteLength, at + chunkBytes)).buffer);
    }
  }
  const tx = db.transaction(['runs', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let out: StoredJointRun;
  try {
    const runs = tx.objectStore('runs');
    const prev = await runs.get(record.id);
    if (prev && !isJointRun(prev)) throw new StudioError({ code: 'bad_option', message: `Run id "${record.id}" belongs to another kind of run` });
    const { type: _t, recordVersion: _v, checkpoint: _c, ...fields } = record as JointRunInput & Partial<StoredJointRun>;
    out = {
      ...fields,
      type: 'joint',
      recordVersion: 1,
      checkpoint: checkpoint ? { byteLength: checkpoint.byteLength, chunkCount: chunks.length } : (prev as StoredJointRun | undefined)?.checkpoint ?? null,
    };
    if (checkpoint) {
      const store = tx.objectStore('chunks');
      await store.delete(chunkRange(record.id, CHECKPOINT));
      for (let i = 0; i < chunks.length; i++) await store.put(chunks[i], [record.id, CHECKPOINT, i]);
    }
    await runs.put(out);
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'save the joint-training run');
  }
  return out;
}

/** Changes record fields only (status, error…); the checkpoint stays as stored. */
export async function updateJointRun(db: StudioDb, id: string, patch: Partial<JointRunFields>): Promise<StoredJointRun> {
  const tx = db.transaction('runs', 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let out: StoredJointRun;
  try {
    const prev = await tx.store.get(id);
    if (!isJointRun(prev)) throw notFound(id);
    out = { ...prev, ...patch, updatedAt: patch.updatedAt ?? Date.now() };
    await tx.store.put(out);
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'update the joint-training run');
  }
  return out;
}

export async function getJointRun(db: StudioDb, id: string): Promise<StoredJointRun> {
  let rec: StoredRun | undefined;
  try {
    rec = await db.get('runs', id);
  } catch (err) {
    throw toStorageError(err, undefined, 'read the joint-training run', false);
  }
  if (!isJointRun(rec)) throw notFound(id);
  return rec;
}

/** Joint runs (of one dataset, or all), newest first. */
export async function listJointRuns(db: StudioDb, datasetId?: string): Promise<StoredJointRun[]> {
  let all: StoredRun[];
  try {
    all = await db.getAll('runs');
  } catch (err) {
    throw toStorageError(err, undefined, 'list joint-training runs', false);
  }
  return all
    .filter(isJointRun)
    .filter((r) => datasetId === undefined || r.datasetId === datasetId)
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}

/** The record and its checkpoint bytes, read in one transaction (a consistent pair). */
export async function loadJointCheckpointBytes(db: StudioDb, id: string): Promise<{ record: StoredJointRun; bytes: Uint8Array }> {
  const tx = db.transaction(['runs', 'chunks'], 'readonly');
  const done = tx.done;
  done.catch(() => undefined);
  let rec: StoredRun | undefined;
  let parts: ArrayBuffer[] = [];
  try {
    rec = await tx.objectStore('runs').get(id);
    if (isJointRun(rec)) parts = await tx.objectStore('chunks').getAll(chunkRange(id, CHECKPOINT));
    await done;
  } catch (err) {
    throw toStorageError(err, tx.error, 'read the joint-training checkpoint', false);
  }
  if (!isJointRun(rec)) throw notFound(id);
  const info = rec.checkpoint;
  if (!info) throw new StudioError({ code: 'not_found', message: `Run "${rec.name}" has no stored checkpoint yet (it ended before its first epoch).` });
  const whole = new Uint8Array(info.byteLength);
  let at = 0;
  for (const p of parts) {
    if (at + p.byteLength > whole.byteLength) break;
    whole.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  if (parts.length !== info.chunkCount || at !== info.byteLength) {
    throw new StudioError({ code: 'storage_failed', message: `The checkpoint of run "${rec.name}" is incomplete (${at} of ${info.byteLength} bytes).` });
  }
  return { record: rec, bytes: whole };
}

/** Deletes the record and its checkpoint in one transaction; false when there was no such run. */
export async function deleteJointRun(db: StudioDb, id: string): Promise<boolean> {
  const tx = db.transaction(['runs', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  try {
    const runs = tx.objectStore('runs');
    found = isJointRun(await runs.get(id));
    if (found) {
      await runs.delete(id);
      await tx.objectStore('chunks').delete(chunkRange(id));
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'delete the joint-training run');
  }
  return found;
}
