import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { EtegrecRecommender } from '../../../src/core/models/recommender.ts';
import { Rng } from '../../../src/core/rng.ts';
import { dealParts, flattenGrads, unflattenGrads } from '../../../src/core/train/dataParallel.ts';
import { jointRecommenderConfig } from '../../../src/core/train/joint.ts';
import { TINY_ITEMS, TINY_TOK, tinyJointConfig, useCpuBackend } from './tinyJoint.ts';

useCpuBackend();

describe('data-parallel pieces', () => {
  it('Rng.skip(n) lands where n draws land, also past 2¹⁶ and 2³² draws', () => {
    for (const n of [0, 1, 5, 65535, 65536, 70001, 123457]) {
      const a = new Rng(99);
      for (let i = 0; i < n; i++) a.next();
      const b = new Rng(99).skip(n);
      expect(b.getState()).toBe(a.getState());
      expect(b.next()).toBe(a.next());
    }
    // the state is a counter mod 2³²: 2³² draws come back to the start, 2³² + 3 equals 3
    expect(new Rng(5).skip(2 ** 32).getState()).toBe(5);
    expect(new Rng(5).skip(2 ** 32 + 3).getState()).toBe(new Rng(5).skip(3).getState());
  });

  it('dropoutDraws counts the draws a training forward takes, for several batch shapes', () => {
    const cfg = tinyJointConfig();
    const rec = new EtegrecRecommender(jointRecommenderConfig(cfg, TINY_ITEMS, TINY_TOK.in_dim, TINY_TOK), 11);
    try {
      for (const [rows, histLen] of [[1, 1], [3, 2], [5, 6]]) {
        const X = tf.tensor2d(Array.from({ length: rows * histLen * 4 }, (_, i) => i % 8), [rows, histLen * 4], 'int32');
        const Y = tf.tensor2d(Array.from({ length: rows * 4 }, (_, i) => i % 8), [rows, 4], 'int32');
        const rng = new Rng(3);
        tf.tidy(() => void rec.forward(X, Y, { training: true, rng }));
        expect(rng.getState()).toBe(new Rng(3).skip(rec.dropoutDraws(rows, histLen * 4)).getState());
        tf.dispose([X, Y]);
      }
    } finally {
      rec.dispose();
    }
  });

  it('deals contiguous micro-batches balanced by cost', () => {
    expect(dealParts([1, 1, 1, 1], 2)).toEqual([0, 0, 1, 1]);
    expect(dealParts([1, 1, 1, 1], 1)).toEqual([0, 0, 0, 0]);
    // midpoints 0.5, 1.5, 3.5, 8 of 12: shares [0, 6) and [6, 12)
    expect(dealParts([1, 1, 3, 7], 2)).toEqual([0, 0, 0, 1]);
    expect(dealParts([4, 4, 4], 3)).toEqual([0, 1, 2]);
    // fewer parts than replicas: some replicas idle
    expect(dealParts([5], 2)).toEqual([1]);
  });

  it('flattens gradients with presence flags; a sum of two flats keeps either one’s gradients', () => {
    const a = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, 'dp_a');
    const b = tf.variable(tf.tensor1d([5, 6, 7]), true, 'dp_b');
    try {
      const g1 = { dp_a: tf.tensor2d([[1, 1], [1, 1]]) };
      const g2 = { dp_a: tf.tensor2d([0.5, 0, 0, 2], [2, 2]) };
      const f1 = flattenGrads([a, b], g1);
      expect(Array.from(f1)).toEqual([1, 1, 1, 1, 0, 0, 0, 1, 0]);
      const f2 = flattenGrads([a, b], g2);
      const sum = f1.map((x, i) => x + f2[i]);
      const out = unflattenGrads([a, b], sum);
      expect(Object.keys(out)).toEqual(['dp_a']);
      expect(Array.from(out.dp_a.dataSync())).toEqual([1.5, 1, 1, 3]);
      expect(out.dp_a.shape).toEqual([2, 2]);
      tf.dispose([...Object.values(g1), ...Object.values(g2), ...Object.values(out)]);
    } finally {
      tf.dispose([a, b]);
    }
  });
});
