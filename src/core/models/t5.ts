/**
 * T5 encoder–decoder stacks (spec §5.3) as Hugging Face `T5ForConditionalGeneration` computes them:
 * RMSNorm (no mean, no bias), pre-norm residuals, UNSCALED attention q·kᵀ + position_bias,
 * relative-position buckets computed in the first block of each stack and shared by the later
 * blocks, non-gated ReLU feed-forward without biases, dropout on the stack input, the attention
 * probabilities, every residual branch, inside the FF and on the final norm output.
 *
 * Parameters live in a ParamStore under the HF names with a caller-given prefix (`model.`); linear
 * weights are stored [in, out]. Masks are additive with the finite value MASK_NEG = −1e9 (HF uses
 * float32 min, −3.4e38; both give exactly zero attention weight in float32, −1e9 cannot overflow
 * to −∞ when bias and mask are summed).
 *
 * Everything is differentiable on cpu, wasm, webgl and webgpu: relative-bias lookups are one-hot
 * matMuls (no UnsortedSegmentSum), batched products use explicit transposes on wasm, and no tf.where
 * runs under the tape.
 */
import * as tf from '@tensorflow/tfjs';
import { dropout, linear, matMul2d, oneHotF32 } from '../nn/layers.ts';
import type { ParamStore } from '../nn/params.ts';
import type { Rng } from '../rng.ts';

export { T5_PAPER, type T5Config } from './t5Config.ts';
import { type T5Config } from './t5Config.ts';

/** The additive mask value for disallowed keys. */
export const MASK_NEG = -1e9;

/**
 * HF `_relative_position_bucket` for one relative position rel = key_pos − query_pos, computed in
 * float32 steps as torch does (Math.fround), so buckets at exact powers of two match.
 */
export function relativePositionBucket(rel: number, bidirectional: boolean, numBuckets = 32, maxDistance = 128): number {
  let nb = numBuckets;
  let off = 0;
  let n: number;
  if (bidirectional) {
    nb = Math.floor(nb / 2);
    if (rel > 0) off = nb;
    n = Math.abs(rel);
  } else {
    n = Math.max(-rel, 0);
  }
  const exact = Math.floor(nb / 2);
  if (n < exact) return off + n;
  const f = Math.fround;
  const ratio = f(f(Math.log(f(n / exact))) / f(Math.log(maxDistance / exact)));
  const big = exact + Math.trunc(f(ratio * (nb - exact)));
  return off + Math.min(big, nb - 1);
}

/** Buckets for a (qLen × kLen) grid, row-major, rel = k − q. */
export function bucketGrid(qLen: number, kLen: number, bidirectional: boolean, numBuckets = 32, maxDistance = 128): Int32Array {
  const out = new Int32Array(qLen * kLen);
  for (let q = 0; q < qLen; q++) {
    for (let k = 0; k < kLen; k++) out[q * kLen + k] = relativePositionBucket(k - q, bidirectional, numBuckets, maxDistance);
  }
  return out;
}

/**
 * Batched product a·b over rank-3 tensors [n, ·, ·]. On wasm the transposed kernels (used by every
 * matMul backward) are ~10× slower, so there transposes are explicit, forward and backward.
 */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b, transposeA, transposeB);
  const tr = (x: tf.Tensor) => tf.transpose(x, [0, 2, 1]) as tf.Tensor3D;
  const f = tf.customGrad(((x: tf.Tensor, y: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const A = (transposeA ? tr(x) : x) as tf.Tensor3D;
    const B = (transposeB ? tr(y) : y) as tf.Tensor3D;
    save([A, B]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sA, sB] = saved as tf.Tensor3D[];
      const dA = tf.matMul(dy as tf.Tensor3D, tr(sB));
      const dB = tf.matMul(tr(sA), dy as tf.Tensor3D);
      return [transposeA ? tr(dA) : dA, transposeB ? tr(dB) : dB];
    };
    return { value: tf.matMul(A, B), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b) as tf.Tensor3D;
}

/** T5LayerNorm: w · x / sqrt(mean(x²) + eps) over the last axis. */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w);
}

/** Parameter names of one stack ('encoder' | 'decoder') and their PyTorch shapes, in state-dict order. */
export function t5StackShapes(cfg: T5Config, stack: 'encoder' | 'decoder', prefix = 'model.'): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const inner = cfg.num_heads * cfg.d_kv;
  const d = cfg.d_model;
  const n = stack === 'encoder' ? cfg.num_layers : cfg.num_decoder_layers;
  for (let i = 0; i < n; i++) {
    const b = `${prefix}${stack}.block.${i}.layer`;
    const attn = (p: string, withBias: boolean) => {
      out[`${p}.q.weight`] = [inner, d];
      out[`${p}.k.weight`] = [inner, d];
      out[`${p}.v.weight`] = [inner, d];
      out[`${p}.o.weight`] = [d, inner];
      if (withBias) out[`${p}.relative_attention_bias.weight`] = [cfg.relative_attention_num_buckets, cfg.num_heads];
    };
    attn(`${b}.0.SelfAttention`, i === 0);
    out[`${b}.0.layer_norm.weight`] = [d];
    let ff = 1;
    if (stack === 'decoder') {
      attn(`${b}.1.EncDecAttention`, false);
      out[`${b}.1.layer_norm.weight`] = [d];
      ff = 2;
    }
    out[`${b}.${ff}.DenseReluDense.wi.weight`] = [cfg.d_ff, d];
    out[`${b}.${ff}.DenseReluDense.wo.weight`] = [d, cfg.d_ff];
    out[`${b}.${ff}.layer_norm.weight`] = [d];
  }
  out[`${prefix}${stack}.final_layer_norm.weight`] = [d];
  return out;
}

/** Whether a T5 parameter name is a Linear weight (stored transposed). */
export function isT5Linear(name: string): boolean {
  return /\.(q|k|v|o|wi|wo)\.weight$/.test(name);
}

/**
 * Adds both stacks' parameters to `store`: Linear and Embedding weights N(0, std²), RMSNorm weights 1.
 * (`model.shared.weight` is the caller's: it belongs to the wrapper's embedding layout.)
 */
export function addT5Params(store: ParamStore, cfg: T5Config, rng: Rng, std: number, prefix = 'model.'): void {
  for (const stack of ['encoder', 'decoder'] as const) {
    for (const [name, shape] of Object.entries(t5StackShapes(cfg, stack, prefix))) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (name.endsWith('layer_norm.weight')) store.add(name, shape, new Float32Array(size).fill(1));
      else if (isT5Linear(name)) store.add(name, [shape[1], shape[0]], rng.normalArray(size, std), { linear: true });
      else store.add(name, shape, rng.normalArray(size, std));
    }
  }
}

export interface RunOptions {
  training?: boolean;
  /** Seeded dropout masks; without it tf.dropout is used when training. */
  rng?: Rng;
}

/** The T5 stacks over a ParamStore; stateless apart from the parameters. */
export class T5Stacks {
  constructor(
    readonly params: ParamStore,
    readonly config: T5Config,
    readonly prefix = 'model.',
  ) {}

  private p(name: string): tf.Variable {
    return this.params.get(`${this.prefix}${name}`);
  }

  private drop(x: tf.Tensor, o: RunOptions): tf.Tensor {
    return dropout(x, this.config.dropout_rate, o.training ?? false, o.rng);
  }

  /** Position bias [1, H, qLen, kLen] from a stack's first-block table (one-hot matMul lookup). */
  positionBias(stack: 'encoder' | 'decoder', qLen: number, kLen: number): tf.Tensor4D {
    const c = this.config;
    const nb = c.relative_attention_num_buckets;
    const buckets = bucketGrid(qLen, kLen, stack === 'encoder', nb, c.relative_attention_max_distance);
    const table = this.p(`${stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`);
    const oh = oneHotF32(tf.tensor1d(buckets, 'int32'), nb);
    const vals = matMul2d(oh, table); // [q*k, H]
    return tf.reshape(tf.transpose(tf.reshape(vals, [qLen, kLen, c.num_heads]), [2, 0, 1]), [1, c.num_heads, qLen, kLen]) as tf.Tensor4D;
  }

  /** Multi-head attention; x: [B, Lq, d], kv: [B, Lk, d], bias broadcastable to [B, H, Lq, Lk]. */
  private attention(name: string, x: tf.Tensor3D, kv: tf.Tensor3D, bias: tf.Tensor, o: RunOptions): tf.Tensor3D {
    const c = this.config;
    const [B, Lq] = x.shape;
    const Lk = kv.shape[1];
    const H = c.num_heads;
    const dk = c.d_kv;
    const heads = (t: tf.Tensor, L: number) =>
      tf.reshape(tf.transpose(tf.reshape(t, [B, L, H, dk]), [0, 2, 1, 3]), [B * H, L, dk]) as tf.Tensor3D;
    const q = heads(linear(x, this.p(`${name}.q.weight`)), Lq);
    const k = heads(linear(kv, this.p(`${name}.k.weight`)), Lk);
    const v = heads(linear(kv, this.p(`${name}.v.weight`)), Lk);
    const scores = tf.add(tf.reshape(bmm(q, k, false, true), [B, H, Lq, Lk]), bias);
    const probs = this.drop(tf.softmax(scores, -1), o);
    const ctx = bmm(tf.reshape(probs, [B * H, Lq, Lk]) as tf.Tensor3D, v);
    const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [B, H, Lq, dk]), [0, 2, 1, 3]), [B, Lq, H * dk]);
    return linear(merged, this.p(`${name}.o.weight`)) as tf.Tensor3D;
  }

  private feedForward(name: string, x: tf.Tensor, o: RunOptions): tf.Tensor {
    const h = this.drop(tf.relu(linear(x, this.p(`${name}.wi.weight`))), o);
    return linear(h, this.p(`${name}.wo.weight`));
  }

  private norm(name: string, x: tf.Tensor): tf.Tensor3D {
    return rmsNorm(x, this.p(name), this.config.layer_norm_epsilon) as tf.Tensor3D;
  }

  /**
   * Encoder. embeds: [B, L, d]; keyMask: [B, L] float (1 = real). Returns the final hidden state
   * after the final norm and dropout, [B, L, d].
   */
  encode(embeds: tf.Tensor3D, keyMask: tf.Tensor2D, o: RunOptions = {}): tf.Tensor3D {
    const [B, L] = embeds.shape;
    const maskBias = tf.reshape(tf.mul(tf.sub(1, keyMask), MASK_NEG), [B, 1, 1, L]);
    const bias = tf.add(this.positionBias('encoder', L, L), maskBias);
    let h = this.drop(embeds, o) as tf.Tensor3D;
    for (let i = 0; i < this.config.num_layers; i++) {
      const b = `encoder.block.${i}.layer`;
      const n0 = this.norm(`${b}.0.layer_norm.weight`, h);
      h = tf.add<tf.Tensor3D>(h, this.drop(this.attention(`${b}.0.SelfAttention`, n0, n0, bias, o), o));
      h = tf.add<tf.Tensor3D>(h, this.drop(this.feedForward(`${b}.1.DenseReluDense`, this.norm(`${b}.1.layer_norm.weight`, h), o), o));
    }
    return this.drop(this.norm('encoder.final_layer_norm.weight', h), o) as tf.Tensor3D;
  }

  /**
   * Decoder. embeds: [N, T, d] (teacher-forced inputs); encHidden: [B, L, d]; encMask: [B, L] float.
   * Causal self-attention, cross-attention with the encoder key mask. Returns [N, T, d].
   *
   * N may be a multiple G·B of the encoder batch (beam search: rows b·G … b·G+G−1 belong to sample
   * b). Cross-attention then folds the G rows of a sample into its query axis ([B, G·T, d] against
   * the sample's own keys), which equals repeating the encoder output G times without computing the
   * cross-attention keys/values G times.
   */
  decode(embeds: tf.Tensor3D, encHidden: tf.Tensor3D, encMask: tf.Tensor2D, o: RunOptions = {}): tf.Tensor3D {
    const [N, T, d] = embeds.shape;
    const [B, L] = encHidden.shape;
    if (N % B !== 0) throw new Error(`decoder rows ${N} are not a multiple of the encoder batch ${B}`);
    const G = N / B;
    const fold = (x: tf.Tensor3D) => (G === 1 ? x : (tf.reshape(x, [B, G * T, d]) as tf.Tensor3D));
    const unfold = (x: tf.Tensor3D) => (G === 1 ? x : (tf.reshape(x, [N, T, d]) as tf.Tensor3D));
    const causal = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), MASK_NEG);
    const selfBias = tf.add(this.positionBias('decoder', T, T), tf.reshape(causal, [1, 1, T, T]));
    const crossBias = tf.reshape(tf.mul(tf.sub(1, encMask), MASK_NEG), [B, 1, 1, L]);
    let h = this.drop(embeds, o) as tf.Tensor3D;
    for (let i = 0; i < this.config.num_decoder_layers; i++) {
      const b = `decoder.block.${i}.layer`;
      const n0 = this.norm(`${b}.0.layer_norm.weight`, h);
      h = tf.add<tf.Tensor3D>(h, this.drop(this.attention(`${b}.0.SelfAttention`, n0, n0, selfBias, o), o));
      const n1 = this.norm(`${b}.1.layer_norm.weight`, h);
      h = tf.add<tf.Tensor3D>(h, this.drop(unfold(this.attention(`${b}.1.EncDecAttention`, fold(n1), encHidden, crossBias, o)), o));
      h = tf.add<tf.Tensor3D>(h, this.drop(this.feedForward(`${b}.2.DenseReluDense`, this.norm(`${b}.2.layer_norm.weight`, h), o), o));
    }
    return this.drop(this.norm('decoder.final_layer_norm.weight', h), o) as tf.Tensor3D;
  }
}
