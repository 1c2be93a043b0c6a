/**
 * The policy side of GRPO (spec §6, steps 1, 4 and 5) on the recommender: sampling G codes per
 * history, the teacher-forced log-probability of sampled codes, and the clipped policy loss + KL.
 */
import * as tf from '@tensorflow/tfjs';
import type { EtegrecRecommender } from '../models/recommender.ts';
import type { RunOptions } from '../models/t5.ts';
import { oneHotF32 } from '../nn/layers.ts';
import type { CodeTrie } from '../eval/beam.ts';
import type { Rng } from '../rng.ts';
import { sampleFromLogits, type SamplingOptions } from './grpoRewards.ts';

export interface GrpoLossParts {
  loss: tf.Scalar;
  policy: tf.Scalar;
  kl: tf.Scalar;
}

/**
 * §6 step 5: ratio = exp(logp_cur − logp_ref); policy = −mean(min(ratio·A, clip(ratio, 1−ε, 1+ε)·A));
 * kl = mean(logp_cur − logp_ref); loss = policy + β·kl. logpRef and adv are constants.
 */
export function grpoLoss(logpCur: tf.Tensor1D, logpRef: tf.Tensor1D, adv: tf.Tensor1D, clipRange: number, beta: number): GrpoLossParts {
  return tf.tidy(() => {
    const logRatio = tf.sub(logpCur, logpRef);
    const ratio = tf.exp(logRatio);
    const s1 = tf.mul(ratio, adv);
    const s2 = tf.mul(tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange), adv);
    const policy = tf.neg(tf.mean(tf.minimum(s1, s2))) as tf.Scalar;
    const kl = tf.mean(logRatio) as tf.Scalar;
    const loss = tf.add(policy, tf.mul(kl, beta)) as tf.Scalar;
    return { loss, policy, kl };
  });
}

/** Row indices [0…0, 1…1, …] (each of `batch` repeated `times`). */
function repeatIndex(batch: number, times: number): tf.Tensor1D {
  const idx = new Int32Array(batch * times);
  for (let i = 0; i < idx.length; i++) idx[i] = Math.floor(i / times);
  return tf.tensor1d(idx, 'int32');
}

/** codes [B, W] repeated per row to [B·times, W] (repeat_interleave). */
function repeatRows(codes: tf.Tensor2D, times: number): tf.Tensor2D {
  if (times === 1) return codes.clone();
  return tf.tidy(() => tf.gather(codes, repeatIndex(codes.shape[0], times)) as tf.Tensor2D);
}

export interface SampleGroupOptions extends SamplingOptions {
  /** Uniform draws of the multinomial sampler. */
  rng: Rng;
  /** Train mode (dropout on) as in the fork; default true. */
  training?: boolean;
  /** Dropout masks (seeded); without it tf.dropout is used in train mode. */
  dropoutRng?: Rng;
  /** Only codes of real items: tokens outside the trie after each row's prefix get −∞ (before temperature and top-k). */
  constraint?: CodeTrie;
}

/** Logits [rows × K] of step t with the tokens the trie does not allow after each row's prefix set to −∞ (in place). */
export function maskByTrie(logits: Float32Array, K: number, tokens: Int32Array, t: number, trie: CodeTrie): void {
  const rows = logits.length / K;
  for (let r = 0; r < rows; r++) {
    const allowed = trie.allowed(tokens.subarray(r * t, r * t + t));
    if (!allowed) continue; // a prefix of no item cannot occur when every earlier step was masked
    for (let j = 0; j < K; j++) if (!allowed[j]) logits[r * K + j] = -Infinity;
  }
}

/**
 * G sampled codes per history: flat history codes [B, 4·L] → Int32Array [B, G, 4]. The inputs are
 * repeated G times and encoded (each row its own dropout mask, as the reference); 4 decoding steps
 * with full recompute; no gradient. Rows b·G … b·G+G−1 belong to sample b.
 */
export async function sampleGroup(model: EtegrecRecommender, codes: tf.Tensor2D, G: number, o: SampleGroupOptions): Promise<Int32Array> {
  const C = model.config.code_length;
  const K = model.config.code_num;
  const B = codes.shape[0];
  const N = B * G;
  const run: RunOptions = { training: o.training ?? true, rng: o.dropoutRng };
  const { hidden, mask } = tf.tidy(() => {
    const rep = repeatRows(codes, G);
    return model.encode(rep, run);
  });
  let tokens = new Int32Array(0);
  try {
    for (let t = 0; t < C; t++) {
      const lgT = tf.tidy(() => {
        const prefix = tf.tensor2d(tokens, [N, t], 'int32');
        const H = model.decode(prefix, hidden, mask, run);
        const d = H.shape[2];
        const h = tf.reshape(tf.slice(H, [0, t, 0], [N, 1, d]), [N, d]) as tf.Tensor2D;
        return model.positionLogits(h, t);
      });
      const lg = (await lgT.data()) as Float32Array;
      lgT.dispose();
      if (o.constraint) maskByTrie(lg, K, tokens, t, o.constraint);
      const tok = sampleFromLogits(lg, K, o, o.rng);
      const next = new Int32Array(N * (t + 1));
      for (let r = 0; r < N; r++) {
        next.set(tokens.subarray(r * t, r * t + t), r * (t + 1));
        next[r * (t + 1) + t] = tok[r];
      }
      tokens = next;
    }
  } finally {
    hidden.dispose();
    mask.dispose();
  }
  return tokens;
}

/**
 * Σ_t log_softmax(logits_t)[code_t] for each sampled row, by teacher forcing (no temperature, no
 * top-k). codes: [R, 4·L] or [B, 4·L] with R = B·G (then repeated per row); sampled: [R, 4] int32.
 * Differentiable (call under tf.variableGrads for the policy).
 */
export function sequenceLogProb(model: EtegrecRecommender, codes: tf.Tensor2D, sampled: tf.Tensor2D, o: RunOptions = {}): tf.Tensor1D {
  return tf.tidy(() => {
    const R = sampled.shape[0];
    const B = codes.shape[0];
    if (R % B !== 0) throw new Error(`sequenceLogProb: ${R} sampled rows for ${B} histories`);
    const C = model.config.code_length;
    const K = model.config.code_num;
    const rep = R === B ? codes : repeatRows(codes, R / B);
    const { hidden, mask } = model.encode(rep, o);
    const prefix = tf.slice(sampled, [0, 0], [R, C - 1]) as tf.Tensor2D;
    const logits = model.logits(model.decode(prefix, hidden, mask, o));
    const lp = tf.logSoftmax(tf.reshape(logits, [R * C, K]));
    const oh = oneHotF32(tf.reshape(sampled, [-1]), K);
    return tf.sum(tf.reshape(tf.sum(tf.mul(lp, oh), 1), [R, C]), 1) as tf.Tensor1D;
  });
}
