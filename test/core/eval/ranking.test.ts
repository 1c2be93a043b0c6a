import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  RankingAccumulator,
  metricsFromScores,
  popularityMetrics,
  rankOf,
  ranksOnDevice,
} from '../../../src/core/eval/ranking.ts';

const ndcg = (rank: number) => 1 / Math.log2(rank + 1);

describe('full-ranking metrics', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
  });

  it('ranks by strictly higher scores; ties go to the target (optimistic) or against it', () => {
    expect(rankOf([0.1, 0.9, 0.5, 0.3], 2)).toBe(2);
    expect(rankOf([0.1, 0.9, 0.5, 0.3], 1)).toBe(1);
    expect(rankOf([0.5, 0.5, 0.5, 0.1], 1)).toBe(1);
    expect(rankOf([0.5, 0.5, 0.5, 0.1], 1, 'pessimistic')).toBe(3);
    expect(rankOf([0.5, 0.5, 0.5, 0.1], 3)).toBe(4);
  });

  it('averages Recall@K and NDCG@K over hand-computed ranks', () => {
    const acc = new RankingAccumulator([5, 10]);
    acc.addAll([1, 3, 6, 11]);
    const m = acc.result();
    expect(m['recall@5']).toBeCloseTo(2 / 4, 12);
    expect(m['recall@10']).toBeCloseTo(3 / 4, 12);
    expect(m['ndcg@5']).toBeCloseTo((1 + 0.5) / 4, 12);
    expect(m['ndcg@10']).toBeCloseTo((1 + 0.5 + ndcg(6)) / 4, 12);
  });

  it('scores matrix: 12 items, targets at ranks 1, 7 (with a tie), 12', () => {
    const cols = 12;
    const s = new Float32Array(3 * cols);
    for (let j = 0; j < cols; j++) {
      s[j] = j; // target 11 → rank 1
      s[cols + j] = 20 - j; // target column 6 (score 14): 6 higher → rank 7 …
      s[2 * cols + j] = j; // target 0 → rank 12
    }
    s[cols + 7] = 14; // … and a tie with column 7: still rank 7 optimistically
    const m = metricsFromScores(s, cols, [11, 6, 0]);
    expect(m['recall@5']).toBeCloseTo(1 / 3, 12);
    expect(m['recall@10']).toBeCloseTo(2 / 3, 12);
    expect(m['ndcg@10']).toBeCloseTo((1 + ndcg(7)) / 3, 12);
    const pess = metricsFromScores(s, cols, [11, 6, 0], [5, 10], 'pessimistic');
    expect(pess['ndcg@10']).toBeCloseTo((1 + ndcg(8)) / 3, 12);
  });

  it('on-device ranks equal the CPU ranks', async () => {
    const scores = [
      [0.1, 0.9, 0.5, 0.3, 0.5],
      [1, 1, 1, 1, 1],
      [5, 4, 3, 2, 1],
    ];
    const targets = [2, 3, 4];
    const r = tf.tidy(() => ranksOnDevice(tf.tensor2d(scores), tf.tensor1d(targets, 'int32')));
    expect(Array.from(await r.data())).toEqual(scores.map((row, i) => rankOf(row, targets[i])));
    r.dispose();
  });

  it('popularity baseline ranks items by training counts', () => {
    const counts = [10, 3, 3, 7, 0]; // items 1..5
    // item 1 → rank 1; item 2 (count 3, tie with item 3) → rank 3 optimistic, 4 pessimistic; item 5 → 5
    const m = popularityMetrics(counts, [1, 2, 5], [1, 3]);
    expect(m['recall@1']).toBeCloseTo(1 / 3, 12);
    expect(m['recall@3']).toBeCloseTo(2 / 3, 12);
    expect(m['ndcg@3']).toBeCloseTo((1 + ndcg(3)) / 3, 12);
    const p = popularityMetrics(counts, [1, 2, 5], [1, 3], 'pessimistic');
    expect(p['recall@3']).toBeCloseTo(1 / 3, 12);
  });
});
