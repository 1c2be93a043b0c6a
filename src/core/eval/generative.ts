/**
 * Evaluation of generative retrieval (spec §5.8).
 *
 * * A generated 4-token code is a hit iff all 4 tokens equal the target item's code; with one
 *   relevant item there is at most one hit, at 1-based rank r among the returned beams.
 * * Per sample: Recall@K = 1[r ≤ K]; NDCG@K = 1[r ≤ K] / log2(r + 1).
 * * Report: sum over samples / count, rounded to 6 decimals (Python `round(x, 6)`, ties to even).
 *   Keys in the reference order: recall@1, recall@5, ndcg@5, recall@10, ndcg@10.
 * * Invalid-code rate: the share of generated codes (all returned beams of all samples) that match
 *   no item of the current code table (beam search is unconstrained, §9 item 22).
 */
import type { Diagnostics } from './diagnostics.ts';
import type { RankingMetrics } from './ranking.ts';

export const CODE_LENGTH = 4;

/** Metric keys of the reference trainer, in its order. */
export const GENERATIVE_METRIC_KEYS = ['recall@1', 'recall@5', 'ndcg@5', 'recall@10', 'ndcg@10'] as const;

/** The validation (model-selection) metric, compared with strict `>`. */
export const VALID_METRIC = 'ndcg@10';

function codeKey(codes: ArrayLike<number>, offset: number): string {
  return `${codes[offset]},${codes[offset + 1]},${codes[offset + 2]},${codes[offset + 3]}`;
}

/**
 * 4-tuple → item id lookup over a code table (N+1 rows × 4, row-major; row 0 = PAD = −1s, skipped;
 * any row containing a negative token is skipped).
 */
export class CodeIndex {
  private readonly map = new Map<string, number>();

  constructor(codeTable: ArrayLike<number>) {
    if (codeTable.length % CODE_LENGTH !== 0) {
      throw new Error(`CodeIndex: table length ${codeTable.length} is not a multiple of ${CODE_LENGTH}`);
    }
    const rows = codeTable.length / CODE_LENGTH;
    for (let item = 0; item < rows; item++) {
      const o = item * CODE_LENGTH;
      let pad = false;
      for (let j = 0; j < CODE_LENGTH; j++) if (codeTable[o + j] < 0) pad = true;
      if (pad) continue;
      const key = codeKey(codeTable, o);
      // codes are unique per item (suffix); should a table repeat one, keep the smallest id
      if (!this.map.has(key)) this.map.set(key, item);
    }
  }

  /** Number of distinct valid codes. */
  get size(): number {
    return this.map.size;
  }

  /** Item id of the code at `codes[offset..offset+4)`, or −1 if it matches no item. */
  lookup(codes: ArrayLike<number>, offset = 0): number {
    return this.map.get(codeKey(codes, offset)) ?? -1;
  }

  isValid(codes: ArrayLike<number>, offset = 0): boolean {
    return this.map.has(codeKey(codes, offset));
  }
}

/**
 * 1-based rank of the first generated code equal (all 4 tokens) to `target`, or 0 for no hit.
 * `generated` holds `numReturn` codes of 4 tokens, row-major, starting at `offset`.
 */
export function hitRank(
  generated: ArrayLike<number>,
  target: ArrayLike<number>,
  numReturn: number,
  offset = 0,
  targetOffset = 0,
): number {
  for (let r = 0; r < numReturn; r++) {
    const o = offset + r * CODE_LENGTH;
    let eq = true;
    for (let j = 0; j < CODE_LENGTH && eq; j++) eq = generated[o + j] === target[targetOffset + j];
    if (eq) return r + 1;
  }
  return 0;
}

/** Python `round(x, 6)`: correctly rounded, exact binary ties to even. */
export function roundTo6(x: number): number {
  if (!Number.isFinite(x)) return x;
  const rounded = Number(x.toFixed(6)); // exact-value rounding, ties away from zero
  const s = x.toFixed(100); // exact decimal expansion for |x| ≥ ~1e-15, which covers metric values
  const dot = s.indexOf('.');
  if (/^50*$/.test(s.slice(dot + 7))) {
    const lastDigit = Number(s[dot + 6]);
    if (lastDigit % 2 === 0) return Number(s.slice(0, dot + 7)); // truncate toward zero = to even
  }
  return rounded;
}

export interface GenerativeResult {
  /** recall@1, recall@5, ndcg@5, recall@10, ndcg@10 (rounded to 6 decimals unless raw). */
  metrics: RankingMetrics;
  /** Share of generated codes that match no item (not rounded). */
  invalidRate: number;
  /** Evaluated samples. */
  count: number;
  /** Generated codes inspected for validity. */
  generated: number;
  /** What the lists look like (distinct lists, coverage, …) and, on a test, the history-shuffle test. */
  diagnostics?: Diagnostics;
}

/** A result as one flat record (metrics.json): its metrics, `invalid_rate` and `count`; null stays null. */
export function flatMetrics(r: GenerativeResult | null | undefined): Record<string, number> | null {
  return r ? { ...r.metrics, invalid_rate: r.invalidRate, count: r.count } : null;
}

/** Accumulates hits over batches of generated codes. */
export class GenerativeAccumulator {
  private readonly recall = new Map<number, number>();
  private readonly ndcg = new Map<number, number>();
  count = 0;
  private invalid = 0;
  private generatedCount = 0;

  constructor(
    /** Optional: enables the invalid-code rate. */
    private readonly index?: CodeIndex,
    readonly recallKs: readonly number[] = [1, 5, 10],
    readonly ndcgKs: readonly number[] = [5, 10],
  ) {
    for (const k of recallKs) this.recall.set(k, 0);
    for (const k of ndcgKs) this.ndcg.set(k, 0);
  }

  /** Adds one sample by its hit rank (1-based; 0 = no hit). */
  addRank(rank: number): void {
    this.count++;
    if (rank <= 0) return;
    for (const k of this.recallKs) if (rank <= k) this.recall.set(k, (this.recall.get(k) as number) + 1);
    for (const k of this.ndcgKs) if (rank <= k) this.ndcg.set(k, (this.ndcg.get(k) as number) + 1 / Math.log2(rank + 1));
  }

  /**
   * Adds a batch: `generated` = B × numReturn × 4 tokens, `targets` = B × 4 tokens (row-major).
   * Returns the batch's hit ranks (0 = no hit).
   */
  addBatch(generated: ArrayLike<number>, targets: ArrayLike<number>, numReturn: number): Int32Array {
    const B = targets.length / CODE_LENGTH;
    if (!Number.isInteger(B) || generated.length !== B * numReturn * CODE_LENGTH) {
      throw new Error(
        `GenerativeAccumulator: ${generated.length} generated tokens for ${targets.length / CODE_LENGTH} targets × ${numReturn} beams × ${CODE_LENGTH}`,
      );
    }
    const ranks = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const off = b * numReturn * CODE_LENGTH;
      ranks[b] = hitRank(generated, targets, numReturn, off, b * CODE_LENGTH);
      this.addRank(ranks[b]);
      if (this.index) {
        for (let r = 0; r < numReturn; r++) {
          this.generatedCount++;
          if (!this.index.isValid(generated, off + r * CODE_LENGTH)) this.invalid++;
        }
      }
    }
    return ranks;
  }

  result(round = true): GenerativeResult {
    const n = Math.max(1, this.count);
    const f = round ? roundTo6 : (x: number) => x;
    const metrics: RankingMetrics = {};
    // reference order first (recall@1, recall@5, ndcg@5, recall@10, ndcg@10), then any extra K
    const ks = [...new Set([...this.recallKs, ...this.ndcgKs])].sort((a, b) => a - b);
    for (const k of ks) {
      if (this.recall.has(k)) metrics[`recall@${k}`] = f((this.recall.get(k) as number) / n);
      if (this.ndcg.has(k)) metrics[`ndcg@${k}`] = f((this.ndcg.get(k) as number) / n);
    }
    return {
      metrics,
      invalidRate: this.generatedCount ? this.invalid / this.generatedCount : 0,
      count: this.count,
      generated: this.generatedCount,
    };
  }
}
