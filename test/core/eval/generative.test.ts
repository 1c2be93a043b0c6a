import { describe, expect, it } from 'vitest';
import {
  CodeIndex,
  GENERATIVE_METRIC_KEYS,
  GenerativeAccumulator,
  hitRank,
  roundTo6,
} from '../../../src/core/eval/generative.ts';

// code table: PAD + 3 items
const table = [-1, -1, -1, -1, 1, 2, 3, 0, 1, 2, 3, 1, 7, 0, 255, 0];

/** 10-beam block (flat) where the target sits at `rank` (1-based; 0 = absent), filler codes elsewhere. */
function beams(target: number[], rank: number, numReturn = 10, filler = [9, 9, 9, 9]): number[] {
  const out: number[] = [];
  for (let r = 1; r <= numReturn; r++) out.push(...(r === rank ? target : filler.map((v, j) => (j === 3 ? v + r : v))));
  return out;
}

describe('CodeIndex', () => {
  it('maps 4-tuples to item ids, skips PAD, rejects partial matches', () => {
    const idx = new CodeIndex(table);
    expect(idx.size).toBe(3);
    expect(idx.lookup([1, 2, 3, 0])).toBe(1);
    expect(idx.lookup([1, 2, 3, 1])).toBe(2);
    expect(idx.lookup([7, 0, 255, 0])).toBe(3);
    expect(idx.lookup([1, 2, 3, 2])).toBe(-1);
    expect(idx.lookup([-1, -1, -1, -1])).toBe(-1);
    expect(idx.lookup([0, 0, 1, 2, 3, 1], 2)).toBe(2);
    expect(() => new CodeIndex([1, 2, 3])).toThrow();
  });
});

describe('hit rank and metrics', () => {
  it('exact 4-token match only', () => {
    const t = [1, 2, 3, 0];
    const gen = [1, 2, 3, 1, 1, 2, 4, 0, 1, 2, 3, 0];
    expect(hitRank(gen, t, 3)).toBe(3);
    expect(hitRank(gen, t, 2)).toBe(0);
  });

  it('hits at ranks 1, 5, 10, 11 (11 = beyond the 10 returned) give the hand values', () => {
    const t = [1, 2, 3, 0];
    for (const [rank, want] of [
      [1, { 'recall@1': 1, 'recall@5': 1, 'ndcg@5': 1, 'recall@10': 1, 'ndcg@10': 1 }],
      [5, { 'recall@1': 0, 'recall@5': 1, 'ndcg@5': roundTo6(1 / Math.log2(6)), 'recall@10': 1, 'ndcg@10': roundTo6(1 / Math.log2(6)) }],
      [10, { 'recall@1': 0, 'recall@5': 0, 'ndcg@5': 0, 'recall@10': 1, 'ndcg@10': 0.289065 }],
    ] as const) {
      const acc = new GenerativeAccumulator();
      const ranks = acc.addBatch(beams(t, rank), t, 10);
      expect(ranks[0]).toBe(rank);
      expect(acc.result().metrics).toEqual(want);
    }
    // rank 11: 11 beams generated, only 10 returned → a miss
    const gen11 = beams(t, 11, 11).slice(0, 40);
    const acc = new GenerativeAccumulator();
    expect(acc.addBatch(gen11, t, 10)[0]).toBe(0);
    expect(Object.values(acc.result().metrics).every((v) => v === 0)).toBe(true);
    // ranking into 11 returned beams: hit at 11 counts for nothing at K ≤ 10 either
    expect(hitRank(beams(t, 11, 11), t, 11)).toBe(11);
  });

  it('spec Appendix B NDCG@10 values: rank 1 → 1, rank 2 → 0.6309, rank 10 → 0.2891', () => {
    const t = [7, 0, 255, 0];
    const ndcg = (rank: number) => {
      const acc = new GenerativeAccumulator();
      acc.addBatch(beams(t, rank), t, 10);
      return acc.result().metrics['ndcg@10'];
    };
    expect(ndcg(1)).toBe(1);
    expect(ndcg(2)).toBeCloseTo(0.6309, 4);
    expect(ndcg(10)).toBeCloseTo(0.2891, 4);
  });

  it('averages over samples of several batches; keys in the reference order', () => {
    const t1 = [1, 2, 3, 0];
    const t2 = [1, 2, 3, 1];
    const t3 = [7, 0, 255, 0];
    const acc = new GenerativeAccumulator();
    acc.addBatch([...beams(t1, 1), ...beams(t2, 3)], [...t1, ...t2], 10);
    acc.addBatch(beams(t3, 0), t3, 10);
    const { metrics, count } = acc.result();
    expect(count).toBe(3);
    expect(Object.keys(metrics)).toEqual([...GENERATIVE_METRIC_KEYS]);
    expect(metrics['recall@1']).toBe(0.333333);
    expect(metrics['recall@5']).toBe(0.666667);
    expect(metrics['ndcg@10']).toBe(roundTo6((1 + 0.5) / 3));
    expect(acc.result(false).metrics['recall@5']).toBe(2 / 3);
    expect(() => acc.addBatch([1, 2, 3], t1, 10)).toThrow();
  });

  it('invalid-code rate over all returned codes', () => {
    const idx = new CodeIndex(table);
    const acc = new GenerativeAccumulator(idx);
    // sample 1: 3 beams → valid, invalid, valid; sample 2: invalid, invalid, valid
    const gen = [1, 2, 3, 0, 5, 5, 5, 5, 7, 0, 255, 0, 1, 2, 3, 2, -1, 0, 0, 0, 1, 2, 3, 1];
    acc.addBatch(gen, [1, 2, 3, 0, 1, 2, 3, 1], 3);
    const r = acc.result();
    expect(r.generated).toBe(6);
    expect(r.invalidRate).toBe(0.5);
    expect(r.metrics['recall@1']).toBe(0.5);
    expect(r.metrics['recall@5']).toBe(1);
    expect(new GenerativeAccumulator().result().invalidRate).toBe(0);
  });

  it('rounding to 6 decimals as Python round(x, 6)', () => {
    expect(roundTo6(1 / 3)).toBe(0.333333);
    expect(roundTo6(2 / 3)).toBe(0.666667);
    expect(roundTo6(1 / Math.log2(11))).toBe(0.289065);
    expect(roundTo6(0.0078125)).toBe(0.007812); // exact binary tie → even (Python), not 0.007813
    expect(roundTo6(0.0234375)).toBe(0.023438); // exact tie, odd last digit → up
    expect(roundTo6(0)).toBe(0);
    expect(roundTo6(1)).toBe(1);
    expect(roundTo6(1.23456749)).toBe(1.234567);
  });
});
