import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { StudioError } from '../../src/core/errors.ts';
import {
  deleteTokenizer,
  getTokenizerRecord,
  listTokenizerRecords,
  loadTokenizerArray,
  loadTokenizerCodes,
  openStudioDb,
  saveDataset,
  saveTokenizer,
  type StudioDb,
  type TokenizerFields,
} from '../../src/storage/index.ts';
import { makeDataset } from './fixture.ts';

let counter = 0;
const opened: StudioDb[] = [];
async function freshDb(): Promise<StudioDb> {
  const db = await openStudioDb(`tokenizers-db-${++counter}`);
  opened.push(db);
  return db;
}
afterEach(() => {
  while (opened.length) opened.pop()!.close();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StudioError);
    return (e as StudioError).info.code;
  }
  throw new Error('expected a rejection');
}

function fields(name: string, createdAt: number, items = 5): TokenizerFields {
  return {
    name, embeddingId: null, embeddingName: 'emb', source: 'rqvae', createdAt, items,
    config: { in_dim: 4, layers: [8], e_dim: 2, num_emb_list: [4, 4, 4], beta: 0.25, quant_loss_weight: 1, sk_epsilons: [0, 0, 0], sk_iters: 50 },
    collisionRate: 0, giniMean: 0, giniPerLevel: [0, 0, 0], maxSuffix: 0, tensorCount: 3, snapshots: {}, meta: {},
  };
}

describe('tokenizer repository', () => {
  it('saves arrays in chunks, reads them back whole, lists newest first with unique names, deletes', async () => {
    const db = await freshDb();
    const ds = await saveDataset(db, makeDataset());
    const codes = Int32Array.from({ length: 6 * 4 }, (_, i) => i);
    const weights = Uint8Array.from({ length: 10 }, (_, i) => 200 + i);
    const a = await saveTokenizer(db, ds.id, fields(' tok ', 1), { weights, codes: new Uint8Array(codes.buffer) }, 4);
    const b = await saveTokenizer(db, ds.id, fields('tok', 2), { weights, codes: new Uint8Array(codes.buffer) }, 4);
    expect([a.name, b.name]).toEqual(['tok', 'tok (2)']);
    expect(a.arrays.weights).toEqual({ byteLength: 10, chunkCount: 3 });
    expect(a.sizeBytes).toBe(10 + codes.byteLength);
    expect((await listTokenizerRecords(db, ds.id)).map((r) => r.id)).toEqual([b.id, a.id]);
    const rec = await getTokenizerRecord(db, a.id);
    expect(await loadTokenizerArray(db, rec, 'weights')).toEqual(weights);
    expect(await loadTokenizerCodes(db, rec)).toEqual(codes);
    expect(await codeOf(loadTokenizerArray(db, rec, 'weights_gini'))).toBe('not_found');
    await deleteTokenizer(db, a.id);
    expect(await codeOf(getTokenizerRecord(db, a.id))).toBe('not_found');
    expect(await codeOf(deleteTokenizer(db, a.id))).toBe('not_found');
    const owners = (await db.getAllKeys('chunks')).map((k) => k[0]);
    expect(owners.filter((o) => o === a.id)).toEqual([]);
    expect(owners.filter((o) => o === b.id)).toHaveLength(b.arrays.weights.chunkCount + b.arrays.codes.chunkCount);
  });

  it('refuses a tokenizer of another item count or dataset, storing nothing', async () => {
    const db = await freshDb();
    const ds = await saveDataset(db, makeDataset());
    expect(await codeOf(saveTokenizer(db, ds.id, fields('t', 1, 7), { codes: new Uint8Array(4) }))).toBe('embedding_row_mismatch');
    expect(await codeOf(saveTokenizer(db, 'nope', fields('t', 1), { codes: new Uint8Array(4) }))).toBe('not_found');
    expect(await listTokenizerRecords(db, ds.id)).toEqual([]);
  });
});
