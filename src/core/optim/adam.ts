/**
 * AdamW with PyTorch semantics (torch.optim.AdamW; weightDecay 0 = Adam without L2):
 *   p ← p − lr·wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 * Call step() inside tf.tidy (it allocates only temporaries).
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamWConfig {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay; 0 (default) = Adam. */
  weightDecay?: number;
}

/** AdamW moments in slot order (the order of the parameters given to the constructor). */
export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

interface Slot {
  p: tf.Variable;
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly slots: Slot[];

  constructor(params: Iterable<tf.Variable>, cfg: AdamWConfig) {
    this.lr = cfg.lr;
    this.beta1 = cfg.beta1 ?? 0.9;
    this.beta2 = cfg.beta2 ?? 0.999;
    this.eps = cfg.eps ?? 1e-8;
    this.weightDecay = cfg.weightDecay ?? 0;
    this.slots = [...params].map((p) => ({
      p,
      m: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      v: tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
    }));
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update; `grads` is keyed by tf variable name (as tf.variableGrads returns). */
  step(grads: tf.NamedTensorMap): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, lr, weightDecay: wd } = this;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2 = 1 - Math.pow(b2, this.t);
    tf.tidy(() => {
      for (const s of this.slots) {
        const g = grads[s.p.name];
        if (!g) continue;
        const m = tf.add(tf.mul(s.m, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(s.v, b2), tf.mul(tf.square(g), 1 - b2));
        s.m.assign(m);
        s.v.assign(v);
        const p0 = wd !== 0 ? tf.mul(s.p, 1 - lr * wd) : s.p;
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
        s.p.assign(tf.sub(p0, tf.mul(tf.div(m, denom), lr / bc1)));
      }
    });
  }

  /** Moments and step count by parameter variable order (for checkpoints). */
  async state(): Promise<AdamWState> {
    const m: Float32Array[] = [];
    const v: Float32Array[] = [];
    for (const s of this.slots) {
      m.push((await s.m.data()) as Float32Array);
      v.push((await s.v.data()) as Float32Array);
    }
    return { step: this.t, m, v };
  }

  /** Restores `state()` output; the slot count and sizes must match. */
  loadState(st: AdamWState): void {
    if (st.m.length !== this.slots.length || st.v.length !== this.slots.length) {
      throw new Error(`optimizer state has ${st.m.length} slots, expected ${this.slots.length}`);
    }
    this.slots.forEach((s, i) => {
      if (st.m[i].length !== s.p.size || st.v[i].length !== s.p.size) throw new Error(`optimizer slot ${i} (${s.p.name}) has the wrong size`);
    });
    this.t = st.step;
    tf.tidy(() => {
      this.slots.forEach((s, i) => {
        s.m.assign(tf.tensor(st.m[i], s.p.shape, 'float32'));
        s.v.assign(tf.tensor(st.v[i], s.p.shape, 'float32'));
      });
    });
  }

  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}

/**
 * torch.nn.utils.clip_grad_norm_: scales all gradients by min(1, maxNorm / (‖g‖₂ + 1e-6)) where
 * ‖g‖₂ is the global L2 norm. Returns the clipped grads and the (pre-clip) norm as a scalar tensor.
 */
export function clipGradNorm(
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  const names = Object.keys(grads);
  const sq = names.map((n) => tf.sum(tf.square(grads[n])));
  const norm = tf.sqrt(sq.length ? tf.addN(sq) : tf.scalar(0)) as tf.Scalar;
  const coef = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
  const out: tf.NamedTensorMap = {};
  for (const n of names) out[n] = tf.mul(grads[n], coef);
  return { grads: out, norm };
}
