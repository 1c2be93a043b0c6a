/**
 * Named parameters: tf.Variables under their PyTorch state-dict names, so export/import needs no
 * translation table. Linear weights are stored [in, out] (x·W without a transpose in tfjs); PyTorch
 * stores them [out, in]. `stateDict()` / `loadStateDict()` do that transpose.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.ts';

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export interface AddOptions {
  /** Stored [in, out]; the PyTorch layout is the transpose. */
  linear?: boolean;
  trainable?: boolean;
}

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly linear = new Set<string>();

  /** Adds a parameter; `shape` is the tfjs (storage) shape. */
  add(name: string, shape: number[], values: Float32Array, opts: AddOptions = {}): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} already exists`);
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), opts.trainable ?? true));
    this.vars.set(name, v);
    if (opts.linear) this.linear.add(name);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter named ${name}`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  isLinear(name: string): boolean {
    return this.linear.has(name);
  }

  /** Trainable variables by name, in insertion order. */
  trainable(): Map<string, tf.Variable> {
    return new Map([...this.vars].filter(([, v]) => v.trainable));
  }

  numParams(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Values in PyTorch layout (linear weights [out, in]). */
  async stateDict(): Promise<Record<string, NamedArray>> {
    const out: Record<string, NamedArray> = {};
    for (const [name, v] of this.vars) {
      const t = this.linear.has(name) ? tf.transpose(v) : v;
      out[name] = { shape: t.shape.slice(), data: (await t.data()) as Float32Array };
      if (t !== v) t.dispose();
    }
    return out;
  }

  /** Assigns values given in PyTorch layout; every name must exist with the matching shape. */
  loadStateDict(dict: Record<string, NamedArray>): void {
    for (const [name, arr] of Object.entries(dict)) {
      const v = this.get(name);
      tf.tidy(() => {
        let t: tf.Tensor = tf.tensor(arr.data, arr.shape, 'float32');
        if (this.linear.has(name)) t = tf.transpose(t);
        if (!tf.util.arraysEqual(t.shape, v.shape)) {
          throw new Error(`${name}: shape ${JSON.stringify(arr.shape)} does not fit ${JSON.stringify(v.shape)}`);
        }
        v.assign(t);
      });
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.linear.clear();
  }
}

/** Initialisers returning fresh Float32Arrays. */
export const init = {
  normal: (rng: Rng, size: number, std: number): Float32Array => rng.normalArray(size, std),
  zeros: (size: number): Float32Array => new Float32Array(size),
  ones: (size: number): Float32Array => new Float32Array(size).fill(1),
};
