import { describe, expect, it } from 'vitest';
import { adjustedRandIndex, idsLineUp, labelAgreement, normalizedMutualInfo, prefixAgreement } from '../../../src/core/eval/partition.ts';
import { Rng } from '../../../src/core/rng.ts';

describe('adjustedRandIndex', () => {
  it('hand-computed cases (the values of scikit-learn\'s adjusted_rand_score docs)', () => {
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
    expect(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0])).toBe(1); // relabelled
    // pairs together: index 1, Σ C(a,2) = 1, Σ C(b,2) = 2, E = 2/6, max = 1.5 → (1 − 1/3) / (1.5 − 1/3) = 4/7
    expect(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo(4 / 7, 12);
    // index 0, E = 4/6, max 2 → −0.5 (below chance)
    expect(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12);
    expect(adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3])).toBe(0);
    // degenerate: both one group, both singletons → 1
    expect(adjustedRandIndex([3, 3, 3], [7, 7, 7])).toBe(1);
    expect(adjustedRandIndex([0, 1, 2], [5, 4, 3])).toBe(1);
  });

  it('is ≈ 0 for independent partitions and symmetric', () => {
    const rng = new Rng(11);
    const a = Array.from({ length: 20000 }, () => rng.int(8));
    const b = Array.from({ length: 20000 }, () => rng.int(8));
    expect(Math.abs(adjustedRandIndex(a, b))).toBeLessThan(0.005);
    expect(adjustedRandIndex(a, b)).toBeCloseTo(adjustedRandIndex(b, a), 12);
  });
});

describe('normalizedMutualInfo', () => {
  it('hand-computed cases', () => {
    expect(normalizedMutualInfo([0, 0, 1, 1], [0, 0, 1, 1])).toBeCloseTo(1, 12);
    expect(normalizedMutualInfo([0, 0, 1, 1], [1, 1, 0, 0])).toBeCloseTo(1, 12);
    // a refines b: MI = H(b) = ln 2, H(a) = 1.5 ln 2 → ln 2 / (1.25 ln 2) = 0.8
    expect(normalizedMutualInfo([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo(0.8, 12);
    expect(normalizedMutualInfo([0, 0, 1, 1], [0, 1, 0, 1])).toBe(0);
    expect(normalizedMutualInfo([0, 0, 0, 0], [0, 1, 2, 3])).toBe(0);
    expect(normalizedMutualInfo([2, 2, 2], [9, 9, 9])).toBe(1);
  });

  it('is ≈ 0 for independent partitions', () => {
    const rng = new Rng(12);
    const a = Array.from({ length: 20000 }, () => rng.int(8));
    const b = Array.from({ length: 20000 }, () => rng.int(8));
    expect(normalizedMutualInfo(a, b)).toBeLessThan(0.005);
  });
});

describe('labelAgreement / prefixAgreement / idsLineUp', () => {
  it('labels kept vs the best relabelling', () => {
    expect(labelAgreement([0, 0, 1, 1], [1, 1, 0, 0])).toEqual({ same: 0, bestRelabelled: 1 });
    expect(labelAgreement([0, 0, 1, 2], [0, 0, 1, 1])).toEqual({ same: 0.75, bestRelabelled: 1 });
  });

  it('groups by the first 1, 2, 3 levels of (N+1) × 4 tables (row 0 and the suffix ignored)', () => {
    const pad = [-1, -1, -1, -1];
    // A: items 1–4 → L1 groups {1,2},{3,4}; L1–2 groups {1},{2},{3,4}
    const A = [...pad, 0, 0, 5, 0, 0, 1, 5, 0, 1, 2, 5, 0, 1, 2, 5, 1];
    // B: A with the level-1 ids swapped (0 ↔ 1) and different suffixes: the same partitions
    const B = [...pad, 1, 0, 5, 3, 1, 1, 5, 3, 0, 2, 5, 3, 0, 2, 5, 2];
    const [l1, l12, l123] = prefixAgreement(A, B);
    expect([l1.levels, l12.levels, l123.levels]).toEqual([1, 2, 3]);
    for (const r of [l1, l12, l123]) {
      expect(r.ari).toBe(1);
      expect(r.nmi).toBeCloseTo(1, 12);
      expect(r.sameIds).toBe(0);
      expect(r.bestRelabelled).toBe(1);
    }
    expect([l1.groupsA, l12.groupsA, l123.groupsA]).toEqual([2, 3, 3]);
    expect(idsLineUp(l1)).toBe(false);
    // the same table: ids line up
    const [same] = prefixAgreement(A, A);
    expect(same.sameIds).toBe(1);
    expect(idsLineUp(same)).toBe(true);
    // C: item 2 moves to item 3's level-1 group → L1 partitions {1},{2,3,4} vs {1,2},{3,4}
    const C = [...pad, 0, 0, 5, 0, 1, 1, 5, 0, 1, 2, 5, 0, 1, 2, 5, 1];
    const [c1] = prefixAgreement(A, C);
    // contingency cells 1,1,2 → index 1; Σ C(a,2) = 2, Σ C(c,2) = 3, E = 1, max 2.5 → 0
    expect(c1.ari).toBeCloseTo(0, 12);
    expect(c1.sameIds).toBe(0.75);
  });
});
