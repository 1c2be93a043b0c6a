/**
 * Full-ranking metrics (RecBole full-sort evaluation for sequential models): every item 1..N is a
 * candidate; only PAD (id 0) is excluded; history items are NOT masked (RecBole builds no history
 * mask for sequential data loaders).
 *
 * Ties: rank = 1 + #items with a strictly higher score (the target wins ties, "optimistic").
 * RecBole's torch.topk orders ties arbitrarily; with float model scores exact ties are rare, with
 * integer popularity counts they are not — `tie: 'pessimistic'` (rank = #items with score ≥ target)
 * gives the other bound.
 */
import * as tf from '@tensorflow/tfjs';

export const DEFAULT_KS = [1, 5, 10] as const;

/** Keys `recall@K` and `ndcg@K` for each K. */
export type RankingMetrics = Record<string, number>;

export type TieRule = 'optimistic' | 'pessimistic';

/** Sums Recall@K / NDCG@K over ranks; `result()` averages. */
export class RankingAccumulator {
  private readonly recall: number[];
  private readonly ndcg: number[];
  count = 0;

  constructor(readonly ks: readonly number[] = DEFAULT_KS) {
    this.recall = ks.map(() => 0);
    this.ndcg = ks.map(() => 0);
  }

  /** Adds one 1-based rank. */
  add(rank: number): void {
    this.count++;
    for (let i = 0; i < this.ks.length; i++) {
      if (rank <= this.ks[i]) {
        this.recall[i] += 1;
        this.ndcg[i] += 1 / Math.log2(rank + 1);
      }
    }
  }

  addAll(ranks: ArrayLike<number>): void {
    for (let i = 0; i < ranks.length; i++) this.add(ranks[i]);
  }

  result(): RankingMetrics {
    const out: RankingMetrics = {};
    const n = Math.max(1, this.count);
    this.ks.forEach((k, i) => (out[`recall@${k}`] = this.recall[i] / n));
    this.ks.forEach((k, i) => (out[`ndcg@${k}`] = this.ndcg[i] / n));
    return out;
  }
}

/** Rank of column `target` in one row of scores. */
export function rankOf(scores: ArrayLike<number>, target: number, tie: TieRule = 'optimistic'): number {
  const s = scores[target];
  let higher = 0;
  let equal = 0;
  for (let j = 0; j < scores.length; j++) {
    if (scores[j] > s) higher++;
    else if (scores[j] === s && j !== target) equal++;
  }
  return 1 + higher + (tie === 'pessimistic' ? equal : 0);
}

/** Metrics from a row-major [rows × cols] score matrix and 0-based target columns. */
export function metricsFromScores(
  scores: ArrayLike<number>,
  cols: number,
  targets: ArrayLike<number>,
  ks: readonly number[] = DEFAULT_KS,
  tie: TieRule = 'optimistic',
): RankingMetrics {
  const acc = new RankingAccumulator(ks);
  const row = new Float64Array(cols);
  for (let r = 0; r < targets.length; r++) {
    for (let j = 0; j < cols; j++) row[j] = scores[r * cols + j];
    acc.add(rankOf(row, targets[r], tie));
  }
  return acc.result();
}

/**
 * On-device optimistic ranks: scores [B, C], targets [B] (0-based int32 columns) → int32 [B] of
 * 1 + #columns scoring strictly higher than the target. Only B numbers need reading back.
 */
export function ranksOnDevice(scores: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const C = scores.shape[1];
    // int32 one-hot then cast: wasm's OneHot ignores dtype 'float32' (tfjs 4.22).
    const t = tf.sum(tf.mul(scores, tf.cast(tf.oneHot(targets, C), 'float32')), 1, true);
    return tf.add(tf.sum(tf.cast(tf.greater(scores, t), 'int32'), 1), 1) as tf.Tensor1D;
  });
}

/**
 * Popularity baseline: item scores are the training interaction counts. `counts[j]` is the count
 * of item id j+1; `targets` are item ids (1..N).
 */
export function popularityMetrics(
  counts: ArrayLike<number>,
  targets: ArrayLike<number>,
  ks: readonly number[] = DEFAULT_KS,
  tie: TieRule = 'optimistic',
): RankingMetrics {
  const sorted = Float64Array.from(counts).sort();
  const n = sorted.length;
  const acc = new RankingAccumulator(ks);
  for (let i = 0; i < targets.length; i++) {
    const c = counts[targets[i] - 1];
    const above = n - upperBound(sorted, c); // strictly greater
    const ge = n - lowerBound(sorted, c); // ≥, includes the target itself
    acc.add(tie === 'optimistic' ? 1 + above : ge);
  }
  return acc.result();
}

function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
