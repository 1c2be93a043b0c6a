/** Leave-one-out split and all-prefix samples (spec §1.4–§1.5). */
import type { PreparedDataset, Sample } from './types.ts';

export type SplitName = 'train' | 'valid' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'valid', 'test'];

/** Split of position `position` (0-based) in a sequence of `length` ≥ 3 items. */
export function splitOfPosition(length: number, position: number): SplitName {
  if (position === length - 1) return 'test';
  if (position === length - 2) return 'valid';
  return 'train';
}

/** Number of samples per split: train Σ(n−3), valid and test one per user with n ≥ 3. */
export function sampleCounts(ds: Pick<PreparedDataset, 'seqOffsets'>): Record<SplitName, number> {
  const off = ds.seqOffsets;
  let train = 0;
  let users = 0;
  for (let u = 0; u + 1 < off.length; u++) {
    const n = off[u + 1] - off[u];
    if (n >= 3) { users++; train += n - 3; }
  }
  return { train, valid: users, test: users };
}

/**
 * Samples of one split in the reference order (users in order, then positions). `history` is a view
 * into `ds.seqItems` (most recent ≤ maxLen items, oldest first): do not modify it; copy to keep.
 */
export function* iterateSamples(
  ds: Pick<PreparedDataset, 'seqOffsets' | 'seqItems' | 'config'>,
  split: SplitName,
): Generator<Sample> {
  const off = ds.seqOffsets;
  const items = ds.seqItems;
  const maxLen = ds.config.maxLen;
  const numUsers = off.length - 1;
  for (let u = 0; u < numUsers; u++) {
    const a = off[u];
    const n = off[u + 1] - a;
    if (n < 3) continue;
    let from: number;
    let to: number;
    if (split === 'train') { from = 1; to = n - 3; } else if (split === 'valid') { from = to = n - 2; } else { from = to = n - 1; }
    for (let i = from; i <= to; i++) {
      const end = a + i;
      const start = Math.max(a, end - maxLen);
      yield { user: u, target: items[end], history: items.subarray(start, end) };
    }
  }
}
