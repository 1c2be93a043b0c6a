/** Early stopping on a validation score, shared by the joint (§5.9, §5.13) and GRPO trainers. No tfjs. */

export interface EarlyStopUpdate {
  improved: boolean;
  /** Stop training now. */
  stop: boolean;
  best: number;
  bad: number;
}

/**
 * Early-stop bookkeeping (§5.9, §5.13): best starts at 0; a score improves only if strictly greater;
 * training stops once `patience` consecutive evaluations did not improve.
 */
export class EarlyStopper {
  best: number;
  bad = 0;
  bestEpoch = -1;

  constructor(
    readonly patience: number,
    initialBest = 0,
  ) {
    this.best = initialBest;
  }

  update(score: number, epoch = -1): EarlyStopUpdate {
    const improved = score > this.best;
    if (improved) {
      this.best = score;
      this.bad = 0;
      this.bestEpoch = epoch;
    } else {
      this.bad += 1;
    }
    return { improved, stop: this.bad >= this.patience, best: this.best, bad: this.bad };
  }

  get stopped(): boolean {
    return this.bad >= this.patience;
  }
}
