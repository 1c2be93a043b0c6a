/**
 * A training whose loss is no longer finite stops with a 'diverged' StudioError naming where it
 * happened, instead of finishing with R@10 0; watching a loss leaks no tensors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { StudioError } from '../../../src/core/errors.ts';
import { DivergenceWatch } from '../../../src/core/train/divergence.ts';
import { trainJoint } from '../../../src/core/train/joint.ts';
import { TINY_TOK, tinyJointConfig, tinyJointData, tinyTokenizerState } from './tinyJoint.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DivergenceWatch', () => {
  it('passes finite losses, stops at the first NaN or Inf with its place, and keeps the tensor count flat', async () => {
    const before = tf.memory().numTensors;
    const w = new DivergenceWatch('Test training');
    for (const [i, v] of [1.5, 0.2].entries()) {
      const t = tf.scalar(v);
      w.watch(t, `step ${i + 1}`);
      t.dispose();
    }
    await w.settle();
    const bad = tf.scalar(Number.POSITIVE_INFINITY);
    w.watch(bad, 'step 3');
    const nan = tf.scalar(Number.NaN);
    w.watch(nan, 'step 4');
    tf.dispose([bad, nan]);
    const err = await w.settle().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).info.code).toBe('diverged');
    expect((err as StudioError).message).toMatch(/Test training diverged: the loss became \+Infinity at step 3/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('joint training that diverges', () => {
  it('fails at the epoch and batch where the loss became NaN; no later checkpoint or epoch is recorded', async () => {
    const tokenizer = { state: await tinyTokenizerState(), config: TINY_TOK };
    const cfg = tinyJointConfig({ epochs: 3 });
    const first = await trainJoint(tinyJointData(), cfg, { tokenizer, maxEpochs: 1 });
    expect(first.checkpoint.history).toHaveLength(1);
    // one recommender weight becomes NaN: every loss of the next epoch is NaN from its first batch
    const resume = structuredClone(first.checkpoint);
    const rec = resume.current.recommender;
    const key = Object.keys(rec).find((k) => k.endsWith('weight') && (rec[k].data as Float32Array).length > 1);
    (rec[key!].data as Float32Array)[0] = Number.NaN;
    const epochs: unknown[] = [];
    const checkpoints: unknown[] = [];
    const err = await trainJoint(tinyJointData(), cfg, {
      tokenizer, resume, maxEpochs: 2, onEpoch: (r) => epochs.push(r), onCheckpoint: (c) => { checkpoints.push(c); },
    }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).info.code).toBe('diverged');
    expect((err as StudioError).message).toMatch(/Joint training diverged: the loss became NaN at alternating epoch 2, batch 1 of 3/);
    expect(epochs).toEqual([]);
    expect(checkpoints).toEqual([]);
  }, 60_000);
});
