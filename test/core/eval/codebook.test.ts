import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { codebookStats, gini, giniFromCounts } from '../../../src/core/eval/codebook.ts';

const manifest = JSON.parse(readFileSync(resolve(__dirname, '../../../../shared/conformance/pytorch/manifest.json'), 'utf8')) as {
  'gini/cases': { K: number; codes: number[]; gini: number }[];
};

describe('Gini of code usage', () => {
  it.each(manifest['gini/cases'].map((c, i) => [i, c] as const))('manifest case %i', (_i, c) => {
    expect(gini(c.codes, c.K)).toBeCloseTo(c.gini, 12);
  });
  it('bounds: 0 for uniform usage, (K−1)/K for one code, 0 for no items', () => {
    expect(giniFromCounts([3, 3, 3, 3])).toBe(0);
    expect(giniFromCounts([0, 0, 0, 9])).toBeCloseTo(3 / 4, 12);
    expect(giniFromCounts([0, 0])).toBe(0);
  });
});

describe('codebookStats', () => {
  it('collision rate, largest group, usage, entropy on a hand-computed example', () => {
    // 6 items, K = 4 per level; tuples: A A A B C C → 3 distinct.
    const A = [0, 1, 2];
    const B = [0, 1, 3];
    const C = [3, 3, 3];
    const codes = Int32Array.from([...A, ...A, ...A, ...B, ...C, ...C]);
    const s = codebookStats(codes, 6, [4, 4, 4]);
    expect(s.distinctTuples).toBe(3);
    expect(s.collisionRate).toBeCloseTo(3 / 6, 12);
    expect(s.largestCollisionGroup).toBe(3);
    expect(s.collidingItems).toBe(5);
    expect(s.levels[0].codesUsed).toBe(2);
    expect(s.levels[0].deadCodes).toBe(2);
    expect(s.levels[0].maxCount).toBe(4);
    // level 0 usage 4/6, 2/6
    const h = -(4 / 6) * Math.log2(4 / 6) - (2 / 6) * Math.log2(2 / 6);
    expect(s.levels[0].entropy).toBeCloseTo(h, 12);
    expect(s.levels[0].perplexity).toBeCloseTo(2 ** h, 12);
    expect(s.levels[2].counts).toEqual(Int32Array.from([0, 0, 3, 3]));
    // gini: sorted counts [0,0,2,4] → ((−3·0)+(−1·0)+(1·2)+(3·4)) / (4·6)
    expect(s.levels[0].gini).toBeCloseTo(14 / 24, 12);
    expect(s.gini.mean).toBeCloseTo(s.gini.per_level.reduce((a, b) => a + b) / 3, 12);
  });
  it('no collisions when every tuple is distinct', () => {
    const s = codebookStats(Int32Array.from([0, 0, 0, 0, 0, 1, 1, 0, 0]), 3, [2, 2, 2]);
    expect(s.collisionRate).toBe(0);
    expect(s.largestCollisionGroup).toBe(1);
    expect(s.collidingItems).toBe(0);
  });
  it('rejects out-of-range codes', () => {
    expect(() => codebookStats(Int32Array.from([0, 0, 5]), 1, [4, 4, 4])).toThrow(/outside/);
  });
});
