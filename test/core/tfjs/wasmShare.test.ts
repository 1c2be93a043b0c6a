import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmSharedIdentity, setWasmSharedIdentity, wasmSharedIdentityCalls } from '../../../src/core/tfjs/wasmShare.ts';
import { Rng } from '../../../src/core/rng.ts';

/** A small differentiable function whose gradient tape saves (and so clones) many tensors. */
function lossOf(w: tf.Tensor2D, x: tf.Tensor2D): tf.Scalar {
  const h = tf.relu(tf.matMul(x, w));
  const n = tf.rsqrt(tf.add(tf.mean(tf.square(h), -1, true), 1e-6));
  return tf.sum(tf.mul(tf.softmax(tf.mul(h, n)), tf.cast(tf.onesLike(h), 'float32')));
}

function gradsOn(wv: Float32Array, xv: Float32Array): Float32Array {
  return tf.tidy(() => {
    const w = tf.tensor2d(wv, [8, 6]);
    const x = tf.tensor2d(xv, [5, 8]);
    return tf.grad((ww: tf.Tensor) => lossOf(ww as tf.Tensor2D, x))(w).dataSync() as Float32Array;
  });
}

describe('copy-free Identity and same-dtype Cast on wasm', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    installWasmSharedIdentity();
    setWasmSharedIdentity(true);
  });
  afterAll(() => setWasmSharedIdentity(true));

  it('a clone shares the buffer, outlives its source, and frees it once both are gone', () => {
    const before = (tf.memory() as { numDataBuffers: number }).numDataBuffers;
    const buffers = () => (tf.memory() as { numDataBuffers: number }).numDataBuffers;
    const calls = wasmSharedIdentityCalls();
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    expect(wasmSharedIdentityCalls()).toBe(calls + 1);
    expect(buffers()).toBe(before + 1); // one buffer, not two
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    expect(buffers()).toBe(before + 1);
    y.dispose();
    expect(buffers()).toBe(before);
  });

  it('Cast to the same dtype shares; to another dtype it converts', () => {
    const calls = wasmSharedIdentityCalls();
    const i = tf.tensor1d([1, -2, 3], 'int32');
    const same = tf.cast(i, 'int32');
    expect(wasmSharedIdentityCalls()).toBe(calls + 1);
    const f = tf.cast(i, 'float32');
    const b = tf.cast(tf.tensor1d([0, -2, 7]), 'int32');
    expect(wasmSharedIdentityCalls()).toBe(calls + 1);
    expect(f.dtype).toBe('float32');
    expect(Array.from(f.dataSync())).toEqual([1, -2, 3]);
    expect(b.dtype).toBe('int32');
    expect(Array.from(b.dataSync())).toEqual([0, -2, 7]);
    expect(Array.from(same.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([i, same, f, b]);
  });

  it('gradients equal those of the stock copies and of the cpu backend; the tensor count stays flat', async () => {
    const rng = new Rng(3);
    const wv = rng.normalArray(48, 0.5);
    const xv = rng.normalArray(40, 1);
    const calls = wasmSharedIdentityCalls();
    const start = tf.memory().numTensors;
    const shared = gradsOn(wv, xv);
    expect(wasmSharedIdentityCalls()).toBeGreaterThan(calls + 5); // the tape really cloned through us
    for (let r = 0; r < 3; r++) gradsOn(wv, xv);
    expect(tf.memory().numTensors).toBe(start);
    setWasmSharedIdentity(false);
    const stock = gradsOn(wv, xv);
    setWasmSharedIdentity(true);
    expect(Array.from(shared)).toEqual(Array.from(stock));
    expect(await tf.setBackend('cpu')).toBe(true);
    const cpu = gradsOn(wv, xv);
    expect(await tf.setBackend('wasm')).toBe(true);
    for (let i = 0; i < cpu.length; i++) expect(shared[i]).toBeCloseTo(cpu[i], 5);
  });
});
