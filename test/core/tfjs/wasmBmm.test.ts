import { describe, expect, it, beforeAll } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  installWasmFastBatchMatMul,
  setWasmFastBatchMatMul,
  wasmFastBatchMatMulActive,
  wasmFastBatchMatMulCalls,
} from '../../../src/core/tfjs/wasmBmm.ts';
import { WASM_BMM_SOURCE_SHA256 } from '../../../src/core/tfjs/wasmBmmBinary.ts';
import { Rng } from '../../../src/core/rng.ts';

/** The definition: C[t,i,j] = Σ_k op(A)[t,i,k]·op(B)[t,k,j], in float64. */
function naive(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, tA: boolean, tB: boolean): Float64Array {
  const c = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = tA ? a[t * m * k + q * m + i] : a[t * m * k + i * k + q];
          const bv = tB ? b[t * k * n + j * k + q] : b[t * k * n + q * n + j];
          s += av * bv;
        }
        c[t * m * n + i * n + j] = s;
      }
    }
  }
  return c;
}

function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  expect(x.length).toBe(y.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

describe('wasm SIMD BatchMatMul kernel', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    installWasmFastBatchMatMul();
    installWasmFastBatchMatMul(); // idempotent
    setWasmFastBatchMatMul(true);
  });

  it('embeds the binary built from the current kernels/wasm/bmm.c (rebuild: npm run build:kernels)', () => {
    const sha = createHash('sha256').update(readFileSync('kernels/wasm/bmm.c')).digest('hex');
    expect(WASM_BMM_SOURCE_SHA256).toBe(sha);
  });

  const rng = new Rng(7);
  // Odd sizes hit every remainder path (rows mod 4, columns mod 8 and mod 4).
  const shapes: [number, number, number, number][] = [
    [2, 1, 9, 1], [3, 5, 7, 13], [2, 4, 16, 8], [4, 9, 3, 17], [2, 33, 64, 31], [5, 12, 1, 12], [3, 64, 24, 40],
  ];
  for (const [batch, m, k, n] of shapes) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        it(`matches the definition for batch ${batch}, ${m}×${k}·${k}×${n}, transposeA ${tA}, transposeB ${tB}`, () => {
          const av = Float32Array.from(rng.normalArray(batch * m * k, 1));
          const bv = Float32Array.from(rng.normalArray(batch * k * n, 1));
          const a = tf.tensor3d(av, tA ? [batch, k, m] : [batch, m, k]);
          const b = tf.tensor3d(bv, tB ? [batch, n, k] : [batch, k, n]);
          const before = wasmFastBatchMatMulCalls();
          const c = tf.matMul(a, b, tA, tB);
          const fastRan = wasmFastBatchMatMulCalls() > before;
          expect(fastRan).toBe(batch * m * k * n >= 4096);
          expect(c.shape).toEqual([batch, m, n]);
          const want = naive(av, bv, batch, m, k, n, tA, tB);
          expect(maxAbsDiff(c.dataSync(), want)).toBeLessThan(1e-4 * Math.sqrt(k) + 1e-6);
          tf.dispose([a, b, c]);
        });
      }
    }
  }

  it('agrees with the stock tfjs kernel on rank-4 attention shapes, forward and gradient, without leaking tensors', () => {
    const [B, H, L, d] = [3, 4, 23, 16];
    const q = tf.tensor4d(rng.normalArray(B * H * L * d, 1), [B, H, L, d]);
    const kk = tf.tensor4d(rng.normalArray(B * H * L * d, 1), [B, H, L, d]);
    const w = tf.tensor4d(rng.normalArray(B * H * L * L, 1), [B, H, L, L]);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor4D, y as tf.Tensor4D, false, true), w));
    const run = (fast: boolean) => {
      setWasmFastBatchMatMul(fast);
      expect(wasmFastBatchMatMulActive()).toBe(fast);
      const before = wasmFastBatchMatMulCalls();
      const { value, grads } = tf.valueAndGrads(f)([q, kk]);
      const calls = wasmFastBatchMatMulCalls() - before;
      const out = { value: value.dataSync()[0], gq: grads[0].dataSync(), gk: grads[1].dataSync(), calls };
      tf.dispose([value, ...grads]);
      return out;
    };
    const count = tf.memory().numTensors;
    const stock = run(false);
    const fast = run(true);
    setWasmFastBatchMatMul(true);
    expect(stock.calls).toBe(0);
    expect(fast.calls).toBe(3); // forward + both gradient products
    expect(Math.abs(fast.value - stock.value)).toBeLessThan(1e-3 * Math.max(1, Math.abs(stock.value)));
    expect(maxAbsDiff(fast.gq, stock.gq)).toBeLessThan(1e-3);
    expect(maxAbsDiff(fast.gk, stock.gk)).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(count);
    tf.dispose([q, kk, w]);
  });

  it('leaves batch-1 products and broadcasting to the stock kernel', () => {
    const before = wasmFastBatchMatMulCalls();
    const a = tf.randomNormal([1, 64, 64]);
    const b = tf.randomNormal([1, 64, 64]);
    const c = tf.randomNormal([4, 64, 64]);
    tf.dispose([tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D), tf.matMul(c as tf.Tensor3D, b as tf.Tensor3D)]);
    expect(wasmFastBatchMatMulCalls()).toBe(before);
    tf.dispose([a, b, c]);
  });
});
