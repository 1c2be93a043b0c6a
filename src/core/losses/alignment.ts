/**
 * Alignment losses of joint ETEGRec training (spec §5.5):
 *
 * * SIA (sequence-item alignment): symmetric KL between the per-level code distributions of the
 *   target item (tokenizer on S[target], `dT`) and of the sequence latent (quantiser on z_E, `dS`):
 *     KLbatchmean(P_T‖P_S) + KLbatchmean(P_S‖P_T),  P = softmax over K of the distance "logits",
 *   averaged over rows × levels (|U|·L rows), as PyTorch `kl_div(..., 'batchmean')` on the
 *   flattened (|U|·L, K) rows does.
 * * PSA (preference-semantic alignment): bidirectional InfoNCE with cosine similarity,
 *   temperature 0.07 and in-batch negatives: CE(r→h) + CE(h→r), each a mean over rows.
 *
 * Both losses use the same row subset U (first occurrence of each distinct target id, ids sorted
 * ascending; `uniqueFirstIndex`). U is computed on the CPU side (webgpu has no Unique) and the rows
 * are picked with one-hot × matMul, which has a gradient on every backend (wasm has no
 * UnsortedSegmentSum, so no gradient through tf.gather there).
 */
import * as tf from '@tensorflow/tfjs';
import { matMul2d, oneHotF32 } from '../nn/layers.ts';

/**
 * Sign applied to the distances before the softmax.
 * * `'plus'`: softmax(+d), the reference code (farther codes get higher probability) — default.
 * * `'minus'`: softmax(−d), the paper's Eq. 6 (`P(k|v) ∝ exp(−‖v − e_k‖²)`).
 */
export type SiaLogitSign = 'plus' | 'minus';

export interface SiaKlOptions {
  sign?: SiaLogitSign;
  /** Row subset (indices into the batch axis), e.g. `uniqueFirstIndex(targets).index`. */
  rows?: ArrayLike<number>;
}

export interface PsaInfoNceOptions {
  /** Softmax temperature; the reference function default 0.07. */
  temperature?: number;
  /** Row subset (indices into the batch axis), shared by both directions. */
  rows?: ArrayLike<number>;
}

export const PSA_TEMPERATURE = 0.07;

/**
 * First occurrence of each distinct id, in ascending id order — numpy
 * `np.unique(ids, return_index=True)`. `ids[index[i]] === unique[i]`.
 */
export function uniqueFirstIndex(ids: ArrayLike<number>): { unique: Int32Array; index: Int32Array } {
  const first = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (!first.has(v)) first.set(v, i);
  }
  const unique = Int32Array.from([...first.keys()].sort((a, b) => a - b));
  const index = Int32Array.from(unique, (v) => first.get(v) as number);
  return { unique, index };
}

/** True when `rows` is exactly 0..n−1 (no selection needed). */
function isIdentity(rows: ArrayLike<number>, n: number): boolean {
  if (rows.length !== n) return false;
  for (let i = 0; i < n; i++) if (rows[i] !== i) return false;
  return true;
}

/**
 * Rows `rows` of `x` along axis 0, as one-hot(rows) · x (differentiable on every backend).
 * `rows` are CPU-side indices; the result has shape [rows.length, ...x.shape.slice(1)].
 */
export function selectRows(x: tf.Tensor, rows: ArrayLike<number>): tf.Tensor {
  const n = x.shape[0];
  if (isIdentity(rows, n)) return x;
  return tf.tidy(() => {
    const rest = x.shape.slice(1);
    const width = rest.reduce((a, b) => a * b, 1);
    const sel = oneHotF32(tf.tensor1d(Int32Array.from(rows), 'int32'), n);
    const picked = matMul2d(sel, tf.reshape(x, [n, width]));
    return tf.reshape(picked, [rows.length, ...rest]);
  });
}

/**
 * SIA symmetric KL on distance tensors of shape (B, L, K) (or any (..., K)); returns a scalar.
 * The value is symmetric in its two arguments; call it as `siaKlLoss(dS, dT, ...)`.
 */
export function siaKlLoss(dSeq: tf.Tensor, dTarget: tf.Tensor, opts: SiaKlOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const sign = opts.sign ?? 'plus';
    let a = dSeq;
    let b = dTarget;
    if (opts.rows) {
      a = selectRows(a, opts.rows);
      b = selectRows(b, opts.rows);
    }
    const K = a.shape[a.shape.length - 1];
    const rows = a.size / K;
    if (rows === 0) return tf.scalar(0);
    if (sign === 'minus') {
      a = tf.neg(a);
      b = tf.neg(b);
    }
    const la = tf.logSoftmax(tf.reshape(a, [rows, K]), -1);
    const lb = tf.logSoftmax(tf.reshape(b, [rows, K]), -1);
    // KL(Pa‖Pb) + KL(Pb‖Pa) = Σ (Pa − Pb)(log Pa − log Pb)
    const sym = tf.sum(tf.mul(tf.sub(tf.exp(la), tf.exp(lb)), tf.sub(la, lb)));
    return tf.div(sym, rows) as tf.Scalar;
  });
}

/** Row-wise L2 normalisation as torch F.normalize (x / max(‖x‖, 1e-12)). */
function l2Normalize(x: tf.Tensor): tf.Tensor {
  const norm = tf.sqrt(tf.sum(tf.square(x), -1, true));
  return tf.div(x, tf.maximum(norm, 1e-12));
}

/**
 * PSA bidirectional InfoNCE on (B, D) tensors: `recon` = tokenizer reconstruction zr_t, `dec` =
 * decoder preference latent h_D. Similarity cos(r_i, h_j)/τ with in-batch negatives;
 * CE(r→h) + CE(h→r), positives on the diagonal. Returns a scalar.
 */
export function psaInfoNceLoss(recon: tf.Tensor, dec: tf.Tensor, opts: PsaInfoNceOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const tau = opts.temperature ?? PSA_TEMPERATURE;
    let r = recon;
    let h = dec;
    if (opts.rows) {
      r = selectRows(r, opts.rows);
      h = selectRows(h, opts.rows);
    }
    const n = r.shape[0];
    if (n === 0) return tf.scalar(0);
    const sim = tf.div(matMul2d(l2Normalize(r), l2Normalize(h), false, true), tau);
    const eye = tf.eye(n);
    const rToH = tf.sum(tf.mul(tf.logSoftmax(sim, -1), eye));
    const hToR = tf.sum(tf.mul(tf.logSoftmax(tf.transpose(sim), -1), eye));
    return tf.div(tf.neg(tf.add(rToH, hToR)), n) as tf.Scalar;
  });
}
