import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { SasrecModel, sasrecConfig, type SasrecConfig } from '../../../src/core/models/sasrec.ts';
import { AdamW } from '../../../src/core/optim/adam.ts';
import { evaluateSasrec, microBatches, sampleArrays, trainSasrec, trainStep } from '../../../src/core/train/sasrec.ts';
import { registerWasmUnsortedSegmentSum } from '../../../src/core/tfjs/wasmSegmentSum.ts';
import { Rng } from '../../../src/core/rng.ts';
import type { PreparedDataset } from '../../../src/core/data/types.ts';
import type { ProgressEvent } from '../../../src/core/events.ts';

const tiny: Partial<SasrecConfig> = {
  hidden_size: 16,
  inner_size: 24,
  n_layers: 2,
  n_heads: 2,
  MAX_ITEM_LIST_LENGTH: 8,
  hidden_dropout_prob: 0.5,
  attn_dropout_prob: 0.5,
};

beforeAll(async () => {
  registerWasmUnsortedSegmentSum();
  expect(await tf.setBackend('wasm')).toBe(true);
  expect(tf.getBackend()).toBe('wasm');
});

async function encodeAll(model: SasrecModel, rows: number[][]): Promise<Float32Array> {
  const t = tf.tidy(() => model.encodeAll(tf.tensor2d(rows, undefined, 'int32'), false));
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

async function encode(model: SasrecModel, rows: number[][], lens: number[]): Promise<Float32Array> {
  const t = tf.tidy(() => model.encode(tf.tensor2d(rows, undefined, 'int32'), tf.tensor1d(lens, 'int32'), false));
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
}

describe('SASRec model', () => {
  it('uses RecBole parameter names and shapes', () => {
    const m = new SasrecModel(20, sasrecConfig('paper', tiny), new Rng(1));
    const names = m.params.names();
    expect(names).toContain('item_embedding.weight');
    expect(names).toContain('position_embedding.weight');
    expect(names).toContain('trm_encoder.layer.1.multi_head_attention.query.weight');
    expect(names).toContain('trm_encoder.layer.0.feed_forward.dense_1.bias');
    expect(names).toContain('LayerNorm.weight');
    expect(m.params.get('item_embedding.weight').shape).toEqual([21, 16]);
    expect(m.params.isLinear('trm_encoder.layer.0.feed_forward.dense_1.weight')).toBe(true);
    expect(m.params.get('trm_encoder.layer.0.feed_forward.dense_1.weight').shape).toEqual([16, 24]); // [in, out]
    m.dispose();
  });

  it('is causal: the output at t does not change when later items change', async () => {
    const m = new SasrecModel(20, sasrecConfig('paper', tiny), new Rng(2));
    const a = await encodeAll(m, [[3, 5, 7, 9, 11, 2, 4, 6]]);
    const b = await encodeAll(m, [[3, 5, 7, 9, 19, 1, 0, 0]]);
    const H = 16;
    expectClose(a.subarray(0, 4 * H), b.subarray(0, 4 * H));
    expect(Math.abs(a[4 * H] - b[4 * H])).toBeGreaterThan(1e-4);
    m.dispose();
  });

  it('is padding-invariant and the last-position shortcut equals the full computation', async () => {
    const cfg = sasrecConfig('paper', tiny);
    const full = new SasrecModel(20, { ...cfg, last_position_only: false }, new Rng(3));
    const fast = new SasrecModel(20, { ...cfg, last_position_only: true }, new Rng(3));
    const rows = [
      [4, 8, 15, 0, 0, 0, 0, 0],
      [4, 8, 15, 16, 0, 0, 0, 0],
      [1, 2, 3, 4, 5, 6, 7, 8],
    ];
    const lens = [3, 4, 8];
    const r1 = await encode(full, rows, lens);
    const r2 = await encode(fast, rows, lens);
    expectClose(r1, r2, 1e-5);
    // same history with less right padding (shorter L): same representation
    const short = await encode(full, [[4, 8, 15, 0]], [3]);
    expectClose(short, r1.subarray(0, 16), 1e-5);
    // and the full output at len−1 equals encode()
    const all = await encodeAll(full, [rows[0]]);
    expectClose(all.subarray(2 * 16, 3 * 16), r1.subarray(0, 16), 1e-5);
    full.dispose();
    fast.dispose();
  });
});

/** Users walk 1→2→…→N→1: the next item is always the previous one + 1. */
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

describe('SASRec training', () => {
  it('learns a next-item pattern, beats popularity, keeps the tensor count flat', async () => {
    const ds = syntheticDataset(80, 40, 7);
    const cfg = sasrecConfig('quick', {
      hidden_size: 32,
      inner_size: 32,
      n_layers: 1,
      n_heads: 2,
      MAX_ITEM_LIST_LENGTH: 10,
      hidden_dropout_prob: 0.1,
      attn_dropout_prob: 0.1,
      train_batch_size: 32, // ~14 steps per epoch: steps 2 and 10 both in epoch 1
      micro_batch_size: 16, // exercises gradient accumulation
      learning_rate: 1e-2,
      epochs: 5,
      stopping_step: 10,
      log_every: 3,
    });
    const counts = new Map<number, number>();
    const events: ProgressEvent[] = [];
    const res = await trainSasrec(ds, cfg, {
      seed: 1,
      onEvent: (e) => events.push(e),
      onStep: (s) => counts.set(s, tf.memory().numTensors),
    });
    expect(counts.get(10)).toBe(counts.get(2));
    const losses = res.curves.epochs.map((e) => e.trainLoss);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.7);
    expect(res.test['ndcg@10']).toBeGreaterThan(res.baselines.popularity.test['ndcg@10'] + 0.2);
    expect(res.itemTable.length).toBe(40 * 32);
    expect(res.bestEpoch).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'metric' && e.name === 'loss')).toBe(true);
    expect(events.some((e) => e.type === 'progress' && e.stage === 'sasrec' && e.etaSeconds !== undefined)).toBe(true);
  });

  it('stops after the current step on cancel and still returns a table', async () => {
    const ds = syntheticDataset(40, 20, 3);
    const cfg = sasrecConfig('quick', { hidden_size: 16, inner_size: 16, n_layers: 1, n_heads: 1, MAX_ITEM_LIST_LENGTH: 8, train_batch_size: 16, epochs: 5 });
    const ac = new AbortController();
    const before = tf.memory().numTensors;
    const res = await trainSasrec(ds, cfg, { signal: ac.signal, onStep: (s) => s === 3 && ac.abort() });
    expect(res.cancelled).toBe(true);
    expect(res.curves.steps.length).toBeGreaterThanOrEqual(0);
    expect(res.itemTable.length).toBe(20 * 16);
    expect(Number.isFinite(res.test['ndcg@10'])).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('SASRec length-bucketed micro-batches', () => {
  const ds = syntheticDataset(60, 30, 11);
  const L = 12;
  const train = sampleArrays(ds, 'train', L);

  it('sorts rows by history length and cuts each micro-batch to its bucketed longest history', () => {
    const rows = Array.from({ length: 40 }, (_, i) => i);
    const parts = microBatches(train, rows, 8, 3);
    expect(parts.flatMap((p) => p.rows).sort((a, b) => a - b)).toEqual(rows);
    const lens = parts.flatMap((p) => p.rows.map((r) => train.lens[r]));
    expect(lens).toEqual([...lens].sort((a, b) => a - b));
    for (const p of parts) {
      const longest = Math.max(...p.rows.map((r) => train.lens[r]));
      expect(p.width).toBeGreaterThanOrEqual(longest);
      expect(p.width % 3 === 0 || p.width === L).toBe(true);
      expect(p.width - longest).toBeLessThan(3);
    }
    expect(new Set(parts.map((p) => p.width)).size).toBeGreaterThan(1); // the cut really happens
    // bucket 0: batch order, full width
    expect(microBatches(train, rows, 8, 0).map((p) => p.width)).toEqual([L, L, L, L, L]);
    expect(microBatches(train, rows, 8, 0)[0].rows).toEqual(rows.slice(0, 8));
  });

  it('gives the same update and the same metrics as the full-length shapes (no dropout)', async () => {
    const cfg = sasrecConfig('quick', { ...tiny, MAX_ITEM_LIST_LENGTH: L, hidden_dropout_prob: 0, attn_dropout_prob: 0, train_batch_size: 32, micro_batch_size: 8 });
    const run = async (lengthBucket: number) => {
      const model = new SasrecModel(30, { ...cfg, length_bucket: lengthBucket }, new Rng(5));
      const opt = new AdamW(model.params.trainable().values(), { lr: 1e-2, weightDecay: 0 });
      const rows = Array.from({ length: 32 }, (_, i) => (i * 7) % train.count);
      const loss = trainStep(model, opt, train, rows, new Rng(1));
      const lossValue = (await loss.data())[0];
      loss.dispose();
      const table = await model.params.get('item_embedding.weight').data();
      const metrics = await evaluateSasrec(model, sampleArrays(ds, 'test', L), 16);
      model.params.dispose();
      opt.dispose();
      return { lossValue, table, metrics };
    };
    const full = await run(0);
    const cut = await run(4);
    expect(cut.lossValue).toBeCloseTo(full.lossValue, 5);
    expectClose(cut.table, full.table, 2e-5);
    for (const k of Object.keys(full.metrics) as (keyof typeof full.metrics)[]) expect(cut.metrics[k]).toBeCloseTo(full.metrics[k] as number, 6);
  });
});
