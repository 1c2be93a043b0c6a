/**
 * The runs page's worker methods in Node (fake-indexeddb): listAllRuns presents a trained RQ-VAE
 * tokenizer, a SASRec table, a joint run and a GRPO record as uniform rows (headline metric,
 * curves, config diff against the preset), plus the prepared dataset (stage 'data') and a text
 * embedding table (stage 'text'); deleteRun removes each with its artifacts/chunks, and deleting
 * the data row deletes the dataset with its remaining artifacts.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/core/io/npy.ts';
import { JOINT_PRESETS } from '../../src/core/train/jointSchedule.ts';
import { SASREC_PRESETS } from '../../src/core/models/sasrec.ts';
import { GRPO_PRESETS } from '../../src/core/train/grpo.ts';
import { openStudioDb, saveEmbeddingTable, saveJointRun } from '../../src/storage/index.ts';
import { createStudioService, type StudioService } from '../../workers/studioService.ts';

function reviews(users = 40, items = 24): string {
  const lines: string[] = [];
  for (let u = 0; u < users; u++) {
    for (let k = 0; k < 5; k++) lines.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${(u * 3 + k) % items}`, unixReviewTime: 1_400_000_000 + u * 100 + k, overall: 4 }));
  }
  return lines.join('\n') + '\n';
}

const services: StudioService[] = [];
afterEach(() => { while (services.length) services.pop()!.close(); });

describe('runs (worker API in Node)', () => {
  it('lists the runs of every stage uniformly and deletes them with their chunks', async () => {
    const dbName = 'runs-1';
    const svc = createStudioService({ dbName, chunkBytes: 4096, progressIntervalMs: 0 });
    services.push(svc);
    await svc.initBackend(['cpu']);
    const r = await svc.importDataset({ files: [{ name: 'toy.json', data: new Blob([reviews()]) }], name: 'toy', format: 'auto', config: { kcore: 2, maxLen: 50 } }, 'imp', () => undefined);
    if (!r.ok) throw new Error(r.error.message);
    const ds = r.value.dataset;
    const N = ds.stats.num_items;
    const DIM = 8;
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

    const db = await openStudioDb(dbName);
    const sas = await saveEmbeddingTable(db, ds.id, {
      kind: 'collab', name: 'toy_sasrec_8', rows: N, cols: DIM, data, source: 'sasrec', createdAt: 1000,
      meta: {
        config: { ...SASREC_PRESETS.quick.config, epochs: 3 }, seed: 7, backend: 'webgpu', adapter: 'google/swiftshader', seconds: 12.5,
        metrics: { valid: { 'ndcg@10': 0.2 }, test: { 'ndcg@10': 0.25, 'recall@10': 0.4 } },
        curves: [{ epoch: 1, trainLoss: 3 }, { epoch: 1, trainLoss: 3, validNdcg10: 0.1 }, { epoch: 2, trainLoss: 2.5, validNdcg10: 0.2 }],
      },
    });
    const text = await saveEmbeddingTable(db, ds.id, {
      kind: 'text', name: 'toy_text', rows: N, cols: DIM, data, source: 'import:text.npy', createdAt: 500, meta: {},
    });
    const cfg = { ...JOINT_PRESETS.quick.values, epochs: 5, t5: { ...JOINT_PRESETS.quick.values.t5, d_model: 16 } };
    await saveJointRun(db, {
      id: 'joint-x', createdAt: 2000, name: 'toy_joint_quick', datasetId: ds.id, embeddingId: e.value.id, tokenizerId: t.value.tokenizer.id,
      status: 'finished', updatedAt: 3000, backend: 'cpu', preset: 'quick', config: cfg,
      history: [
        { stage: 'joint', epoch: 0, phase: 'recommender', loss: { total: 2, code: 2 }, seconds: 1.5 },
        { stage: 'joint', epoch: 1, phase: 'tokenizer', loss: { total: 1.5, code: 1.4 }, valid: { metrics: { 'ndcg@10': 0.12 }, invalidRate: 0, count: 8 }, seconds: 2.5 },
      ],
      progress: null,
      // Diagnostics of a collapsed model: one list for 7 of 8 users, no shuffle gap.
      test: {
        metrics: { 'ndcg@10': 0.15, 'recall@10': 0.3 }, invalidRate: 0.25, count: 8,
        diagnostics: {
          users: 8, k: 10, distinctTop1: 2, distinctTopK: 2, coverageAtK: 0.4, modalTopKShare: 0.875, popularityOverlapAtK: 0.9, invalidRate: 0.25,
          shuffle: { split: 'test', users: 8, seed: 1, ceReal: 3.1, ceShuffled: 3.105, gap: 0.005, perLevelReal: [1, 1, 1, 0.1], perLevelShuffled: [1, 1, 1, 0.105] },
        },
      },
      testBeforeFinetune: null,
      error: null, source: 'train', meta: {},
    }, new Uint8Array(10_000), 4096);
    await db.put('runs', {
      id: 'grpo-x', createdAt: 4000, type: 'grpo', stage: 'grpo', name: 'toy_grpo', datasetId: ds.id, status: 'finished', backend: 'cpu', preset: 'quick', seed: 3, config: { ...GRPO_PRESETS.quick.values, group_size: GRPO_PRESETS.quick.values.group_size + 2, kl_coeff: 0.5 },
      history: [{ epoch: 0, loss: 0.5, seconds: 2 }],
      test: {
        metrics: { 'ndcg@10': 0.18 }, invalidRate: 0, count: 8,
        diagnostics: {
          users: 8, k: 4, distinctTop1: 6, distinctTopK: 8, coverageAtK: 0.6, modalTopKShare: 0.125, popularityOverlapAtK: 0.2, invalidRate: 0,
          shuffle: { split: 'test', users: 8, seed: 3, ceReal: 2.5, ceShuffled: 3, gap: 0.5, perLevelReal: [], perLevelShuffled: [] },
        },
      },
    });
    // An experiment sweep record is no run of its own (its joint runs are).
    await db.put('runs', { id: 'experiment-x', createdAt: 5000, type: 'experiment', name: 'sweep', datasetId: ds.id });
    await db.put('chunks', new ArrayBuffer(8), ['grpo-x', 'bundle', 0]);

    const list = await svc.listAllRuns();
    if (!list.ok) throw new Error(list.error.message);
    const dataRow = list.value.find((x) => x.stage === 'data')!;
    expect(dataRow).toMatchObject({ id: ds.id, name: 'toy', datasetId: ds.id, status: 'prepared', adapter: null, curves: [], config: { kcore: 2, maxLen: 50 } });
    expect(dataRow.headline).toEqual({ name: 'interactions', value: ds.stats.num_interactions });
    expect(dataRow.metrics.num_users).toBe(ds.stats.num_users);
    expect(dataRow.metrics.num_items).toBe(N);
    const runs = list.value.filter((x) => x.stage !== 'data');
    expect(runs.map((x) => x.stage)).toEqual(['rqvae', 'grpo', 'joint', 'sasrec', 'text']);
    const [rq, grpo, joint, sr, tx] = runs;
    expect(tx).toMatchObject({ id: text.id, name: 'toy_text', status: 'imported', headline: { name: 'dim', value: DIM }, datasetName: 'toy' });
    expect(tx.metrics).toEqual({ items: N, dim: DIM });
    expect(rq.headline?.name).toBe('collision rate');
    expect(rq.datasetName).toBe('toy');
    expect(rq.preset).toBe('quick');
    expect(rq.configDiff.map((d) => d.key)).toContain('epochs');
    expect(rq.configDiff.find((d) => d.key === 'epochs')?.provenance).toMatch(/changed by us/);
    expect(rq.curves.some((c) => c.collision_rate !== undefined)).toBe(true);
    expect(joint.headline).toEqual({ name: 'test ndcg@10', value: 0.15 });
    expect(joint.durationSeconds).toBe(4);
    expect(joint.curves).toHaveLength(2);
    expect(joint.curves[1]['valid_ndcg@10']).toBe(0.12);
    expect(joint.configDiff.map((d) => d.key)).toEqual(['epochs', 't5.d_model']);
    expect(joint.configDiff[0].presetValue).toBe(JOINT_PRESETS.quick.values.epochs);
    expect(joint.configDiff[0].provenance.length).toBeGreaterThan(0);
    expect(sr.headline).toEqual({ name: 'test ndcg@10', value: 0.25 });
    expect(sr.seed).toBe(7);
    expect(sr.curves).toEqual([{ epoch: 1, loss: 3, 'valid_ndcg@10': 0.1 }, { epoch: 2, loss: 2.5, 'valid_ndcg@10': 0.2 }]);
    expect(sr.configDiff.map((d) => d.key)).toEqual(['epochs']);
    expect(grpo.headline?.value).toBe(0.18);
    expect(grpo.configDiff.map((d) => d.key)).toEqual(['group_size', 'kl_coeff']);
    expect(grpo.configDiff[1]).toMatchObject({ value: 0.5, presetValue: GRPO_PRESETS.quick.values.kl_coeff });
    expect(grpo.configDiff[1].provenance.length).toBeGreaterThan(0);
    // Diagnostics as flat metrics, and the collapse warning of the collapsed joint model only.
    expect(joint.metrics).toMatchObject({
      test_invalid_rate: 0.25, test_distinct_top1: 2, test_distinct_top10: 2, 'test_coverage@10': 0.4, test_modal_top10_share: 0.875,
      'test_popularity_overlap@10': 0.9, test_shuffle_gap: 0.005, test_ce_real: 3.1, test_ce_shuffled: 3.105,
    });
    expect(joint.metrics).not.toHaveProperty('test_diagnostics_k');
    expect(joint.warnings).toHaveLength(2);
    expect(joint.warnings?.[0]).toMatch(/87\.5 % of users get the same top-10 list/);
    expect(joint.warnings?.[1]).toMatch(/history-shuffle gap 0\.0050/);
    expect(joint.curves[1].valid_invalid_rate).toBe(0);
    expect(grpo.metrics).toMatchObject({ test_distinct_top1: 6, test_shuffle_gap: 0.5, test_invalid_rate: 0, test_diagnostics_k: 4 });
    expect(grpo.warnings).toEqual([]);
    expect(sr.warnings ?? []).toEqual([]);
    expect(grpo.seed).toBe(3);
    // the WebGPU adapter beside the backend; records written before it (or on cpu) have none
    expect(sr.backend).toBe('webgpu');
    expect(sr.adapter).toBe('google/swiftshader');
    expect(joint.adapter).toBeNull();
    expect(grpo.adapter).toBeNull();
    expect(rq.adapter).toBeNull();

    for (const row of runs) {
      const d = await svc.deleteRun(row.stage, row.id);
      expect(d.ok).toBe(true);
    }
    const left = await svc.listAllRuns();
    expect(left.ok && left.value.map((x) => x.stage)).toEqual(['data']);
    expect(await db.get('artifacts', text.id)).toBeUndefined();
    expect(await db.get('artifacts', e.value.id)).toBeDefined();
    // The data row: the dataset goes with its remaining artifacts (the imported collab table).
    const dd = await svc.deleteRun('data', ds.id);
    expect(dd.ok).toBe(true);
    expect(await db.get('datasets', ds.id)).toBeUndefined();
    expect(await db.get('artifacts', e.value.id)).toBeUndefined();
    const after = await svc.listAllRuns();
    expect(after.ok && after.value).toEqual([]);
    expect(await db.getAllKeys('chunks', IDBKeyRange.bound(['joint-x'], ['joint-x', []]))).toEqual([]);
    expect(await db.getAllKeys('chunks', IDBKeyRange.bound(['grpo-x'], ['grpo-x', []]))).toEqual([]);
    expect(await db.get('artifacts', sas.id)).toBeUndefined();
    const again = await svc.deleteRun('grpo', 'grpo-x');
    expect(!again.ok && again.error.code).toBe('not_found');
    const bad = await svc.deleteRun('nope' as never, 'x');
    expect(bad.ok).toBe(false);
    db.close();
  }, 120_000);

  it('a GRPO run stored as running with no job of the worker reads interrupted in its list and the Runs table', async () => {
    const dbName = 'runs-grpo-interrupted';
    const svc = createStudioService({ dbName, chunkBytes: 4096, progressIntervalMs: 0 });
    services.push(svc);
    await svc.initBackend(['cpu']);
    const db = await openStudioDb(dbName);
    // what a tab closed during GRPO training leaves behind
    await db.put('runs', {
      id: 'grpo-dead', createdAt: 1000, updatedAt: 1000, type: 'grpo', stage: 'grpo', recordVersion: 1, name: 'toy_grpo_dead', datasetId: 'ds-x', jointRunId: 'j',
      status: 'running', backend: 'cpu', preset: 'quick', seed: 1, config: { ...GRPO_PRESETS.quick.values }, history: [], validBefore: null, validAfter: null, test: null,
      bestEpoch: null, timings: {}, error: null, meta: {}, bundle: null,
    });
    db.close();
    const grpo = await svc.listGrpoRuns('ds-x');
    if (!grpo.ok) throw new Error(grpo.error.message);
    expect(grpo.value.map((r) => [r.status, r.active])).toEqual([['interrupted', false]]);
    const list = await svc.listAllRuns();
    if (!list.ok) throw new Error(list.error.message);
    expect(list.value.find((r) => r.id === 'grpo-dead')?.status).toBe('interrupted');
  });
});
