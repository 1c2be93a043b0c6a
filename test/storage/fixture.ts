import type { PreparedDataset } from '../../src/core/data/types.ts';

/** A small prepared dataset: 4 users, 5 items, sequences of length 3..5. */
export function makeDataset(name = 'tiny', opts: { titles?: boolean; users?: number } = {}): PreparedDataset {
  const users = opts.users ?? 4;
  const userIds: string[] = [];
  const offsets = [0];
  const items: number[] = [];
  const times: number[] = [];
  const ratings: number[] = [];
  for (let u = 0; u < users; u++) {
    userIds.push(`U${String(u).padStart(3, '0')}-ü`);
    const len = 3 + (u % 3);
    for (let k = 0; k < len; k++) {
      items.push(((u + k) % 5) + 1);
      times.push(1_400_000_000 + u * 1000 + k * 60);
      ratings.push(1 + ((u + k) % 5));
    }
    offsets.push(items.length);
  }
  const itemIds = ['B00A', 'B00B', 'b00c', 'B00D', 'B00E'];
  const ds: PreparedDataset = {
    name,
    config: { kcore: 0, maxLen: 50 },
    source: { format: 'amazon2014', files: ['x.json.gz'], rowsBeforeFilter: items.length, kcorePasses: 0 },
    userIds,
    itemIds,
    seqOffsets: Int32Array.from(offsets),
    seqItems: Int32Array.from(items),
    seqTimes: Float64Array.from(times),
    seqRatings: Float32Array.from(ratings),
    hasTimestamps: true,
    stats: {
      num_users: users,
      num_items: 5,
      num_interactions: items.length,
      train_interactions: 0,
      valid_interactions: 0,
      test_interactions: 0,
      train_sequences: 0,
      valid_sequences: 0,
      test_sequences: 0,
      sparsity: 0.5,
      seqLength: { min: 3, max: 5, mean: 4, median: 4 },
      seqLengthHistogram: [{ lo: 3, hi: 6, count: users }],
      interactionsOverTime: [{ period: '2014-05', count: items.length }],
      itemsWithTitles: opts.titles ? 4 : 0,
    },
  };
  if (opts.titles) ds.itemTitles = ['Guitar "Strat"', 'Piano, digital', null, 'Drum ✓', 'Banjo'];
  return ds;
}
