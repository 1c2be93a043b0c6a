/** Seeded RNG (mulberry32): deterministic shuffling, initialisation and dropout seeds. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator's whole state (for checkpoints): `new Rng(0).setState(r.getState())` continues r's stream. */
  getState(): number {
    return this.state;
  }

  setState(state: number): this {
    this.state = state >>> 0;
    return this;
  }

  /**
   * Jumps over `draws` draws: the state is an additive counter, so this lands exactly where `draws`
   * calls of next() would (a data-parallel replica takes up the stream where its micro-batch starts).
   */
  skip(draws: number): this {
    // draws·step mod 2³², exact for draws up to 2⁵³: split draws into 2¹⁶-sized halves
    const hi = Math.floor(draws / 65536) >>> 0;
    const lo = draws % 65536;
    const step = 0x6d2b79f5;
    this.state = (this.state + Math.imul(lo, step) + Math.imul(Math.imul(hi, 65536), step)) >>> 0;
    return this;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * Fills `out` with an inverted-dropout mask: `keep` where the next draw is ≥ rate, else 0. The
   * same stream and the same decisions as calling next() per element (next() ≥ rate ⇔ the 32-bit
   * draw ≥ rate·2³², exactly, since both sides scale by a power of two), with the state held in a
   * local: ~12 M draws per quick-preset step made the per-call path a measurable share of training.
   */
  dropoutMask(out: Float32Array, rate: number, keep: number): Float32Array {
    const threshold = rate * 4294967296;
    let s = this.state;
    for (let i = 0; i < out.length; i++) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = (t ^ (t >>> 14)) >>> 0 >= threshold ? keep : 0;
    }
    this.state = s;
    return out;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A 31-bit integer, e.g. the seed of a tfjs random op. */
  seed(): number {
    return (this.next() * 0x7fffffff) | 0;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fills a new Float32Array with N(mean, std²) values. */
  normalArray(size: number, std: number, mean = 0): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/** The identity permutation 0..n-1 shuffled with `rng`. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return rng.shuffle(p);
}
