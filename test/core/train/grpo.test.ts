import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { beamSearch, CodeTrie } from '../../../src/core/eval/beam.ts';
import { CodeIndex } from '../../../src/core/eval/generative.ts';
import { EtegrecRecommender, type RecommenderConfig } from '../../../src/core/models/recommender.ts';
import { Rng } from '../../../src/core/rng.ts';
import {
  GRPO_PRESETS,
  INVALID_REWARD,
  grpoConfig,
  grpoLoss,
  groupAdvantages,
  groupRewards,
  sampleFromLogits,
  maskByTrie,
  sampleGroup,
  sequenceLogProb,
  topKFilter,
  trainGrpo,
  validateGrpoConfig,
  type GrpoConfig,
  type GrpoEpochRecord,
  type GrpoStepRecord,
} from '../../../src/core/train/grpo.ts';
import type { JointData, JointSamples } from '../../../src/core/train/jointTypes.ts';

const N_ITEMS = 20;
const K = 16;

function tinyConfig(dropout = 0.1): RecommenderConfig {
  return {
    t5: {
      num_layers: 1,
      num_decoder_layers: 1,
      d_model: 16,
      d_ff: 32,
      num_heads: 2,
      d_kv: 8,
      relative_attention_num_buckets: 32,
      relative_attention_max_distance: 128,
      layer_norm_epsilon: 1e-6,
      dropout_rate: dropout,
    },
    code_length: 4,
    code_num: K,
    e_dim: 8,
    semantic_hidden_size: 12,
    n_items_plus_pad: N_ITEMS + 1,
    initializer_range: 0.02,
  };
}

/** (N+1) × 4 unique codes: item i → [(i−1) mod 16, ⌊(i−1)/16⌋, 5i mod 16, 0]; row 0 = −1s. */
function codeTable(): Int32Array {
  const t = new Int32Array((N_ITEMS + 1) * 4).fill(-1);
  for (let i = 1; i <= N_ITEMS; i++) t.set([(i - 1) % 16, Math.floor((i - 1) / 16), (5 * i) % 16, 0], i * 4);
  return t;
}

function samples(count: number, L: number, rng: Rng): JointSamples {
  const histories = new Int32Array(count * L);
  const lens = new Int32Array(count);
  const targets = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    lens[s] = 1 + rng.int(L);
    for (let j = 0; j < lens[s]; j++) histories[s * L + j] = 1 + rng.int(N_ITEMS);
    targets[s] = 1 + rng.int(N_ITEMS);
  }
  return { count, L, histories, lens, targets };
}

function tinyData(): JointData {
  const rng = new Rng(5);
  return {
    numItems: N_ITEMS,
    semantic: rng.normalArray(N_ITEMS * 12, 1),
    semanticDim: 12,
    train: samples(40, 5, rng),
    valid: samples(12, 5, rng),
    test: samples(12, 5, rng),
  };
}

function histCodes(rows: number, L: number, rng: Rng): tf.Tensor2D {
  const table = codeTable();
  const out = new Int32Array(rows * L * 4).fill(-1);
  for (let r = 0; r < rows; r++) {
    const len = 1 + rng.int(L);
    for (let j = 0; j < len; j++) {
      const item = 1 + rng.int(N_ITEMS);
      out.set(table.subarray(item * 4, item * 4 + 4), (r * L + j) * 4);
    }
  }
  return tf.tensor2d(out, [rows, L * 4], 'int32');
}

beforeAll(async () => {
  expect(await tf.setBackend('cpu')).toBe(true);
});

describe('groupRewards', () => {
  it('rule + α·cos against hand-computed values', () => {
    // semantic rows (D = 2): item1 = [1, 0], item2 = [0, 1], item3 = [1, √3]
    const semantic = Float32Array.from([1, 0, 0, 1, 1, Math.sqrt(3)]);
    // one group of 4 for target item 1: generated [1 (hit), 2 (valid miss), −1 (invalid), 3 (valid miss)]
    const r = groupRewards(Int32Array.from([1, 2, -1, 3]), Int32Array.from([1]), semantic, 2, 0.5);
    // hit: 1 + 0.5·cos([1,0],[1,0]) = 1 + 0.5·1 = 1.5
    expect(r[0]).toBeCloseTo(1.5, 6);
    // miss: 0 + 0.5·cos([0,1],[1,0]) = 0.5·0 = 0
    expect(r[1]).toBeCloseTo(0, 6);
    // invalid: −0.1 + 0.5·0 = −0.1
    expect(r[2]).toBeCloseTo(-0.1, 6);
    expect(INVALID_REWARD).toBe(-0.1);
    // miss: 0.5·cos([1,√3],[1,0]) = 0.5·(1 / (2·1)) = 0.25
    expect(r[3]).toBeCloseTo(0.25, 6);
  });

  it('targets per sample broadcast over the group; per-row targets work too', () => {
    const semantic = Float32Array.from([1, 0, 0, 1]);
    // B = 2, G = 2: sample 0 → target 1, sample 1 → target 2
    const a = groupRewards(Int32Array.from([1, 2, 1, 2]), Int32Array.from([1, 2]), semantic, 2, 1);
    // rows: (1 vs 1) 1+1 = 2, (2 vs 1) 0+0 = 0, (1 vs 2) 0, (2 vs 2) 2
    expect(Array.from(a)).toEqual([2, 0, 0, 2]);
    const b = groupRewards(Int32Array.from([1, 2, 1, 2]), Int32Array.from([1, 1, 2, 2]), semantic, 2, 1);
    expect(Array.from(b)).toEqual([2, 0, 0, 2]);
  });
});

describe('groupAdvantages', () => {
  it('(r − mean) / (unbiased std + 1e-8) for the group [1.5, 0, −0.1, 0.25]', () => {
    // mean = (1.5 + 0 − 0.1 + 0.25) / 4 = 1.65 / 4 = 0.4125
    // deviations: 1.0875, −0.4125, −0.5125, −0.1625
    // squares: 1.18265625 + 0.17015625 + 0.26265625 + 0.02640625 = 1.641875
    // unbiased variance = 1.641875 / 3 = 0.547291666…; std = √0.547291666… = 0.73979163733
    // advantages = deviations / std = 1.47000849, −0.55758943, −0.69276262, −0.21965644
    const a = groupAdvantages(Float32Array.from([1.5, 0, -0.1, 0.25]), 4);
    const want = [1.47000849, -0.55758943, -0.69276262, -0.21965644];
    want.forEach((w, i) => expect(a[i]).toBeCloseTo(w, 5));
  });

  it('normalises each group separately; a constant group gives 0', () => {
    // group 1 [1, 3]: mean 2, std √((1 + 1) / 1) = √2 → ±1/√2; group 2 [5, 5]: std 0 → 0 / 1e-8 = 0
    const a = groupAdvantages(Float32Array.from([1, 3, 5, 5]), 2);
    expect(a[0]).toBeCloseTo(-Math.SQRT1_2, 6);
    expect(a[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(a[2]).toBe(0);
    expect(a[3]).toBe(0);
  });
});

describe('grpoLoss', () => {
  it('clipped objective and k1 KL against hand-computed values, and its gradient', async () => {
    // row: logp_cur, logp_ref, log-ratio, ratio, A → min(ratio·A, clip(ratio, 0.8, 1.2)·A)
    // 0: −1.0, −1.5, +0.5, e^0.5 = 1.64872127, A = +1 → min(1.64872127, 1.2) = 1.2          (clipped)
    // 1: −2.5, −2.0, −0.5, e^−0.5 = 0.60653066, A = +1 → min(0.60653066, 0.8) = 0.60653066 (unclipped)
    // 2: −3.0, −3.5, +0.5, 1.64872127, A = −1 → min(−1.64872127, −1.2) = −1.64872127      (unclipped)
    // 3: −0.5, −0.5,  0.0, 1, A = −1 → min(−1, −1) = −1
    // policy = −(1.2 + 0.60653066 − 1.64872127 − 1) / 4 = −(−0.84219061) / 4 = 0.21054765
    // kl = (0.5 − 0.5 + 0.5 + 0) / 4 = 0.125;  loss = 0.21054765 + 0.05·0.125 = 0.21679765
    const cur = tf.tensor1d([-1, -2.5, -3, -0.5]);
    const ref = tf.tensor1d([-1.5, -2, -3.5, -0.5]);
    const adv = tf.tensor1d([1, 1, -1, -1]);
    const { loss, policy, kl } = grpoLoss(cur, ref, adv, 0.2, 0.05);
    expect((await policy.data())[0]).toBeCloseTo(0.21054765, 5);
    expect((await kl.data())[0]).toBeCloseTo(0.125, 6);
    expect((await loss.data())[0]).toBeCloseTo(0.21679765, 5);
    // d loss / d logp_cur = −(1/4)·d(min)/d cur + β/4:
    // row 0 clipped: 0 + 0.0125; row 1: −0.60653066/4 + 0.0125 = −0.13913267; row 2: +1.64872127/4 + 0.0125 = 0.42468032
    const g = tf.grad((x: tf.Tensor) => grpoLoss(x as tf.Tensor1D, ref, adv, 0.2, 0.05).loss)(cur);
    const gd = await g.data();
    expect(gd[0]).toBeCloseTo(0.0125, 6);
    expect(gd[1]).toBeCloseTo(-0.13913267, 5);
    expect(gd[2]).toBeCloseTo(0.42468032, 5);
    tf.dispose([cur, ref, adv, loss, policy, kl, g]);
  });
});

describe('top-k and sampling', () => {
  it('topKFilter keeps values ≥ the k-th largest per row (ties kept)', () => {
    const f = topKFilter(Float32Array.from([3, 1, 4, 1, 5, 2, 2, 1, 0, -1]), 5, 2);
    // row [3, 1, 4, 1, 5]: 2nd largest 4 → [−∞, −∞, 4, −∞, 5]; row [2, 2, 1, 0, −1]: 2nd largest 2 → [2, 2, −∞, −∞, −∞]
    expect(Array.from(f)).toEqual([-Infinity, -Infinity, 4, -Infinity, 5, 2, 2, -Infinity, -Infinity, -Infinity]);
    const one = topKFilter(Float32Array.from([2, 2, 1]), 3, 1);
    expect(Array.from(one)).toEqual([2, 2, -Infinity]);
    expect(Array.from(topKFilter(Float32Array.from([1, 2]), 2, 50))).toEqual([1, 2]);
  });

  it('the sampler is deterministic for a seed, emits only top-k tokens, and follows the softmax', () => {
    const rows = 2000;
    const Kc = 6;
    const logits = new Float32Array(rows * Kc);
    // per row: [0, ln 3, 5, −2, 4.5, −1]; top-3 = {2, 4, 0}? no: sorted 5, 4.5, ln3≈1.0986 → {2, 4, 1}
    for (let r = 0; r < rows; r++) logits.set([0, Math.log(3), 5, -2, 4.5, -1], r * Kc);
    const a = sampleFromLogits(logits, Kc, { temperature: 1, topK: 3 }, new Rng(11));
    const b = sampleFromLogits(logits, Kc, { temperature: 1, topK: 3 }, new Rng(11));
    expect(Array.from(a)).toEqual(Array.from(b));
    const counts = new Array<number>(Kc).fill(0);
    for (const t of a) counts[t]++;
    expect(counts[0] + counts[3] + counts[5]).toBe(0);
    // p ∝ [3, e^5, e^4.5] over {1, 2, 4}: p(2) = e^5 / (3 + e^5 + e^4.5) = 148.41 / 241.43 = 0.6147
    expect(counts[2] / rows).toBeGreaterThan(0.58);
    expect(counts[2] / rows).toBeLessThan(0.65);
    // temperature → large flattens; topK 1 is argmax
    const g = sampleFromLogits(logits.subarray(0, Kc * 10), Kc, { temperature: 0.5, topK: 1 }, new Rng(3));
    expect(Array.from(g)).toEqual(new Array<number>(10).fill(2));
  });
});

describe('sampleGroup / sequenceLogProb (tiny model)', () => {
  it('sampleGroup: shape, range, determinism; top_k 1 in eval mode equals greedy decoding', async () => {
    const model = new EtegrecRecommender(tinyConfig(), 3);
    const codes = histCodes(3, 4, new Rng(1));
    const before = tf.memory().numTensors;
    const o = { temperature: 1, topK: 4, training: true };
    const s1 = await sampleGroup(model, codes, 5, { ...o, rng: new Rng(9), dropoutRng: new Rng(10) });
    const s2 = await sampleGroup(model, codes, 5, { ...o, rng: new Rng(9), dropoutRng: new Rng(10) });
    expect(s1.length).toBe(3 * 5 * 4);
    expect(Array.from(s1)).toEqual(Array.from(s2));
    for (const t of s1) expect(t >= 0 && t < K).toBe(true);
    const greedy = await sampleGroup(model, codes, 2, { temperature: 1, topK: 1, training: false, rng: new Rng(1) });
    const beam = await beamSearch(model, codes, { beams: 1, returnCount: 1 });
    for (let b = 0; b < 3; b++) {
      for (let j = 0; j < 2; j++) expect(Array.from(greedy.subarray((b * 2 + j) * 4, (b * 2 + j + 1) * 4))).toEqual(Array.from(beam.sequences.subarray(b * 4, b * 4 + 4)));
    }
    expect(tf.memory().numTensors).toBe(before);
    codes.dispose();
    model.dispose();
  });

  it('sequenceLogProb equals Σ_t log_softmax(forward logits)[label] (per-history and repeated codes)', async () => {
    const model = new EtegrecRecommender(tinyConfig(), 4);
    const codes = histCodes(2, 3, new Rng(2));
    const G = 3;
    const sampled = await sampleGroup(model, codes, G, { temperature: 1, topK: K, training: false, rng: new Rng(5) });
    const lab = tf.tensor2d(sampled, [2 * G, 4], 'int32');
    const got = sequenceLogProb(model, codes, lab, { training: false });
    const rep = tf.tidy(() => tf.gather(codes, tf.tensor1d([0, 0, 0, 1, 1, 1], 'int32')) as tf.Tensor2D);
    const got2 = sequenceLogProb(model, rep, lab);
    const lpT = tf.tidy(() => tf.logSoftmax(model.forward(rep, lab).logits));
    const lp = await lpT.data();
    const want: number[] = [];
    for (let r = 0; r < 2 * G; r++) {
      let s = 0;
      for (let t = 0; t < 4; t++) s += lp[(r * 4 + t) * K + sampled[r * 4 + t]];
      want.push(s);
    }
    const g1 = await got.data();
    const g2 = await got2.data();
    want.forEach((w, i) => {
      expect(g1[i]).toBeCloseTo(w, 5);
      expect(g2[i]).toBeCloseTo(w, 5);
    });
    tf.dispose([codes, lab, got, got2, rep, lpT]);
    model.dispose();
  });
});

describe('presets', () => {
  it('paper = train_grpo.py defaults; every value has a provenance; overrides apply', () => {
    const p = GRPO_PRESETS.paper.values;
    expect([p.group_size, p.kl_coeff, p.temperature, p.top_k, p.reward_alpha, p.clip_range, p.lr]).toEqual([4, 0.05, 1, 50, 0.5, 0.2, 1e-5]);
    expect([p.epochs, p.early_stop, p.eval_step, p.batch_size, p.grad_accum, p.weight_decay, p.clip_norm]).toEqual([20, 5, 1, 256, 1, 0.05, 1]);
    for (const name of ['paper', 'quick'] as const) {
      const pr = GRPO_PRESETS[name];
      for (const k of Object.keys(pr.values)) expect(pr.provenance[k as keyof GrpoConfig]?.sources.length).toBeGreaterThan(0);
      expect(validateGrpoConfig(pr.values)).toEqual([]);
    }
    // the quick preset trains on a subset; the paper preset on every history, unconstrained (as the fork)
    expect([p.train_limit, p.constrained_sampling]).toEqual([null, false]);
    expect(GRPO_PRESETS.quick.values.train_limit).toBe(384);
    expect(GRPO_PRESETS.quick.values.constrained_sampling).toBe(false);
    expect(validateGrpoConfig(grpoConfig('quick', { train_limit: 0 }))).toHaveLength(1);
    const q = grpoConfig('quick', { epochs: 3 });
    expect(q.epochs).toBe(3);
    expect(q.batch_size).toBe(32);
    expect(GRPO_PRESETS.quick.values.epochs).toBe(2);
    expect(validateGrpoConfig(grpoConfig('paper', { group_size: 1 }))).toHaveLength(1);
  });
});

describe('trainGrpo (tiny end to end)', () => {
  it('runs, returns finite numbers, keeps the tensor count flat and the semantic table frozen', async () => {
    const cfg = tinyConfig();
    const sft = new EtegrecRecommender(cfg, 7);
    const state = await sft.stateDict();
    sft.dispose();
    const data = tinyData();
    const config = grpoConfig('quick', {
      epochs: 3,
      early_stop: 10,
      batch_size: 16,
      group_size: 4,
      top_k: 8,
      micro_batch_size: 24, // 6 histories per chunk → 3 chunks for a batch of 16
      lr: 1e-3,
      num_beams: 4,
      return_beams: 4,
      eval_batch_size: 5,
      valid_limit: 10,
    });
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const epochs: GrpoEpochRecord[] = [];
    const events: string[] = [];
    const res = await trainGrpo({ data, recommenderState: state, recommenderConfig: cfg, codes: codeTable() }, config, {
      onEpoch: (r) => {
        epochs.push(r);
        counts.push(tf.memory().numTensors);
      },
      onEvent: (e) => {
        if (e.type === 'metric') events.push(e.name);
        if (e.type === 'progress' && e.phase === 'train') expect(e.total).toBe(9);
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(counts).toHaveLength(3);
    expect(new Set(counts).size).toBe(1);
    expect(res.history).toHaveLength(3);
    for (const r of res.history) {
      for (const v of [r.rewardMean, r.kl, r.policyLoss, r.loss, r.gradNorm, r.lr, r.hitRate, r.invalidRate]) expect(Number.isFinite(v)).toBe(true);
      expect(r.gradNorm).toBeGreaterThan(0);
      expect(r.valid?.count).toBe(10);
    }
    expect(res.history[0].lr).toBeLessThan(1e-3);
    expect(res.validBefore.count).toBe(10);
    expect(res.cancelled).toBe(false);
    expect(res.test?.count).toBe(12);
    for (const v of Object.values(res.test?.metrics ?? {})) expect(Number.isFinite(v)).toBe(true);
    expect(events).toEqual(expect.arrayContaining(['reward_mean', 'kl', 'policy_loss', 'valid/ndcg@10']));
    expect(Array.from(res.bestState['semantic_embedding.weight'].data)).toEqual(Array.from(state['semantic_embedding.weight'].data));
    // the policy moved (when an epoch improved) or the SFT state is returned unchanged
    const w = 'token_embeddings.0.weight';
    const moved = res.bestState[w].data.some((x, i) => x !== state[w].data[i]);
    expect(moved).toBe(res.bestEpoch >= 0);
  }, 120_000);

  it('stops on an aborted signal without leaking tensors', async () => {
    const cfg = tinyConfig();
    const sft = new EtegrecRecommender(cfg, 7);
    const state = await sft.stateDict();
    sft.dispose();
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(
      trainGrpo({ data: tinyData(), recommenderState: state, recommenderConfig: cfg, codes: codeTable() }, grpoConfig('quick', { num_beams: 2, return_beams: 2 }), { signal: ac.signal }),
    ).rejects.toThrow('stop');
    expect(tf.memory().numTensors).toBe(before);
  });

  const tinyInput = async () => {
    const cfg = tinyConfig();
    const sft = new EtegrecRecommender(cfg, 7);
    const state = await sft.stateDict();
    sft.dispose();
    return { data: tinyData(), recommenderState: state, recommenderConfig: cfg, codes: codeTable() };
  };
  const small = { early_stop: 10, batch_size: 8, group_size: 3, top_k: 8, lr: 1e-3, num_beams: 3, return_beams: 3, eval_batch_size: 6, valid_limit: 6, test_limit: 6 };

  it('train_limit: evenly spaced subset, one record and one metric point per update', async () => {
    const input = await tinyInput();
    const steps: GrpoStepRecord[] = [];
    const totals = new Set<number>();
    const rewardSteps: number[] = [];
    const validSteps: number[] = [];
    // 20 of the 40 histories, batch 8 → 3 updates per epoch (8, 8, 4), 2 epochs
    const res = await trainGrpo(input, grpoConfig('quick', { ...small, epochs: 2, train_limit: 20 }), {
      onStep: (r) => steps.push(r),
      onEvent: (e) => {
        if (e.type === 'progress' && e.phase === 'train') totals.add(e.total ?? -1);
        if (e.type === 'metric' && e.name === 'reward_mean') rewardSteps.push(e.step);
        if (e.type === 'metric' && e.name === 'valid/ndcg@10') validSteps.push(e.step);
      },
    });
    expect([...totals]).toEqual([6]);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rewardSteps).toEqual([1, 2, 3, 4, 5, 6]);
    expect(validSteps).toEqual([3, 6]);
    expect(res.history.map((h) => h.endStep)).toEqual([3, 6]);
    expect(res.history.map((h) => h.steps?.length)).toEqual([3, 3]);
    // the epoch's KL is the mean of its updates' (each update's is the mean over its rows)
    for (const h of res.history) {
      const st = h.steps ?? [];
      expect(h.kl).toBeCloseTo(st.reduce((a, b) => a + b.kl, 0) / st.length, 6);
      // reward mean over rows: updates of 8·3 and 4·3 rows weigh 2:2:1
      expect(h.rewardMean).toBeCloseTo((st[0].rewardMean * 2 + st[1].rewardMean * 2 + st[2].rewardMean) / 5, 5);
      for (const x of st) expect(x.invalidRate).toBeGreaterThanOrEqual(0);
    }
    // the first update uses the base lr (cosine from 0 warmup), later ones less
    expect(steps[0].lr).toBeCloseTo(1e-3, 9);
    expect(steps[5].lr).toBeLessThan(steps[1].lr);
  }, 120_000);

  it('a cancel after the first epoch returns its best state, validated and untested, without leaking tensors', async () => {
    const input = await tinyInput();
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    const res = await trainGrpo(input, grpoConfig('quick', { ...small, epochs: 5, train_limit: 16 }), {
      signal: ac.signal,
      onEpoch: () => ac.abort(new Error('stop')),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(res.cancelled).toBe(true);
    expect(res.test).toBeNull();
    expect(res.history).toHaveLength(1);
    expect(res.validBefore.count).toBe(6);
    const w = 'token_embeddings.0.weight';
    const moved = res.bestState[w].data.some((x, i) => x !== input.recommenderState[w].data[i]);
    // kept: epoch 1 when it improved on 0 (the EarlyStopper starts at 0), else the SFT state
    expect(res.bestEpoch).toBe(res.history[0].improved ? 0 : -1);
    expect(moved).toBe(res.bestEpoch === 0);
    expect(res.validAfter).toBe(res.bestEpoch === 0 ? res.history[0].valid : res.validBefore);
  }, 120_000);

  it('constrained sampling draws only codes of real items', async () => {
    const input = await tinyInput();
    const steps: GrpoStepRecord[] = [];
    await trainGrpo(input, grpoConfig('quick', { ...small, epochs: 1, train_limit: 16, constrained_sampling: true, top_k: 50 }), { onStep: (r) => steps.push(r) });
    expect(steps).toHaveLength(2);
    for (const s of steps) expect(s.invalidRate).toBe(0);
  }, 120_000);
});

describe('constrained sampling', () => {
  it('maskByTrie keeps only the children of each row\'s prefix (hand-built trie)', () => {
    // items: [0,1], [0,2], [3,0] with K = 4, code length 2
    const trie = new CodeTrie([-1, -1, 0, 1, 0, 2, 3, 0], 2, 4);
    const step0 = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    maskByTrie(step0, 4, new Int32Array(0), 0, trie);
    expect(Array.from(step0)).toEqual([1, -Infinity, -Infinity, 4, 5, -Infinity, -Infinity, 8]);
    const step1 = new Float32Array([1, 2, 3, 4, 1, 2, 3, 4]);
    maskByTrie(step1, 4, new Int32Array([0, 3]), 1, trie);
    expect(Array.from(step1)).toEqual([-Infinity, 2, 3, -Infinity, 1, -Infinity, -Infinity, -Infinity]);
  });

  it('sampleGroup with the trie of the code table: every sampled code is an item; without it some are not', async () => {
    const model = new EtegrecRecommender(tinyConfig(0), 3);
    const table = codeTable();
    const index = new CodeIndex(table);
    const hist = histCodes(6, 5, new Rng(2));
    try {
      const o = { temperature: 1, topK: 16, training: false };
      const free = await sampleGroup(model, hist, 8, { ...o, rng: new Rng(9) });
      const held = await sampleGroup(model, hist, 8, { ...o, rng: new Rng(9), constraint: new CodeTrie(table, 4, K) });
      const invalid = (codes: Int32Array) => Array.from({ length: codes.length / 4 }, (_, r) => index.lookup(codes, r * 4)).filter((i) => i < 0).length;
      // 20 items among 16^4 codes: an untrained model almost never samples one
      expect(invalid(free)).toBeGreaterThan(40);
      expect(invalid(held)).toBe(0);
    } finally {
      hist.dispose();
      model.dispose();
    }
  });
});
