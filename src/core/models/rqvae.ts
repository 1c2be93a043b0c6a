/**
 * RQ-VAE item tokenizer (spec §4.1–§4.2): MLP encoder → 3-level residual quantiser → MLP decoder.
 * Parameters live in a ParamStore under the reference PyTorch names (`encoder.mlp_layers.{1,4,7}`,
 * `rq.vq_layers.{l}.embedding.weight`, `decoder.mlp_layers.*`); linear weights are stored [in, out].
 *
 * The codebook lookup is a gather whose custom gradient is oneHot(argmin)ᵀ × dy: it reaches E on every
 * backend (wasm has no UnsortedSegmentSum) and no tf.where runs under the tape. Assignments and
 * stop-gradient values are computed with the tape off, so no zero gradients are backpropagated.
 */
import * as tf from '@tensorflow/tfjs';
import { linear, matMul2d, oneHotF32 } from '../nn/layers.ts';
import { ParamStore } from '../nn/params.ts';
import { Rng } from '../rng.ts';

// The layout config lives beside the stage declarations (no tfjs there).
export { RQVAE_DUAL, RQVAE_SINGLE, rqvaeLayout, type RqvaeConfig } from './rqvaeConfig.ts';
import type { RqvaeConfig } from './rqvaeConfig.ts';

export interface LinearSpec {
  weight: string;
  bias: string;
  inDim: number;
  outDim: number;
}

/** Sequential indices 1, 4, 7, … (Dropout, Linear, ReLU per block in the reference). */
export function mlpSpecs(prefix: string, widths: number[]): LinearSpec[] {
  const out: LinearSpec[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const idx = 3 * i + 1;
    out.push({ weight: `${prefix}.mlp_layers.${idx}.weight`, bias: `${prefix}.mlp_layers.${idx}.bias`, inDim: widths[i], outDim: widths[i + 1] });
  }
  return out;
}

export function encoderWidths(cfg: RqvaeConfig): number[] {
  return [cfg.in_dim, ...cfg.layers, cfg.e_dim];
}

export function codebookName(level: number): string {
  return `rq.vq_layers.${level}.embedding.weight`;
}

/** Reference key → PyTorch shape ([out, in] for linear weights), in state-dict order. */
export function rqvaeStateDictShapes(cfg: RqvaeConfig): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const enc = encoderWidths(cfg);
  for (const s of mlpSpecs('encoder', enc)) {
    out[s.weight] = [s.outDim, s.inDim];
    out[s.bias] = [s.outDim];
  }
  cfg.num_emb_list.forEach((k, l) => (out[codebookName(l)] = [k, cfg.e_dim]));
  for (const s of mlpSpecs('decoder', [...enc].reverse())) {
    out[s.weight] = [s.outDim, s.inDim];
    out[s.bias] = [s.outDim];
  }
  return out;
}

/**
 * Runs `fn` with the gradient tape off: its results have no tape ancestry, so backprop neither
 * reaches nor traverses them (a zero-gradient customGrad would still backprop zeros upstream).
 * Uses the engine's kernel depth, which is exactly what isTapeOn() checks in tfjs 4.22.
 */
export function noTape<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as { state: { kernelDepth: number } }).state;
  state.kernelDepth++;
  try {
    return fn();
  } finally {
    state.kernelDepth--;
  }
}

/** PyTorch's `.detach()`: a tape-free alias (clone shares the data). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return noTape(() => tf.clone(x));
}

/** Squared L2 distances ‖r‖² + ‖e‖² − 2 r·e, shape (B, K) (the reference formula, not (r−e)²). */
export function sqDistances(r: tf.Tensor, e: tf.Tensor): tf.Tensor2D {
  const rr = tf.sum(tf.square(r), 1, true);
  const ee = tf.reshape(tf.sum(tf.square(e), 1), [1, -1]);
  return tf.sub(tf.add(rr, ee), tf.mul(matMul2d(r, e, false, true), 2)) as tf.Tensor2D;
}

/**
 * E[c] with the gradient oneHot(c)ᵀ·dy into E (no UnsortedSegmentSum backward: wasm lacks it).
 * Forward: a gather, except on wasm where GatherV2 is ~5× slower than the one-hot matMul.
 * c must carry no gradient.
 */
export function codebookLookup(E: tf.Tensor, c: tf.Tensor): tf.Tensor2D {
  const K = E.shape[0];
  const f = tf.customGrad(((e: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    save([c]);
    return {
      value: tf.getBackend() === 'wasm' ? matMul2d(oneHotF32(c, K), e) : tf.gather(e, c),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => matMul2d(oneHotF32(saved[0], K), dy, true, false),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(E) as tf.Tensor2D;
}

/**
 * Sinkhorn–Knopp assignment of §4.5, in the log domain: the spec's float64 exp(−d'/ε) overflows
 * float32 for ε = 0.003, and every normalisation is a shift in log space. Returns argmax indices.
 */
export function sinkhornAssign(d: tf.Tensor2D, eps: number, iters: number): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, K] = d.shape;
    const mx = tf.max(d);
    const mn = tf.min(d);
    const mid = tf.div(tf.add(mx, mn), 2);
    const amp = tf.add(tf.sub(mx, mid), 1e-5);
    let logQ: tf.Tensor = tf.div(tf.neg(tf.div(tf.sub(d, mid), amp)), eps);
    logQ = tf.sub(logQ, tf.logSumExp(logQ));
    for (let i = 0; i < iters; i++) {
      logQ = tf.sub(logQ, tf.add(tf.logSumExp(logQ, 1, true), Math.log(B)));
      logQ = tf.sub(logQ, tf.add(tf.logSumExp(logQ, 0, true), Math.log(K)));
    }
    return tf.argMax(logQ, 1) as tf.Tensor1D;
  });
}

export interface QuantizeResult {
  /** (B, L, K) per-level squared distances (the reference "logits"). */
  distances: tf.Tensor3D;
  /** (B, L) int32 codes. */
  indices: tf.Tensor2D;
  /** Σ_l s_l with s_l = r_l + sg(q_l − r_l). */
  xq: tf.Tensor2D;
  /** mean over levels of mse(q, sg(r)) + β·mse(sg(q), r). */
  rqLoss: tf.Scalar;
}

export interface ForwardResult extends QuantizeResult {
  latent: tf.Tensor2D;
  recon: tf.Tensor2D;
  reconLoss: tf.Scalar;
  /** recon + quant_loss_weight · rqLoss. */
  loss: tf.Scalar;
}

export interface ForwardOptions {
  /** Enables Sinkhorn where sk_epsilons[l] > 0. */
  training?: boolean;
}

export class Rqvae {
  readonly params = new ParamStore();
  readonly encoder: LinearSpec[];
  readonly decoder: LinearSpec[];

  constructor(readonly config: RqvaeConfig, seed = 2024) {
    const rng = new Rng(seed);
    const enc = encoderWidths(config);
    this.encoder = mlpSpecs('encoder', enc);
    this.decoder = mlpSpecs('decoder', [...enc].reverse());
    const addLinear = (s: LinearSpec) => {
      // Xavier-normal: std = sqrt(2 / (fan_in + fan_out)).
      this.params.add(s.weight, [s.inDim, s.outDim], rng.normalArray(s.inDim * s.outDim, Math.sqrt(2 / (s.inDim + s.outDim))), { linear: true });
      this.params.add(s.bias, [s.outDim], new Float32Array(s.outDim));
    };
    this.encoder.forEach(addLinear);
    config.num_emb_list.forEach((k, l) => {
      const v = new Float32Array(k * config.e_dim);
      for (let i = 0; i < v.length; i++) v[i] = (2 * rng.next() - 1) / k;
      this.params.add(codebookName(l), [k, config.e_dim], v);
    });
    this.decoder.forEach(addLinear);
  }

  get levels(): number {
    return this.config.num_emb_list.length;
  }

  codebook(level: number): tf.Variable {
    return this.params.get(codebookName(level));
  }

  private mlp(x: tf.Tensor, specs: LinearSpec[]): tf.Tensor2D {
    let h = x;
    specs.forEach((s, i) => {
      h = linear(h, this.params.get(s.weight), this.params.get(s.bias));
      if (i < specs.length - 1) h = tf.relu(h);
    });
    return h as tf.Tensor2D;
  }

  encode(x: tf.Tensor): tf.Tensor2D {
    return this.mlp(x, this.encoder);
  }

  decode(xq: tf.Tensor): tf.Tensor2D {
    return this.mlp(xq, this.decoder);
  }

  /** Residual quantisation of `z` (B, e_dim), exactly the stop-gradient structure of §4.1. */
  quantize(z: tf.Tensor2D, opts: ForwardOptions = {}): QuantizeResult {
    const { beta, sk_epsilons, sk_iters } = this.config;
    let r: tf.Tensor2D = z;
    let xq: tf.Tensor | null = null;
    const dists: tf.Tensor[] = [];
    const idx: tf.Tensor[] = [];
    const losses: tf.Tensor[] = [];
    for (let l = 0; l < this.levels; l++) {
      const E = this.codebook(l);
      const d = sqDistances(r, E);
      const eps = sk_epsilons[l] ?? 0;
      // Assignment off the tape: d then lies on no path to the losses (no wasted backprop).
      const c = noTape(() => (opts.training && eps > 0 ? sinkhornAssign(d, eps, sk_iters) : tf.argMin(d, 1)));
      const q = codebookLookup(E, c);
      const [rSg, qSg, delta] = noTape(() => [tf.clone(r), tf.clone(q), tf.sub(q, r)]);
      losses.push(tf.add(tf.losses.meanSquaredError(rSg, q), tf.mul(tf.losses.meanSquaredError(qSg, r), beta)));
      const s = tf.add(r, delta);
      xq = xq ? tf.add(xq, s) : s;
      dists.push(d);
      idx.push(tf.cast(c, 'int32'));
      r = noTape(() => tf.sub(r, q)) as tf.Tensor2D;
    }
    return {
      distances: tf.stack(dists, 1) as tf.Tensor3D,
      indices: tf.stack(idx, 1) as tf.Tensor2D,
      xq: xq as tf.Tensor2D,
      rqLoss: tf.div(tf.addN(losses), losses.length) as tf.Scalar,
    };
  }

  forward(x: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const latent = this.encode(x);
    const q = this.quantize(latent, opts);
    const recon = this.decode(q.xq);
    const reconLoss = tf.losses.meanSquaredError(x, recon) as tf.Scalar;
    const loss = tf.add(reconLoss, tf.mul(q.rqLoss, this.config.quant_loss_weight)) as tf.Scalar;
    return { ...q, latent, recon, reconLoss, loss };
  }

  /** Eval-mode codes (B, L) int32, no Sinkhorn. */
  codes(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let r = this.encode(x);
      const idx: tf.Tensor[] = [];
      for (let l = 0; l < this.levels; l++) {
        const E = this.codebook(l);
        const c = tf.argMin(sqDistances(r, E), 1);
        idx.push(tf.cast(c, 'int32'));
        r = tf.sub(r, matMul2d(oneHotF32(c, E.shape[0]), E));
      }
      return tf.stack(idx, 1) as tf.Tensor2D;
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}
