/**
 * Stage 3 worker methods in Node (fake-indexeddb, tfjs wasm/cpu): training stores a tokenizer
 * whose code table has N+1 rows of unique 4-tuples, the inspector view, export → import round trip
 * ("N of N tensors matched", same codes), a mismatched safetensors is refused and stores nothing,
 * comparison and delete.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/core/events.ts';
import { readSafetensors, writeSafetensors } from '../../src/core/io/safetensors.ts';
import { writeNpy } from '../../src/core/io/npy.ts';
import { readCodeJson } from '../../src/core/tokenizer/codes.ts';
import type { DatasetSummary, TokenizerConfig } from '../../workers/api.ts';
import { validateTokenizerConfig } from '../../workers/tokenizer.ts';
import { createStudioService, type StudioService } from '../../workers/studioService.ts';

/** 60 users over 40 items. */
function reviews(users = 60, items = 40): string {
  const lines: string[] = [];
  for (let u = 0; u < users; u++) {
    for (let k = 0; k < 6; k++) {
      lines.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${(u * 3 + k) % items}`, unixReviewTime: 1_400_000_000 + u * 100 + k, overall: 4 }));
    }
  }
  return lines.join('\n') + '\n';
}

let n = 0;
const services: StudioService[] = [];
function service(): StudioService {
  const svc = createStudioService({ dbName: `tok-${++n}`, chunkBytes: 512, progressIntervalMs: 0 });
  services.push(svc);
  return svc;
}
afterEach(() => {
  while (services.length) services.pop()!.close();
});

const DIM = 8;

async function setup(svc: StudioService): Promise<{ ds: DatasetSummary; embId: string }> {
  await svc.initBackend(['wasm', 'cpu']);
  const r = await svc.importDataset(
    { files: [{ name: 'toy.json', data: new Blob([reviews()]) }], name: 'toy', format: 'auto', config: { kcore: 2, maxLen: 50 } },
    'import-toy',
    () => undefined,
  );
  if (!r.ok) throw new Error(r.error.message);
  const ds = r.value.dataset;
  const N = ds.stats.num_items;
  // A seeded pattern: well-separated rows.
  const data = Float32Array.from({ length: N * DIM }, (_, i) => Math.sin(i * 12.9898 + 78.233) * 2);
  const e = await svc.importEmbedding(ds.id, new Blob([writeNpy(data, [N, DIM]) as Uint8Array<ArrayBuffer>]), 'emb.npy', 'collab');
  if (!e.ok) throw new Error(e.error.message);
  return { ds, embId: e.value.id };
}

async function tinyConfig(svc: StudioService, over: Partial<TokenizerConfig> = {}): Promise<TokenizerConfig> {
  const p = await svc.getTokenizerPresets(DIM);
  if (!p.ok) throw new Error(p.error.message);
  const quick = p.value.find((x) => x.name === 'quick')!;
  for (const k of Object.keys(quick.config)) expect(typeof quick.provenance[k], k).toBe('string');
  return { ...quick.config, layers: [16], e_dim: 4, num_emb_list: [4, 4, 4], epochs: 6, eval_step: 2, batch_size: 64, kmeans_iters: 10, warmup_epochs: 1, ...over };
}

describe('tokenizer stage (worker API in Node)', () => {
  it('validates the config with the field named', async () => {
    const svc = service();
    const c = await tinyConfig(svc);
    expect(validateTokenizerConfig(c)).toBeNull();
    expect(validateTokenizerConfig({ ...c, num_emb_list: [4, 4] })?.info.field).toBe('num_emb_list');
    expect(validateTokenizerConfig({ ...c, lr: 0 })?.info.field).toBe('lr');
  });

  it('trains, stores a tokenizer with N+1 unique code rows, views, exports and imports it back', async () => {
    const svc = service();
    const { ds, embId } = await setup(svc);
    const N = ds.stats.num_items;
    const events: ProgressEvent[] = [];
    const cfg = await tinyConfig(svc);
    const r = await svc.trainTokenizer(ds.id, embId, cfg, 'tok-1', (e) => { events.push(e); });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.cancelled).toBe(false);
    expect(r.value.epochsRun).toBe(6);
    const tok = r.value.tokenizer!;
    expect(tok).toMatchObject({ datasetId: ds.id, embeddingId: embId, items: N, inDim: DIM, numEmbList: [4, 4, 4], source: 'rqvae' });
    expect(events.filter((e) => e.type === 'metric' && e.name === 'collision_rate')).toHaveLength(3);
    expect(events.some((e) => e.type === 'metric' && e.name === 'gini_l1')).toBe(true);

    const list = await svc.listTokenizers(ds.id);
    expect(list.ok && list.value.map((t) => t.id)).toEqual([tok.id]);
    // Tokenizers are not embedding tables.
    const embs = await svc.listEmbeddings(ds.id);
    expect(embs.ok && embs.value.length).toBe(1);

    const ex = await svc.exportTokenizer(tok.id);
    if (!ex.ok) throw new Error(ex.error.message);
    const { codes, items } = readCodeJson(ex.value.codeJson.text);
    expect(items).toBe(N);
    expect(codes.length).toBe((N + 1) * 4);
    const tuples = new Set<string>();
    for (let i = 1; i <= N; i++) tuples.add(Array.from(codes.subarray(i * 4, i * 4 + 4)).join(','));
    expect(tuples.size).toBe(N);
    const st = readSafetensors(ex.value.safetensors.bytes);
    expect(Object.keys(st.tensors)).toHaveLength(ex.value.tensorCount);
    expect(st.tensors['rq.vq_layers.0.embedding.weight'].shape).toEqual([4, 4]);

    expect(tok.snapshots.collision).toBeDefined();
    for (const k of ['gini', 'loss'] as const) {
      const snap = await svc.exportTokenizer(tok.id, k);
      if (tok.snapshots[k]) expect(snap.ok && snap.value.safetensors.fileName).toContain(`best-${k}`);
      else expect(!snap.ok && snap.error.code).toBe('not_found');
    }

    const view = await svc.getTokenizerView(tok.id);
    if (!view.ok) throw new Error(view.error.message);
    const v = view.value;
    expect(v.usage.map((u) => u.reduce((a, b) => a + b, 0))).toEqual([N, N, N]);
    expect(v.latentPca!.x.length).toBe(N);
    expect(v.codebookPca.map((p) => p.x.length)).toEqual([4, 4, 4]);
    expect(v.nearest!.codes[0]).toBe(v.codes[4]); // item 1's nearest level-1 code is its code
    expect(v.asins.length).toBe(N);
    const groupItems = v.collisions.reduce((a, g) => a + g.items.length, 0);
    expect(groupItems).toBeGreaterThanOrEqual(v.collisionGroupCount * 2);

    const bytes = ex.value.safetensors.bytes.slice();
    const im = await svc.importTokenizer(ds.id, new Blob([bytes]), ex.value.safetensors.fileName);
    if (!im.ok) throw new Error(im.error.message);
    expect(im.value.message).toContain(`${ex.value.tensorCount} of ${ex.value.tensorCount} tensors matched`);
    const ex2 = await svc.exportTokenizer(im.value.tokenizer.id);
    if (!ex2.ok) throw new Error(ex2.error.message);
    expect(ex2.value.codeJson.text).toBe(ex.value.codeJson.text);

    const cmp = await svc.compareTokenizers(tok.id, im.value.tokenizer.id);
    expect(cmp.ok && cmp.value.changed).toBe(0);
    // a re-import: the ids line up, every grouping agrees
    if (!cmp.ok) throw new Error(cmp.error.message);
    expect(cmp.value.idsLineUp).toBe(true);
    expect(cmp.value.agreement.map((g) => [g.levels, g.ari, g.sameIds])).toEqual([[1, 1, 1], [2, 1, 1], [3, 1, 1]]);
    // another seed: the groupings are compared whatever the ids are
    const other = await svc.trainTokenizer(ds.id, embId, { ...cfg, seed: cfg.seed + 1 }, 'tok-2', () => undefined);
    if (!other.ok) throw new Error(other.error.message);
    const cmp2 = await svc.compareTokenizers(tok.id, other.value.tokenizer!.id);
    if (!cmp2.ok) throw new Error(cmp2.error.message);
    const [g1] = cmp2.value.agreement;
    expect(g1.ari).toBeGreaterThanOrEqual(-1);
    expect(g1.ari).toBeLessThanOrEqual(1);
    expect(g1.sameIds).toBeLessThanOrEqual(g1.bestRelabelled);
    expect(cmp2.value.idsLineUp).toBe(g1.sameIds >= 0.9 * g1.bestRelabelled);
    expect((await svc.deleteTokenizer(other.value.tokenizer!.id)).ok).toBe(true);

    // A mismatched file: one codebook with the wrong width is refused, nothing is stored.
    const tensors = { ...st.tensors };
    tensors['rq.vq_layers.1.embedding.weight'] = { dtype: 'F32', shape: [4, 3], bytes: new Uint8Array(4 * 3 * 4) };
    const bad = await svc.importTokenizer(ds.id, new Blob([writeSafetensors(tensors) as Uint8Array<ArrayBuffer>]), 'bad.safetensors');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/rq\.vq_layers\.1\.embedding\.weight/);
    const wrongType = await svc.importTokenizer(ds.id, new Blob([bytes]), 'weights.npy');
    expect(!wrongType.ok && wrongType.error.code).toBe('bad_option');
    const after = await svc.listTokenizers(ds.id);
    expect(after.ok && after.value.length).toBe(2);

    const del = await svc.deleteTokenizer(im.value.tokenizer.id);
    expect(del.ok).toBe(true);
    const after2 = await svc.listTokenizers(ds.id);
    expect(after2.ok && after2.value.map((t) => t.id)).toEqual([tok.id]);
  });

  it('refuses a tokenizer whose input width matches no table of the dataset', async () => {
    const svc = service();
    const { ds } = await setup(svc);
    const other = createStudioService({ dbName: `tok-${++n}`, progressIntervalMs: 0 });
    services.push(other);
    const s2 = await setup(other);
    // Train a 8-d tokenizer, then change in_dim by reading it as 8-d but asking for a missing id.
    const r = await other.trainTokenizer(s2.ds.id, s2.embId, await tinyConfig(other, { epochs: 2 }), 'tok-x', () => undefined);
    if (!r.ok) throw new Error(r.error.message);
    const ex = await other.exportTokenizer(r.value.tokenizer!.id);
    if (!ex.ok) throw new Error(ex.error.message);
    const wide = await svc.importEmbedding(ds.id, new Blob([writeNpy(new Float32Array(ds.stats.num_items * 3), [ds.stats.num_items, 3]) as Uint8Array<ArrayBuffer>]), 'w.npy', 'text');
    if (!wide.ok) throw new Error(wide.error.message);
    const res = await svc.importTokenizer(ds.id, new Blob([ex.value.safetensors.bytes.slice()]), 'x.safetensors', wide.value.id);
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.field).toBe('in_dim');
      expect(res.error.message).toContain('3 columns');
    }
    const list = await svc.listTokenizers(ds.id);
    expect(list.ok && list.value.length).toBe(0);
  });

  it('a cancel after the first evaluation keeps the best snapshot so far', async () => {
    const svc = service();
    const { ds, embId } = await setup(svc);
    let cancelled = false;
    const r = await svc.trainTokenizer(ds.id, embId, await tinyConfig(svc, { epochs: 50, eval_step: 1 }), 'tok-c', (e) => {
      if (!cancelled && e.type === 'metric' && e.name === 'collision_rate') {
        cancelled = true;
        void svc.cancel('tok-c');
      }
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.cancelled).toBe(true);
    expect(r.value.epochsRun).toBeLessThan(50);
    expect(r.value.tokenizer).not.toBeNull();
    expect(r.value.note).toContain('Cancelled');
    const list = await svc.listTokenizers(ds.id);
    expect(list.ok && list.value.length).toBe(1);
  });

  it('imports a reference .pth: 11 of 11 tensors matched, codes from the 4-d table', async () => {
    const svc = service();
    const { ds } = await setup(svc);
    const N = ds.stats.num_items;
    const four = await svc.importEmbedding(ds.id, new Blob([writeNpy(Float32Array.from({ length: N * 4 }, (_, i) => Math.cos(i * 1.7)), [N, 4]) as Uint8Array<ArrayBuffer>]), 'four.npy', 'collab');
    if (!four.ok) throw new Error(four.error.message);
    const pth = readFileSync(resolve(import.meta.dirname, '../core/io/fixtures/tiny_rqvae_ckpt.pth'));
    const r = await svc.importTokenizer(ds.id, new Blob([pth]), 'tiny_rqvae_ckpt.pth');
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.message).toBe('11 of 11 tensors matched');
    expect(r.value.tokenizer).toMatchObject({ embeddingId: four.value.id, inDim: 4, numEmbList: [5, 5, 5], source: 'import:tiny_rqvae_ckpt.pth' });
    const ex = await svc.exportTokenizer(r.value.tokenizer.id);
    if (!ex.ok) throw new Error(ex.error.message);
    expect(readCodeJson(ex.value.codeJson.text).items).toBe(N);
  });
});
