/**
 * Stage 2 worker methods in Node (fake-indexeddb, tfjs wasm/cpu): SASRec training stores its
 * best table, a cancel keeps it, .npy import is validated with nothing stored on failure, text and
 * dual tables, export, delete, and deleting a dataset deletes its tables.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/core/events.ts';
import { parseNpy, writeNpy } from '../../src/core/io/npy.ts';
import { openStudioDb, saveDataset } from '../../src/storage/index.ts';
import type { EmbeddingSummary as StorageSummary } from '../../src/storage/index.ts';
import type { DatasetSummary, EmbeddingSummary as ApiSummary, SasrecConfig } from '../../workers/api.ts';
import { evalChunkFor, validateSasrecConfig } from '../../workers/embeddings.ts';
import { createStudioService, type StudioService } from '../../workers/studioService.ts';
import { makeDataset } from '../storage/fixture.ts';

// The storage summary and the worker contract's summary must stay the same shape.
const toApi = (s: StorageSummary): ApiSummary => s;
const toStorage = (s: ApiSummary): StorageSummary => s;
void toApi; void toStorage;

/** 40 users over 12 items, 6–9 interactions each, with a learnable "next item" pattern. */
function reviews(users = 40, items = 12): string {
  const lines: string[] = [];
  for (let u = 0; u < users; u++) {
    const len = 6 + (u % 4);
    for (let k = 0; k < len; k++) {
      lines.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${(u + k) % items}`, unixReviewTime: 1_400_000_000 + u * 100 + k, overall: 4 }));
    }
  }
  return lines.join('\n') + '\n';
}

let n = 0;
const services: StudioService[] = [];
function service(): { svc: StudioService; dbName: string } {
  const dbName = `emb-${++n}`;
  const svc = createStudioService({ dbName, chunkBytes: 256, progressIntervalMs: 0 });
  services.push(svc);
  return { svc, dbName };
}
afterEach(() => {
  while (services.length) services.pop()!.close();
});

let presets: { quick: SasrecConfig } | null = null;
beforeAll(async () => {
  const { svc } = service();
  const r = await svc.getSasrecPresets();
  if (!r.ok) throw new Error(r.error.message);
  presets = { quick: r.value.find((p) => p.name === 'quick')!.config };
});

function tinyConfig(over: Partial<SasrecConfig> = {}): SasrecConfig {
  return {
    ...presets!.quick,
    hidden_size: 16, inner_size: 16, n_layers: 1, n_heads: 2, MAX_ITEM_LIST_LENGTH: 8,
    train_batch_size: 64, micro_batch_size: 64, eval_batch_size: 64, epochs: 3, log_every: 1, seed: 7,
    ...over,
  };
}

async function importToy(svc: StudioService, name = 'toy'): Promise<DatasetSummary> {
  const r = await svc.importDataset(
    { files: [{ name: 'toy.json', data: new Blob([reviews()]) }], name, format: 'auto', config: { kcore: 2, maxLen: 50 } },
    `import-${name}`,
    () => undefined,
  );
  if (!r.ok) throw new Error(r.error.message);
  return r.value.dataset;
}

describe('embeddings stage (worker API in Node)', () => {
  it('exposes both presets with provenance for every value', async () => {
    const { svc } = service();
    const r = await svc.getSasrecPresets();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.map((p) => p.name)).toEqual(['quick', 'paper']);
    for (const p of r.value) {
      for (const k of Object.keys(p.config)) expect(typeof p.provenance[k as keyof SasrecConfig]).toBe('string');
    }
    expect(r.value[1].config.hidden_size).toBe(256);
  });

  it('rejects an invalid config with the field named', () => {
    const bad = validateSasrecConfig(tinyConfig({ n_heads: 3 }));
    expect(bad?.info.field).toBe('n_heads');
    expect(validateSasrecConfig(tinyConfig({ hidden_dropout_prob: 1 }))?.info.field).toBe('hidden_dropout_prob');
    expect(validateSasrecConfig(tinyConfig({ length_bucket: -1 }))?.info.field).toBe('length_bucket');
    expect(validateSasrecConfig(tinyConfig({ length_bucket: 2.5 }))?.info.field).toBe('length_bucket');
    expect(validateSasrecConfig(tinyConfig())).toBeNull();
    expect(validateSasrecConfig(tinyConfig({ length_bucket: undefined }))).toBeNull(); // stored before the field existed
  });

  it('evaluates in eval_batch_size chunks, capped for large models', () => {
    expect(evalChunkFor(tinyConfig({ eval_batch_size: 1536, MAX_ITEM_LIST_LENGTH: 10, hidden_size: 32 }))).toBe(1536);
    expect(evalChunkFor(tinyConfig({ eval_batch_size: 256, MAX_ITEM_LIST_LENGTH: 50, hidden_size: 64 }))).toBe(256);
    const paper = evalChunkFor(tinyConfig({ eval_batch_size: 2048, MAX_ITEM_LIST_LENGTH: 50, hidden_size: 256 }));
    expect(paper).toBeGreaterThanOrEqual(256);
    expect(paper).toBeLessThan(2048);
  });

  it('trains SASRec, stores the best table with its metrics, exports it as .npy', async () => {
    const { svc } = service();
    await svc.initBackend(['wasm', 'cpu']);
    const ds = await importToy(svc);
    const N = ds.stats.num_items;
    const events: ProgressEvent[] = [];
    const r = await svc.trainSasrec(ds.id, tinyConfig(), 'train-1', (e) => { events.push(e); });
    if (!r.ok) throw new Error(r.error.message);
    const res = r.value;
    expect(res.cancelled).toBe(false);
    expect(res.epochsRun).toBe(3);
    expect(res.bestEpoch).toBeGreaterThan(0);
    expect(['wasm', 'cpu']).toContain(res.backend);
    for (const m of [res.valid, res.test, res.popularity.valid, res.popularity.test]) {
      for (const k of ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10']) expect(Number.isFinite(m[k])).toBe(true);
    }
    expect(events.some((e) => e.type === 'metric' && e.name === 'loss')).toBe(true);
    expect(events.filter((e) => e.type === 'metric' && e.name === 'valid/ndcg@10')).toHaveLength(3);

    const emb = res.embedding!;
    expect(emb).toMatchObject({ datasetId: ds.id, kind: 'collab', source: 'sasrec', rows: N, cols: 16, sizeBytes: N * 16 * 4 });
    expect(emb.meta).toMatchObject({ seed: 7, bestEpoch: res.bestEpoch, backend: res.backend });
    expect((emb.meta.metrics as { test: Record<string, number> }).test['ndcg@10']).toBe(res.test['ndcg@10']);
    expect((emb.meta.config as SasrecConfig).hidden_size).toBe(16);

    const list = await svc.listEmbeddings(ds.id);
    expect(list.ok && list.value.map((e) => e.id)).toEqual([emb.id]);

    const ex = await svc.exportEmbedding(emb.id);
    if (!ex.ok) throw new Error(ex.error.message);
    expect(ex.value.fileName).toMatch(/\.npy$/);
    const arr = parseNpy(ex.value.bytes);
    expect(arr.shape).toEqual([N, 16]);
    expect(arr.dtype).toBe('<f4');
    expect((arr.data as Float32Array).every((v) => Number.isFinite(v))).toBe(true);
  });

  it('a cancel after the first validation keeps the best table; one before it stores nothing', async () => {
    const { svc } = service();
    await svc.initBackend(['wasm', 'cpu']);
    const ds = await importToy(svc);

    const early = await svc.trainSasrec(ds.id, tinyConfig({ epochs: 5 }), 'train-early', (e) => {
      if (e.type === 'metric' && e.name === 'loss') void svc.cancel('train-early');
    });
    if (!early.ok) throw new Error(early.error.message);
    expect(early.value.cancelled).toBe(true);
    expect(early.value.embedding).toBeNull();
    expect(early.value.note).toMatch(/nothing was stored/);
    expect((await svc.listEmbeddings(ds.id)).ok && (await svc.listEmbeddings(ds.id))).toEqual({ ok: true, value: [] });

    const r = await svc.trainSasrec(ds.id, tinyConfig({ epochs: 5 }), 'train-2', (e) => {
      if (e.type === 'metric' && e.name === 'valid/ndcg@10' && e.step === 1) void svc.cancel('train-2');
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.cancelled).toBe(true);
    expect(r.value.epochsRun).toBeLessThan(5);
    expect(r.value.bestEpoch).toBe(1);
    expect(r.value.embedding).not.toBeNull();
    expect(r.value.embedding!.meta.cancelled).toBe(true);
    expect(r.value.note).toMatch(/best table so far/);
    const list = await svc.listEmbeddings(ds.id);
    expect(list.ok && list.value).toHaveLength(1);
  });

  it('validates imported .npy tables and stores nothing on failure', async () => {
    const { svc } = service();
    const ds = await importToy(svc);
    const N = ds.stats.num_items;
    const npy = (rows: number, cols: number, fill = (i: number) => i / 10) =>
      new Blob([writeNpy(Float32Array.from({ length: rows * cols }, (_, i) => fill(i)), [rows, cols]) as Uint8Array<ArrayBuffer>]);

    const wrong = await svc.importEmbedding(ds.id, npy(N + 5, 4), 'wrong.npy', 'collab');
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) {
      expect(wrong.error.code).toBe('embedding_row_mismatch');
      expect(wrong.error.message).toContain(`${N + 5} rows`);
      expect(wrong.error.expected).toContain(`${N}`);
    }
    const nan = await svc.importEmbedding(ds.id, npy(N, 4, (i) => (i === 9 ? NaN : 1)), 'nan.npy', 'collab');
    expect(!nan.ok && nan.error.code).toBe('embedding_non_finite');
    const inf = await svc.importEmbedding(ds.id, npy(N, 4, (i) => (i === 3 ? Infinity : 1)), 'inf.npy', 'text');
    expect(!inf.ok && inf.error.code).toBe('embedding_non_finite');
    const garbage = await svc.importEmbedding(ds.id, new Blob(['not numpy']), 'garbage.npy', 'text');
    expect(!garbage.ok && garbage.error.code).toBe('bad_npy');
    expect(await svc.listEmbeddings(ds.id)).toEqual({ ok: true, value: [] });

    // N+1 rows: the PAD row 0 is dropped.
    const withPad = await svc.importEmbedding(ds.id, npy(N + 1, 3), 'text_pad.npy', 'text');
    if (!withPad.ok) throw new Error(withPad.error.message);
    expect(withPad.value).toMatchObject({ rows: N, cols: 3, kind: 'text', source: 'import:text_pad.npy' });
    const ex = await svc.exportEmbedding(withPad.value.id);
    if (!ex.ok) throw new Error(ex.error.message);
    const arr = parseNpy(ex.value.bytes);
    expect(arr.shape).toEqual([N, 3]);
    expect((arr.data as Float32Array)[0]).toBeCloseTo(0.3); // first value of file row 1

    const collab = await svc.importEmbedding(ds.id, npy(N, 2, () => 2), 'collab.npy', 'collab');
    if (!collab.ok) throw new Error(collab.error.message);
    const dual = await svc.buildDualEmbedding(ds.id, collab.value.id, withPad.value.id, true);
    if (!dual.ok) throw new Error(dual.error.message);
    expect(dual.value).toMatchObject({ kind: 'dual', rows: N, cols: 5, source: 'dual' });
    const wrongOrder = await svc.buildDualEmbedding(ds.id, withPad.value.id, collab.value.id, false);
    expect(!wrongOrder.ok && wrongOrder.error.code).toBe('bad_option');
    const dualNpy = await svc.exportEmbedding(dual.value.id);
    if (!dualNpy.ok) throw new Error(dualNpy.error.message);
    const d = parseNpy(dualNpy.value.bytes).data as Float32Array;
    expect(Math.hypot(d[0], d[1])).toBeCloseTo(1, 5);

    const list = await svc.listEmbeddings(ds.id);
    expect(list.ok && list.value).toHaveLength(3);
    expect(await svc.deleteEmbedding(collab.value.id)).toEqual({ ok: true, value: undefined });
    const again = await svc.deleteEmbedding(collab.value.id);
    expect(!again.ok && again.error.code).toBe('not_found');
    const after = await svc.listEmbeddings(ds.id);
    expect(after.ok && after.value).toHaveLength(2);
  });

  it('text embeddings need titles; deleting a dataset deletes its tables', async () => {
    const { svc, dbName } = service();
    const toy = await importToy(svc);
    const noTitles = await svc.computeTextEmbeddings(toy.id, { dim: 4 }, 'text-0', () => undefined);
    expect(!noTitles.ok && noTitles.error.code).toBe('bad_option');
    expect(!noTitles.ok && noTitles.error.message).toMatch(/no item titles/);

    const db = await openStudioDb(dbName);
    const titled = await saveDataset(db, makeDataset('titled', { titles: true, users: 8 }));
    db.close();
    const events: ProgressEvent[] = [];
    const text = await svc.computeTextEmbeddings(titled.id, { dim: 3, minDf: 1 }, 'text-1', (e) => { events.push(e); });
    if (!text.ok) throw new Error(text.error.message);
    expect(text.value).toMatchObject({ kind: 'text', source: 'tfidf-svd', rows: 5 });
    expect(text.value.cols).toBeLessThanOrEqual(3);
    expect(events.some((e) => e.stage === 'text')).toBe(true);

    const other = await svc.importEmbedding(toy.id, new Blob([writeNpy(new Float32Array(toy.stats.num_items * 2), [toy.stats.num_items, 2]) as Uint8Array<ArrayBuffer>]), 'c.npy', 'collab');
    expect(other.ok).toBe(true);

    expect((await svc.deleteDataset(titled.id)).ok).toBe(true);
    expect(await svc.listEmbeddings(titled.id)).toEqual({ ok: true, value: [] });
    if (text.ok) {
      const gone = await svc.exportEmbedding(text.value.id);
      expect(!gone.ok && gone.error.code).toBe('not_found');
    }
    // The other dataset's table is untouched.
    const rest = await svc.listEmbeddings(toy.id);
    expect(rest.ok && rest.value).toHaveLength(1);
  });
});
