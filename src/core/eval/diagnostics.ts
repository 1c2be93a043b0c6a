/**
 * What a generative recommender actually recommends, beside Recall/NDCG: a model that ignores the
 * user's history can reach popularity-level metrics with one list for everyone, so every evaluation
 * also reports how varied its lists are and how much they differ from the popularity list.
 *
 * No tfjs here: the accumulator reads the item ids of the returned beams (−1 = a code that matches
 * no item). The history-shuffle test (the model's part) is in `shuffleTest.ts`.
 */

/** Diagnostics of the recommendation lists of one evaluation. */
export interface ListDiagnostics {
  /** Users (samples) evaluated. */
  users: number;
  /** List length the list statistics use (10, or fewer when fewer beams are returned). */
  k: number;
  /** Distinct first-ranked recommendations (an invalid code counts by its tokens). */
  distinctTop1: number;
  /** Distinct top-k lists (ordered). */
  distinctTopK: number;
  /** Share of the catalogue (items 1..N) that appears in at least one top-k list. */
  coverageAtK: number;
  /** Share of users whose top-k list equals the most common top-k list. */
  modalTopKShare: number;
  /** Mean |top-k ∩ popularity top-k| / k over users (0 when no popularity list is given). */
  popularityOverlapAtK: number;
  /** Share of generated codes (all returned beams) that match no item. */
  invalidRate: number;
}

/** The history-shuffle test: code cross-entropy of the targets with real vs permuted histories. */
export interface ShuffleTestResult {
  split: 'test' | 'valid';
  users: number;
  seed: number;
  /** Mean CE per target token (4 levels), real histories. */
  ceReal: number;
  /** Mean CE per target token with histories permuted across users. */
  ceShuffled: number;
  /** ceShuffled − ceReal, in nats: ≈ 0 means the decoder does not use the history. */
  gap: number;
  /** Per code level (c1, c2, c3, suffix). */
  perLevelReal: number[];
  perLevelShuffled: number[];
}

export interface Diagnostics extends ListDiagnostics {
  shuffle?: ShuffleTestResult;
}

/** Thresholds of the collapse warning. */
export const COLLAPSE_THRESHOLDS = {
  /** The most common top-k list covers more than this share of users. */
  modalTopKShare: 0.5,
  /** The shuffle gap is below this many nats. */
  shuffleGap: 0.02,
} as const;

/** Why a model looks collapsed to one list (empty = it personalises by these measures). */
export function collapseReasons(d: Diagnostics | undefined): string[] {
  if (!d) return [];
  const out: string[] = [];
  if (d.users > 1 && d.modalTopKShare > COLLAPSE_THRESHOLDS.modalTopKShare) {
    out.push(`${(d.modalTopKShare * 100).toFixed(1)} % of users get the same top-${d.k} list (${d.distinctTopK} distinct lists, ${d.distinctTop1} distinct top-1 items)`);
  }
  if (d.shuffle && d.shuffle.gap < COLLAPSE_THRESHOLDS.shuffleGap) {
    out.push(`history-shuffle gap ${d.shuffle.gap.toFixed(4)} nats (< ${COLLAPSE_THRESHOLDS.shuffleGap}): the recommendations barely depend on the history`);
  }
  return out;
}

/** The k most frequent items by count (ties: lower id first); `counts[j]` is the count of item j+1. */
export function popularityTopK(counts: ArrayLike<number>, k = 10): number[] {
  const ids = Array.from({ length: counts.length }, (_, j) => j + 1);
  ids.sort((a, b) => counts[b - 1] - counts[a - 1] || a - b);
  return ids.slice(0, k);
}

/** Accumulates list diagnostics over batches of returned item ids. */
export class DiagnosticsAccumulator {
  private users = 0;
  private generated = 0;
  private invalid = 0;
  private readonly top1 = new Set<string>();
  private readonly lists = new Map<string, number>();
  private readonly covered = new Set<number>();
  private overlapSum = 0;
  private readonly popular: Set<number>;

  constructor(
    /** N: catalogue size for the coverage. */
    readonly numItems: number,
    /** Returned beams per user. */
    readonly returnCount: number,
    /** The popularity top-k (item ids), or empty. */
    popularTop: readonly number[] = [],
    readonly k = Math.min(10, returnCount),
  ) {
    this.popular = new Set(popularTop.slice(0, this.k));
  }

  /**
   * One user: `items[r]` is the item of the r-th returned code (−1 = invalid) and `codeKeys[r]`
   * identifies the code itself (so two invalid codes are told apart).
   */
  addUser(items: ArrayLike<number>, codeKeys: readonly string[]): void {
    this.users++;
    for (let r = 0; r < this.returnCount; r++) {
      this.generated++;
      if (items[r] < 0) this.invalid++;
    }
    this.top1.add(codeKeys[0]);
    const k = this.k;
    const list = codeKeys.slice(0, k).join('|');
    this.lists.set(list, (this.lists.get(list) ?? 0) + 1);
    let overlap = 0;
    for (let r = 0; r < k; r++) {
      const item = items[r];
      if (item > 0) {
        this.covered.add(item);
        if (this.popular.has(item)) overlap++;
      }
    }
    this.overlapSum += k > 0 ? overlap / k : 0;
  }

  result(): ListDiagnostics {
    let modal = 0;
    for (const c of this.lists.values()) modal = Math.max(modal, c);
    const u = Math.max(1, this.users);
    return {
      users: this.users,
      k: this.k,
      distinctTop1: this.top1.size,
      distinctTopK: this.lists.size,
      coverageAtK: this.covered.size / Math.max(1, this.numItems),
      modalTopKShare: modal / u,
      popularityOverlapAtK: this.popular.size ? this.overlapSum / u : 0,
      invalidRate: this.generated ? this.invalid / this.generated : 0,
    };
  }
}
