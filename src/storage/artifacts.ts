/**
 * Artifact repository: item embedding tables of a dataset. One `artifacts` record (ownerId = the
 * dataset id, indexed since v1, so no schema change is needed) plus the float32 data as byte
 * chunks in `chunks` under [artifactId, 'data', i]. Save and delete each run in ONE readwrite
 * transaction, so a failure, a quota error or a cancel leaves the database exactly as it was.
 * Names are made unique per dataset by suffixing " (2)", " (3)", … inside the transaction.
 *
 * The record layout is the one workers/embeddingRepo.ts (the interim worker-side repository)
 * writes, field for field, so either module reads what the other stored.
 */
import { StudioError, throwIfCancelled } from '../core/errors.ts';
import type { EmbeddingKind, EmbeddingTable } from '../core/embeddings/types.ts';
import { uniqueName } from '../core/names.ts';
import { DEFAULT_CHUNK_BYTES, type SaveOptions } from './datasets.ts';
import { chunkRange, type StoredArtifact, type StudioDb } from './db.ts';
import { toStorageError } from './errors.ts';

export interface StoredEmbeddingArtifact extends StoredArtifact {
  /** Dataset id. */
  ownerId: string;
  type: 'embedding';
  /** Format of the stored record (bump when the layout changes). */
  recordVersion: 1;
  kind: EmbeddingKind;
  name: string;
  rows: number;
  cols: number;
  source: string;
  createdAt: number;
  /** Bytes of the float32 data (rows × cols × 4), split into chunkCount chunks. */
  sizeBytes: number;
  chunkCount: number;
  meta: Record<string, unknown>;
}

/**
 * A stored embedding table of a dataset, without its data (what lists show; structured-cloneable,
 * for the worker API). Row r = item id r+1 (N rows, PAD dropped).
 */
export interface EmbeddingSummary {
  id: string;
  datasetId: string;
  kind: EmbeddingKind;
  name: string;
  /** 'sasrec' | 'tfidf-svd' | 'import:<file>' | 'dual' */
  source: string;
  rows: number;
  cols: number;
  createdAt: number;
  /** Bytes of the float32 data. */
  sizeBytes: number;
  /** Provenance: config, seed, backend, metrics, file shape… (structured-cloneable). */
  meta: Record<string, unknown>;
}

const DATA = 'data';

function isEmbedding(r: StoredArtifact | undefined): r is StoredEmbeddingArtifact {
  return !!r && r.type === 'embedding';
}

export function toEmbeddingSummary(r: StoredEmbeddingArtifact): EmbeddingSummary {
  return {
    id: r.id, datasetId: r.ownerId, kind: r.kind, name: r.name, rows: r.rows, cols: r.cols,
    source: r.source, createdAt: r.createdAt, sizeBytes: r.sizeBytes, meta: r.meta ?? {},
  };
}

function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return `emb-${c.randomUUID()}`;
  return `emb-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function abortQuietly(tx: { abort(): void }): void {
  try { tx.abort(); } catch { /* already finished */ }
}

/**
 * Stores `table` under dataset `datasetId` (which must exist and have table.rows items).
 * Returns the summary with the final (unique) name.
 */
export async function saveEmbeddingTable(db: StudioDb, datasetId: string, table: EmbeddingTable, opts: SaveOptions = {}): Promise<EmbeddingSummary> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!(chunkBytes > 0)) throw new StudioError({ code: 'bad_option', message: 'chunkBytes must be positive' });
  if (table.data.length !== table.rows * table.cols) {
    throw new StudioError({
      code: 'bad_option',
      message: `Embedding table "${table.name}" is inconsistent: ${table.rows} × ${table.cols} declared, ${table.data.length} values`,
    });
  }
  throwIfCancelled(opts.signal);
  // Encoded before the transaction opens: no non-IndexedDB awaits inside it.
  const bytes = new Uint8Array(table.data.buffer, table.data.byteOffset, table.data.byteLength);
  const chunks: ArrayBuffer[] = [];
  for (let at = 0; at < bytes.byteLength; at += chunkBytes) {
    chunks.push(bytes.slice(at, Math.min(bytes.byteLength, at + chunkBytes)).buffer);
  }
  const id = opts.id ?? newId();
  const record: StoredEmbeddingArtifact = {
    id,
    ownerId: datasetId,
    type: 'embedding',
    recordVersion: 1,
    kind: table.kind,
    name: table.name,
    rows: table.rows,
    cols: table.cols,
    source: table.source,
    createdAt: opts.now ?? table.createdAt ?? Date.now(),
    sizeBytes: bytes.byteLength,
    chunkCount: chunks.length,
    meta: table.meta ?? {},
  };

  const tx = db.transaction(['datasets', 'artifacts', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => { /* observed below */ });
  const onAbort = () => abortQuietly(tx);
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const ds = await tx.objectStore('datasets').get(datasetId);
    if (!ds) throw datasetNotFound(datasetId);
    if (ds.stats.num_items !== table.rows) {
      throw new StudioError({
        code: 'embedding_row_mismatch',
        message: `Embedding table "${table.name}" has ${table.rows} rows but dataset "${ds.name}" has ${ds.stats.num_items} items`,
        expected: `${ds.stats.num_items} rows`,
        found: `${table.rows} rows`,
      });
    }
    const artifacts = tx.objectStore('artifacts');
    const siblings = await artifacts.index('ownerId').getAll(datasetId);
    record.name = uniqueName(table.name, new Set(siblings.filter(isEmbedding).map((a) => a.name)), 'embeddings');
    const store = tx.objectStore('chunks');
    for (let i = 0; i < chunks.length; i++) {
      throwIfCancelled(opts.signal);
      await store.put(chunks[i], [id, DATA, i]);
      opts.onProgress?.(i + 1, chunks.length);
    }
    throwIfCancelled(opts.signal);
    // The record goes last; `add` refuses to overwrite an existing id.
    await artifacts.add(record);
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    if (opts.signal?.aborted) throw new StudioError({ code: 'cancelled', message: 'Cancelled by the user' });
    throw toStorageError(err, tx.error, 'save the embedding table');
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return toEmbeddingSummary(record);
}

/** Embedding tables of one dataset (or of all datasets), newest first. */
export async function listEmbeddingTables(db: StudioDb, datasetId?: string): Promise<EmbeddingSummary[]> {
  try {
    const all = datasetId === undefined ? await db.getAll('artifacts') : await db.getAllFromIndex('artifacts', 'ownerId', datasetId);
    return all.filter(isEmbedding).sort((a, b) => b.createdAt - a.createdAt || cmp(a.id, b.id)).map(toEmbeddingSummary);
  } catch (err) {
    throw toStorageError(err, undefined, 'list embedding tables', false);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function getEmbeddingSummary(db: StudioDb, id: string): Promise<EmbeddingSummary> {
  let rec: StoredArtifact | undefined;
  try {
    rec = await db.get('artifacts', id);
  } catch (err) {
    throw toStorageError(err, undefined, 'read the embedding table', false);
  }
  if (!isEmbedding(rec)) throw notFound(id);
  return toEmbeddingSummary(rec);
}

/** The whole table (data included) and its summary. */
export async function loadEmbeddingTable(db: StudioDb, id: string): Promise<{ summary: EmbeddingSummary; table: EmbeddingTable }> {
  const tx = db.transaction(['artifacts', 'chunks'], 'readonly');
  const done = tx.done;
  done.catch(() => undefined);
  let rec: StoredArtifact | undefined;
  let parts: ArrayBuffer[] = [];
  try {
    rec = await tx.objectStore('artifacts').get(id);
    if (isEmbedding(rec)) parts = await tx.objectStore('chunks').getAll(chunkRange(id, DATA));
    await done;
  } catch (err) {
    throw toStorageError(err, tx.error, 'read the embedding table', false);
  }
  if (!isEmbedding(rec)) throw notFound(id);
  if (rec.recordVersion !== 1) {
    throw new StudioError({ code: 'storage_failed', message: `Embedding table "${rec.name}" was stored in a newer format (${String(rec.recordVersion)}); update the studio to open it.` });
  }
  const whole = new Uint8Array(rec.sizeBytes);
  let at = 0;
  for (const p of parts) {
    if (at + p.byteLength > whole.byteLength) break;
    whole.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  if (parts.length !== rec.chunkCount || at !== rec.sizeBytes || rec.sizeBytes !== rec.rows * rec.cols * 4) {
    throw new StudioError({
      code: 'storage_failed',
      message: `Stored embedding table "${rec.name}" is incomplete (${parts.length} of ${rec.chunkCount} chunks, ${at} of ${rec.sizeBytes} bytes). Delete it and create it again.`,
    });
  }
  const table: EmbeddingTable = {
    kind: rec.kind, name: rec.name, rows: rec.rows, cols: rec.cols,
    data: new Float32Array(whole.buffer), source: rec.source, createdAt: rec.createdAt, meta: rec.meta ?? {},
  };
  return { summary: toEmbeddingSummary(rec), table };
}

/**
 * Deletes one artifact of the given type (record + chunks) in one transaction; returns false when no
 * artifact of that type has this id. Shared by every stage's artifact kind.
 */
export async function deleteArtifactOfType(db: StudioDb, id: string, type: string, what: string): Promise<boolean> {
  const tx = db.transaction(['artifacts', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  try {
    const artifacts = tx.objectStore('artifacts');
    const rec = await artifacts.get(id);
    found = !!rec && rec.type === type;
    if (found) {
      await artifacts.delete(id);
      await tx.objectStore('chunks').delete(chunkRange(id));
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, `delete the ${what}`);
  }
  return found;
}

/** Deletes one table (record + chunks) in one transaction. */
export async function deleteEmbeddingTable(db: StudioDb, id: string): Promise<void> {
  if (!(await deleteArtifactOfType(db, id, 'embedding', 'embedding table'))) throw notFound(id);
}

/**
 * Deletes every artifact (of any type) owned by a dataset, with its chunks, in one transaction.
 * Returns how many were deleted. The dataset itself is untouched: see deleteDatasetWithArtifacts.
 */
export async function deleteArtifactsOfDataset(db: StudioDb, datasetId: string): Promise<number> {
  const tx = db.transaction(['artifacts', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let count: number;
  try {
    count = await deleteOwned(tx.objectStore('artifacts'), tx.objectStore('chunks'), datasetId);
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'delete the embedding tables');
  }
  return count;
}

/**
 * The dataset (record + chunks) and all its artifacts in ONE transaction: what the worker's
 * deleteDataset should call, so no orphaned tables remain and a failure changes nothing.
 */
export async function deleteDatasetWithArtifacts(db: StudioDb, datasetId: string): Promise<{ artifacts: number }> {
  const tx = db.transaction(['datasets', 'artifacts', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  let count = 0;
  try {
    const datasets = tx.objectStore('datasets');
    found = (await datasets.count(datasetId)) > 0;
    if (found) {
      const chunks = tx.objectStore('chunks');
      count = await deleteOwned(tx.objectStore('artifacts'), chunks, datasetId);
      await datasets.delete(datasetId);
      await chunks.delete(chunkRange(datasetId));
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'delete the dataset');
  }
  if (!found) throw datasetNotFound(datasetId);
  return { artifacts: count };
}

interface OwnedStores {
  artifacts: { index(name: 'ownerId'): { getAllKeys(key: string): Promise<string[]> }; delete(key: string): Promise<void> };
  chunks: { delete(range: IDBKeyRange): Promise<void> };
}

async function deleteOwned(artifacts: OwnedStores['artifacts'], chunks: OwnedStores['chunks'], ownerId: string): Promise<number> {
  const ids = await artifacts.index('ownerId').getAllKeys(ownerId);
  for (const id of ids) {
    await chunks.delete(chunkRange(id));
    await artifacts.delete(id);
  }
  return ids.length;
}

function notFound(id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored embedding table with id "${id}" (it may have been deleted).` });
}

function datasetNotFound(id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored dataset with id "${id}" (it may have been deleted).` });
}
