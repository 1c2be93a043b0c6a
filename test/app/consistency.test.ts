/**
 * One way to show things across the pages: the date format (local, zone on hover), rates as
 * percent, plurals; the progress bar keeps its place through an uncounted phase (an evaluation);
 * the joint form shows an interrupted run's configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dateTimeTitle, formatLocalDateTime, formatPercent, plural } from '../../src/app/format.ts';
import { pct } from '../../src/app/diagnostics.ts';
import { progressFrom } from '../../src/app/stores/jobEvents.ts';
import { interruptedRuns, jointFormValues, useJointStore } from '../../src/app/stores/joint.ts';
import { jointTrainConfig } from '../../src/core/train/jointSchedule.ts';
import type { JointRunSummary } from '../../workers/jointApi.ts';
import { runStatusLabel } from '../../src/core/runs/runTable.ts';

const TZ = process.env.TZ;
beforeAll(() => { process.env.TZ = 'Asia/Kolkata'; }); // UTC+05:30, no daylight saving
afterAll(() => { if (TZ === undefined) delete process.env.TZ; else process.env.TZ = TZ; });

describe('dates', () => {
  it('local "YYYY-MM-DD HH:mm"; the hover text has the zone, the offset and UTC', () => {
    const ms = Date.UTC(2026, 10, 28, 4, 5, 9); // 2026-11-28 04:05:09 UTC = 09:35:09 in Kolkata
    expect(formatLocalDateTime(ms)).toBe('2026-11-28 09:35');
    // ICU names the zone Kolkata or, in older data, Calcutta
    expect(dateTimeTitle(ms)).toMatch(/^2026-11-28 09:35:09 Asia\/(Kolkata|Calcutta), UTC\+05:30 · 2026-11-28 04:05:09 UTC$/);
    expect(formatLocalDateTime(Number.NaN)).toBe('—');
  });
});

describe('rates and counts', () => {
  it('every rate as percent with one decimal unless asked; missing values as a dash', () => {
    expect(formatPercent(0.2437)).toBe('24.4 %');
    expect(formatPercent(0.99201, 2)).toBe('99.20 %');
    expect(formatPercent(null)).toBe('—');
    expect(formatPercent(Number.NaN)).toBe('—');
    expect(pct(0.05)).toBe('5.0 %');
  });

  it('plurals', () => {
    expect(plural(1, 'item')).toBe('1 item');
    expect(plural(0, 'item')).toBe('0 items');
    expect(plural(12345, 'epoch')).toBe('12,345 epochs');
    expect(plural(2, 'index', 'indices')).toBe('2 indices');
  });
});

describe('progress through an evaluation', () => {
  it('an uncounted phase keeps the bar at the counted work; counted work moves it on', () => {
    const train = progressFrom(null, { type: 'progress', stage: 'sasrec', phase: 'train', done: 60, total: 90, unit: 'steps', etaSeconds: 30 });
    const evalPhase = progressFrom(train, { type: 'phase', stage: 'sasrec', phase: 'evaluate', message: 'epoch 2' });
    expect(evalPhase).toEqual({ phase: 'evaluate', message: 'epoch 2', done: 60, total: 90, unit: '' });
    const next = progressFrom(evalPhase, { type: 'progress', stage: 'sasrec', phase: 'train', done: 61, total: 90, unit: 'steps' });
    expect(next).toMatchObject({ phase: 'train', done: 61, total: 90, unit: 'steps' });
    // a job's first phase has nothing to keep
    expect(progressFrom(null, { type: 'phase', stage: 'sasrec', phase: 'load' })).toEqual({ phase: 'load', message: undefined, done: 0, unit: '' });
  });
});

function run(over: Partial<JointRunSummary>): JointRunSummary {
  return {
    id: 'r', name: 'r', datasetId: 'd', embeddingId: 'e1', tokenizerId: 't1', status: 'finished', active: false, resumable: false,
    createdAt: 0, updatedAt: 0, backend: 'wasm', adapter: null, preset: 'quick', config: jointTrainConfig('quick'), history: [],
    progress: null, test: null, testBeforeFinetune: null, error: null, errorCode: null, source: 'train', checkpointBytes: 0, meta: {},
    ...over,
  };
}

describe('status labels', () => {
  it('interrupted, NaN loss and out of memory read as such; a live job as training', () => {
    expect(runStatusLabel('paused')).toBe('interrupted');
    expect(runStatusLabel('paused', { active: true })).toBe('training');
    expect(runStatusLabel('failed', { errorCode: 'diverged' })).toBe('failed (NaN loss)');
    expect(runStatusLabel('failed', { errorCode: 'worker_memory' })).toBe('failed (out of memory)');
    expect(runStatusLabel('failed', { errorCode: 'internal' })).toBe('failed');
  });
});

describe('an interrupted joint run in the form', () => {
  it('interrupted = resumable and stopped while training, newest first', () => {
    const runs = [
      run({ id: 'old', status: 'paused', resumable: true, updatedAt: 1 }),
      run({ id: 'done', status: 'finished', updatedAt: 5 }),
      run({ id: 'failed', status: 'failed', resumable: true, updatedAt: 6 }),
      run({ id: 'new', status: 'paused', resumable: true, updatedAt: 3 }),
    ];
    expect(interruptedRuns(runs).map((r) => r.id)).toEqual(['new', 'old']);
  });

  it('the form takes the run preset, values and inputs; an edit clears the note, the values stay', () => {
    const config = { ...jointTrainConfig('quick'), epochs: 3, lr_rec: 0.0025 };
    useJointStore.getState().showRunConfig(run({ id: 'x', name: 'tiny', status: 'paused', config, embeddingId: 'e9', tokenizerId: 't9' }));
    const s = useJointStore.getState();
    expect(s.preset).toBe('quick');
    expect(s.values.epochs).toBe('3');
    expect(s.values.epochs).not.toBe(jointFormValues('quick').epochs);
    expect(Number(s.values.lr_rec)).toBe(0.0025);
    expect(s.formOf).toEqual({ runId: 'x', name: 'tiny', status: 'paused', embeddingId: 'e9', tokenizerId: 't9' });
    s.setValue('epochs', '3');
    expect(useJointStore.getState().formOf).not.toBeNull();
    s.setValue('epochs', '4');
    expect(useJointStore.getState().formOf).toBeNull();
    expect(useJointStore.getState().values.lr_rec).toBe(s.values.lr_rec);
  });
});
