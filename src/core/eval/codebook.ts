/**
 * Codebook health of an item → code assignment (spec §4.4 plus the usual collapse diagnostics):
 * collision rate (N − #distinct tuples)/N, Gini of code usage per level and mean (fork's
 * compute_gini), codes used, dead codes, entropy (bits) / perplexity, largest collision group.
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
