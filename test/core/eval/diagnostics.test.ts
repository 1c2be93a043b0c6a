import { describe, expect, it } from 'vitest';
import { collapseReasons, DiagnosticsAccumulator, popularityTopK, type Diagnostics } from '../../../src/core/eval/diagnostics.ts';
import { addDiagnostics } from '../../../src/core/eval/evaluateGenerative.ts';
import { CodeIndex } from '../../../src/core/eval/generative.ts';
import { trainCountsFromSamples } from '../../../src/core/train/jointData.ts';

// PAD + 5 items; item i has the code [i, 0, 0, 0]
const table = [-1, -1, -1, -1, ...[1, 2, 3, 4, 5].flatMap((i) => [i, 0, 0, 0])];
const index = new CodeIndex(table);
const code = (i: number) => [i, 0, 0, 0];
const INVALID = [9, 9, 9, 9];

/** Diagnostics of users' returned lists (item ids; 0 = an invalid code) with k = 3. */
function diagnose(lists: number[][], popular: number[]): Diagnostics {
  const acc = new DiagnosticsAccumulator(5, 3, popular);
  const seq = lists.flatMap((l) => l.flatMap((i) => (i === 0 ? INVALID : code(i))));
  addDiagnostics(acc, index, seq, lists.length, 3);
  return acc.result();
}

describe('list diagnostics', () => {
  it('a model that gives everyone the same list is flagged', () => {
    const d = diagnose([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]], [1, 2, 4]);
    expect(d).toMatchObject({ users: 4, k: 3, distinctTop1: 1, distinctTopK: 1, modalTopKShare: 1, invalidRate: 0 });
    expect(d.coverageAtK).toBeCloseTo(3 / 5, 12);
    expect(d.popularityOverlapAtK).toBeCloseTo(2 / 3, 12);
    expect(collapseReasons(d)).toHaveLength(1);
    expect(collapseReasons(d)[0]).toMatch(/100\.0 % of users get the same top-3 list/);
  });

  it('varied lists: distinct top-1 and lists, coverage, overlap and invalid codes by hand', () => {
    // user 3's first code matches no item
    const d = diagnose([[1, 2, 3], [2, 3, 4], [0, 1, 2], [1, 2, 3]], [1, 2, 4]);
    expect(d.distinctTop1).toBe(3); // 1, 2, the invalid code
    expect(d.distinctTopK).toBe(3);
    expect(d.coverageAtK).toBeCloseTo(4 / 5, 12); // items 1-4
    expect(d.modalTopKShare).toBeCloseTo(0.5, 12); // not above the 0.5 threshold
    expect(d.popularityOverlapAtK).toBeCloseTo((2 / 3 + 2 / 3 + 2 / 3 + 2 / 3) / 4, 12);
    expect(d.invalidRate).toBeCloseTo(1 / 12, 12);
    expect(collapseReasons(d)).toEqual([]);
  });

  it('two different invalid codes are different lists', () => {
    const acc = new DiagnosticsAccumulator(5, 1, []);
    addDiagnostics(acc, index, [...INVALID, 8, 8, 8, 8], 2, 1);
    expect(acc.result()).toMatchObject({ distinctTop1: 2, distinctTopK: 2, coverageAtK: 0, invalidRate: 1, popularityOverlapAtK: 0 });
  });

  it('a small shuffle gap is flagged even when the lists vary', () => {
    const d: Diagnostics = {
      ...diagnose([[1, 2, 3], [2, 3, 4]], []),
      shuffle: { split: 'test', users: 2, seed: 1, ceReal: 3, ceShuffled: 3.01, gap: 0.01, perLevelReal: [3, 3, 3, 3], perLevelShuffled: [3.01, 3.01, 3.01, 3.01] },
    };
    expect(collapseReasons(d).join()).toMatch(/shuffle gap 0\.0100/);
    expect(collapseReasons({ ...d, shuffle: { ...d.shuffle!, gap: 0.3 } })).toEqual([]);
  });
});

describe('popularity', () => {
  it('top-k by count, ties to the lower id', () => {
    expect(popularityTopK([5, 3, 5, 1], 3)).toEqual([1, 3, 2]);
  });

  it('training counts from all-prefix samples: every target plus the first item of each sequence', () => {
    // user A: 1 → 2 → 3 (samples [1]→2, [1,2]→3); user B: 4 → 1 (sample [4]→1)
    const L = 3;
    const s = { count: 3, L, histories: Int32Array.from([1, 0, 0, 1, 2, 0, 4, 0, 0]), lens: Int32Array.from([1, 2, 1]), targets: Int32Array.from([2, 3, 1]) };
    expect(Array.from(trainCountsFromSamples(s, 4))).toEqual([2, 1, 1, 1]);
  });
});
