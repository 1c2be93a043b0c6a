/** Dataset statistics: the reference's dataset_stats.json counts plus what the dataset page charts. */
import type { DatasetStats } from './types.ts';

export interface StatsInput {
  seqOffsets: Int32Array;
  seqTimes: Float64Array;
  hasTimestamps: boolean;
  numItems: number;
  itemTitles?: (string | null)[];
}

/** Keys of the reference's dataset_stats.json, in its order. */
export const REFERENCE_STATS_KEYS = [
  'num_users', 'num_items', 'num_interactions',
  'train_interactions', 'valid_interactions', 'test_interactions',
  'train_sequences', 'valid_sequences', 'test_sequences',
] as const;

/** Histogram bin edges: integers up to 50, then wider bins (1-2-5 steps above 100). */
export function lengthBinEdges(maxLength: number): number[] {
  const edges: number[] = [];
  for (let e = 0; e <= 50; e++) edges.push(e);
  for (const e of [60, 70, 80, 90, 100]) edges.push(e);
  let base = 100;
  while (edges[edges.length - 1] <= maxLength) {
    for (const m of [1.5, 2, 3, 5, 10]) edges.push(base * m);
    base *= 10;
  }
  return edges;
}

/** Days since 1970-01-01 → [year, month 1..12] (proleptic Gregorian, UTC). */
function civilFromDays(z: number): [number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return [y, m];
}

function median(sorted: Int32Array): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const h = n >> 1;
  return n % 2 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2;
}

export function computeStats(input: StatsInput): DatasetStats {
  const { seqOffsets, seqTimes, hasTimestamps, numItems, itemTitles } = input;
  const numUsers = seqOffsets.length - 1;
  const numInter = numUsers > 0 ? seqOffsets[numUsers] : 0;
  const lengths = new Int32Array(numUsers);
  let splittable = 0;
  let trainSeq = 0;
  for (let u = 0; u < numUsers; u++) {
    const n = seqOffsets[u + 1] - seqOffsets[u];
    lengths[u] = n;
    if (n >= 3) { splittable++; trainSeq += n - 3; }
  }
  lengths.sort();
  const minLen = numUsers ? lengths[0] : 0;
  const maxLen = numUsers ? lengths[numUsers - 1] : 0;
  const edges = lengthBinEdges(maxLen);
  const hist: { lo: number; hi: number; count: number }[] = [];
  let b = 0;
  for (let i = 0; i < numUsers; i++) {
    const len = lengths[i];
    while (edges[b + 1] <= len) b++;
    const last = hist[hist.length - 1];
    if (last && last.lo === edges[b]) last.count++;
    else hist.push({ lo: edges[b], hi: edges[b + 1], count: 1 });
  }
  // fill empty bins between min and max so charts show gaps
  const fullHist: { lo: number; hi: number; count: number }[] = [];
  if (hist.length) {
    let h = 0;
    for (let e = edges.indexOf(hist[0].lo); e + 1 < edges.length && edges[e] <= maxLen; e++) {
      if (h < hist.length && hist[h].lo === edges[e]) fullHist.push(hist[h++]);
      else fullHist.push({ lo: edges[e], hi: edges[e + 1], count: 0 });
    }
  }

  const overTime: { period: string; count: number }[] = [];
  if (hasTimestamps && numInter > 0) {
    let tMin = Infinity;
    let tMax = -Infinity;
    for (let i = 0; i < numInter; i++) {
      const t = seqTimes[i];
      if (t < tMin) tMin = t;
      if (t > tMax) tMax = t;
    }
    if (Number.isFinite(tMin) && Number.isFinite(tMax)) {
      const keyOf = (t: number) => { const [y, m] = civilFromDays(Math.floor(t / 86400)); return y * 12 + (m - 1); };
      const lo = keyOf(tMin);
      const hi = keyOf(tMax);
      const dense = hi - lo <= 2400;
      const counts = new Float64Array(dense ? hi - lo + 1 : 0);
      const sparse = new Map<number, number>();
      let lastDay = NaN;
      let lastKey = 0;
      for (let i = 0; i < numInter; i++) {
        const t = seqTimes[i];
        if (!Number.isFinite(t)) continue;
        const day = Math.floor(t / 86400);
        if (day !== lastDay) { lastKey = keyOf(t); lastDay = day; }
        if (dense) counts[lastKey - lo]++;
        else sparse.set(lastKey, (sparse.get(lastKey) ?? 0) + 1);
      }
      const keys = dense ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) : [...sparse.keys()].sort((a, c) => a - c);
      for (const key of keys) {
        const y = Math.floor(key / 12);
        const m = key - y * 12 + 1;
        const ys = y < 0 ? '-' + String(-y).padStart(4, '0') : String(y).padStart(4, '0');
        overTime.push({ period: `${ys}-${String(m).padStart(2, '0')}`, count: dense ? counts[key - lo] : sparse.get(key) ?? 0 });
      }
    }
  }

  let withTitles = 0;
  if (itemTitles) for (const t of itemTitles) if (t !== null && t !== undefined && t !== '') withTitles++;
  let sum = 0;
  for (let i = 0; i < numUsers; i++) sum += lengths[i];
  return {
    num_users: numUsers,
    num_items: numItems,
    num_interactions: numInter,
    train_interactions: numInter - 2 * splittable,
    valid_interactions: splittable,
    test_interactions: splittable,
    train_sequences: trainSeq,
    valid_sequences: splittable,
    test_sequences: splittable,
    sparsity: numUsers > 0 && numItems > 0 ? 1 - numInter / (numUsers * numItems) : 1,
    seqLength: { min: minLen, max: maxLen, mean: numUsers ? sum / numUsers : 0, median: median(lengths) },
    seqLengthHistogram: fullHist,
    interactionsOverTime: overTime,
    itemsWithTitles: withTitles,
  };
}
