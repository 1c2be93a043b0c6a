/**
 * k-means as scikit-learn's KMeans(n_clusters=k, max_iter, tol=1e-4, n_init=1) used for the RQ-VAE
 * codebook init (spec §4.1): greedy k-means++ seeding (2 + ⌊ln k⌋ local trials), then Lloyd
 * iterations whose distance/assignment/centroid sums run in tfjs on the current backend.
 *
 * Seeding is sequential (k small steps), so it runs in JS (float64 accumulators); it is a small part
 * of the cost. Convergence as sklearn: stop when labels stop changing, or when the total squared
 * centre shift ≤ tol · mean per-feature variance of the data.
 *
 * Empty clusters (sklearn's `_relocate_empty_clusters`): each empty cluster takes one of the points
 * farthest from their assigned centres (farthest first), and that point is removed from its old
 * cluster's sum. Random numbers come from the seeded Rng, so results are reproducible but not
 * bit-identical to sklearn's (different generator).
 */
import * as tf from '@tensorflow/tfjs';
import { StudioError, throwIfCancelled } from '../errors.ts';
import { matMul2d, oneHotF32 } from '../nn/layers.ts';
import { Rng } from '../rng.ts';

export interface KMeansOptions {
  k: number;
  /** Lloyd iterations at most (sklearn max_iter; the reference passes kmeans_iters = 100). */
  maxIter?: number;
  /** Relative tolerance (sklearn default 1e-4). */
  tol?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface KMeansResult {
  /** k × d, row-major. */
  centroids: Float32Array;
  labels: Int32Array;
  /** Σ squared distance of each point to its centre. */
  inertia: number;
  iterations: number;
  converged: boolean;
  /** Empty clusters relocated over all iterations. */
  relocated: number;
}

/** Greedy k-means++ (sklearn `_kmeans_plusplus`); returns the chosen point indices. */
export function kmeansPlusPlus(x: Float32Array, n: number, d: number, k: number, rng: Rng): Int32Array {
  const trials = 2 + Math.floor(Math.log(k));
  const chosen = new Int32Array(k);
  const dist2 = (i: number, j: number) => {
    let s = 0;
    const a = i * d;
    const b = j * d;
    for (let t = 0; t < d; t++) {
      const u = x[a + t] - x[b + t];
      s += u * u;
    }
    return s;
  };
  chosen[0] = rng.int(n);
  const closest = new Float64Array(n);
  let pot = 0;
  for (let i = 0; i < n; i++) pot += closest[i] = dist2(i, chosen[0]);
  const cand = new Float64Array(n);
  const best = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    const cum = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) cum[i] = acc += closest[i];
    let bestPot = Infinity;
    let bestId = 0;
    for (let t = 0; t < trials; t++) {
      const r = rng.next() * pot;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] < r) lo = mid + 1;
        else hi = mid;
      }
      const id = lo;
      let p = 0;
      for (let i = 0; i < n; i++) p += cand[i] = Math.min(closest[i], dist2(i, id));
      if (p < bestPot) {
        bestPot = p;
        bestId = id;
        best.set(cand);
      }
    }
    chosen[c] = bestId;
    closest.set(best);
    pot = bestPot;
  }
  return chosen;
}

/** x: n × d row-major. Requires n ≥ k. */
export async function kmeans(x: Float32Array, n: number, d: number, opts: KMeansOptions): Promise<KMeansResult> {
  const { k } = opts;
  const maxIter = opts.maxIter ?? 300;
  const tol = opts.tol ?? 1e-4;
  if (n < k) {
    throw new StudioError({ code: 'bad_option', message: `k-means needs at least as many points as clusters`, expected: `≥ ${k} points`, found: `${n}` });
  }
  const rng = new Rng(opts.seed ?? 42);
  const seeds = kmeansPlusPlus(x, n, d, k, rng);
  const centres = new Float32Array(k * d);
  for (let c = 0; c < k; c++) centres.set(x.subarray(seeds[c] * d, seeds[c] * d + d), c * d);

  // sklearn scales tol by the mean per-feature variance.
  let varSum = 0;
  for (let t = 0; t < d; t++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * d + t];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * d + t] - m) ** 2;
    varSum += v / n;
  }
  const tolScaled = (varSum / d) * tol;

  const X = tf.tensor2d(x, [n, d]);
  const xx = tf.tidy(() => tf.sum(tf.square(X), 1, true));
  const assign = async (cent: Float32Array) => {
    const [lab, mind, cnt, sums] = tf.tidy(() => {
      const C = tf.tensor2d(cent, [k, d]);
      const D = tf.sub(tf.add(xx, tf.reshape(tf.sum(tf.square(C), 1), [1, k])), tf.mul(matMul2d(X, C, false, true), 2));
      const l = tf.argMin(D, 1);
      const oh = oneHotF32(l, k);
      return [tf.cast(l, 'int32'), tf.relu(tf.min(D, 1)), tf.sum(oh, 0), matMul2d(oh, X, true, false)];
    });
    const out = {
      labels: (await lab.data()) as Int32Array,
      minDist: (await mind.data()) as Float32Array,
      counts: (await cnt.data()) as Float32Array,
      sums: (await sums.data()) as Float32Array,
    };
    tf.dispose([lab, mind, cnt, sums]);
    return out;
  };

  let labels: Int32Array = new Int32Array(n).fill(-1);
  let iterations = 0;
  let converged = false;
  let relocated = 0;
  try {
    for (let it = 0; it < maxIter; it++) {
      throwIfCancelled(opts.signal);
      const a = await assign(centres);
      iterations = it + 1;
      let same = true;
      for (let i = 0; i < n; i++) if (a.labels[i] !== labels[i]) { same = false; break; }
      labels = a.labels;
      if (same) {
        converged = true;
        break;
      }
      relocated += relocateEmpty(x, d, k, a);
      let shift = 0;
      for (let c = 0; c < k; c++) {
        const cnt = a.counts[c];
        for (let t = 0; t < d; t++) {
          const nv = cnt > 0 ? a.sums[c * d + t] / cnt : centres[c * d + t];
          shift += (nv - centres[c * d + t]) ** 2;
          centres[c * d + t] = nv;
        }
      }
      if (shift <= tolScaled) {
        converged = true;
        break;
      }
    }
    // Final labels for the final centres (sklearn does the same unless labels were stable).
    const fin = await assign(centres);
    let inertia = 0;
    for (let i = 0; i < n; i++) inertia += fin.minDist[i];
    return { centroids: centres, labels: fin.labels, inertia, iterations, converged, relocated };
  } finally {
    tf.dispose([X, xx]);
  }
}

function relocateEmpty(
  x: Float32Array,
  d: number,
  k: number,
  a: { labels: Int32Array; minDist: Float32Array; counts: Float32Array; sums: Float32Array },
): number {
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (a.counts[c] === 0) empty.push(c);
  if (!empty.length) return 0;
  const order = Array.from(a.minDist.keys()).sort((i, j) => a.minDist[j] - a.minDist[i]);
  let moved = 0;
  for (let e = 0; e < empty.length && e < order.length; e++) {
    const p = order[e];
    const old = a.labels[p];
    if (a.counts[old] <= 1) continue; // never empty another cluster
    const c = empty[e];
    for (let t = 0; t < d; t++) {
      a.sums[c * d + t] = x[p * d + t];
      a.sums[old * d + t] -= x[p * d + t];
    }
    a.counts[c] = 1;
    a.counts[old] -= 1;
    a.labels[p] = c;
    moved++;
  }
  return moved;
}
