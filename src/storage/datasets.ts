/**
 * Dataset repository. A dataset is one `datasets` record plus its arrays as byte chunks in
 * `chunks`; save and delete each run in ONE readwrite transaction, so a failure, a quota error or
 * a cancel leaves the database exactly as it was.
 *
 * Naming policy: ids are unique (generated); names are made unique on save by suffixing
 * " (2)", " (3)", … (checked inside the same transaction), so lists and export file names are
 * unambiguous. The returned summary carries the final name.
 */
import { StudioError, throwIfCancelled } from '../core/errors.ts';
import { uniqueNameAsync } from '../core/names.ts';
import type { DatasetSource, DatasetStats, PrepareConfig, PreparedDataset } from '../core/data/types.ts';
import { chunkRange, type ArrayDtype, type ArrayManifest, type StoredDataset, type StudioDb } from './db.ts';
import { toStorageError } from './errors.ts';

/** A stored dataset without its arrays (lists, the worker API). */
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

/** Chrome rejects single values over ~256 MiB; 8 MiB chunks stay far below that. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export interface SaveOptions {
  chunkBytes?: number;
  signal?: AbortSignal;
  /** Called after each chunk is written (synchronously; do not start async work that the save awaits). */
  onProgress?: (writtenChunks: number, totalChunks: number) => void;
  /** Fixed id / time (tests); generated otherwise. */
  id?: string;
  now?: number;
}

type ArrayName = 'userIds' | 'itemIds' | 'itemTitles' | 'seqOffsets' | 'seqItems' | 'seqTimes' | 'seqRatings';

const TYPED: Record<Exclude<ArrayName, 'userIds' | 'itemIds' | 'itemTitles'>, ArrayDtype> = {
  seqOffsets: 'int32',
  seqItems: 'int32',
  seqTimes: 'float64',
  seqRatings: 'float32',
};

interface Encoded { name: ArrayName; manifest: ArrayManifest; chunks: ArrayBuffer[] }

function encodeArray(name: ArrayName, value: unknown, chunkBytes: number): Encoded {
  let bytes: Uint8Array;
  let dtype: ArrayDtype;
  let length: number;
  if (name in TYPED) {
    const arr = value as Int32Array | Float32Array | Float64Array;
    dtype = TYPED[name as keyof typeof TYPED];
    length = arr.length;
    bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  } else {
    const list = value as unknown[];
    dtype = 'json-utf8';
    length = list.length;
    bytes = new TextEncoder().encode(JSON.stringify(list));
  }
  const chunks: ArrayBuffer[] = [];
  for (let start = 0; start < bytes.byteLength; start += chunkBytes) {
    chunks.push(bytes.slice(start, Math.min(bytes.byteLength, start + chunkBytes)).buffer);
  }
  return { name, manifest: { dtype, length, byteLength: bytes.byteLength, chunkCount: chunks.length }, chunks };
}

function decodeArray(name: string, m: ArrayManifest, parts: ArrayBuffer[]): unknown {
  const whole = new Uint8Array(m.byteLength);
  let at = 0;
  for (const p of parts) {
    if (at + p.byteLength > m.byteLength) break;
    whole.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  if (parts.length !== m.chunkCount || at !== m.byteLength) {
    throw new StudioError({
      code: 'storage_failed',
      message: `Stored array "${name}" is incomplete (${parts.length} of ${m.chunkCount} chunks, ${at} of ${m.byteLength} bytes). Delete and re-import the dataset.`,
    });
  }
  switch (m.dtype) {
    case 'int32': return new Int32Array(whole.buffer);
    case 'float32': return new Float32Array(whole.buffer);
    case 'float64': return new Float64Array(whole.buffer);
    case 'json-utf8': return JSON.parse(new TextDecoder().decode(whole));
  }
}

function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return `ds-${c.randomUUID()}`;
  return `ds-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

export function toSummary(r: StoredDataset): DatasetSummary {
  return { id: r.id, name: r.name, createdAt: r.createdAt, config: r.config, source: r.source, stats: r.stats, sizeBytes: r.sizeBytes };
}

function abortQuietly(tx: { abort(): void }): void {
  try { tx.abort(); } catch { /* already finished */ }
}

/** Writes the dataset (summary + every chunk) in one transaction. */
export async function saveDataset(db: StudioDb, ds: PreparedDataset, opts: SaveOptions = {}): Promise<DatasetSummary> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!(chunkBytes > 0)) throw new StudioError({ code: 'bad_option', message: 'chunkBytes must be positive' });
  throwIfCancelled(opts.signal);
  // Everything is encoded before the transaction opens: no non-IndexedDB awaits inside it.
  const names: ArrayName[] = ['userIds', 'itemIds', 'seqOffsets', 'seqItems', 'seqTimes', 'seqRatings'];
  if (ds.itemTitles) names.push('itemTitles');
  const encoded = names.map((n) => encodeArray(n, ds[n], chunkBytes));
  const arrays: Record<string, ArrayManifest> = {};
  let sizeBytes = 0;
  let total = 0;
  for (const e of encoded) {
    arrays[e.name] = e.manifest;
    sizeBytes += e.manifest.byteLength;
    total += e.chunks.length;
  }
  const id = opts.id ?? newId();
  const record: StoredDataset = {
    id,
    name: ds.name,
    createdAt: opts.now ?? Date.now(),
    config: ds.config,
    source: ds.source,
    stats: ds.stats,
    sizeBytes,
    hasTimestamps: ds.hasTimestamps,
    recordVersion: 1,
    arrays,
  };

  const tx = db.transaction(['datasets', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => { /* observed below */ });
  const onAbort = () => abortQuietly(tx);
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const datasets = tx.objectStore('datasets');
    const names = datasets.index('name');
    record.name = await uniqueNameAsync(ds.name, async (n) => (await names.count(n)) > 0, 'dataset');
    const chunks = tx.objectStore('chunks');
    let written = 0;
    for (const e of encoded) {
      for (let i = 0; i < e.chunks.length; i++) {
        throwIfCancelled(opts.signal);
        await chunks.put(e.chunks[i], [id, e.name, i]);
        opts.onProgress?.(++written, total);
      }
    }
    throwIfCancelled(opts.signal);
    // The summary goes last; `add` refuses to overwrite an existing id.
    await datasets.add(record);
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    if (opts.signal?.aborted) throw new StudioError({ code: 'cancelled', message: 'Cancelled by the user' });
    throw toStorageError(err, tx.error, 'save the dataset');
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return toSummary(record);
}

export async function loadDataset(db: StudioDb, id: string): Promise<PreparedDataset> {
  const tx = db.transaction(['datasets', 'chunks'], 'readonly');
  const done = tx.done;
  done.catch(() => undefined);
  let rec: StoredDataset | undefined;
  const raw: Record<string, ArrayBuffer[]> = {};
  try {
    rec = await tx.objectStore('datasets').get(id);
    if (rec) {
      const chunks = tx.objectStore('chunks');
      for (const name of Object.keys(rec.arrays)) raw[name] = await chunks.getAll(chunkRange(id, name));
    }
    await done;
  } catch (err) {
    throw toStorageError(err, tx.error, 'read the dataset', false);
  }
  if (!rec) throw notFound(id);
  if (rec.recordVersion !== 1) {
    throw new StudioError({ code: 'storage_failed', message: `Dataset "${rec.name}" was stored in a newer format (${String(rec.recordVersion)}); update the studio to open it.` });
  }
  const out: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(rec.arrays)) out[name] = decodeArray(name, m, raw[name] ?? []);
  const ds: PreparedDataset = {
    name: rec.name,
    config: rec.config,
    source: rec.source,
    userIds: out.userIds as string[],
    itemIds: out.itemIds as string[],
    seqOffsets: out.seqOffsets as Int32Array,
    seqItems: out.seqItems as Int32Array,
    seqTimes: out.seqTimes as Float64Array,
    seqRatings: out.seqRatings as Float32Array,
    hasTimestamps: rec.hasTimestamps,
    stats: rec.stats,
  };
  if (out.itemTitles) ds.itemTitles = out.itemTitles as (string | null)[];
  return ds;
}

/** Newest first. */
export async function listDatasets(db: StudioDb): Promise<DatasetSummary[]> {
  try {
    const all = await db.getAllFromIndex('datasets', 'createdAt');
    return all.reverse().map(toSummary);
  } catch (err) {
    throw toStorageError(err, undefined, 'list datasets', false);
  }
}

export async function getDatasetSummary(db: StudioDb, id: string): Promise<DatasetSummary> {
  let rec: StoredDataset | undefined;
  try {
    rec = await db.get('datasets', id);
  } catch (err) {
    throw toStorageError(err, undefined, 'read the dataset', false);
  }
  if (!rec) throw notFound(id);
  return toSummary(rec);
}

/** Deletes the summary and every chunk in one transaction. */
export async function deleteDataset(db: StudioDb, id: string): Promise<void> {
  const tx = db.transaction(['datasets', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  try {
    const datasets = tx.objectStore('datasets');
    found = (await datasets.count(id)) > 0;
    if (found) {
      await datasets.delete(id);
      await tx.objectStore('chunks').delete(chunkRange(id));
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'delete the dataset');
  }
  if (!found) throw notFound(id);
}

function notFound(id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored dataset with id "${id}" (it may have been deleted).` });
}
