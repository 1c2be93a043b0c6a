import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { collapseReasons, DiagnosticsAccumulator } from '../../../src/core/eval/diagnostics.ts';
import { historyShuffleTest, perLevelCeSums, permuteHistories } from '../../../src/core/eval/shuffleTest.ts';
import { T5_PAPER } from '../../../src/core/models/t5Config.ts';
import { EtegrecRecommender, type RecommenderConfig } from '../../../src/core/models/recommender.ts';
import { permutation, Rng } from '../../../src/core/rng.ts';
import { tinySamples, TINY_ITEMS, useCpuBackend } from '../train/tinyJoint.ts';

const RC: RecommenderConfig = {
  t5: { ...T5_PAPER, num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8 },
  code_length: 4,
  code_num: 8,
  e_dim: 6,
  semantic_hidden_size: 12,
  n_items_plus_pad: TINY_ITEMS + 1,
  initializer_range: 0.02,
};

/** Item i's code: distinct 4-tuples over 8 tokens. */
function codeTable(): Int32Array {
  const t = new Int32Array((TINY_ITEMS + 1) * 4).fill(-1);
  for (let i = 1; i <= TINY_ITEMS; i++) t.set([i % 8, (i * 3) % 8, (i * 5) % 8, Math.floor(i / 8)], i * 4);
  return t;
}

useCpuBackend();

describe('history-shuffle test', () => {
  const samples = tinySamples(new Rng(11), 30, 6);
  const codes = codeTable();
  const opts = { seed: 5, batchSize: 8, lengthBucket: 2 };

  it('permuting keeps the targets and moves whole histories', () => {
    const perm = permutation(samples.count, new Rng(1));
    const p = permuteHistories(samples, perm);
    expect(Array.from(p.targets)).toEqual(Array.from(samples.targets));
    for (let i = 0; i < samples.count; i++) {
      expect(p.lens[i]).toBe(samples.lens[perm[i]]);
      expect(Array.from(p.histories.subarray(i * 6, i * 6 + 6))).toEqual(Array.from(samples.histories.subarray(perm[i] * 6, perm[i] * 6 + 6)));
    }
  });

  it('is seeded: the same seed gives the same result, equal to the CE on the seeded permutation', async () => {
    const model = new EtegrecRecommender(RC, 3);
    try {
      const a = await historyShuffleTest(model, codes, samples, opts);
      const b = await historyShuffleTest(model, codes, samples, opts);
      expect(b).toEqual(a);
      const shuffled = permuteHistories(samples, permutation(samples.count, new Rng(5)));
      const sums = await perLevelCeSums(model, codes, shuffled, samples.count, opts);
      for (let c = 0; c < 4; c++) expect(a.perLevelShuffled[c]).toBeCloseTo(sums[c] / samples.count, 6);
      expect(a.users).toBe(30);
      expect(a.gap).toBeCloseTo(a.ceShuffled - a.ceReal, 12);
      // a random T5 does read its input: the two CEs differ
      expect(Math.abs(a.gap)).toBeGreaterThan(1e-5);
      const other = await historyShuffleTest(model, codes, samples, { ...opts, seed: 6 });
      expect(other.ceShuffled).not.toBe(a.ceShuffled);
      expect(other.ceReal).toBeCloseTo(a.ceReal, 6);
    } finally {
      model.dispose();
    }
  });

  it('a model that ignores the history (cross-attention output zeroed) has gap 0 and is flagged', async () => {
    const model = new EtegrecRecommender(RC, 3);
    try {
      const state = await model.stateDict();
      for (const k of Object.keys(state)) if (/EncDecAttention\.o\.weight$/.test(k)) state[k].data.fill(0);
      model.loadStateDict(state);
      const before = tf.memory().numTensors;
      const r = await historyShuffleTest(model, codes, samples, opts);
      expect(tf.memory().numTensors).toBe(before);
      expect(Math.abs(r.gap)).toBeLessThan(1e-5);
      for (let c = 0; c < 4; c++) expect(r.perLevelShuffled[c]).toBeCloseTo(r.perLevelReal[c], 5);
      const lists = new DiagnosticsAccumulator(TINY_ITEMS, 1).result();
      expect(collapseReasons({ ...lists, shuffle: r }).join()).toMatch(/history-shuffle gap/);
    } finally {
      model.dispose();
    }
  });
});
