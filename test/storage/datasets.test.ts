import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  chunkRange,
  deleteDataset,
  getDatasetSummary,
  listDatasets,
  loadDataset,
  openStudioDb,
  saveDataset,
  toStorageError,
  type StudioDb,
} from '../../src/storage/index.ts';
import { StudioError } from '../../src/core/errors.ts';
import { makeDataset } from './fixture.ts';

let counter = 0;
const opened: StudioDb[] = [];
async function freshDb(): Promise<StudioDb> {
  const db = await openStudioDb(`test-db-${++counter}`);
  opened.push(db);
  return db;
}
afterEach(() => {
  vi.restoreAllMocks();
  while (opened.length) opened.pop()!.close();
});

/** Every key and value of every store, with buffers as byte lists (byte-for-byte comparison). */
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

describe('schema', () => {
  it('creates datasets, chunks, artifacts and runs stores', async () => {
    const db = await freshDb();
    expect(Array.from(db.objectStoreNames).sort()).toEqual(['artifacts', 'chunks', 'datasets', 'runs']);
    expect(db.version).toBe(1);
  });
});

describe('save / load', () => {
  it('round-trips every array and the summary', async () => {
    const db = await freshDb();
    const ds = makeDataset('rt', { titles: true });
    const summary = await saveDataset(db, ds);
    expect(summary.name).toBe('rt');
    expect(summary.id).toMatch(/^ds-/);
    expect(summary.stats).toEqual(ds.stats);
    const loaded = await loadDataset(db, summary.id);
    expect(loaded).toEqual(ds);
    expect(loaded.seqItems).toBeInstanceOf(Int32Array);
    expect(loaded.seqTimes).toBeInstanceOf(Float64Array);
    expect(loaded.seqRatings).toBeInstanceOf(Float32Array);
    expect(await getDatasetSummary(db, summary.id)).toEqual(summary);
  });

  it('stores strings as UTF-8 JSON bytes, not JS arrays', async () => {
    const db = await freshDb();
    const s = await saveDataset(db, makeDataset('b', { titles: true }));
    const buf = (await db.getAll('chunks', chunkRange(s.id, 'userIds')))[0];
    expect(buf).toBeInstanceOf(ArrayBuffer);
    expect(JSON.parse(new TextDecoder().decode(buf))[0]).toBe('U000-ü');
  });

  it('without titles, itemTitles stays absent', async () => {
    const db = await freshDb();
    const s = await saveDataset(db, makeDataset('nt'));
    expect('itemTitles' in (await loadDataset(db, s.id))).toBe(false);
  });

  it('splits arrays larger than the chunk size and reassembles them', async () => {
    const db = await freshDb();
    const ds = makeDataset('chunky', { titles: true, users: 40 });
    const progress: number[] = [];
    const s = await saveDataset(db, ds, { chunkBytes: 7, onProgress: (w, t) => progress.push(w / t) });
    const rec = await db.get('datasets', s.id);
    expect(rec!.arrays.seqTimes.chunkCount).toBe(Math.ceil(ds.seqTimes.byteLength / 7));
    expect(rec!.arrays.seqTimes.chunkCount).toBeGreaterThan(10);
    const keys = await db.getAllKeys('chunks', chunkRange(s.id, 'seqTimes'));
    expect(keys.map((k) => k[2])).toEqual([...Array(rec!.arrays.seqTimes.chunkCount).keys()]);
    expect(progress.at(-1)).toBe(1);
    expect(await loadDataset(db, s.id)).toEqual(ds);
    expect(s.sizeBytes).toBe(Object.values(rec!.arrays).reduce((a, m) => a + m.byteLength, 0));
  });

  it('a missing chunk is reported, not silently loaded', async () => {
    const db = await freshDb();
    const s = await saveDataset(db, makeDataset('broken'), { chunkBytes: 8 });
    await db.delete('chunks', [s.id, 'seqItems', 1]);
    expect(await codeOf(loadDataset(db, s.id))).toBe('storage_failed');
  });
});

describe('list / delete / names', () => {
  it('lists newest first, suffixes repeated names, deletes summary and chunks', async () => {
    const db = await freshDb();
    const a = await saveDataset(db, makeDataset('same'), { now: 1000 });
    const b = await saveDataset(db, makeDataset('same'), { now: 2000 });
    const c = await saveDataset(db, makeDataset('same'), { now: 3000 });
    const other = await saveDataset(db, makeDataset('other'), { now: 4000 });
    expect([a.name, b.name, c.name]).toEqual(['same', 'same (2)', 'same (3)']);
    expect(new Set([a.id, b.id, c.id, other.id]).size).toBe(4);
    expect((await listDatasets(db)).map((d) => d.name)).toEqual(['other', 'same (3)', 'same (2)', 'same']);
    expect((await loadDataset(db, b.id)).name).toBe('same (2)');

    const before = (await db.getAllKeys('chunks')).length;
    const own = (await db.getAllKeys('chunks', chunkRange(b.id))).length;
    expect(own).toBeGreaterThan(0);
    await deleteDataset(db, b.id);
    expect((await db.getAllKeys('chunks')).length).toBe(before - own);
    expect(await db.getAllKeys('chunks', chunkRange(b.id))).toEqual([]);
    expect((await listDatasets(db)).map((d) => d.id)).toEqual([other.id, c.id, a.id]);
    expect(await loadDataset(db, a.id)).toEqual(makeDataset('same'));
    // A freed name is reused.
    expect((await saveDataset(db, makeDataset('same'))).name).toBe('same (2)');
  });

  it('unknown ids are not_found', async () => {
    const db = await freshDb();
    expect(await codeOf(loadDataset(db, 'nope'))).toBe('not_found');
    expect(await codeOf(deleteDataset(db, 'nope'))).toBe('not_found');
    expect(await codeOf(getDatasetSummary(db, 'nope'))).toBe('not_found');
  });
});

describe('atomicity', () => {
  async function seeded(): Promise<StudioDb> {
    const db = await freshDb();
    await saveDataset(db, makeDataset('existing', { titles: true }), { chunkBytes: 16, now: 1 });
    return db;
  }

  it('a value that cannot be cloned (after all chunk puts) leaves the stores as they were', async () => {
    const db = await seeded();
    const before = await dump(db);
    const bad = makeDataset('bad');
    (bad.source as unknown as { hook: unknown }).hook = () => 1;
    let chunksWritten = 0;
    const code = await codeOf(saveDataset(db, bad, { chunkBytes: 16, onProgress: (w) => { chunksWritten = w; } }));
    expect(code).toBe('storage_failed');
    expect(chunksWritten).toBeGreaterThan(3);
    expect(await dump(db)).toEqual(before);
  });

  it('cancelling midway (after some puts) leaves the stores as they were', async () => {
    const db = await seeded();
    const before = await dump(db);
    const ctl = new AbortController();
    const code = await codeOf(saveDataset(db, makeDataset('cancelled', { users: 30 }), {
      chunkBytes: 16,
      signal: ctl.signal,
      onProgress: (w) => { if (w === 5) ctl.abort(); },
    }));
    expect(code).toBe('cancelled');
    expect(await dump(db)).toEqual(before);
    expect((await listDatasets(db)).map((d) => d.name)).toEqual(['existing']);
  });

  it('an already aborted signal writes nothing', async () => {
    const db = await seeded();
    const before = await dump(db);
    const ctl = new AbortController();
    ctl.abort();
    expect(await codeOf(saveDataset(db, makeDataset('x'), { signal: ctl.signal }))).toBe('cancelled');
    expect(await dump(db)).toEqual(before);
  });

  it('QuotaExceededError midway maps to quota_exceeded and leaves the stores as they were', async () => {
    const db = await seeded();
    const before = await dump(db);
    const proto = Object.getPrototypeOf(db.transaction('chunks').objectStore('chunks')) as { put: (...a: unknown[]) => unknown };
    const realPut = proto.put;
    let calls = 0;
    vi.spyOn(proto, 'put').mockImplementation(function (this: unknown, ...args: unknown[]) {
      if (++calls === 4) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return realPut.apply(this, args);
    });
    let err: unknown;
    try {
      await saveDataset(db, makeDataset('big', { users: 30 }), { chunkBytes: 16 });
    } catch (e) {
      err = e;
    }
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).info.code).toBe('quota_exceeded');
    expect((err as StudioError).message).toMatch(/quota exceeded/);
    expect(calls).toBe(4);
    expect(await dump(db)).toEqual(before);
  });
});

describe('toStorageError', () => {
  it('maps a quota error that surfaces only as the transaction error', () => {
    const abort = new DOMException('aborted', 'AbortError');
    const quota = new DOMException('quota', 'QuotaExceededError');
    expect(toStorageError(abort, quota).info.code).toBe('quota_exceeded');
    expect(toStorageError(quota).info.code).toBe('quota_exceeded');
  });
  it('other failures become storage_failed with the cause name', () => {
    const e = toStorageError(new DOMException('disk broke', 'UnknownError'));
    expect(e.info.code).toBe('storage_failed');
    expect(e.info.message).toMatch(/UnknownError: disk broke/);
    expect(e.info.message).toMatch(/Nothing was changed/);
  });
  it('passes StudioErrors through', () => {
    const s = new StudioError({ code: 'cancelled', message: 'x' });
    expect(toStorageError(s)).toBe(s);
  });
});
