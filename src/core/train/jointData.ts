/** Joint-training inputs from a prepared dataset (spec §5.1): index-based samples per split. */
import { iterateSamples, type SplitName } from '../data/samples.ts';
import type { PreparedDataset } from '../data/types.ts';
import type { JointData, JointSamples } from './jointTypes.ts';

/** Samples of a split with histories cut to the last L items (≤ maxLen = 50 already) and the user of each. */
export function jointSamples(ds: Pick<PreparedDataset, 'seqOffsets' | 'seqItems' | 'config'>, split: SplitName, L = 50): JointSamples {
  const hs: Int32Array[] = [];
  const ts: number[] = [];
  const us: number[] = [];
  for (const s of iterateSamples(ds, split)) {
    hs.push(s.history.length > L ? s.history.subarray(s.history.length - L) : s.history);
    ts.push(s.target);
    us.push(s.user);
  }
  const count = ts.length;
  const histories = new Int32Array(count * L);
  const lens = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    histories.set(hs[i], i * L);
    lens[i] = hs[i].length;
  }
  return { count, L, histories, lens, targets: Int32Array.from(ts), users: Int32Array.from(us) };
}

/** All three splits plus the semantic table ([N × D] rows for items 1..N). */
export function jointData(ds: PreparedDataset, semantic: Float32Array, semanticDim: number, L = 50): JointData {
  const numItems = ds.itemIds.length;
  if (semantic.length !== numItems * semanticDim) {
    throw new Error(`semantic table has ${semantic.length / semanticDim} rows of ${semanticDim}, the dataset has ${numItems} items`);
  }
  return {
    numItems,
    semantic,
    semanticDim,
    train: jointSamples(ds, 'train', L),
    valid: jointSamples(ds, 'valid', L),
    test: jointSamples(ds, 'test', L),
  };
}

/** The samples with histories cut to their last `L` items (no copy when they are already that short). */
/**
 * An evenly spaced subset of n samples (rows ⌊i·count/n⌋), or s itself when n is 0 or ≥ count.
 * Spread over the whole split, not its head, so a few users do not stand for all of them.
 */
export function subsampleEvenly(s: JointSamples, n: number): JointSamples {
  if (n <= 0 || n >= s.count) return s;
  const rows = Int32Array.from({ length: n }, (_, i) => Math.floor((i * s.count) / n));
  const histories = new Int32Array(n * s.L);
  rows.forEach((r, i) => histories.set(s.histories.subarray(r * s.L, (r + 1) * s.L), i * s.L));
  const pick = (a: Int32Array) => Int32Array.from(rows, (r) => a[r]);
  return { count: n, L: s.L, histories, lens: pick(s.lens), targets: pick(s.targets), ...(s.users ? { users: pick(s.users) } : {}) };
}

export function truncateHistories(s: JointSamples, L: number): JointSamples {
  if (L >= s.L) return s;
  const histories = new Int32Array(s.count * L);
  const lens = new Int32Array(s.count);
  for (let i = 0; i < s.count; i++) {
    const len = s.lens[i];
    const keep = Math.min(L, len);
    histories.set(s.histories.subarray(i * s.L + len - keep, i * s.L + len), i * L);
    lens[i] = keep;
  }
  return { ...s, L, histories, lens };
}

/**
 * Training-interaction counts per item (`counts[j]` = item j+1) from the all-prefix training
 * samples: every target, plus the first item of each sequence (the history of its length-1 sample).
 * Equal to counting the training parts of the sequences when the samples are complete (no limit).
 */
export function trainCountsFromSamples(s: JointSamples, numItems: number): Int32Array {
  const counts = new Int32Array(numItems);
  for (let i = 0; i < s.count; i++) {
    counts[s.targets[i] - 1]++;
    if (s.lens[i] === 1) counts[s.histories[i * s.L] - 1]++;
  }
  return counts;
}
