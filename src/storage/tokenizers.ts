/**
 * Tokenizer repository (stage 3): one `artifacts` record of type 'tokenizer' (ownerId = dataset
 * id) plus byte arrays in `chunks` under [id, <array>, i]: 'weights' (best-collision
 * safetensors), 'codes' ((N+1)×4 int32 code table), and, when trained here, 'weights_gini' /
 * 'weights_loss'. Save and delete are one transaction each; names are made unique per dataset.
 */
import { StudioError } from '../core/errors.ts';
import type { RqvaeConfig } from '../core/models/rqvae.ts';
import { uniqueName } from '../core/names.ts';
import { deleteArtifactOfType } from './artifacts.ts';
import { DEFAULT_CHUNK_BYTES } from './datasets.ts';
import { chunkRange, type StoredArtifact, type StudioDb } from './db.ts';
import { toStorageError } from './errors.ts';

export type SnapshotKind = 'collision' | 'gini' | 'loss';

export interface SnapshotInfo {
  epoch: number;
  loss: number;
  collisionRate: number;
  giniMean: number;
}

export interface TokenizerArrayInfo { byteLength: number; chunkCount: number }

/** What a new tokenizer record holds besides its id, owner and arrays. */
export interface TokenizerFields {
  name: string;
  embeddingId: string | null;
  embeddingName: string;
  source: string;
  createdAt: number;
  items: number;
  config: RqvaeConfig;
  collisionRate: number;
  giniMean: number;
  giniPerLevel: number[];
  maxSuffix: number;
  tensorCount: number;
  snapshots: Partial<Record<SnapshotKind, SnapshotInfo>>;
  meta: Record<string, unknown>;
}

export interface StoredTokenizerArtifact extends StoredArtifact, TokenizerFields {
  ownerId: string;
  type: 'tokenizer';
  recordVersion: 1;
  arrays: Record<string, TokenizerArrayInfo>;
  sizeBytes: number;
}

export function isTokenizer(r: StoredArtifact | undefined): r is StoredTokenizerArtifact {
  return !!r && r.type === 'tokenizer';
}

function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return `tok-${c.randomUUID()}`;
  return `tok-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function notFound(id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored tokenizer with id "${id}" (it may have been deleted).` });
}

/** Stores a tokenizer of a dataset with its arrays (one transaction); returns the stored record (final name). */
export async function saveTokenizer(
  db: StudioDb,
  datasetId: string,
  rec: TokenizerFields,
  arrays: Record<string, Uint8Array>,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Promise<StoredTokenizerArtifact> {
  const id = newId();
  const chunks: [string, number, ArrayBuffer][] = [];
  const infos: Record<string, TokenizerArrayInfo> = {};
  let sizeBytes = 0;
  for (const [name, bytes] of Object.entries(arrays)) {
    let n = 0;
    for (let at = 0; at < bytes.byteLength; at += chunkBytes) {
      chunks.push([name, n++, bytes.slice(at, Math.min(bytes.byteLength, at + chunkBytes)).buffer]);
    }
    infos[name] = { byteLength: bytes.byteLength, chunkCount: n };
    sizeBytes += bytes.byteLength;
  }
  const record: StoredTokenizerArtifact = { ...rec, id, ownerId: datasetId, type: 'tokenizer', recordVersion: 1, arrays: infos, sizeBytes };
  const tx = db.transaction(['datasets', 'artifacts', 'chunks'], 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  try {
    const ds = await tx.objectStore('datasets').get(datasetId);
    if (!ds) throw new StudioError({ code: 'not_found', message: `No stored dataset with id "${datasetId}" (it may have been deleted).` });
    if (ds.stats.num_items !== rec.items) {
      throw new StudioError({ code: 'embedding_row_mismatch', message: `The tokenizer codes ${rec.items} items but dataset "${ds.name}" has ${ds.stats.num_items}` });
    }
    const artifacts = tx.objectStore('artifacts');
    const siblings = await artifacts.index('ownerId').getAll(datasetId);
    record.name = uniqueName(rec.name, new Set(siblings.filter(isTokenizer).map((a) => a.name)), 'tokenizer');
    const store = tx.objectStore('chunks');
    for (const [name, i, buf] of chunks) await store.put(buf, [id, name, i]);
    await artifacts.add(record);
    await done;
  } catch (err) {
    try { tx.abort(); } catch { /* finished */ }
    await done.catch(() => undefined);
    if (err instanceof StudioError) throw err;
    throw toStorageError(err, tx.error, 'save the tokenizer');
  }
  return record;
}

export async function getTokenizerRecord(db: StudioDb, id: string): Promise<StoredTokenizerArtifact> {
  let rec: StoredArtifact | undefined;
  try {
    rec = await db.get('artifacts', id);
  } catch (err) {
    throw toStorageError(err, undefined, 'read the tokenizer', false);
  }
  if (!isTokenizer(rec)) throw notFound(id);
  return rec;
}

/** The tokenizers of a dataset, newest first. */
export async function listTokenizerRecords(db: StudioDb, datasetId: string): Promise<StoredTokenizerArtifact[]> {
  let all: StoredArtifact[];
  try {
    all = await db.getAllFromIndex('artifacts', 'ownerId', datasetId);
  } catch (err) {
    throw toStorageError(err, undefined, 'list tokenizers', false);
  }
  return all.filter(isTokenizer).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
}

/** One stored array of a tokenizer, whole; a missing or short one is an error naming it. */
export async function loadTokenizerArray(db: StudioDb, rec: StoredTokenizerArtifact, name: string): Promise<Uint8Array> {
  const info = rec.arrays[name];
  if (!info) throw new StudioError({ code: 'not_found', message: `Tokenizer "${rec.name}" has no stored "${name}"` });
  let parts: ArrayBuffer[];
  try {
    parts = await db.getAll('chunks', chunkRange(rec.id, name));
  } catch (err) {
    throw toStorageError(err, undefined, 'read the tokenizer', false);
  }
  const whole = new Uint8Array(info.byteLength);
  let at = 0;
  for (const p of parts) {
    if (at + p.byteLength > whole.byteLength) break;
    whole.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  if (parts.length !== info.chunkCount || at !== info.byteLength) {
    throw new StudioError({ code: 'storage_failed', message: `Stored tokenizer "${rec.name}" is incomplete (${name}: ${at} of ${info.byteLength} bytes). Delete it and create it again.` });
  }
  return whole;
}

/** The (N+1)×4 code table. */
export async function loadTokenizerCodes(db: StudioDb, rec: StoredTokenizerArtifact): Promise<Int32Array> {
  const b = await loadTokenizerArray(db, rec, 'codes');
  return new Int32Array(b.buffer, 0, b.byteLength / 4);
}

/** Deletes a tokenizer (record + chunks) in one transaction. */
export async function deleteTokenizer(db: StudioDb, id: string): Promise<void> {
  if (!(await deleteArtifactOfType(db, id, 'tokenizer', 'tokenizer'))) throw notFound(id);
}
