/**
 * A cooperative pause gate (tfjs-free): trainers `await gate.wait(signal)` between steps; while
 * paused the wait blocks until `resume()`, and rejects with the signal's reason on abort so a
 * Cancel still works while paused. `pausedMs()` is the total time spent paused (for ETAs).
 */
export class PauseGate {
  private pausedAt: number | null = null;
  private totalPausedMs = 0;
  private waiters: Array<() => void> = [];
  private readonly listeners = new Set<(paused: boolean) => void>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  get paused(): boolean {
    return this.pausedAt !== null;
  }

  /** Returns whether the state changed. */
  pause(): boolean {
    if (this.pausedAt !== null) return false;
    this.pausedAt = this.now();
    for (const l of this.listeners) l(true);
    return true;
  }

  /** Returns whether the state changed. */
  resume(): boolean {
    if (this.pausedAt === null) return false;
    this.totalPausedMs += this.now() - this.pausedAt;
    this.pausedAt = null;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
    for (const l of this.listeners) l(false);
    return true;
  }

  /** Milliseconds spent paused so far (the current pause included). */
  pausedMs(): number {
    return this.totalPausedMs + (this.pausedAt === null ? 0 : this.now() - this.pausedAt);
  }

  /** Observes pause/resume transitions; returns an unsubscribe function. */
  onChange(fn: (paused: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Resolves at once when not paused (returns false), else when resumed (returns true). Rejects with
   * the signal's reason when it is (or becomes) aborted while paused.
   */
  wait(signal?: AbortSignal): Promise<boolean> {
    if (this.pausedAt === null) return Promise.resolve(false);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<boolean>((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(abortReason(signal!));
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('cancelled');
}

/**
 * What trainers call between steps, before their abort check: waits on the gate (if any) and
 * reports the pause (onPause) and the resume (onResume). An abort while paused just returns, so the
 * caller's own cancel handling runs as usual.
 */
export async function pausePoint(
  gate: PauseGate | undefined,
  signal: AbortSignal | undefined,
  onPause: () => void,
  onResume: () => void,
): Promise<void> {
  if (!gate?.paused) return;
  onPause();
  try {
    await gate.wait(signal);
  } catch {
    return;
  }
  onResume();
}
