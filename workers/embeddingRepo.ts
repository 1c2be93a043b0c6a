/**
 * Embedding tables of a dataset in IndexedDB, as the worker sees them: one `artifacts` record
 * (summary + meta, `ownerId` = dataset id) plus the float32 data as byte chunks in `chunks`
 * under the artifact id. Save and delete each run in ONE transaction, so a failure leaves the
 * database as it was.
 *
 * Written in workers/ while src/storage/artifacts.ts (the storage layer's own artifact repository)
 * was still being built; the record layout is the same idea (records in `artifacts`, bytes in
 * `chunks`), and the service talks to this module only through the functions below.
 */
import { StudioError } from '../src/core/errors.ts';
import type { EmbeddingKind, EmbeddingTable } from '../src/core/embeddings/types.ts';
import { chunkRange, type StoredArtifact, type StudioDb } from '../src/storage/db.ts';
import { toStorageError } from '../src/storage/errors.ts';
import type { EmbeddingSummary } from './api.ts';

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const ARRAY = 'data';

interface StoredEmbedding extends StoredArtifact {
  type: 'embedding';
  recordVersion: 1;
  kind: EmbeddingKind;
  name: string;
  source: string;
  rows: number;
  cols: number;
  createdAt: number;
  sizeBytes: number;
  chunkCount: number;
  meta: Record<string, unknown>;
}

function isEmbedding(r: StoredArtifact | undefined): r is StoredEmbedding {
  return !!r && r.type === 'embedding';
}

function toSummary(r: StoredEmbedding): EmbeddingSummary {
  return {
    id: r.id, datasetId: r.ownerId, kind: r.kind, name: r.name, source: r.source, rows: r.rows, cols: r.cols,
    createdAt: r.createdAt, sizeBytes: r.sizeBytes, meta: r.meta,
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

export function notFound(id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored embedding table with id "${id}" (it may have been deleted).` });
}

/** Stores `table` for `datasetId` (which must exist) in one transaction; returns its summary. */
export async function saveEmbedding(
  db: StudioDb,
  datasetId: string,
  table: EmbeddingTable,
  opts: { chunkBytes?: number; id?: string } = {},
): Promise<EmbeddingSummary> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const bytes = new Uint8Array(table.data.buffer, table.data.byteOffset, table.data.byteLength);
  const chunks: ArrayBuffer[] = [];
  for (let at = 0; at < bytes.byteLength; at += chunkBytes) chunks.push(bytes.slice(at, Math.min(bytes.byteLength, at + chunkBytes)).buffer);
  const record: StoredEmbedding = {
    id: opts.id ?? newId(),
    ownerId: datasetId,
    type: 'embedding',
    recordVersion: 1,
    kind: table.kind,
    name: table.name,
    source: table.source,
    rows: table.rows,
    cols: table.cols,
    createdAt: table.createdAt,
    sizeBytes: bytes.byteLength,
    chunkCount: chunks.length,
    meta: table.meta ?? {},
  };
  const tx = db.transaction(['datasets', 'artifacts', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  try {
    found = (await tx.objectStore('datasets').count(datasetId)) > 0;
    if (found) {
      const store = tx.objectStore('chunks');
      for (let i = 0; i < chunks.length; i++) await store.put(chunks[i], [record.id, ARRAY, i]);
      await tx.objectStore('artifacts').add(record);
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'store the embedding table');
  }
  if (!found) throw new StudioError({ code: 'not_found', message: `No stored dataset with id "${datasetId}" (it may have been deleted). Nothing was stored.` });
  return toSummary(record);
}

/** The dataset's embedding tables, newest first. */
export async function listEmbeddings(db: StudioDb, datasetId: string): Promise<EmbeddingSummary[]> {
  try {
    const all = await db.getAllFromIndex('artifacts', 'ownerId', datasetId);
    return all.filter(isEmbedding).map(toSummary).sort((a, b) => b.createdAt - a.createdAt);
  } catch (err) {
    throw toStorageError(err, undefined, 'list the embedding tables', false);
  }
}

export async function getEmbeddingSummary(db: StudioDb, id: string): Promise<EmbeddingSummary> {
  let rec: StoredArtifact | undefined;
  try {
    rec = await db.get('artifacts', id);
  } catch (err) {
    throw toStorageError(err, undefined, 'read the embedding table', false);
  }
  if (!isEmbedding(rec)) throw notFound(id);
  return toSummary(rec);
}

/** The whole table (data included). */
export async function loadEmbedding(db: StudioDb, id: string): Promise<{ summary: EmbeddingSummary; table: EmbeddingTable }> {
  const tx = db.transaction(['artifacts', 'chunks'], 'readonly');
  const done = tx.done;
  done.catch(() => undefined);
  let rec: StoredArtifact | undefined;
  let parts: ArrayBuffer[] = [];
  try {
    rec = await tx.objectStore('artifacts').get(id);
    if (isEmbedding(rec)) parts = await tx.objectStore('chunks').getAll(chunkRange(id, ARRAY));
    await done;
  } catch (err) {
    throw toStorageError(err, tx.error, 'read the embedding table', false);
  }
  if (!isEmbedding(rec)) throw notFound(id);
  if (rec.recordVersion !== 1) {
    throw new StudioError({ code: 'storage_failed', message: `Embedding table "${rec.name}" was stored in a newer format; update the studio to open it.` });
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
      message: `Stored embedding table "${rec.name}" is incomplete (${parts.length} of ${rec.chunkCount} chunks). Delete it and create it again.`,
    });
  }
  const table: EmbeddingTable = {
    kind: rec.kind, name: rec.name, rows: rec.rows, cols: rec.cols, data: new Float32Array(whole.buffer),
    source: rec.source, createdAt: rec.createdAt, meta: rec.meta,
  };
  return { summary: toSummary(rec), table };
}

/** Deletes one table (record and chunks) in one transaction. */
export async function deleteEmbedding(db: StudioDb, id: string): Promise<void> {
  const tx = db.transaction(['artifacts', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  try {
    const store = tx.objectStore('artifacts');
    found = isEmbedding(await store.get(id));
    if (found) {
      await store.delete(id);
      await tx.objectStore('chunks').delete(chunkRange(id));
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'delete the embedding table');
  }
  if (!found) throw notFound(id);
}

/** Deletes every artifact of a dataset (records and chunks) in one transaction; returns how many. */
export async function deleteArtifactsOfDataset(db: StudioDb, datasetId: string): Promise<number> {
  const tx = db.transaction(['artifacts', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let n = 0;
  try {
    const store = tx.objectStore('artifacts');
    const ids = await store.index('ownerId').getAllKeys(datasetId);
    for (const id of ids) {
      await store.delete(id);
      await tx.objectStore('chunks').delete(chunkRange(id));
      n++;
    }
    await done;
  } catch (err) {
    abortQuietly(tx);
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, "delete the dataset's embedding tables");
  }
  return n;
}
