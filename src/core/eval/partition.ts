/**
 * Agreement of two partitions of the same items (two tokenizers' groupings by code prefix): the
 * adjusted Rand index and the normalised mutual information (arithmetic-mean normalisation), with
 * scikit-learn's conventions for the degenerate cases. Both ignore the labels' names, so they
 * compare tokenizers trained independently, whose raw code ids mean nothing to each other.
 */

/** The contingency table of two labelings as sparse counts, with the two marginals. */
function contingency(a: ArrayLike<number>, b: ArrayLike<number>): { cells: number[]; rows: number[]; cols: number[]; n: number } {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`partitions of ${n} and ${b.length} items`);
  const cell = new Map<string, number>();
  const row = new Map<number, number>();
  const col = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]},${b[i]}`;
    cell.set(key, (cell.get(key) ?? 0) + 1);
    row.set(a[i], (row.get(a[i]) ?? 0) + 1);
    col.set(b[i], (col.get(b[i]) ?? 0) + 1);
  }
  return { cells: [...cell.values()], rows: [...row.values()], cols: [...col.values()], n };
}

const pairs = (k: number) => (k * (k - 1)) / 2;

/**
 * Adjusted Rand index (Hubert & Arabie): (Σ C(n_ij,2) − E) / (½(Σ C(a_i,2) + Σ C(b_j,2)) − E) with
 * E = Σ C(a_i,2)·Σ C(b_j,2) / C(n,2). 1 for identical partitions (up to relabelling), ≈ 0 for
 * independent ones, negative below chance. When the maximum equals the expectation (both all one
 * group, or both all singletons) it is 1, as scikit-learn.
 */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const t = contingency(a, b);
  if (t.n < 2) return 1;
  const index = t.cells.reduce((s, c) => s + pairs(c), 0);
  const sa = t.rows.reduce((s, c) => s + pairs(c), 0);
  const sb = t.cols.reduce((s, c) => s + pairs(c), 0);
  const expected = (sa * sb) / pairs(t.n);
  const max = (sa + sb) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}

function entropy(counts: number[], n: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
  return h;
}

/**
 * Normalised mutual information MI(a, b) / ((H(a) + H(b)) / 2) in nats (scikit-learn's default
 * 'arithmetic' normalisation): 1 for identical partitions up to relabelling, 0 when independent
 * (slightly above 0 by chance for small groups). Both partitions one group: 1; MI 0: 0.
 */
export function normalizedMutualInfo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const t = contingency(a, b);
  if (t.n === 0 || (t.rows.length === 1 && t.cols.length === 1)) return 1;
  const ha = entropy(t.rows, t.n);
  const hb = entropy(t.cols, t.n);
  const mi = Math.max(0, ha + hb - entropy(t.cells, t.n));
  if (mi === 0) return 0;
  return mi / Math.max((ha + hb) / 2, Number.EPSILON);
}

/**
 * The share of items that keep their label, and the largest share any relabelling of b could give
 * (Σ over a's groups of its largest overlap with one b group). When the first is close to the
 * second the labels line up (checkpoints of one run); far below it, only the grouping is comparable.
 */
export function labelAgreement(a: ArrayLike<number>, b: ArrayLike<number>): { same: number; bestRelabelled: number } {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`partitions of ${n} and ${b.length} items`);
  if (n === 0) return { same: 1, bestRelabelled: 1 };
  let same = 0;
  const best = new Map<number, Map<number, number>>();
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) same++;
    let m = best.get(a[i]);
    if (!m) best.set(a[i], (m = new Map()));
    m.set(b[i], (m.get(b[i]) ?? 0) + 1);
  }
  let top = 0;
  for (const m of best.values()) top += Math.max(...m.values());
  return { same: same / n, bestRelabelled: top / n };
}

export interface PrefixAgreement {
  /** Code levels in the grouping key: 1 = level-1 code, 2 = level-1–2 prefix, 3 = the 3-tuple. */
  levels: number;
  ari: number;
  nmi: number;
  /** Groups (distinct prefixes) in each partition. */
  groupsA: number;
  groupsB: number;
  /** Share of items whose prefix is the same id tuple in both. */
  sameIds: number;
  /** The most any relabelling of the prefixes could keep (an upper bound of sameIds). */
  bestRelabelled: number;
}

/**
 * Partition agreement of two code tables of the same N items ((N+1) × 4 rows, row 0 = PAD, the
 * 4th column the de-dup suffix, not used) for the groupings by the first 1, 2 and 3 code levels.
 */
export function prefixAgreement(codesA: ArrayLike<number>, codesB: ArrayLike<number>, width = 4, depths: readonly number[] = [1, 2, 3]): PrefixAgreement[] {
  if (codesA.length !== codesB.length) throw new RangeError(`code tables of ${codesA.length / width - 1} and ${codesB.length / width - 1} items`);
  const n = codesA.length / width - 1;
  return depths.map((levels) => {
    const ka = new Int32Array(n);
    const kb = new Int32Array(n);
    const ids = new Map<string, number>();
    const id = (s: string) => {
      let v = ids.get(s);
      if (v === undefined) ids.set(s, (v = ids.size));
      return v;
    };
    // one dictionary for both tables: equal id tuples get equal labels, so sameIds is an id comparison
    for (let i = 0; i < n; i++) {
      let sa = '';
      let sb = '';
      for (let l = 0; l < levels; l++) {
        sa += `${codesA[(i + 1) * width + l]},`;
        sb += `${codesB[(i + 1) * width + l]},`;
      }
      ka[i] = id(sa);
      kb[i] = id(sb);
    }
    const agree = labelAgreement(ka, kb);
    return {
      levels,
      ari: adjustedRandIndex(ka, kb),
      nmi: normalizedMutualInfo(ka, kb),
      groupsA: new Set(ka).size,
      groupsB: new Set(kb).size,
      sameIds: agree.same,
      bestRelabelled: agree.bestRelabelled,
    };
  });
}

/**
 * Whether two code tables' ids line up (one run's checkpoints, a re-import) rather than being
 * independent labels: at level 1, at least 90 % of what the best relabelling would keep is kept
 * by the ids themselves. Independently trained tokenizers keep about 1/K.
 */
export function idsLineUp(level1: PrefixAgreement): boolean {
  return level1.sameIds >= 0.9 * level1.bestRelabelled;
}
