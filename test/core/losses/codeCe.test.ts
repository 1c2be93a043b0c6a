import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { parseNpy } from '../../../src/core/io/npy.ts';
import { codeCrossEntropy } from '../../../src/core/losses/codeCe.ts';

const t5 = resolve(__dirname, '../../../../shared/conformance/pytorch/t5');

describe.each(['cpu', 'wasm'])('code cross-entropy (%s)', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it('tiny case against a hand log-softmax; gradient = (softmax − onehot)/(B·C)', async () => {
    // B = 1, C = 2, K = 3
    const rows = [
      [1, 2, 3],
      [0.5, -1, 0],
    ];
    const labels = [2, 1];
    const hand = rows.map((r, i) => {
      const lse = Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
      return lse - r[labels[i]];
    });
    const want = (hand[0] + hand[1]) / 2;
    const logits = tf.tensor3d([rows]);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => codeCrossEntropy(x, labels))(logits);
    expect((await value.data())[0]).toBeCloseTo(want, 6);
    const g = (await grad.array()) as number[][][];
    rows.forEach((r, i) => {
      const z = r.reduce((s, v) => s + Math.exp(v), 0);
      r.forEach((v, k) => expect(g[0][i][k]).toBeCloseTo((Math.exp(v) / z - (k === labels[i] ? 1 : 0)) / 2, 6));
    });
    // labels as a tensor give the same value
    const viaTensor = (await codeCrossEntropy(logits, tf.tensor2d([labels], [1, 2], 'int32')).data())[0];
    expect(viaTensor).toBeCloseTo(want, 6);
    tf.dispose([logits, value, grad]);
  });

  it('reproduces the T5 conformance code_ce from out_logits and input_labels', async () => {
    const logitsNpy = parseNpy(new Uint8Array(readFileSync(`${t5}/out_logits.npy`)));
    const labelsNpy = parseNpy(new Uint8Array(readFileSync(`${t5}/input_labels.npy`)));
    const manifest = JSON.parse(readFileSync(`${t5}/manifest.json`, 'utf8')) as { scalars: { code_ce: number } };
    const logits = tf.tensor(logitsNpy.data as Float32Array, logitsNpy.shape);
    const got = (await codeCrossEntropy(logits, labelsNpy.data as Int32Array).data())[0];
    const want = manifest.scalars.code_ce;
    expect(Math.abs(got - want) / want).toBeLessThan(1e-5);
    logits.dispose();
  });

  it('rejects a label count that does not match', () => {
    const logits = tf.zeros([2, 4, 8]);
    expect(() => codeCrossEntropy(logits, [1, 2, 3])).toThrow(/labels/);
    logits.dispose();
  });
});
