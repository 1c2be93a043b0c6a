/**
 * Experiment sweeps in Node (fake-indexeddb, tfjs cpu): a 2 variants × 2 seeds ablation sweep is
 * stored, its runs are ordinary joint runs named <dataset>_ablate_<variant>_seed<seed> with the
 * variant's switches and the seed; a cancel mid-sweep keeps the finished runs, a "reload" (a fresh
 * service over the same database) shows the sweep as interrupted, and Resume trains exactly the
 * remaining runs; bad requests store nothing; delete removes the sweep with its runs.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/core/events.ts';
import { writeNpy } from '../../src/core/io/npy.ts';
import { openStudioDb, updateExperiment } from '../../src/storage/index.ts';
import type { DatasetSummary, JointOverrides } from '../../workers/api.ts';
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
function service(dbName: string): StudioService {
  const svc = createStudioService({ dbName, chunkBytes: 4096, progressIntervalMs: 0 });
  services.push(svc);
  return svc;
}
afterEach(() => {
  while (services.length) services.pop()!.close();
});

const DIM = 8;
const TINY: JointOverrides = {
  epochs: 1, warm_epoch: 0, eval_step: 1, cycle: 2, warmup_steps: 2, batch_size: 64, micro_batch_size: 64, eval_batch_size: 16,
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

describe('experiment sweeps (worker API in Node)', () => {
  it('refuses bad requests without storing anything', async () => {
    const dbName = `exp-bad-${++n}`;
    const svc = service(dbName);
    const { ds, embId, tokId } = await setup(svc);
    const base = { datasetId: ds.id, embeddingId: embId, tokenizerId: tokId, preset: 'quick', overrides: TINY };
    const none = await svc.startExperiment({ ...base, sweep: { variants: [], seeds: 1 } }, 'x0', () => undefined);
    expect(none.ok ? '' : none.error.field).toBe('variants');
    const rep = await svc.startExperiment({ ...base, sweep: { variants: ['full', 'full'], seeds: 1 } }, 'x1', () => undefined);
    expect(rep.ok ? '' : rep.error.message).toMatch(/variants must be one or more of .* each once/);
    const noSeeds = await svc.startExperiment({ ...base, sweep: { variants: ['full'], seeds: 0 } }, 'x1b', () => undefined);
    expect(noSeeds.ok ? '' : noSeeds.error.field).toBe('seeds');
    const textSeeds = await svc.startExperiment({ ...base, sweep: { variants: 'full', seeds: 'many' } }, 'x1c', () => undefined);
    expect(textSeeds.ok ? '' : textSeeds.error.message).toMatch(/seeds must be an integer ≥ 1 and ≤ 50, got "many"/);
    const badField = await svc.startExperiment({ ...base, overrides: { ...TINY, return_beams: 30 }, sweep: { variants: ['full'], seeds: 1 } }, 'x2', () => undefined);
    expect(badField.ok ? '' : badField.error.message).toMatch(/return_beams/);
    const badTok = await svc.startExperiment({ ...base, tokenizerId: 'nope', sweep: { variants: ['full'], seeds: 1 } }, 'x3', () => undefined);
    expect(badTok.ok ? '' : badTok.error.field).toBe('tokenizerId');
    const list = await svc.listExperiments(ds.id);
    expect(list.ok && list.value).toEqual([]);
    const runs = await svc.listJointRuns(ds.id);
    expect(runs.ok && runs.value).toEqual([]);
  });

  it('queues variants × seeds as joint runs; cancel, reload and resume train exactly the remaining runs', async () => {
    const dbName = `exp-main-${++n}`;
    const svc = service(dbName);
    const { ds, embId, tokId } = await setup(svc);
    const request = { datasetId: ds.id, embeddingId: embId, tokenizerId: tokId, preset: 'quick', overrides: { ...TINY, seed: 99, ablation: 'no_psa' as const }, sweep: { variants: ['full', 'no_sia'], seeds: 2, first_seed: 7 } };

    // Cancel once the second run has started: the first stays finished.
    const logs: string[] = [];
    let cancelled = false;
    const first = await svc.startExperiment(request, 'x1', (e: ProgressEvent) => {
      if (e.type === 'log') logs.push(e.message);
      if (!cancelled && e.type === 'log' && /experiment run 2 of 4/.test(e.message)) { cancelled = true; void svc.cancel('x1'); }
    });
    if (!first.ok) throw new Error(first.error.message);
    expect(first.value.cancelled).toBe(true);
    expect(first.value.experiment.status).toBe('cancelled');
    expect(first.value.experiment.finished).toBe(1);
    expect(first.value.experiment.runs.map((r) => r.key)).toEqual(['full-seed7', 'no_sia-seed7', 'full-seed8', 'no_sia-seed8']);
    expect(first.value.experiment.runs.map((r) => r.status)).toEqual(['finished', expect.stringMatching(/cancelled|pending/), 'pending', 'pending']);
    expect(logs.filter((l) => /^experiment run/.test(l))).toEqual(['experiment run 1 of 4: full, seed 7', 'experiment run 2 of 4: no_sia, seed 7']);

    // A "reload": the stored sweep says running (as a dead worker leaves it) and reads as interrupted.
    const db = await openStudioDb(dbName);
    await updateExperiment(db, first.value.experiment.id, () => ({ status: 'running' }));
    db.close();
    const svc2 = service(dbName);
    await svc2.initBackend(['cpu']);
    const listed = await svc2.listExperiments(ds.id);
    if (!listed.ok) throw new Error(listed.error.message);
    expect(listed.value).toHaveLength(1);
    expect(listed.value[0]).toMatchObject({ status: 'paused', resumable: true, active: false, finished: 1, preset: 'quick', variants: ['full', 'no_sia'], seeds: [7, 8] });
    // The sweep's own ablation and seed win over the overrides'.
    expect(listed.value[0].overrides).not.toHaveProperty('seed');
    expect(listed.value[0].overrides).not.toHaveProperty('ablation');

    const started: string[] = [];
    const second = await svc2.resumeExperiment(listed.value[0].id, 'x2', (e) => { if (e.type === 'log' && /^experiment run/.test(e.message)) started.push(e.message); });
    if (!second.ok) throw new Error(second.error.message);
    expect(second.value.cancelled).toBe(false);
    expect(second.value.experiment.status).toBe('finished');
    expect(second.value.experiment.finished).toBe(4);
    expect(started.map((s) => s.replace(/ \(resumed\)$/, ''))).toEqual(['experiment run 2 of 4: no_sia, seed 7', 'experiment run 3 of 4: full, seed 8', 'experiment run 4 of 4: no_sia, seed 8']);
    for (const r of second.value.experiment.runs) {
      expect(r.status).toBe('finished');
      expect(r.test?.metrics['ndcg@10']).toBeGreaterThanOrEqual(0);
      expect(r.test?.diagnostics?.distinctTop1).toBeGreaterThanOrEqual(1);
    }

    // Each run is an ordinary joint run: named per entry, with the variant's switches and the seed.
    const runs = await svc2.listJointRuns(ds.id);
    if (!runs.ok) throw new Error(runs.error.message);
    expect(runs.value.map((r) => r.name).sort()).toEqual(['toy_ablate_full_seed7', 'toy_ablate_full_seed8', 'toy_ablate_no_sia_seed7', 'toy_ablate_no_sia_seed8']);
    const noSia = runs.value.find((r) => r.name === 'toy_ablate_no_sia_seed8')!;
    expect(noSia.config.ablation.sia).toBe(false);
    expect(noSia.config.ablation.psa).toBe(true);
    expect(noSia.config.seed).toBe(8);
    expect(noSia.meta.ablation).toBe('no_sia');
    expect(runs.value.find((r) => r.name === 'toy_ablate_full_seed7')!.config.ablation.psa).toBe(true);
    const all = await svc2.listAllRuns();
    expect(all.ok && all.value.filter((r) => r.stage === 'joint').length).toBe(4);

    // Resuming a finished sweep is refused; delete takes its runs along.
    const again = await svc2.resumeExperiment(listed.value[0].id, 'x3', () => undefined);
    expect(again.ok ? '' : again.error.message).toMatch(/finished/);
    const del = await svc2.deleteExperiment(listed.value[0].id, true);
    expect(del.ok).toBe(true);
    const after = await svc2.listJointRuns(ds.id);
    expect(after.ok && after.value).toEqual([]);
    const gone = await svc2.listExperiments(ds.id);
    expect(gone.ok && gone.value).toEqual([]);
  }, 120_000);
});
