/**
 * GRPO fine-tuning runs (spec §6): one record in the `runs` store (type 'grpo') and, once the run
 * has finished, its bundle zip (the best GRPO recommender + the SFT tokenizer + code.json +
 * metrics.json) in `chunks` under [runId, 'bundle', i]. No schema change. Record and bundle are
 * written in one readwrite transaction (bytes chunked before it opens), as jointRuns does.
 */
import { StudioError } from '../core/errors.ts';
import { DEFAULT_CHUNK_BYTES } from './datasets.ts';
import { chunkRange, type StoredRun, type StudioDb } from './db.ts';
import { toStorageError } from './errors.ts';

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

const BUNDLE = 'bundle';

export function isGrpoRun(r: StoredRun | undefined): r is StoredGrpoRun {
  return !!r && r.type === 'grpo';
}

export function newGrpoRunId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return `grpo-${c.randomUUID()}`;
  return `grpo-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function abortQuietly(tx: { abort(): void }): void {
  try { tx.abort(); } catch { /* already finished */ }
}

function notFound(id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored GRPO run with id "${id}" (it may have been deleted).` });
}

/** Writes the record and, when `bundle` is given, replaces the stored bundle — in one transaction. */
export async function saveGrpoRun(db: StudioDb, record: GrpoRunInput, bundle?: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<StoredGrpoRun> {
  const chunks: ArrayBuffer[] = [];
  if (bundle) {
    for (let at = 0; at < bundle.byteLength; at += chunkBytes) chunks.push(bundle.slice(at, Math.min(bundle.byteLength, at + chunkBytes)).buffer);
  }
  const tx = db.transaction(['runs', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let out: StoredGrpoRun;
  try {
    const runs = tx.objectStore('runs');
    const prev = await runs.get(record.id);
    if (prev && !isGrpoRun(prev)) throw new StudioError({ code: 'bad_option', message: `Run id "${record.id}" belongs to another kind of run` });
    const { type: _t, stage: _s, recordVersion: _v, bundle: _b, ...fields } = record as GrpoRunInput & Partial<StoredGrpoRun>;
    out = {
      ...fields,
      type: 'grpo',
      stage: 'grpo',
      recordVersion: 1,
      bundle: bundle ? { byteLength: bundle.byteLength, chunkCount: chunks.length } : (prev as StoredGrpoRun | undefined)?.bundle ?? null,
    };
    if (bundle) {
      const store = tx.objectStore('chunks');
      await store.delete(chunkRange(record.id, BUNDLE));
      for (let i = 0; i < chunks.length; i++) await store.put(chunks[i], [record.id, BUNDLE, i]);
    }
    await runs.put(out);
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'save the GRPO run');
  }
  return out;
}

export async function getGrpoRun(db: StudioDb, id: string): Promise<StoredGrpoRun> {
  let rec: StoredRun | undefined;
  try {
    rec = await db.get('runs', id);
  } catch (err) {
    throw toStorageError(err, undefined, 'read the GRPO run', false);
  }
  if (!isGrpoRun(rec)) throw notFound(id);
  return rec;
}

/** GRPO runs (of one dataset, or all), newest first. */
export async function listGrpoRuns(db: StudioDb, datasetId?: string): Promise<StoredGrpoRun[]> {
  let all: StoredRun[];
  try {
    all = await db.getAll('runs');
  } catch (err) {
    throw toStorageError(err, undefined, 'list GRPO runs', false);
  }
  return all
    .filter(isGrpoRun)
    .filter((r) => datasetId === undefined || r.datasetId === datasetId)
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}

/** The record and its bundle bytes, read in one transaction. */
export async function loadGrpoBundleBytes(db: StudioDb, id: string): Promise<{ record: StoredGrpoRun; bytes: Uint8Array }> {
  const tx = db.transaction(['runs', 'chunks'], 'readonly');
  const done = tx.done;
  done.catch(() => undefined);
  let rec: StoredRun | undefined;
  let parts: ArrayBuffer[] = [];
  try {
    rec = await tx.objectStore('runs').get(id);
    if (isGrpoRun(rec)) parts = await tx.objectStore('chunks').getAll(chunkRange(id, BUNDLE));
    await done;
  } catch (err) {
    throw toStorageError(err, tx.error, 'read the GRPO bundle', false);
  }
  if (!isGrpoRun(rec)) throw notFound(id);
  const info = rec.bundle;
  if (!info) throw new StudioError({ code: 'not_found', message: `GRPO run "${rec.name}" has no stored model (it did not finish).` });
  const whole = new Uint8Array(info.byteLength);
  let at = 0;
  for (const p of parts) {
    if (at + p.byteLength > whole.byteLength) break;
    whole.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  if (parts.length !== info.chunkCount || at !== info.byteLength) {
    throw new StudioError({ code: 'storage_failed', message: `The bundle of GRPO run "${rec.name}" is incomplete (${at} of ${info.byteLength} bytes).` });
  }
  return { record: rec, bytes: whole };
}

/** Deletes the record and its bundle in one transaction; false when there was no such run. */
export async function deleteGrpoRun(db: StudioDb, id: string): Promise<boolean> {
  const tx = db.transaction(['runs', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  try {
    const runs = tx.objectStore('runs');
    found = isGrpoRun(await runs.get(id));
    if (found) {
      await runs.delete(id);
      await tx.objectStore('chunks').delete(chunkRange(id));
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'delete the GRPO run');
  }
  return found;
}
