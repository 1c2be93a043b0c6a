/**
 * Pause/resume state shared by the training stores: the flag, the job's pause control, the toggle,
 * and how a paused run's progress is kept (the 'paused' phase and the phase it resumes into keep
 * the counters, so the progress bar holds still rather than dropping to 0).
 */
import type { ProgressEvent } from '../../core/events.ts';
import type { Job } from '../workerClient.ts';
import type { JobProgress } from './job.ts';

export interface PauseView {
  /** The user paused the run (the trainer waits at its next step). */
  paused: boolean;
  pauseFn: ((pause: boolean) => Promise<boolean>) | null;
}

export const NO_PAUSE: PauseView = { paused: false, pauseFn: null };

export function pauseFnOf(job: Job<unknown>): (pause: boolean) => Promise<boolean> {
  return (pause) => (pause ? job.pause() : job.resume());
}

/** Flips the pause state of a running view; `apply` stores the new flag. */
export async function togglePause(view: PauseView & { running: boolean; cancelling: boolean }, apply: (paused: boolean) => void): Promise<void> {
  if (!view.running || view.cancelling || !view.pauseFn) return;
  const next = !view.paused;
  apply(next);
  await view.pauseFn(next);
}

/** The progress for a pause-related phase event, or undefined when the event is not one. */
export function keepOnPause(prev: JobProgress | null, e: ProgressEvent): JobProgress | null | undefined {
  if (e.type !== 'phase') return undefined;
  if (e.phase === 'paused') return prev;
  if (prev && prev.phase === e.phase && prev.done > 0) return prev;
  return undefined;
}
