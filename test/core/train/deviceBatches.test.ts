import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { DeviceBatches } from '../../../src/core/train/deviceBatches.ts';
import { historyCodes, targetCodes } from '../../../src/core/eval/evaluateGenerative.ts';
import { Rng } from '../../../src/core/rng.ts';
import { tinySamples, TINY_ITEMS } from './tinyJoint.ts';

/** A random (N+1) × 4 code table with row 0 = −1s, as buildCodeTable produces. */
function codeTable(rng: Rng, n: number): Int32Array {
  const t = new Int32Array((n + 1) * 4).fill(-1);
  for (let i = 4; i < t.length; i++) t[i] = rng.int(8);
  return t;
}

describe('DeviceBatches (batches gathered on the device)', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`equals the host-built encoder codes and labels on ${backend}, and releases its tensors`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const rng = new Rng(3);
      const samples = tinySamples(rng, 30, 12);
      const before = tf.memory().numTensors;
      const batches = new DeviceBatches(samples, 4, 5);
      for (const table of [codeTable(rng, TINY_ITEMS), codeTable(rng, TINY_ITEMS)]) {
        batches.setCodes(table); // a rebuilt table replaces the old one
        for (const rows of [[0], [3, 1, 4, 1, 5], Array.from({ length: 30 }, (_, i) => 29 - i), [7, 7, 2]]) {
          const want = historyCodes(samples, rows, table, 4, 5);
          const X = batches.historyCodes(rows);
          expect(X.shape).toEqual([rows.length, want.width]);
          expect(Array.from(X.dataSync())).toEqual(Array.from(want.codes));
          const Y = batches.targetCodes(rows);
          expect(Array.from(Y.dataSync())).toEqual(Array.from(targetCodes(samples, rows, table, 4)));
          tf.dispose([X, Y]);
        }
      }
      batches.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('refuses to build a batch before it has a code table', () => {
    const batches = new DeviceBatches(tinySamples(new Rng(1), 4, 6), 4, 5);
    expect(() => batches.historyCodes([0])).toThrow(/setCodes/);
    batches.dispose();
  });
});
