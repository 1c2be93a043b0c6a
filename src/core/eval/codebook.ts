/**
 * Codebook health of an item → code assignment (spec §4.4 plus the usual collapse diagnostics):
 * collision rate (N − #distinct tuples)/N, Gini of code usage per level and mean (fork's
 * compute_gini), codes used, dead codes, entropy (bits) / perplexity, largest collision group;
 * and the codebook inspector's geometry: a 2-D PCA of latents / codebooks and each item's nearest
 * codes per level.
 */

export interface LevelStats {
  level: number;
  codebookSize: number;
  codesUsed: number;
  deadCodes: number;
  /** Shannon entropy of code usage in bits; perplexity = 2^entropy. */
  entropy: number;
  perplexity: number;
  gini: number;
  /** Items on the most used code. */
  maxCount: number;
  counts: Int32Array;
}

export interface CodebookStats {
  items: number;
  distinctTuples: number;
  /** (N − distinct) / N, before any de-dup suffix. */
  collisionRate: number;
  /** Items that share their tuple with at least one other item. */
  collidingItems: number;
  largestCollisionGroup: number;
  levels: LevelStats[];
  gini: { per_level: number[]; mean: number };
}

/**
 * G = Σ_{i=1..K} (2i − K − 1)·c_(i) / (K · Σ c) over ascending counts (zeros included);
 * 0 if all counts are zero.
 */
export function giniFromCounts(counts: ArrayLike<number>): number {
  const c = Float64Array.from(counts).sort();
  const K = c.length;
  let total = 0;
  let num = 0;
  for (let i = 0; i < K; i++) {
    total += c[i];
    num += (2 * (i + 1) - K - 1) * c[i];
  }
  return total === 0 ? 0 : num / (K * total);
}

export function codeCounts(codes: ArrayLike<number>, K: number): Int32Array {
  const counts = new Int32Array(K);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (!(c >= 0 && c < K)) throw new RangeError(`code ${c} at ${i} is outside [0, ${K})`);
    counts[c]++;
  }
  return counts;
}

export function gini(codes: ArrayLike<number>, K: number): number {
  return giniFromCounts(codeCounts(codes, K));
}

/** codes: N × L row-major (level-wise argmins, no suffix). */
export function codebookStats(codes: Int32Array, n: number, codebookSizes: number[]): CodebookStats {
  const L = codebookSizes.length;
  if (codes.length !== n * L) throw new RangeError(`codes has ${codes.length} entries, expected ${n} × ${L}`);
  const levels: LevelStats[] = [];
  for (let l = 0; l < L; l++) {
    const K = codebookSizes[l];
    const col = new Int32Array(n);
    for (let i = 0; i < n; i++) col[i] = codes[i * L + l];
    const counts = codeCounts(col, K);
    let used = 0;
    let h = 0;
    let maxCount = 0;
    for (let c = 0; c < K; c++) {
      if (counts[c] > 0) {
        used++;
        const p = counts[c] / n;
        h -= p * Math.log2(p);
      }
      maxCount = Math.max(maxCount, counts[c]);
    }
    levels.push({ level: l, codebookSize: K, codesUsed: used, deadCodes: K - used, entropy: h, perplexity: 2 ** h, gini: giniFromCounts(counts), maxCount, counts });
  }
  const groups = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    let key = 0;
    for (let l = 0; l < L; l++) key = key * codebookSizes[l] + codes[i * L + l];
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  let colliding = 0;
  let largest = 0;
  for (const c of groups.values()) {
    if (c > 1) colliding += c;
    largest = Math.max(largest, c);
  }
  const per = levels.map((s) => s.gini);
  return {
    items: n,
    distinctTuples: groups.size,
    collisionRate: n === 0 ? 0 : (n - groups.size) / n,
    collidingItems: colliding,
    largestCollisionGroup: largest,
    levels,
    gini: { per_level: per, mean: per.length ? per.reduce((a, b) => a + b, 0) / per.length : 0 },
  };
}

// ---- the codebook inspector's geometry (plain arrays, no tfjs) -----------------------------------

export interface Pca2 {
  mean: Float64Array;
  axes: [Float64Array, Float64Array];
  /** Fraction of the variance on each of the two axes. */
  explained: [number, number];
}

export interface Projection {
  x: Float32Array;
  y: Float32Array;
  /** Fraction of the variance on each of the two axes. */
  explained: [number, number];
}

/** Top-2 principal axes of the rows of X (n × d) by power iteration with deflation on the covariance. */
export function pca2(X: Float32Array, n: number, d: number): Pca2 {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= Math.max(1, n);
  const C = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = X[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      const off = a * d;
      for (let b = a; b < d; b++) C[off + b] += ra * row[b];
    }
  }
  let trace = 0;
  for (let a = 0; a < d; a++) {
    for (let b = a + 1; b < d; b++) C[b * d + a] = C[a * d + b];
    trace += C[a * d + a];
  }
  const axes: Float64Array[] = [];
  const values: number[] = [];
  for (let k = 0; k < 2; k++) {
    let v = new Float64Array(d);
    for (let j = 0; j < d; j++) v[j] = 1 + ((j * 7919 + k * 104729) % 97) / 97; // deterministic start
    let lambda = 0;
    for (let it = 0; it < 200; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += C[a * d + b] * v[b];
        w[a] = s;
      }
      for (const u of axes) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += w[j] * u[j];
        for (let j = 0; j < d; j++) w[j] -= dot * u[j];
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += w[j] * w[j];
      norm = Math.sqrt(norm);
      if (norm < 1e-30) break;
      for (let j = 0; j < d; j++) w[j] /= norm;
      let diff = 0;
      for (let j = 0; j < d; j++) diff += Math.abs(w[j] - v[j]);
      v = w;
      lambda = norm;
      if (diff < 1e-9) break;
    }
    // Sign convention: the largest component is positive (stable plots).
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[big])) big = j;
    if (v[big] < 0) for (let j = 0; j < d; j++) v[j] = -v[j];
    axes.push(v);
    values.push(lambda);
  }
  const t = trace > 0 ? trace : 1;
  return { mean, axes: [axes[0], axes[1]], explained: [values[0] / t, values[1] / t] };
}

/** The rows of X (n × d) in the 2-D basis of `p`. */
export function projectPca(X: Float32Array, n: number, d: number, p: Pca2): Projection {
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let a = 0;
    let b = 0;
    for (let j = 0; j < d; j++) {
      const v = X[i * d + j] - p.mean[j];
      a += v * p.axes[0][j];
      b += v * p.axes[1][j];
    }
    x[i] = a;
    y[i] = b;
  }
  return { x, y, explained: p.explained };
}

/**
 * For each row of R (n × d): the k nearest rows of E (K × d) by squared distance, written to
 * codes/dists at [i·stride + offset + q].
 */
export function nearestCodes(R: Float32Array, n: number, E: Float32Array, K: number, d: number, k: number, codes: Int32Array, dists: Float32Array, stride: number, offset: number): void {
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    bestD.fill(Infinity);
    bestI.fill(-1);
    for (let c = 0; c < K; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = R[i * d + j] - E[c * d + j];
        s += v * v;
      }
      if (s < bestD[k - 1]) {
        let p = k - 1;
        while (p > 0 && bestD[p - 1] > s) {
          bestD[p] = bestD[p - 1];
          bestI[p] = bestI[p - 1];
          p--;
        }
        bestD[p] = s;
        bestI[p] = c;
      }
    }
    for (let q = 0; q < k; q++) {
      codes[i * stride + offset + q] = bestI[q];
      dists[i * stride + offset + q] = bestD[q];
    }
  }
}

/**
 * Per item and level, the k nearest codes of `books[l]` (K[l] × d) to the item's residual at that
 * level, and their squared distances (n × L × k, row-major). Level 0's residual is the latent
 * (n × d); each next one subtracts the code the item was assigned at that level, read from the
 * (n+1) × 4 code table `assigned` (row 0 = PAD).
 */
export function residualNearestCodes(
  latents: Float32Array,
  n: number,
  d: number,
  books: Float32Array[],
  K: number[],
  assigned: Int32Array,
  k: number,
): { k: number; codes: Int32Array; dists: Float32Array } {
  const L = books.length;
  const codes = new Int32Array(n * L * k);
  const dists = new Float32Array(n * L * k);
  const r = Float32Array.from(latents);
  for (let l = 0; l < L; l++) {
    nearestCodes(r, n, books[l], K[l], d, k, codes, dists, L * k, l * k);
    // Next residual: subtract the assigned (level-wise argmin) code vector.
    for (let i = 0; i < n; i++) {
      const c = assigned[(i + 1) * 4 + l];
      for (let j = 0; j < d; j++) r[i * d + j] -= books[l][c * d + j];
    }
  }
  return { k, codes, dists };
}
