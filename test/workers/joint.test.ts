/**
 * Stage 4 worker methods in Node (fake-indexeddb, tfjs cpu): a tiny joint run stores its record
 * and checkpoint after every epoch and finishes with test metrics; a run stopped mid-way (a
 * "crash": the stored record still says running) resumes from its checkpoint to the same end;
 * recommendations of a test user; export bundle → import round trip ("N of N tensors matched");
 * a mismatched bundle is refused and stores nothing; delete.
 */
import 'fake-indexeddb/auto';
import { strFromU8, unzipSync, zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/core/events.ts';
import { writeNpy } from '../../src/core/io/npy.ts';
import { getJointRun, loadJointCheckpointBytes, openStudioDb, saveJointRun, updateJointRun } from '../../src/storage/index.ts';
import type { DatasetSummary, JointOverrides } from '../../workers/api.ts';
import { resolveJointConfig } from '../../workers/joint.ts';
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

let n = 0;
const services: StudioService[] = [];
function service(dbName = `joint-${++n}`): StudioService {
  const svc = createStudioService({ dbName, chunkBytes: 4096, progressIntervalMs: 0 });
  services.push(svc);
  return svc;
}
afterEach(() => {
  while (services.length) services.pop()!.close();
});

const DIM = 8;
const TINY: JointOverrides = {
  epochs: 2, warm_epoch: 0, eval_step: 2, cycle: 2, warmup_steps: 2, batch_size: 32, micro_batch_size: 32, eval_batch_size: 16,
  num_beams: 4, return_beams: 3, eval_limit: 8, early_stop: 5,
  t5: { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8 },
  finetune: { epochs: 1, eval_step: 1, early_stop: 2 },
};

async function setup(svc: StudioService): Promise<{ ds: DatasetSummary; embId: string; tokId: string }> {
  await svc.initBackend(['cpu']);
  const r = await svc.importDataset(
    { files: [{ name: 'toy.json', data: new Blob([reviews()]) }], name: 'toy', format: 'auto', config: { kcore: 2, maxLen: 50 } },
    'import-toy', () => undefined,
  );
  if (!r.ok) throw new Error(r.error.message);
  const ds = r.value.dataset;
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
  return { ds, embId: e.value.id, tokId: t.value.tokenizer.id };
}

describe('joint training stage (worker API in Node)', () => {
  it('resolves presets with overrides and ablation names; refuses bad values with the reason', async () => {
    const c = resolveJointConfig('quick', { ablation: 'no_sia', epochs: 3 });
    expect(c.ablation.sia).toBe(false);
    expect(c.epochs).toBe(3);
    expect(() => resolveJointConfig('quick', { ablation: 'nope' as never })).toThrow(/ablation must be one of full/);
    expect(() => resolveJointConfig('quick', { return_beams: 30, num_beams: 4 })).toThrow(/return_beams/);
    const svc = service();
    const p = await svc.getJointPresets();
    if (!p.ok) throw new Error(p.error.message);
    expect(p.value.map((x) => x.name)).toEqual(['quick', 'converge', 'paper']);
    expect(p.value.find((x) => x.name === 'paper')!.provenance.lr_rec.sources).toContain('paper');
  });

  it('trains, stores per epoch, resumes after a crash, recommends, exports and imports back', async () => {
    const dbName = `joint-main-${++n}`;
    const svc = service(dbName);
    const { ds, embId, tokId } = await setup(svc);
    const inputs = await svc.listJointInputs(ds.id);
    if (!inputs.ok) throw new Error(inputs.error.message);
    expect(inputs.value.tokenizers.map((t) => t.id)).toEqual([tokId]);
    expect(inputs.value.tokenizers[0].embeddingId).toBe(embId);

    // 0. Values that fit no dataset or heap are refused once the dataset and backend are known,
    // before any run is stored.
    const tooManyBeams = await svc.startJoint({ datasetId: ds.id, embeddingId: embId, tokenizerId: tokId, preset: 'quick', overrides: { ...TINY, num_beams: 500, return_beams: 10 }, name: 'beams' }, 'j0', () => undefined);
    expect(tooManyBeams.ok).toBe(false);
    if (!tooManyBeams.ok) expect(tooManyBeams.error.field).toBe('num_beams');
    const huge = await svc.startJoint({ datasetId: ds.id, embeddingId: embId, tokenizerId: tokId, preset: 'quick', overrides: { ...TINY, t5: { d_model: 100000 } }, name: 'huge' }, 'j0b', () => undefined);
    expect(huge.ok).toBe(false);
    if (!huge.ok) expect(huge.error.field).toBe('t5.d_model');
    const none = await svc.listJointRuns(ds.id);
    expect(none.ok && none.value.map((x) => x.name)).toEqual([]);

    // 1. A full tiny run.
    const events: ProgressEvent[] = [];
    const r = await svc.startJoint({ datasetId: ds.id, embeddingId: embId, tokenizerId: tokId, preset: 'quick', overrides: TINY, name: 'full' }, 'j1', (e) => events.push(e));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.cancelled).toBe(false);
    const run = r.value.run;
    expect(run.status).toBe('finished');
    expect(run.history.map((h) => `${h.stage}:${h.epoch}:${h.phase}`)).toEqual(['alternating:0:tokenizer', 'alternating:1:recommender', 'finetune:0:recommender']);
    expect(run.test?.metrics['ndcg@10']).toBeGreaterThanOrEqual(0);
    expect(run.testBeforeFinetune).not.toBeNull();
    expect(run.backend).toBe('cpu');
    const names = new Set(events.filter((e) => e.type === 'metric').map((e) => (e as { name: string }).name));
    for (const m of ['loss/tokenizer/total', 'loss/recommender/code', 'loss/finetune/total', 'lr/recommender', 'lr/tokenizer', 'codes/collision_rate', 'codes/churn', 'valid/ndcg@10']) expect(names, m).toContain(m);
    expect(events.some((e) => e.type === 'progress' && e.etaSeconds !== undefined)).toBe(true);
    // An epoch's metric events carry step = finished epochs including it (1, 2, 3): the UI's x.
    expect(events.filter((e) => e.type === 'metric' && e.name === 'lr/recommender').map((e) => (e as { step: number }).step)).toEqual([1, 2, 3]);

    // 2. A run that stops after one epoch (maxEpochs is not in the API: simulate a crash by
    // cancelling after the first checkpoint, then mark it running as a dead worker would leave it).
    let cancelAfter = false;
    const svc2Events: ProgressEvent[] = [];
    const pending = svc.startJoint({ datasetId: ds.id, embeddingId: embId, tokenizerId: tokId, preset: 'quick', overrides: TINY, name: 'crash' }, 'j2', (e) => {
      svc2Events.push(e);
      if (!cancelAfter && e.type === 'metric' && e.name === 'codes/churn') { cancelAfter = true; void svc.cancel('j2'); }
    });
    const c = await pending;
    if (!c.ok) throw new Error(c.error.message);
    expect(c.value.cancelled).toBe(true);
    expect(c.value.run.status).toBe('cancelled');
    expect(c.value.run.history).toHaveLength(1);
    const db = await openStudioDb(dbName);
    await updateJointRun(db, c.value.run.id, { status: 'running' });
    // A stored checkpoint with one flipped data byte is refused on resume, naming the tensor (issue 15).
    const stored = await loadJointCheckpointBytes(db, c.value.run.id);
    const flipped = stored.bytes.slice();
    flipped[flipped.length - 3] ^= 0x08;
    await saveJointRun(db, stored.record, flipped);
    db.close();
    const svcBad = service(dbName);
    await svcBad.initBackend(['cpu']);
    const refused = await svcBad.resumeJoint(c.value.run.id, 'j2b', () => undefined);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.message).toMatch(/^Tensor optimizer\..* is corrupted: its CRC-32 does not match/);
      expect(refused.error.file).toBe('crash.checkpoint');
      expect(refused.error.field).toMatch(/^optimizer\./);
    }
    const dbRestore = await openStudioDb(dbName);
    await saveJointRun(dbRestore, stored.record, stored.bytes);
    dbRestore.close();

    // A fresh service = a reloaded page: the run shows as paused and resumable.
    const svc2 = service(dbName);
    await svc2.initBackend(['cpu']);
    const list = await svc2.listJointRuns(ds.id);
    if (!list.ok) throw new Error(list.error.message);
    const crashed = list.value.find((x) => x.name === 'crash')!;
    expect(crashed.status).toBe('paused');
    expect(crashed.resumable).toBe(true);
    expect(list.value.find((x) => x.name === 'full')!.resumable).toBe(false);
    const res = await svc2.resumeJoint(crashed.id, 'j3', () => undefined);
    if (!res.ok) throw new Error(res.error.message);
    expect(res.value.run.status).toBe('finished');
    expect(res.value.run.history.map((h) => `${h.stage}:${h.epoch}`)).toEqual(['alternating:0', 'alternating:1', 'finetune:0']);
    // Same seed, same data: resuming reproduces the uninterrupted run exactly.
    expect(res.value.run.test?.metrics).toEqual(run.test?.metrics);
    expect(res.value.run.history[2].loss.total).toBeCloseTo(run.history[2].loss.total, 5);

    // 3. Recommendations of a test user.
    const rec = await svc2.recommendations(run.id, { split: 'test', sampleIndex: 0 });
    if (!rec.ok) throw new Error(rec.error.message);
    expect(rec.value.history.length).toBeGreaterThan(0);
    expect(rec.value.history[0].codes).toHaveLength(4);
    expect(rec.value.generated).toHaveLength(4);
    expect(rec.value.target.id).toBeGreaterThan(0);
    for (const g of rec.value.generated) {
      expect(g.codes).toHaveLength(4);
      if (g.item) expect(g.item.asin).toMatch(/^I\d+$/);
      expect(g.isTarget).toBe(g.rank === rec.value.hitRank);
      expect(g.popular).toBe(!!g.item && rec.value.popular.some((p) => p.id === g.item!.id));
    }
    // The popularity top-10 of the training interactions, most frequent first.
    expect(rec.value.popular).toHaveLength(10);
    const counts = rec.value.popular.map((p) => p.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts[0]).toBeGreaterThan(0);
    expect(rec.value.popular[0].codes).toHaveLength(4);
    const byUser = await svc2.recommendations(run.id, { split: 'valid', userIndex: rec.value.userIndex });
    if (!byUser.ok) throw new Error(byUser.error.message);
    expect(byUser.value.userId).toBe(rec.value.userId);
    expect((await svc2.recommendations(run.id, { split: 'test', sampleIndex: 10_000 })).ok).toBe(false);

    // 4. Export → import.
    const ex = await svc2.exportJointBundle(run.id);
    if (!ex.ok) throw new Error(ex.error.message);
    expect(ex.value.fileName).toBe('full.bundle.zip');
    const files = unzipSync(ex.value.bytes);
    expect(Object.keys(files).sort()).toEqual(['code.json', 'config.yaml', 'metrics.csv', 'metrics.json', 'recommender.safetensors', 'tokenizer.safetensors']);
    const metrics = JSON.parse(strFromU8(files['metrics.json'])) as { etegrec: { test: Record<string, number>; test_before_finetune: Record<string, number> } };
    expect(metrics.etegrec.test['ndcg@10']).toBe(run.test?.metrics['ndcg@10']);
    expect(metrics.etegrec.test_before_finetune).not.toBeNull();
    expect(strFromU8(files['metrics.csv']).trim().split('\n')).toHaveLength(1 + 3);
    expect(strFromU8(files['config.yaml'])).toMatch(/^lr_rec: /m);

    const im = await svc2.importJointBundle(ds.id, [{ name: ex.value.fileName, data: new Blob([ex.value.bytes as Uint8Array<ArrayBuffer>]) }]);
    if (!im.ok) throw new Error(im.error.message);
    expect(im.value.message).toBe(`${im.value.total} of ${im.value.total} tensors matched`);
    expect(im.value.run.status).toBe('finished');
    expect(im.value.run.test?.metrics['ndcg@10']).toBe(run.test?.metrics['ndcg@10']);
    const rec2 = await svc2.recommendations(im.value.run.id, { split: 'test', sampleIndex: 0 });
    if (!rec2.ok) throw new Error(rec2.error.message);
    expect(rec2.value.generated.map((g) => g.codes)).toEqual(rec.value.generated.map((g) => g.codes));
    // Re-exported bundle holds identical tensors.
    const ex2 = await svc2.exportJointBundle(im.value.run.id);
    if (!ex2.ok) throw new Error(ex2.error.message);
    expect(unzipSync(ex2.value.bytes)['recommender.safetensors']).toEqual(files['recommender.safetensors']);

    // 4b. "Continue on the reference trainer": the reference repository's layout in one zip; dropped
    // back on the import it gives the same tensors and recommendations.
    const rx = await svc2.exportReferenceLayout(run.id, 2);
    if (!rx.ok) throw new Error(rx.error.message);
    expect(rx.value.fileName).toBe('full.reference.zip');
    const ref = unzipSync(rx.value.bytes);
    const pt = Object.keys(ref).find((k) => /^myckpt\/toy\/studio-full\/\d+\.pt$/.test(k))!;
    expect(pt).toBeDefined();
    for (const p of ['config/toy.yaml', 'RecBole/dataset/toy/toy.train.jsonl', 'RecBole/dataset/toy/toy.valid.jsonl', 'RecBole/dataset/toy/toy.test.jsonl', 'RecBole/dataset/toy/toy.emb_map.json',
      `RecBole/dataset/toy/toy_emb_${DIM}.npy`, 'RQVAE/rqvae_ckpt/toy/studio-full/best_collision_model.pth', `${pt}.rqvae`, pt.replace(/\.pt$/, '.code.json'), 'accelerate_config_ddp.yaml', 'run.sh', 'STUDIO_EXPORT.md']) {
      expect(ref[p], p).toBeDefined();
    }
    expect(strFromU8(ref['accelerate_config_ddp.yaml'])).toMatch(/^num_processes: 2$/m);
    expect(strFromU8(ref['config/toy.yaml'])).toMatch(/^encoder_layers: 1$/m);
    const back = await svc2.importJointBundle(ds.id, [{ name: rx.value.fileName, data: new Blob([rx.value.bytes as Uint8Array<ArrayBuffer>]) }], 'from reference');
    if (!back.ok) throw new Error(back.error.message);
    expect(back.value.message).toBe(`${back.value.total} of ${back.value.total} tensors matched`);
    const rec3 = await svc2.recommendations(back.value.run.id, { split: 'test', sampleIndex: 0 });
    if (!rec3.ok) throw new Error(rec3.error.message);
    expect(rec3.value.generated.map((g) => g.codes)).toEqual(rec.value.generated.map((g) => g.codes));
    const ex3 = await svc2.exportJointBundle(back.value.run.id);
    if (!ex3.ok) throw new Error(ex3.error.message);
    const files3 = unzipSync(ex3.value.bytes);
    expect(files3['recommender.safetensors']).toEqual(files['recommender.safetensors']);
    expect(files3['code.json']).toEqual(files['code.json']);
    expect((await svc2.deleteJointRun(back.value.run.id)).ok).toBe(true);

    // A bundle missing a tensor is refused with the report, and nothing is stored.
    const before = await svc2.listJointRuns(ds.id);
    const broken: Record<string, Uint8Array> = { ...files };
    const { readSafetensors, writeSafetensors } = await import('../../src/core/io/safetensors.ts');
    const st = readSafetensors(files['recommender.safetensors']);
    const first = Object.keys(st.tensors)[0];
    delete st.tensors[first];
    broken['recommender.safetensors'] = writeSafetensors(st.tensors, st.metadata);
    const bad = await svc2.importJointBundle(ds.id, [{ name: 'broken.zip', data: new Blob([zipSync(broken) as Uint8Array<ArrayBuffer>]) }]);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/of \d+ matched/);
    const after = await svc2.listJointRuns(ds.id);
    expect(after.ok && before.ok && after.value.length === before.value.length).toBe(true);

    // 5. Delete.
    const del = await svc2.deleteJointRun(im.value.run.id);
    expect(del.ok).toBe(true);
    const db2 = await openStudioDb(dbName);
    await expect(getJointRun(db2, im.value.run.id)).rejects.toThrow(/No stored/);
    db2.close();

    // Deleting the dataset deletes its runs and their checkpoints.
    expect((await svc2.deleteDataset(ds.id)).ok).toBe(true);
    const left = await svc2.listJointRuns();
    expect(left.ok && left.value.length).toBe(0);
  }, 240_000);
});
