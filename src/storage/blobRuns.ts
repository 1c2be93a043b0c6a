/**
 * Run records with one binary payload (a joint-training checkpoint, a GRPO bundle): the record in
 * the `runs` store, the bytes in `chunks` under [runId, <blob>, i]. Record and bytes are written in
 * ONE readwrite transaction (old chunks deleted, new chunks put, record put), so a crash or a quota
 * error leaves either the previous pair or the new one — never a record pointing at half-written
 * bytes. The bytes are chunked before the transaction opens (no non-IndexedDB awaits inside it).
 */
import { StudioError } from '../core/errors.ts';
import { DEFAULT_CHUNK_BYTES } from './datasets.ts';
import { chunkRange, type StoredRun, type StudioDb } from './db.ts';
import { toStorageError } from './errors.ts';

export interface BlobInfo {
  byteLength: number;
  chunkCount: number;
}

/** How one kind of run is stored. */
export interface BlobRunKind<R extends StoredRun & { name: string; datasetId: string; createdAt: number }> {
  /** The record's `type` ('joint', 'grpo'). */
  type: string;
  /** Chunk array name and record field of the payload pointer ('checkpoint', 'bundle'). */
  blob: string;
  /** Fixed fields every record of this kind carries (e.g. { stage: 'grpo' }). */
  fixed?: Record<string, unknown>;
  /** "joint-training run", "GRPO run" — used in messages. */
  what: string;
  /** Message when a record has no payload yet. */
  noBlob(rec: R): string;
  /** Type guard (never true for other kinds). */
  is(r: StoredRun | undefined): r is R;
}

export function newRunId(prefix: string): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return `${prefix}-${c.randomUUID()}`;
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function abortQuietly(tx: { abort(): void }): void {
  try { tx.abort(); } catch { /* already finished */ }
}

function notFound<R extends StoredRun & { name: string; datasetId: string; createdAt: number }>(kind: BlobRunKind<R>, id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored ${kind.what} with id "${id}" (it may have been deleted).` });
}

/**
 * Writes the record and, when `bytes` is given, replaces the stored payload — in one transaction.
 * Without `bytes` the stored payload (and the record's pointer to it) is kept.
 */
export async function saveBlobRun<R extends StoredRun & { name: string; datasetId: string; createdAt: number }>(
  db: StudioDb,
  kind: BlobRunKind<R>,
  record: Record<string, unknown> & { id: string },
  bytes?: Uint8Array,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Promise<R> {
  const chunks: ArrayBuffer[] = [];
  if (bytes) {
    for (let at = 0; at < bytes.byteLength; at += chunkBytes) chunks.push(bytes.slice(at, Math.min(bytes.byteLength, at + chunkBytes)).buffer);
  }
  const tx = db.transaction(['runs', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let out: R;
  try {
    const runs = tx.objectStore('runs');
    const prev = await runs.get(record.id);
    if (prev && !kind.is(prev)) throw new StudioError({ code: 'bad_option', message: `Run id "${record.id}" belongs to another kind of run` });
    const fields: Record<string, unknown> = { ...record };
    for (const k of ['type', 'recordVersion', kind.blob, ...Object.keys(kind.fixed ?? {})]) delete fields[k];
    const pointer: BlobInfo | null = bytes ? { byteLength: bytes.byteLength, chunkCount: chunks.length } : ((prev as Record<string, unknown> | undefined)?.[kind.blob] as BlobInfo | undefined) ?? null;
    out = { ...fields, type: kind.type, ...(kind.fixed ?? {}), recordVersion: 1, [kind.blob]: pointer } as unknown as R;
    if (bytes) {
      const store = tx.objectStore('chunks');
      await store.delete(chunkRange(record.id, kind.blob));
      for (let i = 0; i < chunks.length; i++) await store.put(chunks[i], [record.id, kind.blob, i]);
    }
    await runs.put(out);
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, `save the ${kind.what}`);
  }
  return out;
}

/** Changes record fields only (status, error…); the payload stays as stored. */
export async function updateBlobRun<R extends StoredRun & { name: string; datasetId: string; createdAt: number }>(
  db: StudioDb,
  kind: BlobRunKind<R>,
  id: string,
  patch: Partial<R>,
): Promise<R> {
  const tx = db.transaction('runs', 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let out: R;
  try {
    const prev = await tx.store.get(id);
    if (!kind.is(prev)) throw notFound(kind, id);
    out = { ...prev, ...patch, updatedAt: (patch as { updatedAt?: number }).updatedAt ?? Date.now() };
    await tx.store.put(out);
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, `update the ${kind.what}`);
  }
  return out;
}

export async function getBlobRun<R extends StoredRun & { name: string; datasetId: string; createdAt: number }>(db: StudioDb, kind: BlobRunKind<R>, id: string): Promise<R> {
  let rec: StoredRun | undefined;
  try {
    rec = await db.get('runs', id);
  } catch (err) {
    throw toStorageError(err, undefined, `read the ${kind.what}`, false);
  }
  if (!kind.is(rec)) throw notFound(kind, id);
  return rec;
}

/** Runs of this kind (of one dataset, or all), newest first. */
export async function listBlobRuns<R extends StoredRun & { name: string; datasetId: string; createdAt: number }>(
  db: StudioDb,
  kind: BlobRunKind<R>,
  datasetId?: string,
): Promise<R[]> {
  let all: StoredRun[];
  try {
    all = await db.getAll('runs');
  } catch (err) {
    throw toStorageError(err, undefined, `list ${kind.what}s`, false);
  }
  return all
    .filter((r): r is R => kind.is(r))
    .filter((r) => datasetId === undefined || r.datasetId === datasetId)
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}

/** The record and its payload bytes, read in one transaction (a consistent pair). */
export async function loadBlobRunBytes<R extends StoredRun & { name: string; datasetId: string; createdAt: number }>(
  db: StudioDb,
  kind: BlobRunKind<R>,
  id: string,
): Promise<{ record: R; bytes: Uint8Array }> {
  const tx = db.transaction(['runs', 'chunks'], 'readonly');
  const done = tx.done;
  done.catch(() => undefined);
  let rec: StoredRun | undefined;
  let parts: ArrayBuffer[] = [];
  try {
    rec = await tx.objectStore('runs').get(id);
    if (kind.is(rec)) parts = await tx.objectStore('chunks').getAll(chunkRange(id, kind.blob));
    await done;
  } catch (err) {
    throw toStorageError(err, tx.error, `read the ${kind.what}'s ${kind.blob}`, false);
  }
  if (!kind.is(rec)) throw notFound(kind, id);
  const info = (rec as Record<string, unknown>)[kind.blob] as BlobInfo | null;
  if (!info) throw new StudioError({ code: 'not_found', message: kind.noBlob(rec) });
  const whole = new Uint8Array(info.byteLength);
  let at = 0;
  for (const p of parts) {
    if (at + p.byteLength > whole.byteLength) break;
    whole.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  if (parts.length !== info.chunkCount || at !== info.byteLength) {
    throw new StudioError({ code: 'storage_failed', message: `The ${kind.blob} of ${kind.what} "${rec.name}" is incomplete (${at} of ${info.byteLength} bytes).` });
  }
  return { record: rec, bytes: whole };
}

/** Deletes the record and its payload in one transaction; false when there was no such run. */
export async function deleteBlobRun<R extends StoredRun & { name: string; datasetId: string; createdAt: number }>(
  db: StudioDb,
  kind: BlobRunKind<R>,
  id: string,
): Promise<boolean> {
  const tx = db.transaction(['runs', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  try {
    const runs = tx.objectStore('runs');
    found = kind.is(await runs.get(id));
    if (found) {
      await runs.delete(id);
      await tx.objectStore('chunks').delete(chunkRange(id));
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, `delete the ${kind.what}`);
  }
  return found;
}
