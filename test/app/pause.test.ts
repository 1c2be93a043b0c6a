import { describe, expect, it } from 'vitest';
import { keepOnPause, togglePause } from '../../src/app/stores/pause.ts';

describe('store pause helpers', () => {
  it('a paused phase and the phase it resumes into keep the counters', () => {
    const prev = { phase: 'train', done: 3, total: 8, unit: 'epochs' };
    expect(keepOnPause(prev, { type: 'phase', stage: 'rqvae', phase: 'paused' })).toBe(prev);
    expect(keepOnPause(prev, { type: 'phase', stage: 'rqvae', phase: 'train' })).toBe(prev);
    expect(keepOnPause(prev, { type: 'phase', stage: 'rqvae', phase: 'evaluate' })).toBeUndefined();
    expect(keepOnPause({ ...prev, done: 0 }, { type: 'phase', stage: 'rqvae', phase: 'train' })).toBeUndefined();
    expect(keepOnPause(prev, { type: 'progress', stage: 'rqvae', phase: 'train', done: 4, unit: 'epochs' })).toBeUndefined();
  });

  it('toggles only a running, not cancelling job with a pause control', async () => {
    const calls: boolean[] = [];
    const applied: boolean[] = [];
    const pauseFn = async (p: boolean) => { calls.push(p); return true; };
    await togglePause({ running: true, cancelling: false, paused: false, pauseFn }, (p) => applied.push(p));
    await togglePause({ running: true, cancelling: false, paused: true, pauseFn }, (p) => applied.push(p));
    await togglePause({ running: false, cancelling: false, paused: false, pauseFn }, (p) => applied.push(p));
    await togglePause({ running: true, cancelling: true, paused: false, pauseFn }, (p) => applied.push(p));
    await togglePause({ running: true, cancelling: false, paused: false, pauseFn: null }, (p) => applied.push(p));
    expect(calls).toEqual([true, false]);
    expect(applied).toEqual([true, false]);
  });
});
