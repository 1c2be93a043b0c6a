import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { parseNpy } from '../../../src/core/io/npy.ts';
import { psaInfoNceLoss, selectRows, siaKlLoss, uniqueFirstIndex } from '../../../src/core/losses/alignment.ts';

const root = resolve(__dirname, '../../../../shared/conformance/pytorch');
/** Raw float32 data of a conformance array (any rank). */
const load = (name: string): Float32Array => {
  const arr = parseNpy(new Uint8Array(readFileSync(`${root}/${name}.npy`)));
  expect(arr.dtype).toBe('<f4');
  return arr.data as Float32Array;
};
const manifest = JSON.parse(readFileSync(`${root}/manifest.json`, 'utf8')) as Record<string, { loss?: number }>;

/** max |got − want| / (|want| + atol); returns the max relative error too, for the report. */
function maxErr(got: ArrayLike<number>, want: ArrayLike<number>, atolScale: number): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + atolScale);
    if (e > worst) worst = e;
  }
  return worst;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

describe('uniqueFirstIndex (numpy unique return_index)', () => {
  it('distinct ids sorted ascending, index of the first occurrence', () => {
    const { unique, index } = uniqueFirstIndex([7, 3, 7, 1, 3, 9, 1]);
    expect([...unique]).toEqual([1, 3, 7, 9]);
    expect([...index]).toEqual([3, 1, 0, 5]);
  });
  it('all equal, already unique, empty', () => {
    expect([...uniqueFirstIndex([5, 5, 5]).index]).toEqual([0]);
    expect([...uniqueFirstIndex([2, 4, 6]).index]).toEqual([0, 1, 2]);
    const u = uniqueFirstIndex([10, 2, 33, 4]);
    expect([...u.unique]).toEqual([2, 4, 10, 33]);
    expect([...u.index]).toEqual([1, 3, 0, 2]);
    expect(uniqueFirstIndex([]).index.length).toBe(0);
  });
});

describe.each(['cpu', 'wasm'])('alignment losses vs PyTorch (%s)', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it('SIA symmetric KL: value and gradients w.r.t. both inputs', async () => {
    const seq = tf.tensor3d(load('sia_kl/input_seq_logits'), [16, 3, 256]);
    const tgt = tf.tensor3d(load('sia_kl/input_target_logits'), [16, 3, 256]);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => siaKlLoss(a, b))([seq, tgt]);
    const want = manifest['sia_kl/scalars'].loss as number;
    const v = (await value.data())[0];
    expect(Math.abs(v - want) / want).toBeLessThan(1e-4);
    const gs = load('sia_kl/grad_seq_logits');
    const gt = load('sia_kl/grad_target_logits');
    const es = maxErr(await grads[0].data(), gs, 1e-3 * maxAbs(gs));
    const et = maxErr(await grads[1].data(), gt, 1e-3 * maxAbs(gt));
    console.log(`[${backend}] sia_kl value rel err ${(Math.abs(v - want) / want).toExponential(2)}, grad rel err ${es.toExponential(2)} / ${et.toExponential(2)}`);
    expect(es).toBeLessThan(1e-3);
    expect(et).toBeLessThan(1e-3);
    tf.dispose([value, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([seq, tgt]);
  });

  it('SIA sign switch: minus differs from plus and equals plus on negated inputs; symmetric', async () => {
    const seq = tf.tensor3d(load('sia_kl/input_seq_logits'), [16, 3, 256]);
    const tgt = tf.tensor3d(load('sia_kl/input_target_logits'), [16, 3, 256]);
    const plus = (await siaKlLoss(seq, tgt).data())[0];
    const minus = (await siaKlLoss(seq, tgt, { sign: 'minus' }).data())[0];
    const negPlus = (await siaKlLoss(tf.neg(seq), tf.neg(tgt)).data())[0];
    const swapped = (await siaKlLoss(tgt, seq).data())[0];
    expect(Math.abs(minus - plus)).toBeGreaterThan(1e-2 * plus);
    expect(Math.abs(minus - negPlus)).toBeLessThan(1e-5 * Math.abs(negPlus));
    expect(Math.abs(swapped - plus)).toBeLessThan(1e-5 * plus);
    tf.dispose([seq, tgt]);
  });

  it('SIA with a row subset equals the loss on the picked rows; gradient zero on the others', async () => {
    const seq = tf.tensor3d(load('sia_kl/input_seq_logits'), [16, 3, 256]);
    const tgt = tf.tensor3d(load('sia_kl/input_target_logits'), [16, 3, 256]);
    const rows = [4, 0, 9];
    const pick = (x: tf.Tensor) => tf.concat(rows.map((r) => tf.slice(x, [r, 0, 0], [1, 3, 256])));
    const direct = (await siaKlLoss(pick(seq), pick(tgt)).data())[0];
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => siaKlLoss(a, b, { rows }))([seq, tgt]);
    expect(Math.abs((await value.data())[0] - direct)).toBeLessThan(1e-5 * direct);
    const g = (await grads[0].array()) as number[][][];
    expect(maxAbs(g[1].flat())).toBe(0);
    expect(maxAbs(g[4].flat())).toBeGreaterThan(0);
    tf.dispose([seq, tgt, value, ...grads]);
  });

  it('PSA InfoNCE: value and gradients w.r.t. both inputs', async () => {
    const r = tf.tensor2d(load('psa_infonce/input_recon'), [16, 256]);
    const h = tf.tensor2d(load('psa_infonce/input_dec'), [16, 256]);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => psaInfoNceLoss(a, b))([r, h]);
    const want = manifest['psa_infonce/scalars'].loss as number;
    const v = (await value.data())[0];
    expect(Math.abs(v - want) / want).toBeLessThan(1e-4);
    const gr = load('psa_infonce/grad_recon');
    const gd = load('psa_infonce/grad_dec');
    const er = maxErr(await grads[0].data(), gr, 1e-3 * maxAbs(gr));
    const ed = maxErr(await grads[1].data(), gd, 1e-3 * maxAbs(gd));
    console.log(`[${backend}] psa_infonce value rel err ${(Math.abs(v - want) / want).toExponential(2)}, grad rel err ${er.toExponential(2)} / ${ed.toExponential(2)}`);
    expect(er).toBeLessThan(1e-3);
    expect(ed).toBeLessThan(1e-3);
    tf.dispose([value, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([r, h]);
  });

  it('PSA with the unique-target subset equals the loss on the deduplicated rows', async () => {
    const r = tf.tensor2d(load('psa_infonce/input_recon'), [16, 256]);
    const h = tf.tensor2d(load('psa_infonce/input_dec'), [16, 256]);
    const { index } = uniqueFirstIndex([5, 3, 5, 8, 3, 1, 9, 9, 2, 2, 7, 6, 4, 11, 12, 13]);
    const direct = (await psaInfoNceLoss(selectRows(r, index), selectRows(h, index)).data())[0];
    const rowsIdx = tf.tensor1d(index, 'int32');
    const viaGather = (await psaInfoNceLoss(tf.gather(r, rowsIdx), tf.gather(h, rowsIdx)).data())[0];
    const sub = (await psaInfoNceLoss(r, h, { rows: index }).data())[0];
    expect(Math.abs(sub - direct)).toBeLessThan(1e-6 * direct);
    expect(Math.abs(sub - viaGather)).toBeLessThan(1e-5 * direct);
    tf.dispose([r, h, rowsIdx]);
  });
});
