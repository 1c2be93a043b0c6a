import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from '../../../src/core/nn/params.ts';
import { trainJoint, codeTableStats } from '../../../src/core/train/joint.ts';
import { epochPlan, jointTrainConfig, validateJointConfig } from '../../../src/core/train/jointSchedule.ts';
import type { JointCheckpoint } from '../../../src/core/train/jointTypes.ts';
import { microBatches, replicaShares } from '../../../src/core/train/jointBatch.ts';
import { TINY_ITEMS, TINY_TOK, tinyJointConfig, tinyJointData, tinyTokenizerState, useCpuBackend } from './tinyJoint.ts';

const TOK = TINY_TOK;
const N = TINY_ITEMS;
const data = tinyJointData;
const tokenizerState = tinyTokenizerState;

const tinyConfig = tinyJointConfig;

function maxAbsDiff(a: Record<string, NamedArray>, b: Record<string, NamedArray>): number {
  let m = 0;
  for (const k of Object.keys(a)) {
    const x = a[k].data;
    const y = b[k].data;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  }
  return m;
}

useCpuBackend();

describe('joint training (§5.5–§5.11)', () => {
  it('runs the alternating stage, the tests and the finetune stage with the phases of §5.6', async () => {
    const d = data();
    const cfg = tinyConfig();
    const before = tf.memory().numTensors;
    const checkpoints: JointCheckpoint[] = [];
    const perEpoch: number[] = [];
    const res = await trainJoint(d, cfg, {
      tokenizer: { state: await tokenizerState(), config: TOK },
      onCheckpoint: (c) => void checkpoints.push(c),
      onEpoch: (r) => void (r.stage === 'alternating' && perEpoch.push(tf.memory().numTensors)),
    });
    // flat over steps and epochs: the same count after every epoch, nothing left at the end
    expect(new Set(perEpoch).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    const alt = res.checkpoint.history.filter((r) => r.stage === 'alternating');
    expect(alt.map((r) => r.phase)).toEqual(['tokenizer', 'recommender', 'tokenizer', 'recommender']);
    // code table rebuilt (with statistics) exactly after tokenizer epochs; validation after odd epochs
    expect(alt.map((r) => r.codes !== undefined)).toEqual([true, false, true, false]);
    expect(alt.map((r) => r.valid !== undefined)).toEqual([false, true, false, true]);
    for (const r of res.checkpoint.history) for (const v of Object.values(r.loss)) expect(Number.isFinite(v)).toBe(true);
    // tokenizer epochs carry the vq term, recommender epochs don't
    expect(alt[0].loss.vq).toBeGreaterThan(0);
    expect(alt[1].loss.vq).toBe(0);
    expect(alt[1].loss.code).toBeGreaterThan(0);
    const ft = res.checkpoint.history.filter((r) => r.stage === 'finetune');
    expect(ft.length).toBeGreaterThan(0);
    expect(ft.every((r) => r.phase === 'recommender' && r.valid !== undefined)).toBe(true);
    expect(res.testBeforeFinetune?.count).toBe(10);
    expect(res.test?.count).toBe(10);
    for (const k of ['recall@1', 'recall@5', 'ndcg@5', 'recall@10', 'ndcg@10']) expect(res.test?.metrics[k]).toBeGreaterThanOrEqual(0);
    expect(res.checkpoint.finished).toBe(true);
    // one checkpoint before training, one per epoch, one at the stage switch, one at the end
    expect(checkpoints.length).toBe(1 + res.checkpoint.history.length + 1 + 1);
    expect(res.final.codes.length).toBe((N + 1) * 4);
    expect(Array.from(res.final.codes.subarray(0, 4))).toEqual([-1, -1, -1, -1]);
  }, 120_000);

  it('micro-batches give the full-batch update in recommender epochs (InfoNCE via the cached gradient)', async () => {
    const d = data();
    const tok = await tokenizerState();
    // w/o ETE: every epoch is a recommender epoch; one batch; no dropout so masks cannot differ
    const base = { ablation: { endToEnd: false }, batch_size: 40, warmup_steps: 0, t5: { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8, dropout_rate: 0 } };
    const full = await trainJoint(d, tinyConfig({ ...base, micro_batch_size: 40 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 1 });
    const before = tf.memory().numTensors;
    const split = await trainJoint(d, tinyConfig({ ...base, micro_batch_size: 7 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 1 });
    // nothing left behind by the cached-InfoNCE passes
    expect(tf.memory().numTensors).toBe(before);
    const f = full.checkpoint.history[0];
    const s = split.checkpoint.history[0];
    expect(f.phase).toBe('recommender');
    expect(s.loss.code).toBeCloseTo(f.loss.code, 5);
    expect(s.loss.kl).toBeCloseTo(f.loss.kl, 5);
    expect(s.loss.decCl).toBeCloseTo(f.loss.decCl, 5);
    expect(s.gradNormRecommender).toBeCloseTo(f.gradNormRecommender as number, 4);
    const diff = maxAbsDiff(full.checkpoint.current.recommender, split.checkpoint.current.recommender);
    expect(diff).toBeLessThan(2e-5);
    // and the update did something (the comparison is not vacuous)
    const init = await trainJoint(d, tinyConfig({ ...base, micro_batch_size: 40 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 0 });
    expect(maxAbsDiff(init.checkpoint.current.recommender, full.checkpoint.current.recommender)).toBeGreaterThan(1e-3);
  }, 120_000);

  it('logs the full-batch InfoNCE and the weighted total in micro-batched recommender epochs', async () => {
    const d = data();
    const tok = await tokenizerState();
    const base = { ablation: { endToEnd: false }, batch_size: 40, warmup_steps: 0, t5: { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8, dropout_rate: 0 } };
    // warm_epoch 5: the alignment weights are 0 in this epoch, InfoNCE is only logged
    const cold = { ...base, warm_epoch: 5 };
    const full = await trainJoint(d, tinyConfig({ ...cold, micro_batch_size: 40 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 1 });
    const split = await trainJoint(d, tinyConfig({ ...cold, micro_batch_size: 7 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 1 });
    const f = full.checkpoint.history[0];
    const s = split.checkpoint.history[0];
    expect(f.weights.decCl).toBe(0);
    expect(s.loss.decCl).toBeCloseTo(f.loss.decCl, 5);
    expect(s.loss.total).toBeCloseTo(f.loss.code, 5);
    // weighted: the logged total is w_code·CE + w_kl·KL + w_cl·InfoNCE, not the surrogate Σ g·h_D
    const warm = await trainJoint(d, tinyConfig({ ...base, micro_batch_size: 7 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 1 });
    const w = warm.checkpoint.history[0];
    expect(w.weights.decCl).toBeGreaterThan(0);
    expect(w.loss.total).toBeCloseTo(w.weights.code * w.loss.code + w.weights.kl * w.loss.kl + w.weights.decCl * w.loss.decCl, 5);
  }, 120_000);

  it('splits length-sorted rows into micro-batches of length groups, cut only at the micro-batch size', () => {
    // bucketed widths of 7 sorted rows; micro 4: the first micro-batch holds the groups 1,1 | 2,2,
    // the second 2 | 3,3 (a group cut by the micro-batch boundary continues in the next one)
    expect(microBatches([1, 1, 2, 2, 2, 3, 3], 4)).toEqual([
      { from: 0, to: 4, groups: [[0, 2], [2, 4]] },
      { from: 4, to: 7, groups: [[4, 5], [5, 7]] },
    ]);
    expect(microBatches([5, 5, 5], 8)).toEqual([{ from: 0, to: 3, groups: [[0, 3]] }]);
    expect(microBatches([], 8)).toEqual([]);
  });

  it('shares one micro-batch among replicas, balanced by cost, by whole length groups when dropout needs them', () => {
    // groups (width: rows) 1: 4, 5: 2, 9: 1; a row costs width + 1 (8, 12 and 10 in all) and every
    // group or piece of one a share runs 180 more
    const widths = [1, 1, 1, 1, 5, 5, 9];
    const [part] = microBatches(widths, 8);
    // whole groups, two replicas: 200 + 190 after the second group beats 188 + 382 after the first
    expect(replicaShares(part, widths, 2, true)).toEqual([
      { from: 0, to: 6, groups: [[0, 4], [4, 6]] },
      { from: 6, to: 7, groups: [[6, 7]] },
    ]);
    expect(replicaShares(part, widths, 3, true).map((p) => p.groups)).toEqual([[[0, 4]], [[4, 6]], [[6, 7]]]);
    // more replicas than groups: one share per group, the rest of the replicas idle
    expect(replicaShares(part, widths, 4, true)).toHaveLength(3);
    expect(replicaShares(microBatches([3, 3, 3], 8)[0], [3, 3, 3], 2, true)).toEqual([{ from: 0, to: 3, groups: [[0, 3]] }]);
    // any row may start a share: cutting the group of width 5 gives 374 + 376, below 380 + 190
    expect(replicaShares(part, widths, 2, false)).toEqual([
      { from: 0, to: 5, groups: [[0, 4], [4, 5]] },
      { from: 5, to: 7, groups: [[5, 6], [6, 7]] },
    ]);
    // rows of cost 4: cutting before row 1 or row 2 costs 188 at most either way; the first is taken
    expect(replicaShares(microBatches([3, 3, 3], 8)[0], [3, 3, 3], 2, false).map((p) => p.groups)).toEqual([[[0, 1]], [[1, 3]]]);
  });

  it('length groups inside a micro-batch give the update of the full-length computation', async () => {
    const d = data();
    const tok = await tokenizerState();
    // one micro-batch of the whole batch; length_bucket 1: one group per history length (1..6),
    // length_bucket 6 (= L): a single group at the full length
    const base = { ablation: { endToEnd: false }, batch_size: 40, micro_batch_size: 40, warmup_steps: 0, t5: { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8, dropout_rate: 0 } };
    const before = tf.memory().numTensors;
    const grouped = await trainJoint(d, tinyConfig({ ...base, length_bucket: 1 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const fullLength = await trainJoint(d, tinyConfig({ ...base, length_bucket: 6 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 2 });
    for (const [g, f] of grouped.checkpoint.history.map((r, i) => [r, fullLength.checkpoint.history[i]] as const)) {
      expect(g.loss.code).toBeCloseTo(f.loss.code, 5);
      expect(g.loss.kl).toBeCloseTo(f.loss.kl, 5);
      expect(g.loss.decCl).toBeCloseTo(f.loss.decCl, 5);
    }
    expect(maxAbsDiff(grouped.checkpoint.current.recommender, fullLength.checkpoint.current.recommender)).toBeLessThan(2e-5);
  }, 120_000);

  it('micro-batches give the full-batch update in tokenizer epochs', async () => {
    const d = data();
    const tok = await tokenizerState();
    const base = { batch_size: 40, warmup_steps: 0, t5: { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8, dropout_rate: 0 } };
    const full = await trainJoint(d, tinyConfig({ ...base, micro_batch_size: 40 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 1 });
    const split = await trainJoint(d, tinyConfig({ ...base, micro_batch_size: 9 }), { tokenizer: { state: tok, config: TOK }, maxEpochs: 1 });
    expect(full.checkpoint.history[0].phase).toBe('tokenizer');
    expect(maxAbsDiff(full.checkpoint.current.tokenizer, split.checkpoint.current.tokenizer)).toBeLessThan(1e-6);
    expect(maxAbsDiff(tok, full.checkpoint.current.tokenizer)).toBeGreaterThan(1e-6);
    // R is frozen in tokenizer epochs
    expect(maxAbsDiff(full.checkpoint.current.recommender, split.checkpoint.current.recommender)).toBe(0);
  }, 120_000);

  it('resuming from a checkpoint continues exactly (weights, moments, schedules, RNG, codes, epoch)', async () => {
    const d = data();
    const tok = await tokenizerState();
    const cfg = tinyConfig({ epochs: 6 });
    const straight = await trainJoint(d, cfg, { tokenizer: { state: tok, config: TOK }, maxEpochs: 3 });
    let last: JointCheckpoint | null = null;
    await trainJoint(d, cfg, { tokenizer: { state: tok, config: TOK }, maxEpochs: 2, onCheckpoint: (c) => void (last = c) });
    expect(last).not.toBeNull();
    const mid = last as unknown as JointCheckpoint;
    expect(mid.nextEpoch).toBe(2);
    const resumed = await trainJoint(d, cfg, { resume: mid, maxEpochs: 1 });
    expect(resumed.checkpoint.nextEpoch).toBe(3);
    expect(maxAbsDiff(straight.checkpoint.current.recommender, resumed.checkpoint.current.recommender)).toBe(0);
    expect(maxAbsDiff(straight.checkpoint.current.tokenizer, resumed.checkpoint.current.tokenizer)).toBe(0);
    expect(Array.from(resumed.checkpoint.current.codes)).toEqual(Array.from(straight.checkpoint.current.codes));
    expect(resumed.checkpoint.history.map((r) => r.loss.total)).toEqual(straight.checkpoint.history.map((r) => r.loss.total));
  }, 120_000);

  it('cancellation throws and keeps the last finished epoch in the checkpoint', async () => {
    const d = data();
    const ac = new AbortController();
    let last: JointCheckpoint | null = null;
    const run = trainJoint(d, tinyConfig(), {
      tokenizer: { state: await tokenizerState(), config: TOK },
      signal: ac.signal,
      onEpoch: () => ac.abort(),
      onCheckpoint: (c) => void (last = c),
    });
    await expect(run).rejects.toThrow(/cancelled/);
    expect((last as unknown as JointCheckpoint).nextEpoch).toBe(1);
  }, 120_000);

  it('refuses a tokenizer of the wrong input width', async () => {
    const d = data();
    await expect(trainJoint(d, tinyConfig(), { tokenizer: { state: await tokenizerState(), config: { ...TOK, in_dim: 13 } } })).rejects.toThrow(/12-d|13-d/);
  });

  it('train_limit trains on an evenly spaced subset: fewer batches per epoch, and a different run', async () => {
    const d = data();
    const tok = await tokenizerState();
    const totals = async (limit: number) => {
      const seen: number[] = [];
      const res = await trainJoint(d, tinyConfig({ train_limit: limit }), {
        tokenizer: { state: tok, config: TOK },
        maxEpochs: 1,
        onEvent: (e) => {
          if (e.type === 'progress' && e.unit === 'batches' && e.done === 1) seen.push(e.total ?? -1);
        },
      });
      return { seen, weights: res.checkpoint.current.tokenizer }; // epoch 0 is a tokenizer epoch
    };
    const all = await totals(0);
    const cut = await totals(20);
    expect(all.seen).toEqual([Math.ceil(40 / 16)]); // 40 training samples, batch 16
    expect(cut.seen).toEqual([Math.ceil(20 / 16)]);
    expect(maxAbsDiff(all.weights, cut.weights)).toBeGreaterThan(0);
    expect(validateJointConfig(jointTrainConfig('quick', { train_limit: -1 })).join('; ')).toMatch(/train_limit/);
    expect(validateJointConfig({ ...jointTrainConfig('quick'), train_limit: undefined })).toEqual([]); // stored before it existed
  });

  it('w/o AT trains both modules every epoch and rebuilds codes each time', () => {
    const cfg = tinyConfig({ ablation: { alternation: false } });
    const p = epochPlan(cfg, 1);
    expect(p.phase).toBe('joint');
    expect(p.trainTokenizer && p.trainRecommender && p.recomputeCodesAfter).toBe(true);
  });

  it('code-table statistics count changed items and collisions', () => {
    const prefix = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 2, 3]);
    const codes = Int32Array.from([-1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 0]);
    const prev = Int32Array.from([-1, -1, -1, -1, 0, 0, 0, 0, 5, 0, 0, 0, 1, 2, 3, 0]);
    const s = codeTableStats(prefix, codes, prev, 3, 8);
    expect(s.churn).toBe(1);
    expect(s.churnRate).toBeCloseTo(1 / 3);
    expect(s.collisionRate).toBeCloseTo(1 / 3);
    expect(s.maxSuffix).toBe(1);
  });
});
