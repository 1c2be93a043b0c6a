import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmUnsortedSegmentSum } from '../../../src/core/tfjs/wasmSegmentSum.ts';
import { embeddingLookup } from '../../../src/core/nn/layers.ts';
import { Rng } from '../../../src/core/rng.ts';

async function on<T>(backend: string, f: () => Promise<T>): Promise<T> {
  expect(await tf.setBackend(backend)).toBe(true);
  expect(tf.getBackend()).toBe(backend);
  return f();
}

describe('wasm UnsortedSegmentSum kernel', () => {
  beforeAll(async () => {
    registerWasmUnsortedSegmentSum();
    registerWasmUnsortedSegmentSum(); // idempotent
    await tf.ready();
  });

  const rng = new Rng(1);
  const x = rng.normalArray(7 * 3 * 2, 1);
  const ids = Int32Array.from([3, 0, 3, 1, 5, 9, -1]); // 9 and -1 are out of range: dropped

  async function compute(): Promise<Float32Array> {
    const t = tf.tensor(x, [7, 3, 2]);
    const s = tf.tensor1d(ids, 'int32');
    const out = tf.unsortedSegmentSum(t, s, 6);
    expect(out.shape).toEqual([6, 3, 2]);
    const v = (await out.data()) as Float32Array;
    tf.dispose([t, s, out]);
    return v;
  }

  it('matches the cpu backend', async () => {
    const cpu = await on('cpu', compute);
    const wasm = await on('wasm', compute);
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
    // and the definition
    const want = new Float32Array(36);
    ids.forEach((s, i) => {
      if (s < 0 || s >= 6) return;
      for (let j = 0; j < 6; j++) want[s * 6 + j] += x[i * 6 + j];
    });
    for (let i = 0; i < 36; i++) expect(wasm[i]).toBeCloseTo(want[i], 5);
  });

  it('lets tf.grad through tf.gather and embeddingLookup work on wasm', async () => {
    const table = rng.normalArray(5 * 4, 1);
    const idx = Int32Array.from([1, 0, 1, 4, 2, 0]);
    const w = rng.normalArray(6 * 4, 1);
    const run = async (pad: boolean) => {
      const T = tf.tensor2d(table, [5, 4]);
      const I = tf.tensor2d(idx, [2, 3], 'int32');
      const W = tf.tensor3d(w, [2, 3, 4]);
      const g = tf.grad((t: tf.Tensor) =>
        tf.sum(tf.mul(pad ? embeddingLookup(t, I, 0) : tf.reshape(tf.gather(t, tf.reshape(I, [-1])), [2, 3, 4]), W)),
      )(T);
      const v = (await g.data()) as Float32Array;
      tf.dispose([T, I, W, g]);
      return v;
    };
    const cpuPlain = await on('cpu', () => run(false));
    const wasmPlain = await on('wasm', () => run(false));
    const wasmPad = await on('wasm', () => run(true));
    for (let i = 0; i < 20; i++) expect(wasmPlain[i]).toBeCloseTo(cpuPlain[i], 5);
    // padding row 0 gets no gradient; other rows unchanged
    for (let i = 0; i < 4; i++) expect(wasmPad[i]).toBe(0);
    for (let i = 4; i < 20; i++) expect(wasmPad[i]).toBeCloseTo(cpuPlain[i], 5);
    expect(cpuPlain.slice(0, 4).some((v) => v !== 0)).toBe(true);
  });
});
