/**
 * Learning-rate schedules with the Hugging Face `transformers` semantics (spec §5.7, §9 item 19),
 * as multipliers λ(s) of the base lr, where s = number of scheduler steps taken so far
 * (LambdaLR): the k-th optimiser update (0-based) uses base·λ(k), so with any warmup the first
 * update uses lr 0.
 *
 * * cosine (get_cosine_schedule_with_warmup, num_cycles 0.5):
 *     λ(s) = s/W for s < W, else max(0, ½(1 + cos(π·(s − W)/(T − W))));
 *   no clamp beyond T (past T the cosine rises again, as in HF).
 * * linear (get_linear_schedule_with_warmup): s/W, then max(0, (T − s)/(T − W)).
 * * constant (get_constant_schedule_with_warmup): s/W, then 1.
 * HF divides by max(1, W) and max(1, T − W); so do we.
 */

export type ScheduleKind = 'cosine' | 'linear' | 'constant';

export interface ScheduleSpec {
  kind: ScheduleKind;
  /** Warmup steps W. */
  warmup: number;
  /** Total steps T (ignored by 'constant'). */
  total: number;
}

export function cosineWithWarmup(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, total - warmup);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export function linearWithWarmup(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}

export function constantWithWarmup(step: number, warmup: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return 1;
}

/** λ(step) for a schedule spec. */
export function scheduleFactor(spec: ScheduleSpec, step: number): number {
  switch (spec.kind) {
    case 'cosine':
      return cosineWithWarmup(step, spec.warmup, spec.total);
    case 'linear':
      return linearWithWarmup(step, spec.warmup, spec.total);
    case 'constant':
      return constantWithWarmup(step, spec.warmup);
  }
}

/** Batches per epoch S = ceil(#train samples / batch) (last partial batch kept; §5.1, §5.7). */
export function stepsPerEpoch(trainSamples: number, batchSize = 512): number {
  return Math.ceil(trainSamples / batchSize);
}

export interface JointScheduleSpecs {
  /** S, batches per epoch. */
  stepsPerEpoch: number;
  /** Recommender: W, T = epochs × S; stepped only in recommender epochs. */
  recommender: ScheduleSpec;
  /** Tokenizer: W // cycle, T // cycle; stepped only in tokenizer epochs. */
  tokenizer: ScheduleSpec;
}

/**
 * The two schedules of joint training (§5.7): recommender (W, T = epochs·S) and tokenizer
 * (⌊W/cycle⌋, ⌊T/cycle⌋), both of `kind`.
 */
export function jointScheduleSpecs(opts: {
  trainSamples: number;
  epochs: number;
  cycle: number;
  warmup: number;
  batchSize?: number;
  kind?: ScheduleKind;
}): JointScheduleSpecs {
  const S = stepsPerEpoch(opts.trainSamples, opts.batchSize ?? 512);
  const T = opts.epochs * S;
  const kind = opts.kind ?? 'cosine';
  return {
    stepsPerEpoch: S,
    recommender: { kind, warmup: opts.warmup, total: T },
    tokenizer: { kind, warmup: Math.floor(opts.warmup / opts.cycle), total: Math.floor(T / opts.cycle) },
  };
}

/**
 * Per-batch LR scheduler: read `lr` before an optimiser update, call `step()` after it.
 * `lr` = base·λ(stepCount); with warmup the first update gets lr 0.
 */
export class LrScheduler {
  private steps = 0;

  constructor(
    readonly baseLr: number,
    readonly spec: ScheduleSpec,
  ) {}

  get stepCount(): number {
    return this.steps;
  }

  /** The lr for the next optimiser update. */
  get lr(): number {
    return this.baseLr * scheduleFactor(this.spec, this.steps);
  }

  step(): void {
    this.steps += 1;
  }

  /** Resume at a given number of completed steps (e.g. from a checkpoint). */
  setStepCount(n: number): void {
    this.steps = n;
  }
}
