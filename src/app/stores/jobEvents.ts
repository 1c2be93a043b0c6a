/**
 * What the stage stores share about a running job: its events batched into store updates, its
 * progress and log, errors as Results, and the job itself as a slice of the store (createJobSlice).
 */
import type { StoreApi } from 'zustand';
import type { Result } from '../../../workers/api.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import type { ProgressEvent } from '../../core/events.ts';
import type { Job } from '../workerClient.ts';
import type { JobProgress } from './job.ts';
import { keepOnPause, NO_PAUSE, pauseFnOf, togglePause, type PauseView } from './pause.ts';

/** Progress events are batched into one store update per this many ms (charts re-render once). */
export const FLUSH_MS = 250;

/** A thrown error as a failed Result. */
export function internal(err: unknown): { ok: false; error: StudioErrorInfo } {
  return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
}

/**
 * The progress shown after an event (a paused job keeps its last value). A phase without counts of
 * its own (an evaluation between training epochs) keeps the bar where the job's counted work left
 * it, so the bar never jumps back; its counts and ETA are hidden until counted work resumes.
 */
export function progressFrom(prev: JobProgress | null, e: ProgressEvent): JobProgress | null {
  const kept = keepOnPause(prev, e);
  if (kept !== undefined) return kept;
  if (e.type === 'phase') {
    return prev?.total ? { phase: e.phase, message: e.message, done: prev.done, total: prev.total, unit: '' } : { phase: e.phase, message: e.message, done: 0, unit: '' };
  }
  if (e.type === 'progress') {
    return { phase: e.phase, message: prev?.phase === e.phase ? prev.message : undefined, done: e.done, total: e.total, unit: e.unit, etaSeconds: e.etaSeconds };
  }
  return prev;
}

/** What every stage store's job view holds (the stores add their curves, log and extras). */
export interface JobView<R> extends PauseView {
  running: boolean;
  cancelling: boolean;
  datasetId: string | null;
  startedAt: number;
  progress: JobProgress | null;
  error: StudioErrorInfo | null;
  cancelFn: (() => Promise<void>) | null;
  result: R | null;
}

export interface JobSliceOptions<V, R> {
  /** The view before a job starts (a new job starts from it). */
  idle: V;
  /** The store's log of the job: `keep` entries at most, as text (the message) or {level, message}. */
  log?: { keep: number; text?: boolean };
  /** A batch of events applied to the view's own fields (curves…); progress and log are done already. */
  apply?(view: V, events: ProgressEvent[]): Partial<V>;
  /**
   * 'debounce' (default): every event schedules a flush FLUSH_MS later, so the last events are
   * applied even when they arrive after the job's result (progress travels on its own port);
   * 'interval': a flush every FLUSH_MS while the job runs, and one when it ends.
   */
  batching?: 'debounce' | 'interval';
  /** While the job runs, the stored lists are refreshed this often (ms). */
  pollMs?: number;
  /** Refreshes the dataset's stored lists (while polling, and once the job ended). */
  refresh(datasetId: string): Promise<void>;
  /** More of the finished view beside running/result/error (from the view after the last flush). */
  finish?(view: V, res: Result<R>): Partial<V>;
}

/**
 * One running job of a stage store, as a slice of the store under `key`: the job's lifecycle
 * (start → cancel / pause → result), its events batched into one store update per FLUSH_MS, its
 * progress and log, and the refresh of the stored lists. The store exposes `run` through its own
 * start actions and `cancel` / `togglePause` under its own names.
 */
export function createJobSlice<S extends Record<K, JobView<R>>, K extends keyof S & string, R>(
  set: StoreApi<S>['setState'],
  get: () => S,
  key: K,
  o: JobSliceOptions<S[K], R>,
) {
  type V = S[K];
  let pending: ProgressEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let interval: ReturnType<typeof setInterval> | null = null;

  const view = (): V => get()[key];
  const update = (f: (v: V) => Partial<V>) => set((s) => ({ [key]: { ...s[key], ...f(s[key]) } }) as unknown as Partial<S>);

  function flush(): void {
    if (!pending.length) return;
    const events = pending;
    pending = [];
    update((v) => {
      let progress = v.progress;
      for (const e of events) progress = progressFrom(progress, e);
      const out = { ...(o.apply?.(v, events) ?? {}) } as Partial<V>;
      out.progress = progress;
      if (o.log) {
        const keep = o.log.keep - 1;
        let log = (v as V & { log: unknown[] }).log;
        for (const e of events) if (e.type === 'log') log = [...log.slice(-keep), o.log.text ? e.message : { level: e.level, message: e.message }];
        (out as { log?: unknown[] }).log = log;
      }
      return out;
    });
  }

  function onEvent(e: ProgressEvent): void {
    pending.push(e);
    if (o.batching === 'interval') return;
    timer ??= setTimeout(() => {
      timer = null;
      flush();
    }, FLUSH_MS);
  }

  /** Runs the job `start` begins (none while one runs); the view starts as `idle` plus `init`. */
  async function run(datasetId: string, init: Partial<V>, start: (onEvent: (e: ProgressEvent) => void) => Job<R>): Promise<void> {
    if (view().running) return;
    pending = [];
    set({ [key]: { ...o.idle, running: true, datasetId, startedAt: Date.now(), ...init } } as unknown as Partial<S>);
    if (o.batching === 'interval') interval = setInterval(flush, FLUSH_MS);
    let res: Result<R>;
    try {
      const job = start(onEvent);
      update(() => ({ cancelFn: job.cancel, pauseFn: pauseFnOf(job) }) as Partial<V>);
      const poll = o.pollMs ? setInterval(() => void o.refresh(datasetId), o.pollMs) : null;
      try {
        res = await job.result;
      } finally {
        if (poll) clearInterval(poll);
      }
    } catch (err) {
      res = internal(err);
    }
    if (interval) clearInterval(interval);
    interval = null;
    flush();
    update((v) => ({
      running: false, cancelling: false, cancelFn: null, ...NO_PAUSE,
      result: res.ok ? res.value : null, error: res.ok ? null : res.error,
      ...(o.finish?.(v, res) ?? {}),
    }) as Partial<V>);
    await o.refresh(datasetId);
  }

  return {
    run,
    async cancel(): Promise<void> {
      const fn = view().cancelFn;
      if (!fn) return;
      update(() => ({ cancelling: true }) as Partial<V>);
      await fn();
    },
    async togglePause(): Promise<void> {
      await togglePause(view(), (paused) => update(() => ({ paused }) as Partial<V>));
    },
  };
}
