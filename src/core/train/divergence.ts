/**
 * Stops a training whose loss is no longer a finite number, at the step it happened, without a GPU
 * sync per step: each step's loss is read asynchronously and checked before the next step (on
 * wasm/cpu the value is there at once; on WebGPU one step late). The trainer throws before its next
 * checkpoint, so the last stored checkpoint is the last good one.
 */
import * as tf from '@tensorflow/tfjs';
import { StudioError } from '../errors.ts';

/** The error of a training whose loss became `value` (NaN or ±Infinity) at `where`. */
export function divergedError(what: string, where: string, value: number): StudioError {
  return new StudioError({
    code: 'diverged',
    message: `${what} diverged: the loss became ${Number.isNaN(value) ? 'NaN' : value > 0 ? '+Infinity' : '-Infinity'} at ${where}. The run stopped there; the last checkpoint before it is kept. A lower learning rate or gradient clip usually helps.`,
    found: String(value),
  });
}

export class DivergenceWatch {
  private bad: { where: string; value: number } | null = null;
  private readonly pending = new Set<Promise<void>>();

  /** `what` names the training in the message ("Joint training", "SASRec"). */
  constructor(private readonly what: string) {}

  /** Watches a step's loss (a scalar the caller keeps owning; it is cloned). */
  watch(loss: tf.Tensor, where: string): void {
    if (this.bad) return;
    const copy = tf.keep(loss.clone());
    const p = copy.data().then((v) => {
      const x = v[0];
      if (!Number.isFinite(x) && !this.bad) this.bad = { where, value: x };
    }).finally(() => {
      copy.dispose();
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  /** A watched loss was NaN or infinite (settle() throws the error). */
  seen(): boolean {
    return this.bad !== null;
  }

  /** Throws when a watched loss was NaN or infinite. */
  check(): void {
    if (!this.bad) return;
    throw divergedError(this.what, this.bad.where, this.bad.value);
  }

  /** Waits for every watched loss, then checks. */
  async settle(): Promise<void> {
    await Promise.all([...this.pending]);
    this.check();
  }
}
