/**
 * The history-shuffle test: the mean code cross-entropy of the targets (teacher forcing, eval
 * mode) once with each user's own history and once with the histories permuted across users
 * (seeded), per code level. A recommender that uses the history does clearly worse on someone
 * else's; a gap near 0 nats means its predictions would be the same for anyone.
 */
import * as tf from '@tensorflow/tfjs';
import type { EtegrecRecommender } from '../models/recommender.ts';
import { oneHotF32 } from '../nn/layers.ts';
import { permutation, Rng } from '../rng.ts';
import type { JointSamples } from '../train/jointTypes.ts';
import type { ShuffleTestResult } from './diagnostics.ts';
import { historyCodes, targetCodes } from './evaluateGenerative.ts';

export interface ShuffleTestOptions {
  seed: number;
  batchSize: number;
  lengthBucket: number;
  split?: 'test' | 'valid';
  /** Only the first `limit` samples (0 / undefined = all). */
  limit?: number;
  signal?: AbortSignal;
}

/** The samples with row i's history replaced by row perm[i]'s (targets kept). */
export function permuteHistories(s: JointSamples, perm: Int32Array): JointSamples {
  const histories = new Int32Array(s.histories.length);
  const lens = new Int32Array(s.count);
  for (let i = 0; i < s.count; i++) {
    const j = perm[i];
    histories.set(s.histories.subarray(j * s.L, (j + 1) * s.L), i * s.L);
    lens[i] = s.lens[j];
  }
  return { ...s, histories, lens };
}

/** Sum over samples of −log p(target token) per level, teacher-forced, in eval mode. */
export async function perLevelCeSums(
  model: EtegrecRecommender,
  codeTable: Int32Array,
  samples: JointSamples,
  count: number,
  opts: Pick<ShuffleTestOptions, 'batchSize' | 'lengthBucket' | 'signal'>,
): Promise<Float64Array> {
  const C = model.config.code_length;
  const K = model.config.code_num;
  const sums = new Float64Array(C);
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => samples.lens[a] - samples.lens[b] || a - b);
  for (let start = 0; start < count; start += opts.batchSize) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('cancelled');
    const rows = order.slice(start, Math.min(count, start + opts.batchSize));
    const { codes, width } = historyCodes(samples, rows, codeTable, C, opts.lengthBucket);
    const nll = tf.tidy(() => {
      const X = tf.tensor2d(codes, [rows.length, width], 'int32');
      const Y = tf.tensor2d(targetCodes(samples, rows, codeTable, C), [rows.length, C], 'int32');
      const { logits } = model.forward(X, Y, { training: false });
      const lp = tf.logSoftmax(tf.reshape(logits, [-1, K]));
      const picked = tf.sum(tf.mul(lp, oneHotF32(tf.reshape(Y, [-1]), K)), 1);
      return tf.neg(tf.sum(tf.reshape(picked, [rows.length, C]), 0));
    });
    const v = await nll.data();
    nll.dispose();
    for (let c = 0; c < C; c++) sums[c] += v[c];
  }
  return sums;
}

export async function historyShuffleTest(
  model: EtegrecRecommender,
  codeTable: Int32Array,
  samples: JointSamples,
  opts: ShuffleTestOptions,
): Promise<ShuffleTestResult> {
  const count = Math.min(samples.count, opts.limit && opts.limit > 0 ? opts.limit : samples.count);
  const subset: JointSamples = count === samples.count ? samples : { ...samples, count, histories: samples.histories.subarray(0, count * samples.L), lens: samples.lens.subarray(0, count), targets: samples.targets.subarray(0, count) };
  const shuffled = permuteHistories(subset, permutation(count, new Rng(opts.seed)));
  const real = await perLevelCeSums(model, codeTable, subset, count, opts);
  const shuf = await perLevelCeSums(model, codeTable, shuffled, count, opts);
  const n = Math.max(1, count);
  const perLevelReal = Array.from(real, (x) => x / n);
  const perLevelShuffled = Array.from(shuf, (x) => x / n);
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const ceReal = mean(perLevelReal);
  const ceShuffled = mean(perLevelShuffled);
  return { split: opts.split ?? 'test', users: count, seed: opts.seed, ceReal, ceShuffled, gap: ceShuffled - ceReal, perLevelReal, perLevelShuffled };
}
