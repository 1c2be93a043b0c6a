import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createStore } from 'zustand/vanilla';
import type { Result } from '../../workers/api.ts';
import type { ProgressEvent } from '../../src/core/events.ts';
import type { Job } from '../../src/app/workerClient.ts';
import { createJobSlice, FLUSH_MS, type JobView } from '../../src/app/stores/jobEvents.ts';
import { NO_PAUSE } from '../../src/app/stores/pause.ts';

interface View extends JobView<string> {
  log: { level: 'info' | 'warn'; message: string }[];
  metrics: number[];
  note: string;
}
interface State { train: View; refreshes: number }

const IDLE: View = {
  running: false, cancelling: false, datasetId: null, startedAt: 0, progress: null, error: null, cancelFn: null,
  result: null, log: [], metrics: [], note: '', ...NO_PAUSE,
};

/** A job whose result the test settles; `emit` sends a progress event. */
function fakeJob() {
  let settle!: (r: Result<string>) => void;
  let emit!: (e: ProgressEvent) => void;
  const calls: string[] = [];
  const job: Job<string> = {
    id: 'j', result: new Promise((r) => { settle = r; }),
    cancel: async () => { calls.push('cancel'); },
    pause: async () => { calls.push('pause'); return true; },
    resume: async () => { calls.push('resume'); return true; },
  };
  const start = (onEvent: (e: ProgressEvent) => void) => { emit = onEvent; return job; };
  return { start, calls, settle: (r: Result<string>) => settle(r), emit: (e: ProgressEvent) => emit(e) };
}

function store(opts: { batching?: 'debounce' | 'interval'; pollMs?: number; keep?: number } = {}) {
  const refreshed: string[] = [];
  const s = createStore<State>()(() => ({ train: IDLE, refreshes: 0 }));
  const slice = createJobSlice<State, 'train', string>(s.setState, s.getState, 'train', {
    idle: IDLE,
    log: { keep: opts.keep ?? 50 },
    apply: (v, events) => ({ metrics: [...v.metrics, ...events.flatMap((e) => (e.type === 'metric' ? [e.value] : []))] }),
    batching: opts.batching,
    pollMs: opts.pollMs,
    refresh: async (id) => { refreshed.push(id); },
    finish: (v, res) => ({ note: res.ok ? `done after ${v.metrics.length}` : 'failed' }),
  });
  return { s, slice, refreshed, view: () => s.getState().train };
}

const metric = (value: number): ProgressEvent => ({ type: 'metric', stage: 'joint', name: 'm', step: 0, value });
const log = (message: string): ProgressEvent => ({ type: 'log', stage: 'joint', level: 'info', message });
const settleTicks = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('createJobSlice', () => {
  it('batches events into one update per FLUSH_MS, with progress, a capped log and the store’s own fields', async () => {
    const { slice, view } = store({ keep: 2 });
    const j = fakeJob();
    const done = slice.run('ds', { note: 'started' }, j.start);
    expect(view()).toMatchObject({ running: true, datasetId: 'ds', note: 'started', metrics: [] });
    expect(view().cancelFn).not.toBeNull();
    j.emit({ type: 'phase', stage: 'joint', phase: 'train' });
    j.emit(metric(1));
    j.emit(log('a'));
    j.emit(log('b'));
    j.emit(log('c'));
    expect(view().metrics).toEqual([]);
    await vi.advanceTimersByTimeAsync(FLUSH_MS);
    expect(view().metrics).toEqual([1]);
    expect(view().progress).toMatchObject({ phase: 'train', done: 0 });
    expect(view().log.map((l) => l.message)).toEqual(['b', 'c']);
    j.emit(metric(2));
    j.settle({ ok: true, value: 'R' });
    await done;
    // the last batch is applied before the job's view is finished
    expect(view()).toMatchObject({ running: false, cancelling: false, cancelFn: null, result: 'R', error: null, metrics: [1, 2], note: 'done after 2' });
    // an event after the result (its own message port) is still applied
    j.emit(metric(3));
    await vi.advanceTimersByTimeAsync(FLUSH_MS);
    expect(view().metrics).toEqual([1, 2, 3]);
  });

  it('interval batching flushes while the job runs and once at its end, and drops later events', async () => {
    const { slice, view } = store({ batching: 'interval' });
    const j = fakeJob();
    const done = slice.run('ds', {}, j.start);
    j.emit(metric(1));
    await vi.advanceTimersByTimeAsync(FLUSH_MS);
    expect(view().metrics).toEqual([1]);
    j.emit(metric(2));
    j.settle({ ok: true, value: 'R' });
    await done;
    expect(view().metrics).toEqual([1, 2]);
    j.emit(metric(3));
    await vi.advanceTimersByTimeAsync(5 * FLUSH_MS);
    expect(view().metrics).toEqual([1, 2]);
  });

  it('polls the lists while running, refreshes once at the end; a second start while running is ignored', async () => {
    const { slice, refreshed } = store({ pollMs: 1000 });
    const j = fakeJob();
    const done = slice.run('ds', {}, j.start);
    const other = fakeJob();
    await slice.run('other', {}, other.start);
    await vi.advanceTimersByTimeAsync(2500);
    expect(refreshed).toEqual(['ds', 'ds']);
    j.settle({ ok: false, error: { code: 'cancelled', message: 'x' } });
    await done;
    await vi.advanceTimersByTimeAsync(3000);
    expect(refreshed).toEqual(['ds', 'ds', 'ds']);
  });

  it('cancel and pause go to the job; a failure or a throw ends with the error', async () => {
    const { slice, view } = store();
    const j = fakeJob();
    const done = slice.run('ds', {}, j.start);
    await slice.togglePause();
    expect(view().paused).toBe(true);
    await slice.togglePause();
    await slice.cancel();
    expect(view().cancelling).toBe(true);
    expect(j.calls).toEqual(['pause', 'resume', 'cancel']);
    j.settle({ ok: false, error: { code: 'cancelled', message: 'Cancelled' } });
    await done;
    expect(view()).toMatchObject({ running: false, cancelling: false, paused: false, pauseFn: null, result: null, error: { code: 'cancelled' }, note: 'failed' });
    await slice.run('ds', {}, () => { throw new Error('no worker'); });
    await settleTicks();
    expect(view().error).toEqual({ code: 'internal', message: 'no worker' });
    await slice.cancel(); // nothing to cancel: no-op
  });
});
