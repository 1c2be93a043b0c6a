import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { dropout, gelu, layerNorm, matMul2d } from '../../../src/core/nn/layers.ts';
import { Rng } from '../../../src/core/rng.ts';

async function on<T>(backend: string, f: () => Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  return f();
}

describe('nn layers', () => {
  it('matMul2d (explicit transposes on wasm) matches tf.matMul on cpu, values and gradients', async () => {
    const rng = new Rng(5);
    const a = rng.normalArray(12, 1);
    const b = rng.normalArray(20, 1);
    const w = rng.normalArray(15, 1);
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const run = async (mm: typeof matMul2d) => {
        const A = tf.tensor2d(a, tA ? [4, 3] : [3, 4]);
        const B = tf.tensor2d(b, tB ? [5, 4] : [4, 5]);
        const W = tf.tensor2d(w, [3, 5]);
        const value = await mm(A, B, tA, tB).data();
        const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x, y, tA, tB), W)))([A, B]);
        return [Array.from(value), ...(await Promise.all(grads.map(async (g) => Array.from(await g.data()))))];
      };
      const plain = (x: tf.Tensor, y: tf.Tensor, p: boolean, q: boolean) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, p, q);
      const want = await on('cpu', () => run(plain as typeof matMul2d));
      const got = await on('wasm', () => run(matMul2d));
      for (let k = 0; k < want.length; k++) for (let i = 0; i < want[k].length; i++) expect(got[k][i]).toBeCloseTo(want[k][i], 4);
    }
  });

  it('layerNorm and gelu custom gradients equal autograd of the plain formulas', async () => {
    await tf.setBackend('cpu');
    const rng = new Rng(9);
    const x = tf.tensor3d(rng.normalArray(2 * 3 * 5, 2), [2, 3, 5]);
    const g = tf.tensor1d(rng.normalArray(5, 1));
    const b = tf.tensor1d(rng.normalArray(5, 1));
    const w = tf.tensor3d(rng.normalArray(30, 1), [2, 3, 5]);
    const refLn = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
      const { mean, variance } = tf.moments(xi, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(xi, mean), tf.sqrt(tf.add(variance, 1e-12))), gi), bi);
    };
    const refGelu = (xi: tf.Tensor) => tf.mul(tf.mul(xi, 0.5), tf.add(1, tf.erf(tf.mul(xi, Math.SQRT1_2))));
    const loss = (ln: typeof layerNorm, ge: typeof gelu) => (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(ge(ln(xi, gi, bi, 1e-12)), w));
    const got = tf.grads(loss(layerNorm, gelu))([x, g, b]);
    const want = tf.grads(loss(refLn as typeof layerNorm, refGelu))([x, g, b]);
    for (let k = 0; k < 3; k++) {
      const a = await got[k].data();
      const e = await want[k].data();
      for (let i = 0; i < e.length; i++) expect(a[i]).toBeCloseTo(e[i], 4);
    }
    const v1 = await gelu(layerNorm(x, g, b, 1e-12)).data();
    const v2 = await refGelu(refLn(x, g, b)).data();
    for (let i = 0; i < v2.length; i++) expect(v1[i]).toBeCloseTo(v2[i], 5);
  });

  it('layerNorm, gelu (erf form) and dropout', async () => {
    await tf.setBackend('wasm');
    const y = await layerNorm(tf.tensor2d([[1, 2, 3, 6]]), tf.ones([4]), tf.zeros([4]), 1e-12).data();
    const mean = 3;
    const sd = Math.sqrt((4 + 1 + 0 + 9) / 4);
    expect(y[0]).toBeCloseTo((1 - mean) / sd, 5);
    const g = await gelu(tf.tensor1d([-1, 0, 1.5])).data();
    // PyTorch nn.GELU(): x·Φ(x)
    expect(g[0]).toBeCloseTo(-0.15865525, 5);
    expect(g[1]).toBe(0);
    expect(g[2]).toBeCloseTo(1.39978919, 5);
    const x = tf.ones([1000]);
    const d = await dropout(x, 0.25, true, new Rng(1)).data();
    const zeros = d.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(200);
    expect(zeros).toBeLessThan(300);
    expect(d.find((v) => v !== 0)).toBeCloseTo(1 / 0.75, 6);
    expect(await dropout(x, 0.25, false, new Rng(1)).data()).toEqual(await x.data());
  });
});
