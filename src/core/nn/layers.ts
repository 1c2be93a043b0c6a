/**
 * Functional building blocks over named parameters. All run on every tfjs backend (wasm needs
 * registerWasmUnsortedSegmentSum for the embedding gradient).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.ts';

/**
 * 2-D matMul. On wasm, tfjs 4.22's transposeA/transposeB paths are ~10× slower than a plain product
 * (measured: 3200×256·256×256 takes 300–800 ms transposed vs 30 ms), and the backward pass of every
 * matMul uses them; so on wasm transposes are explicit, forward and backward (custom gradient).
 */
export function matMul2d(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transposeA, transposeB);
  const f = tf.customGrad(((x: tf.Tensor, y: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const A = (transposeA ? tf.transpose(x) : x) as tf.Tensor2D;
    const B = (transposeB ? tf.transpose(y) : y) as tf.Tensor2D;
    save([A, B]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sA, sB] = saved as tf.Tensor2D[];
      const dA = tf.matMul(dy as tf.Tensor2D, tf.transpose(sB));
      const dB = tf.matMul(tf.transpose(sA), dy as tf.Tensor2D);
      return [transposeA ? tf.transpose(dA) : dA, transposeB ? tf.transpose(dB) : dB];
    };
    return { value: tf.matMul(A, B), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b) as tf.Tensor2D;
}

/** x·W + b over the last axis; W is [in, out] (PyTorch's weight transposed). */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const [inDim, outDim] = w.shape as [number, number];
  const lead = x.shape.slice(0, -1);
  let y: tf.Tensor = matMul2d(tf.reshape(x, [-1, inDim]), w);
  if (b) y = tf.add(y, b);
  return lead.length === 1 ? y : tf.reshape(y, [...lead, outDim]);
}

/**
 * LayerNorm over the last axis (biased variance, as PyTorch), with a hand-written gradient that keeps
 * only x̂ and 1/σ on the tape (autograd through moments would keep ~8 full-size intermediates).
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const H = x.shape[x.shape.length - 1];
  const f = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const xc = tf.sub(xi, tf.mean(xi, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps));
    const xhat = tf.mul(xc, rstd);
    save([xhat, rstd, g]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sr, sg] = saved;
      const dxhat = tf.mul(dy, sg);
      const dx = tf.mul(
        sr,
        tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(sx, tf.mean(tf.mul(dxhat, sx), -1, true))),
      );
      const dg = tf.sum(tf.reshape(tf.mul(dy, sx), [-1, H]), 0);
      const db = tf.sum(tf.reshape(dy, [-1, H]), 0);
      return [dx, dg, db];
    };
    return { value: tf.add(tf.mul(xhat, g), b), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta);
}

/** GELU, exact erf form (PyTorch nn.GELU() / RecBole 'gelu'); gradient Φ(x) + x·φ(x), saving only x. */
export function gelu(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad(((xi: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    save([xi]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const s = saved[0];
      const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(s, Math.SQRT1_2))), 0.5);
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(s), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return tf.mul(dy, tf.add(cdf, tf.mul(s, pdf)));
    };
    return { value: tf.mul(tf.mul(xi, 0.5), tf.add(1, tf.erf(tf.mul(xi, Math.SQRT1_2)))), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x);
}

/**
 * Inverted dropout: x · mask / (1 − rate). The mask comes from `rng` in JS (deterministic, and
 * several times faster than tf.dropout's per-element seedrandom); identity when not training.
 */
export function dropout(x: tf.Tensor, rate: number, training: boolean, rng?: Rng): tf.Tensor {
  if (!training || rate <= 0) return x;
  if (!rng) return tf.dropout(x, rate);
  const m = rng.dropoutMask(new Float32Array(x.size), rate, 1 / (1 - rate));
  return tf.mul(x, tf.tensor(m, x.shape, 'float32'));
}

/**
 * table[ids] with a gradient on every backend: unsortedSegmentSum of dy into the rows, with the
 * rows of `paddingIdx` receiving no gradient (PyTorch nn.Embedding padding_idx). ids: int32.
 */
export function embeddingLookup(table: tf.Tensor, ids: tf.Tensor, paddingIdx?: number): tf.Tensor {
  const [rows, dim] = table.shape as [number, number];
  const f = tf.customGrad(((t: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
    const value = tf.reshape(tf.gather(t, flat), [...ids.shape, dim]);
    save([flat]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const idx = saved[0] as tf.Tensor1D;
      let g = tf.reshape(dy, [-1, dim]);
      if (paddingIdx !== undefined) {
        g = tf.mul(g, tf.expandDims(tf.cast(tf.notEqual(idx, paddingIdx), 'float32'), 1));
      }
      return tf.unsortedSegmentSum(g, idx, rows);
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table);
}

/** Additive attention bias [B, 1, L, L]: 0 where query t may see key s (s ≤ t and key real), else −10000 (RecBole). */
export function causalPaddingBias(ids: tf.Tensor2D, paddingIdx = 0): tf.Tensor4D {
  const L = ids.shape[1];
  const causal = tf.linalg.bandPart(tf.ones([L, L]), -1, 0); // lower triangle incl. diagonal
  const keyReal = tf.reshape(tf.cast(tf.notEqual(ids, paddingIdx), 'float32'), [-1, 1, 1, L]);
  const allowed = tf.mul(tf.reshape(causal, [1, 1, L, L]), keyReal);
  return tf.mul(tf.sub(1, allowed), -10000) as tf.Tensor4D;
}

/**
 * Scaled dot-product attention over heads. q: [B, Lq, H], k/v: [B, Lk, H]; bias broadcastable to
 * [B, heads, Lq, Lk]. Returns [B, Lq, H] (heads concatenated). Dropout on the probabilities.
 */
export function multiHeadAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  heads: number,
  bias: tf.Tensor,
  attnDropout: number,
  training: boolean,
  rng?: Rng,
): tf.Tensor3D {
  const [B, Lq, H] = q.shape;
  const Lk = k.shape[1];
  const d = H / heads;
  const split = (x: tf.Tensor, L: number) => tf.transpose(tf.reshape(x, [B, L, heads, d]), [0, 2, 1, 3]) as tf.Tensor4D;
  const qh = split(q, Lq);
  const kh = split(k, Lk);
  const vh = split(v, Lk);
  let scores: tf.Tensor = tf.matMul(qh, kh, false, true);
  scores = tf.add(tf.mul(scores, 1 / Math.sqrt(d)), bias);
  let probs = tf.softmax(scores, -1);
  probs = dropout(probs, attnDropout, training, rng);
  const ctx = tf.matMul(probs as tf.Tensor4D, vh);
  return tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B, Lq, H]) as tf.Tensor3D;
}

/**
 * Float one-hot. tfjs-backend-wasm 4.22 ignores dtype 'float32' in OneHot (writes the int bit
 * pattern 1, i.e. 1.4e-45), so build int32 and cast.
 */
export function oneHotF32(indices: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(indices as tf.Tensor1D, depth), 'float32');
}
