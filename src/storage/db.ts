/**
 * The studio's IndexedDB schema (idb 8). Upgrades are additive: each version only creates what
 * is new, so older data stays readable.
 *
 * v1 stores:
 *   datasets  — StoredDataset (summary, config, source, stats, array manifest), key `id`
 *   chunks    — key [ownerId, arrayName, chunkIndex] → ArrayBuffer (the bytes of large arrays,
 *               split into chunks; ownerId is a dataset id now, later also artifact ids)
 *   artifacts — reserved (empty in v1), key `id`, index `ownerId`
 *   runs      — reserved (empty in v1), key `id`, index `createdAt`
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { DatasetSource, DatasetStats, PrepareConfig } from '../core/data/types.ts';

export const STUDIO_DB_NAME = 'etegrec-studio';
export const STUDIO_DB_VERSION = 1;

export type ArrayDtype = 'int32' | 'float32' | 'float64' | 'json-utf8';

export interface ArrayManifest {
  dtype: ArrayDtype;
  /** Elements (typed arrays) or entries of the JSON array. */
  length: number;
  byteLength: number;
  chunkCount: number;
}

export interface StoredDataset {
  id: string;
  name: string;
  createdAt: number;
  config: PrepareConfig;
  source: DatasetSource;
  stats: DatasetStats;
  sizeBytes: number;
  hasTimestamps: boolean;
  /** Format of the stored record (bump when the array layout changes). */
  recordVersion: 1;
  arrays: Record<string, ArrayManifest>;
}

export type ChunkKey = [ownerId: string, arrayName: string, chunkIndex: number];

/** Placeholder records for later stages; only the key fields are fixed now. */
export interface StoredArtifact { id: string; ownerId: string; [k: string]: unknown }
export interface StoredRun { id: string; createdAt: number; [k: string]: unknown }

export interface StudioSchema extends DBSchema {
  datasets: { key: string; value: StoredDataset; indexes: { createdAt: number; name: string } };
  chunks: { key: ChunkKey; value: ArrayBuffer };
  artifacts: { key: string; value: StoredArtifact; indexes: { ownerId: string } };
  runs: { key: string; value: StoredRun; indexes: { createdAt: number } };
}

export type StudioDb = IDBPDatabase<StudioSchema>;

export interface OpenOptions {
  /** Called when the connection closes (another tab upgrades the schema, or the browser closes it). */
  onClose?: () => void;
}

export async function openStudioDb(name: string = STUDIO_DB_NAME, opts: OpenOptions = {}): Promise<StudioDb> {
  const db = await openDB<StudioSchema>(name, STUDIO_DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        const ds = db.createObjectStore('datasets', { keyPath: 'id' });
        ds.createIndex('createdAt', 'createdAt');
        ds.createIndex('name', 'name');
        db.createObjectStore('chunks');
        const art = db.createObjectStore('artifacts', { keyPath: 'id' });
        art.createIndex('ownerId', 'ownerId');
        const runs = db.createObjectStore('runs', { keyPath: 'id' });
        runs.createIndex('createdAt', 'createdAt');
      }
    },
    blocking() {
      // A newer schema wants to open elsewhere: step aside instead of blocking it.
      db.close();
      opts.onClose?.();
    },
    terminated() {
      opts.onClose?.();
    },
  });
  return db;
}

/** Key range covering every chunk of `ownerId` (or of one of its arrays). */
export function chunkRange(ownerId: string, arrayName?: string): IDBKeyRange {
  // Arrays sort after numbers and strings in IndexedDB key order, so [] is an upper sentinel.
  return arrayName === undefined
    ? IDBKeyRange.bound([ownerId], [ownerId, []])
    : IDBKeyRange.bound([ownerId, arrayName], [ownerId, arrayName, []]);
}
