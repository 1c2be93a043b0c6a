/** Pausing a trainer mid-epoch (and resuming it) gives bit-identical results to an uninterrupted run. */
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../src/core/events.ts';
import { EtegrecRecommender, type RecommenderConfig } from '../../../src/core/models/recommender.ts';
import { Rqvae } from '../../../src/core/models/rqvae.ts';
import type { NamedArray } from '../../../src/core/nn/params.ts';
import { PauseGate } from '../../../src/core/pause.ts';
import { Rng } from '../../../src/core/rng.ts';
import { grpoConfig, trainGrpo } from '../../../src/core/train/grpo.ts';
import { trainJoint } from '../../../src/core/train/joint.ts';
import { jointTrainConfig } from '../../../src/core/train/jointSchedule.ts';
import type { JointData, JointSamples } from '../../../src/core/train/jointTypes.ts';
import { TINY_TOK, tinyJointData, useCpuBackend } from './tinyJoint.ts';
import { trainRqvae, type RqvaeTrainConfig } from '../../../src/core/train/rqvae.ts';
import { sasrecConfig } from '../../../src/core/models/sasrec.ts';
import { trainSasrec } from '../../../src/core/train/sasrec.ts';
import type { PreparedDataset } from '../../../src/core/data/types.ts';

const TOK = TINY_TOK;
const jointData = tinyJointData;

function stateEqual(a: Record<string, NamedArray>, b: Record<string, NamedArray>): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) expect(Array.from(a[k].data)).toEqual(Array.from(b[k].data));
}

/** Pauses the gate whenever `when` says so, resuming after `ms`; records the pauses seen. */
function pauser(gate: PauseGate, when: (e: ProgressEvent) => boolean, ms = 30) {
  const phases: string[] = [];
  let pauses = 0;
  const onEvent = (e: ProgressEvent) => {
    if (e.type === 'phase') phases.push(e.phase);
    if (!gate.paused && when(e)) {
      pauses++;
      gate.pause();
      setTimeout(() => gate.resume(), ms);
    }
  };
  return { onEvent, phases, count: () => pauses };
}

/** Users walk 1→2→…→N→1 (as test/core/models/sasrec.test.ts). */
function syntheticDataset(numUsers: number, numItems: number, seed: number): PreparedDataset {
  const rng = new Rng(seed);
  const offsets = [0];
  const items: number[] = [];
  for (let u = 0; u < numUsers; u++) {
    const n = 6 + rng.int(6);
    let x = rng.int(numItems);
    for (let i = 0; i < n; i++) {
      items.push(x + 1);
      x = (x + 1) % numItems;
    }
    offsets.push(items.length);
  }
  return {
    name: 'synthetic',
    config: { kcore: 0, maxLen: 50 },
    userIds: Array.from({ length: numUsers }, (_, i) => `u${i}`),
    itemIds: Array.from({ length: numItems }, (_, i) => `i${i + 1}`),
    seqOffsets: Int32Array.from(offsets),
    seqItems: Int32Array.from(items),
    seqTimes: new Float64Array(items.length),
    seqRatings: new Float32Array(items.length),
    hasTimestamps: false,
    stats: {} as PreparedDataset['stats'],
    source: {} as PreparedDataset['source'],
  };
}

useCpuBackend();

describe('pause and resume keep results identical', () => {
  it('joint: paused mid-epoch (training and evaluation batches)', async () => {
    const t = new Rqvae(TOK, 3);
    const tok = await t.params.stateDict();
    t.dispose();
    const cfg = jointTrainConfig('quick', {
      epochs: 2, warm_epoch: 0, eval_step: 2, warmup_steps: 2, batch_size: 16, micro_batch_size: 16, eval_batch_size: 4,
      num_beams: 4, return_beams: 3, eval_limit: 0,
      t5: { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8 },
      finetune: { epochs: 0, eval_step: 1, early_stop: 2 },
    });
    const straight = await trainJoint(jointData(), cfg, { tokenizer: { state: tok, config: TOK }, maxEpochs: 2 });
    const gate = new PauseGate();
    // pause after the first batch of each training epoch and after the first validation batch
    const seen = new Set<string>();
    const p = pauser(gate, (e) => e.type === 'progress' && !seen.has(e.phase) && !!seen.add(e.phase));
    const paused = await trainJoint(jointData(), cfg, { tokenizer: { state: tok, config: TOK }, maxEpochs: 2, pause: gate, onEvent: p.onEvent });
    expect(p.count()).toBeGreaterThanOrEqual(3);
    expect(p.phases.filter((x) => x === 'paused').length).toBe(p.count());
    expect(gate.pausedMs()).toBeGreaterThanOrEqual(3 * 25);
    stateEqual(paused.checkpoint.current.recommender, straight.checkpoint.current.recommender);
    stateEqual(paused.checkpoint.current.tokenizer, straight.checkpoint.current.tokenizer);
    expect(Array.from(paused.checkpoint.current.codes)).toEqual(Array.from(straight.checkpoint.current.codes));
    const strip = (h: typeof straight.checkpoint.history) => h.map((r) => ({ loss: r.loss, valid: r.valid?.metrics }));
    expect(strip(paused.checkpoint.history)).toEqual(strip(straight.checkpoint.history));
  }, 120_000);

  it('rqvae: paused mid-epoch', async () => {
    const cfg = {
      in_dim: 16, layers: [32], e_dim: 8, num_emb_list: [16, 16, 16], beta: 0.25, quant_loss_weight: 1,
      sk_epsilons: [0, 0, 0], sk_iters: 20,
      epochs: 3, batch_size: 64, lr: 1e-2, weight_decay: 1e-4, warmup_epochs: 1, eval_step: 1, patience: 0,
      kmeans_init: true, kmeans_iters: 10, clip_norm: 1, seed: 5,
    } as RqvaeTrainConfig;
    const data = new Float32Array(200 * 16);
    let s = 1;
    for (let i = 0; i < data.length; i++) data[i] = Math.sin((s = (s * 16807) % 2147483647) / 1e4) * (1 + (i % 7));
    const straight = await trainRqvae(data, cfg, {});
    const gate = new PauseGate();
    // after k-means (batch 0 of epoch 0 then trains; batch 1 waits) and after each epoch's progress
    const p = pauser(gate, (e) => (e.type === 'phase' && e.phase === 'kmeans') || e.type === 'progress');
    const paused = await trainRqvae(data, cfg, { pause: gate, onEvent: p.onEvent });
    expect(p.count()).toBeGreaterThanOrEqual(2);
    expect(p.phases).toContain('paused');
    const strip = (r: typeof straight) => ({
      epochs: r.epochs.map((e) => [e.loss, e.reconLoss, e.rqLoss, e.lr]),
      codes: Array.from(r.final.codes),
      collision: r.final.collisionRate,
    });
    expect(strip(paused)).toEqual(strip(straight));
    stateEqual(paused.final.state, straight.final.state);
  }, 120_000);

  it('grpo: paused mid-epoch and mid-evaluation', async () => {
    const rc: RecommenderConfig = {
      t5: {
        num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 32, num_heads: 2, d_kv: 8,
        relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, dropout_rate: 0.1,
      },
      code_length: 4, code_num: 16, e_dim: 8, semantic_hidden_size: 12, n_items_plus_pad: 21, initializer_range: 0.02,
    };
    const sft = new EtegrecRecommender(rc, 7);
    const state = await sft.stateDict();
    sft.dispose();
    const codes = new Int32Array(21 * 4).fill(-1);
    for (let i = 1; i <= 20; i++) codes.set([(i - 1) % 16, Math.floor((i - 1) / 16), (5 * i) % 16, 0], i * 4);
    const rng = new Rng(5);
    const samples = (count: number): JointSamples => {
      const L = 5;
      const histories = new Int32Array(count * L);
      const lens = new Int32Array(count);
      const targets = new Int32Array(count);
      for (let s = 0; s < count; s++) {
        lens[s] = 1 + rng.int(L);
        for (let j = 0; j < lens[s]; j++) histories[s * L + j] = 1 + rng.int(20);
        targets[s] = 1 + rng.int(20);
      }
      return { count, L, histories, lens, targets };
    };
    const data: JointData = { numItems: 20, semantic: rng.normalArray(20 * 12, 1), semanticDim: 12, train: samples(40), valid: samples(12), test: samples(12) };
    const config = grpoConfig('quick', {
      epochs: 2, early_stop: 10, batch_size: 16, group_size: 4, top_k: 8, micro_batch_size: 24, lr: 1e-3,
      num_beams: 4, return_beams: 4, eval_batch_size: 5, valid_limit: 10,
    });
    const input = { data, recommenderState: state, recommenderConfig: rc, codes };
    const straight = await trainGrpo(input, config, {});
    const gate = new PauseGate();
    const seen = new Set<string>();
    const p = pauser(gate, (e) => e.type === 'progress' && !seen.has(e.phase) && !!seen.add(e.phase));
    const paused = await trainGrpo(input, config, { pause: gate, onEvent: p.onEvent });
    expect(p.count()).toBeGreaterThanOrEqual(3);
    expect(p.phases.filter((x) => x === 'paused').length).toBe(p.count());
    stateEqual(paused.bestState, straight.bestState);
    const strip = (r: typeof straight) => ({
      history: r.history.map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest),
      before: r.validBefore.metrics, after: r.validAfter.metrics, test: r.test?.metrics, best: r.bestEpoch,
    });
    expect(strip(paused)).toEqual(strip(straight));
  }, 120_000);

  it('sasrec: paused mid-epoch', async () => {
    const ds = syntheticDataset(60, 30, 7);
    const cfg = sasrecConfig('quick', {
      hidden_size: 16, inner_size: 16, n_layers: 1, n_heads: 2, MAX_ITEM_LIST_LENGTH: 8,
      train_batch_size: 32, micro_batch_size: 16, learning_rate: 1e-2, epochs: 2, stopping_step: 10, log_every: 1,
    });
    const straight = await trainSasrec(ds, cfg, { seed: 1 });
    const gate = new PauseGate();
    const p = pauser(gate, (e) => e.type === 'progress' && (e.done === 2 || e.done === 5));
    const paused = await trainSasrec(ds, cfg, { seed: 1, pause: gate, onEvent: p.onEvent });
    expect(p.count()).toBe(2);
    expect(p.phases.filter((x) => x === 'paused').length).toBe(2);
    expect(Array.from(paused.itemTable)).toEqual(Array.from(straight.itemTable));
    expect(paused.curves).toEqual(straight.curves);
    expect(paused.test).toEqual(straight.test);
    expect(paused.valid).toEqual(straight.valid);
  }, 120_000);
});
