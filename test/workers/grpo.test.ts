/**
 * GRPO worker methods in Node (fake-indexeddb, tfjs cpu): from a tiny finished joint run, one GRPO
 * epoch (group 2, tiny batch) stores a 'grpo' run record with config, seed, backend, source joint
 * run, history, valid_before/valid_after/test and timings; metric events carry the GRPO keys;
 * the export zip holds the GRPO recommender, the SFT tokenizer, code.json and metrics.json; delete.
 */
import 'fake-indexeddb/auto';
import { strFromU8, unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/core/events.ts';
import { writeNpy } from '../../src/core/io/npy.ts';
import { getGrpoRun, openStudioDb } from '../../src/storage/index.ts';
import type { GrpoOverrides, JointOverrides } from '../../workers/api.ts';
import { resolveGrpoConfig } from '../../workers/grpo.ts';
import { createStudioService, type StudioService } from '../../workers/studioService.ts';

function reviews(users = 40, items = 24): string {
  const lines: string[] = [];
  for (let u = 0; u < users; u++) {
    for (let k = 0; k < 5; k++) {
      lines.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${(u * 3 + k) % items}`, unixReviewTime: 1_400_000_000 + u * 100 + k, overall: 4 }));
    }
  }
  return lines.join('\n') + '\n';
}

const services: StudioService[] = [];
afterEach(() => {
  while (services.length) services.pop()!.close();
});

const DIM = 8;
const TINY_JOINT: JointOverrides = {
  epochs: 2, warm_epoch: 0, eval_step: 2, cycle: 2, warmup_steps: 2, batch_size: 32, micro_batch_size: 32, eval_batch_size: 16,
  num_beams: 4, return_beams: 3, eval_limit: 8, early_stop: 5,
  t5: { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8 },
  finetune: { epochs: 1, eval_step: 1, early_stop: 2 },
};
const TINY_GRPO: GrpoOverrides = {
  epochs: 1, group_size: 2, batch_size: 64, micro_batch_size: 128, eval_batch_size: 16, num_beams: 4, return_beams: 3,
  valid_limit: 8, test_limit: 8, top_k: 8, lr: 1e-3,
};

describe('GRPO stage (worker API in Node)', () => {
  it('resolves presets with overrides; refuses bad values', async () => {
    const c = await resolveGrpoConfig('quick', { group_size: 3 });
    expect(c.group_size).toBe(3);
    expect(c.epochs).toBe(2);
    await expect(resolveGrpoConfig('quick', { group_size: 1 })).rejects.toThrow(/group_size/);
    await expect(resolveGrpoConfig('nope' as never)).rejects.toThrow(/Unknown GRPO preset/);
  });

  it('runs GRPO from a finished joint run, stores, exports and deletes', async () => {
    const dbName = 'grpo-main';
    const svc = createStudioService({ dbName, chunkBytes: 4096, progressIntervalMs: 0 });
    services.push(svc);
    await svc.initBackend(['cpu']);
    const imp = await svc.importDataset(
      { files: [{ name: 'toy.json', data: new Blob([reviews()]) }], name: 'toy', format: 'auto', config: { kcore: 2, maxLen: 50 } },
      'import-toy', () => undefined,
    );
    if (!imp.ok) throw new Error(imp.error.message);
    const ds = imp.value.dataset;
    const N = ds.stats.num_items;
    const data = Float32Array.from({ length: N * DIM }, (_, i) => Math.sin(i * 12.9898 + 78.233) * 2);
    const e = await svc.importEmbedding(ds.id, new Blob([writeNpy(data, [N, DIM]) as Uint8Array<ArrayBuffer>]), 'emb.npy', 'collab');
    if (!e.ok) throw new Error(e.error.message);
    const p = await svc.getTokenizerPresets(DIM);
    if (!p.ok) throw new Error(p.error.message);
    const quick = p.value.find((x) => x.name === 'quick')!;
    const t = await svc.trainTokenizer(ds.id, e.value.id, {
      ...quick.config, layers: [16], e_dim: 4, num_emb_list: [4, 4, 4], epochs: 4, eval_step: 2, batch_size: 64, kmeans_iters: 5, warmup_epochs: 1,
    }, 'tok', () => undefined);
    if (!t.ok || !t.value.tokenizer) throw new Error(t.ok ? 'no tokenizer' : t.error.message);
    const j = await svc.startJoint({ datasetId: ds.id, embeddingId: e.value.id, tokenizerId: t.value.tokenizer.id, preset: 'quick', overrides: TINY_JOINT, name: 'sft' }, 'j1', () => undefined);
    if (!j.ok) throw new Error(j.error.message);
    expect(j.value.run.status).toBe('finished');

    const presets = await svc.getGrpoPresets();
    if (!presets.ok) throw new Error(presets.error.message);
    expect(presets.value.map((x) => x.name)).toEqual(['quick', 'paper']);
    expect(presets.value[1].provenance.kl_coeff.sources).toContain('fork');

    const events: ProgressEvent[] = [];
    const r = await svc.startGrpo({ jointRunId: j.value.run.id, preset: 'quick', overrides: TINY_GRPO, name: 'g1' }, 'g1', (ev) => events.push(ev));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.cancelled).toBe(false);
    const run = r.value.run;
    expect(run.status).toBe('finished');
    expect(run.name).toBe('g1');
    expect(run.jointRunId).toBe(j.value.run.id);
    expect(run.jointRunName).toBe('sft');
    expect(run.backend).toBe('cpu');
    expect(run.config.group_size).toBe(2);
    expect(run.seed).toBe(run.config.seed);
    expect(run.history).toHaveLength(1);
    expect(run.validBefore?.metrics['ndcg@10']).toBeGreaterThanOrEqual(0);
    expect(run.validAfter?.metrics['ndcg@10']).toBeGreaterThanOrEqual(0);
    expect(run.test?.metrics['ndcg@10']).toBeGreaterThanOrEqual(0);
    expect(run.timings.train).toBeGreaterThan(0);
    expect(run.timings.total).toBeGreaterThan(0);
    expect(run.bundleBytes).toBeGreaterThan(0);
    const names = new Set(events.filter((ev) => ev.type === 'metric').map((ev) => (ev as { name: string }).name));
    for (const m of ['reward_mean', 'hit_rate', 'invalid_rate', 'kl', 'policy_loss', 'lr', 'valid/ndcg@10']) expect(names, m).toContain(m);
    expect(events.some((ev) => ev.type === 'progress' && ev.stage === 'grpo' && ev.etaSeconds !== undefined)).toBe(true);

    const db = await openStudioDb(dbName);
    const stored = await getGrpoRun(db, run.id);
    expect(stored.type).toBe('grpo');
    expect(stored.stage).toBe('grpo');
    expect(stored.jointRunId).toBe(j.value.run.id);
    db.close();

    const listed = await svc.listGrpoRuns(ds.id);
    if (!listed.ok) throw new Error(listed.error.message);
    expect(listed.value.map((x) => x.id)).toEqual([run.id]);
    // The joint list does not see GRPO records.
    const jl = await svc.listJointRuns(ds.id);
    expect(jl.ok && jl.value.map((x) => x.id)).toEqual([j.value.run.id]);

    const ex = await svc.exportGrpoBundle(run.id);
    if (!ex.ok) throw new Error(ex.error.message);
    expect(ex.value.fileName).toBe('g1.bundle.zip');
    const files = unzipSync(ex.value.bytes);
    for (const f of ['recommender.safetensors', 'tokenizer.safetensors', 'code.json', 'metrics.json']) expect(Object.keys(files)).toContain(f);
    const metrics = JSON.parse(strFromU8(files['metrics.json'])) as Record<string, Record<string, number>>;
    expect(Object.keys(metrics)).toEqual(expect.arrayContaining(['valid_before', 'valid_after', 'test']));
    expect(metrics.test['ndcg@10']).toBeCloseTo(run.test!.metrics['ndcg@10'], 6);
    // The SFT tokenizer and code table are those of the joint export.
    const jx = await svc.exportJointBundle(j.value.run.id);
    if (!jx.ok) throw new Error(jx.error.message);
    const jf = unzipSync(jx.value.bytes);
    expect(strFromU8(files['code.json'])).toBe(strFromU8(jf['code.json']));
    expect(files['tokenizer.safetensors']).toEqual(jf['tokenizer.safetensors']);

    const d = await svc.deleteGrpoRun(run.id);
    expect(d.ok).toBe(true);
    const after = await svc.listGrpoRuns(ds.id);
    expect(after.ok && after.value).toEqual([]);
    const again = await svc.deleteGrpoRun(run.id);
    expect(!again.ok && again.error.code).toBe('not_found');
  }, 240_000);
});
