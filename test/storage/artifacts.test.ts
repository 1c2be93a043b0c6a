import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  deleteArtifactsOfDataset,
  deleteDatasetWithArtifacts,
  deleteEmbeddingTable,
  getEmbeddingSummary,
  listEmbeddingTables,
  loadEmbeddingTable,
  openStudioDb,
  saveDataset,
  saveEmbeddingTable,
  type StudioDb,
} from '../../src/storage/index.ts';
import { StudioError } from '../../src/core/errors.ts';
import type { EmbeddingTable } from '../../src/core/embeddings/types.ts';
import { makeDataset } from './fixture.ts';

let counter = 0;
const opened: StudioDb[] = [];
async function freshDb(): Promise<StudioDb> {
  const db = await openStudioDb(`artifacts-db-${++counter}`);
  opened.push(db);
  return db;
}
afterEach(() => {
  vi.restoreAllMocks();
  while (opened.length) opened.pop()!.close();
});

async function dump(db: StudioDb): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const store of ['datasets', 'chunks', 'artifacts', 'runs'] as const) {
    const keys = await db.getAllKeys(store);
    const values = await db.getAll(store);
    out[store] = keys.map((k, i) => [k, values[i] instanceof ArrayBuffer ? Array.from(new Uint8Array(values[i] as ArrayBuffer)) : values[i]]);
  }
  return JSON.parse(JSON.stringify(out));
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StudioError);
    return (e as StudioError).info.code;
  }
  throw new Error('expected a rejection');
}

/** The fixture dataset has 5 items. */
function table(name = 'collab', cols = 3, kind: EmbeddingTable['kind'] = 'collab', createdAt = 100): EmbeddingTable {
  return {
    kind, name, rows: 5, cols, source: 'import:x.npy', createdAt,
    data: Float32Array.from({ length: 5 * cols }, (_, i) => i * 0.25 - 1),
    meta: { fileRows: 6, droppedPadRow: true },
  };
}

async function withDataset(db: StudioDb, name = 'ds'): Promise<string> {
  return (await saveDataset(db, makeDataset(name), { chunkBytes: 16 })).id;
}

describe('embedding tables', () => {
  it('round-trips data and fields through small chunks', async () => {
    const db = await freshDb();
    const ds = await withDataset(db);
    const t = table('Beauty_emb_256', 7);
    const s = await saveEmbeddingTable(db, ds, t, { chunkBytes: 12 });
    expect(s).toMatchObject({ datasetId: ds, kind: 'collab', name: 'Beauty_emb_256', rows: 5, cols: 7, sizeBytes: 140, createdAt: 100 });
    expect(s.id).toMatch(/^emb-/);
    expect((await db.getAllKeys('chunks')).filter((k) => k[0] === s.id)).toHaveLength(12);
    const back = await loadEmbeddingTable(db, s.id);
    expect(back.table).toEqual(t);
    expect(back.table.data).toBeInstanceOf(Float32Array);
    expect(back.summary).toEqual(s);
    expect(await getEmbeddingSummary(db, s.id)).toEqual(s);
  });

  it('reads a record in the interim worker repository\'s layout (same fields, same chunk keys)', async () => {
    const db = await freshDb();
    const ds = await withDataset(db);
    const data = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await db.put('artifacts', {
      id: 'emb-x', ownerId: ds, type: 'embedding', recordVersion: 1, kind: 'text', name: 'x', source: 'tfidf-svd',
      rows: 5, cols: 2, createdAt: 9, sizeBytes: 40, chunkCount: 2, meta: { seed: 0 },
    });
    await db.put('chunks', data.buffer.slice(0, 32), ['emb-x', 'data', 0]);
    await db.put('chunks', data.buffer.slice(32), ['emb-x', 'data', 1]);
    const { summary, table: t } = await loadEmbeddingTable(db, 'emb-x');
    expect(Array.from(t.data)).toEqual(Array.from(data));
    expect(summary).toMatchObject({ datasetId: ds, kind: 'text', rows: 5, cols: 2, sizeBytes: 40, meta: { seed: 0 } });
    const saved = await saveEmbeddingTable(db, ds, table('y', 2));
    expect(await db.get('artifacts', saved.id)).toMatchObject({ ownerId: ds, type: 'embedding', recordVersion: 1, sizeBytes: 40, chunkCount: 1 });
  });

  it('lists per dataset, newest first, and makes names unique per dataset', async () => {
    const db = await freshDb();
    const a = await withDataset(db, 'a');
    const b = await withDataset(db, 'b');
    await saveEmbeddingTable(db, a, table('t', 3, 'collab', 1));
    await saveEmbeddingTable(db, a, table('t', 3, 'text', 2));
    await saveEmbeddingTable(db, b, table('t', 3, 'collab', 3));
    expect((await listEmbeddingTables(db, a)).map((x) => [x.name, x.kind])).toEqual([['t (2)', 'text'], ['t', 'collab']]);
    expect((await listEmbeddingTables(db, b)).map((x) => x.name)).toEqual(['t']);
    expect(await listEmbeddingTables(db)).toHaveLength(3);
    expect(await listEmbeddingTables(db, 'nope')).toEqual([]);
  });

  it('refuses a missing dataset and a row count that does not match the dataset', async () => {
    const db = await freshDb();
    const ds = await withDataset(db);
    const before = await dump(db);
    expect(await codeOf(saveEmbeddingTable(db, 'ds-missing', table()))).toBe('not_found');
    const wrong = { ...table(), rows: 4, data: new Float32Array(12) };
    expect(await codeOf(saveEmbeddingTable(db, ds, wrong))).toBe('embedding_row_mismatch');
    expect(await codeOf(saveEmbeddingTable(db, ds, { ...table(), data: new Float32Array(2) }))).toBe('bad_option');
    expect(await dump(db)).toEqual(before);
  });

  it('deletes one table with its chunks; unknown ids are not_found', async () => {
    const db = await freshDb();
    const ds = await withDataset(db);
    const before = await dump(db);
    const s = await saveEmbeddingTable(db, ds, table(), { chunkBytes: 8 });
    await deleteEmbeddingTable(db, s.id);
    expect(await dump(db)).toEqual(before);
    expect(await codeOf(deleteEmbeddingTable(db, s.id))).toBe('not_found');
    expect(await codeOf(loadEmbeddingTable(db, s.id))).toBe('not_found');
    expect(await codeOf(getEmbeddingSummary(db, s.id))).toBe('not_found');
  });

  it('deleteArtifactsOfDataset removes only that dataset\'s artifacts and chunks', async () => {
    const db = await freshDb();
    const a = await withDataset(db, 'a');
    const b = await withDataset(db, 'b');
    const keep = await saveEmbeddingTable(db, b, table(), { chunkBytes: 8 });
    const before = await dump(db);
    await saveEmbeddingTable(db, a, table('x'), { chunkBytes: 8 });
    await saveEmbeddingTable(db, a, table('y'), { chunkBytes: 8 });
    expect(await deleteArtifactsOfDataset(db, a)).toBe(2);
    expect(await dump(db)).toEqual(before);
    expect(await deleteArtifactsOfDataset(db, a)).toBe(0);
    expect((await loadEmbeddingTable(db, keep.id)).table.name).toBe('collab');
  });

  it('deleteDatasetWithArtifacts removes the dataset and its artifacts in one go', async () => {
    const db = await freshDb();
    const other = await withDataset(db, 'other');
    await saveEmbeddingTable(db, other, table());
    const before = await dump(db);
    const ds = await withDataset(db, 'gone');
    await saveEmbeddingTable(db, ds, table('x'), { chunkBytes: 8 });
    expect(await deleteDatasetWithArtifacts(db, ds)).toEqual({ artifacts: 1 });
    expect(await dump(db)).toEqual(before);
    expect(await codeOf(deleteDatasetWithArtifacts(db, ds))).toBe('not_found');
  });
});

describe('atomicity', () => {
  async function seeded(): Promise<{ db: StudioDb; ds: string }> {
    const db = await freshDb();
    const ds = await withDataset(db);
    await saveEmbeddingTable(db, ds, table('existing'), { chunkBytes: 8 });
    return { db, ds };
  }

  it('a quota error midway maps to quota_exceeded and leaves every store unchanged', async () => {
    const { db, ds } = await seeded();
    const before = await dump(db);
    const proto = Object.getPrototypeOf(db.transaction('chunks').objectStore('chunks')) as { put: (...a: unknown[]) => unknown };
    const realPut = proto.put;
    let calls = 0;
    vi.spyOn(proto, 'put').mockImplementation(function (this: unknown, ...args: unknown[]) {
      if (++calls === 3) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return realPut.apply(this, args);
    });
    const code = await codeOf(saveEmbeddingTable(db, ds, table('big', 8), { chunkBytes: 8 }));
    vi.restoreAllMocks();
    expect(code).toBe('quota_exceeded');
    expect(calls).toBe(3);
    expect(await dump(db)).toEqual(before);
  });

  it('a record that cannot be stored (after all chunks) leaves every store unchanged', async () => {
    const { db, ds } = await seeded();
    const before = await dump(db);
    let written = 0;
    const bad = { ...table('bad'), meta: { hook: () => 1 } };
    expect(await codeOf(saveEmbeddingTable(db, ds, bad, { chunkBytes: 8, onProgress: (w) => { written = w; } }))).toBe('storage_failed');
    expect(written).toBe(8);
    expect(await dump(db)).toEqual(before);
  });

  it('cancelling midway leaves every store unchanged', async () => {
    const { db, ds } = await seeded();
    const before = await dump(db);
    const ctl = new AbortController();
    const code = await codeOf(saveEmbeddingTable(db, ds, table('c', 8), {
      chunkBytes: 8, signal: ctl.signal, onProgress: (w) => { if (w === 3) ctl.abort(); },
    }));
    expect(code).toBe('cancelled');
    expect(await dump(db)).toEqual(before);
  });
});
