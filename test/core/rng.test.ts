import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';

describe('Rng.dropoutMask', () => {
  it('makes the decisions of next() ≥ rate, element by element, and leaves the same state', () => {
    for (const [seed, rate] of [
      [1, 0.1],
      [2020, 0.5],
      [7, 0.25],
      [99, 0.999],
      [3, 1e-9],
    ] as const) {
      const slow = new Rng(seed);
      const fast = new Rng(seed);
      const keep = 1 / (1 - rate);
      const expected = Float32Array.from({ length: 5000 }, () => (slow.next() >= rate ? keep : 0));
      const got = fast.dropoutMask(new Float32Array(5000), rate, keep);
      expect(got).toEqual(expected);
      expect(fast.getState()).toBe(slow.getState());
      expect(fast.next()).toBe(slow.next());
    }
  });

  it('drops about `rate` of the elements', () => {
    const m = new Rng(5).dropoutMask(new Float32Array(100_000), 0.1, 1 / 0.9);
    const dropped = m.filter((v) => v === 0).length / m.length;
    expect(dropped).toBeGreaterThan(0.095);
    expect(dropped).toBeLessThan(0.105);
  });
});
