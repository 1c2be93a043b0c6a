import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { codebookStats, gini, giniFromCounts, nearestCodes, pca2, projectPca, residualNearestCodes } from '../../../src/core/eval/codebook.ts';

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

describe('codebook inspector geometry', () => {
  it('PCA finds the dominant direction', () => {
    const X = new Float32Array(200 * 3);
    for (let i = 0; i < 200; i++) { X[i * 3] = i - 100; X[i * 3 + 1] = (i % 7) * 0.1; X[i * 3 + 2] = 5; }
    const p = pca2(X, 200, 3);
    expect(Math.abs(p.axes[0][0])).toBeGreaterThan(0.999);
    expect(p.explained[0]).toBeGreaterThan(0.99);
  });

  it('PCA axes are orthonormal with the largest component positive; projection centres the rows', () => {
    const n = 50;
    const X = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) { X[i * 2] = 3 + -2 * (i - 25); X[i * 2 + 1] = 7 + 0.5 * ((i * 13) % 11 - 5); }
    const p = pca2(X, n, 2);
    const [a, b] = p.axes;
    expect(a[0] * a[0] + a[1] * a[1]).toBeCloseTo(1, 9);
    expect(a[0] * b[0] + a[1] * b[1]).toBeCloseTo(0, 9);
    expect(Math.max(...a.map(Math.abs))).toBe(Math.max(...a));
    expect(p.explained[0] + p.explained[1]).toBeCloseTo(1, 6);
    const q = projectPca(X, n, 2, p);
    expect(q.x.reduce((s, v) => s + v, 0) / n).toBeCloseTo(0, 4);
    expect(q.explained).toEqual(p.explained);
  });

  it('nearest codes: the k closest rows by squared distance, ascending, at the given stride/offset', () => {
    const E = Float32Array.from([0, 0, 1, 0, 0, 2, 5, 5]); // 4 codes in 2-D
    const R = Float32Array.from([0.9, 0.1, 0, 1.8]);
    const codes = new Int32Array(2 * 4).fill(-9);
    const dists = new Float32Array(2 * 4);
    nearestCodes(R, 2, E, 4, 2, 2, codes, dists, 4, 2);
    expect(Array.from(codes)).toEqual([-9, -9, 1, 0, -9, -9, 2, 0]);
    expect(dists[2]).toBeCloseTo(0.02, 6);
    expect(dists[3]).toBeCloseTo(0.82, 6);
    expect(dists[7]).toBeCloseTo(3.24, 6);
  });

  it('residual nearest codes: level l+1 searches the residual after the assigned code of level l', () => {
    const latents = Float32Array.from([1, 1]); // one item, d = 2
    const books = [Float32Array.from([1, 0, 0, 1]), Float32Array.from([0, 1, 1, 0])];
    const assigned = Int32Array.from([-1, -1, -1, -1, 0, 1, 0, 0]); // PAD row, then item 1: level 0 → code 0
    const r = residualNearestCodes(latents, 1, 2, books, [2, 2], assigned, 1);
    // level 0 on (1, 1): both codes at distance 1 (first wins); level 1 on (0, 1): code 0 exactly
    expect(r.k).toBe(1);
    expect(Array.from(r.codes)).toEqual([0, 0]);
    expect(Array.from(r.dists)).toEqual([1, 0]);
    expect(Array.from(latents)).toEqual([1, 1]);
  });
});
