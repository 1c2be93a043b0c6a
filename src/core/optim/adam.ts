/**
 * AdamW with PyTorch semantics (torch.optim.AdamW; weightDecay 0 = Adam without L2):
 *   p ← p − lr·wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 * Call step() inside tf.tidy (it allocates only temporaries).
 */
import * as tf from '@tensorflow/tfjs';
import { StudioError } from '../errors.ts';

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

  /** Each slot's parameter name and element count, in slot order (what a loaded state must fit). */
  slotSizes(): { name: string; size: number }[] {
    return this.slots.map((s) => ({ name: s.p.name, size: s.p.size }));
  }

  /**
   * Restores `state()` output. The whole state is checked first (checkAdamWState), so a state that
   * does not fit changes nothing: no moment is assigned and no tensor is allocated.
   */
  loadState(st: AdamWState, prefix = 'optimizer'): void {
    checkAdamWState(st, this.slotSizes(), prefix);
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
 * Checks AdamW moments against the parameters they are for, before anything uses them: the slot
 * count, every first and second moment's length (named as the checkpoint names them,
 * `<prefix>.m.<i>`, with the parameter), finite values, second moments ≥ 0 (√v of a negative is
 * NaN) and a step count that is a non-negative safe integer.
 */
export function checkAdamWState(st: AdamWState, slots: { name: string; size: number }[], prefix = 'optimizer', file?: string): void {
  const refuse = (field: string, message: string, expected: string, found: string): never => {
    throw new StudioError({ code: 'malformed_input', ...(file ? { file } : {}), field, message, expected, found });
  };
  if (!Number.isSafeInteger(st.step) || st.step < 0) refuse(`${prefix}.step`, 'The optimizer step count is not a non-negative integer', 'an integer ≥ 0', String(st.step));
  for (const k of ['m', 'v'] as const) {
    if (st[k].length !== slots.length) {
      refuse(`${prefix}.${k}`, `The optimizer state has ${st[k].length} ${k === 'm' ? 'first' : 'second'}-moment slots, the model's optimizer has ${slots.length} parameters`, String(slots.length), String(st[k].length));
    }
  }
  slots.forEach(({ name, size }, i) => {
    for (const k of ['m', 'v'] as const) {
      const a = st[k][i];
      const field = `${prefix}.${k}.${i}`;
      if (a.length !== size) refuse(field, `Optimizer moment ${field} is for parameter ${name}, which has ${size} values`, `${size} values`, `${a.length}`);
      for (let j = 0; j < a.length; j++) {
        const x = a[j];
        if (!Number.isFinite(x) || (k === 'v' && x < 0)) refuse(field, `Optimizer moment ${field} (parameter ${name}) holds ${x} at index ${j}`, k === 'v' ? 'finite values ≥ 0' : 'finite values', String(x));
      }
    }
  });
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
