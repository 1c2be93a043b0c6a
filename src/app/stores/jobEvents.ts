/** What the stage stores share about a running job's events: batching, progress state, errors. */
import type { StudioErrorInfo } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/events.ts';
import type { JobProgress } from './job.ts';
import { keepOnPause } from './pause.ts';

/** Progress events are batched into one store update per this many ms (charts re-render once). */
export const FLUSH_MS = 250;

/** A thrown error as a failed Result. */
export function internal(err: unknown): { ok: false; error: StudioErrorInfo } {
  return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
}

/** The progress shown after an event (a paused job keeps its last value). */
export function progressFrom(prev: JobProgress | null, e: ProgressEvent): JobProgress | null {
  const kept = keepOnPause(prev, e);
  if (kept !== undefined) return kept;
  if (e.type === 'phase') return { phase: e.phase, message: e.message, done: 0, unit: '' };
  if (e.type === 'progress') {
    return { phase: e.phase, message: prev?.phase === e.phase ? prev.message : undefined, done: e.done, total: e.total, unit: e.unit, etaSeconds: e.etaSeconds };
  }
  return prev;
}
