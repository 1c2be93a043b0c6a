import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { AdamW, clipGradNorm } from '../../../src/core/optim/adam.ts';
import { npyToFloat32, parseNpy } from '../../../src/core/io/npy.ts';

const dir = resolve(__dirname, '../../../../shared/conformance/pytorch/adamw');
const load = (name: string) => npyToFloat32(parseNpy(new Uint8Array(readFileSync(`${dir}/${name}.npy`)))).data;

describe.each(['cpu', 'wasm'])('AdamW vs PyTorch (%s)', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it('5 steps with global-norm clipping 1.0 match torch.optim.AdamW', async () => {
    const p = tf.variable(tf.tensor2d(load('init'), [8, 4]));
    const opt = new AdamW([p], { lr: 5e-3, weightDecay: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    const before = tf.memory().numTensors;
    for (let s = 0; s < 5; s++) {
      tf.tidy(() => {
        const { grads } = clipGradNorm({ [p.name]: tf.tensor2d(load(`grad_${s}`), [8, 4]) }, 1.0);
        opt.step(grads);
      });
      const got = (await p.data()) as Float32Array;
      const want = load(`param_after_${s}`);
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 + 1e-4 * Math.abs(want[i]));
      }
      expect(tf.memory().numTensors).toBe(before);
    }
    opt.dispose();
    p.dispose();
  });

  it('weightDecay 0 is plain Adam (first step moves every coordinate by lr·sign(g))', async () => {
    const p = tf.variable(tf.tensor1d([1, -2, 3]));
    const opt = new AdamW([p], { lr: 0.1 });
    tf.tidy(() => opt.step({ [p.name]: tf.tensor1d([0.5, -4, 1e-3]) }));
    const got = await p.data();
    expect(got[0]).toBeCloseTo(0.9, 5);
    expect(got[1]).toBeCloseTo(-1.9, 5);
    expect(got[2]).toBeCloseTo(2.9, 4);
    opt.dispose();
    p.dispose();
  });
});
