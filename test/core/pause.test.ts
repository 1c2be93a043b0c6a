import { describe, expect, it } from 'vitest';
import { PauseGate, pausePoint } from '../../src/core/pause.ts';

describe('PauseGate', () => {
  it('wait resolves at once when not paused, and only after resume when paused', async () => {
    const g = new PauseGate();
    expect(g.paused).toBe(false);
    await expect(g.wait()).resolves.toBe(false);
    expect(g.pause()).toBe(true);
    expect(g.pause()).toBe(false);
    expect(g.paused).toBe(true);
    let done = false;
    const w = g.wait().then((v) => { done = true; return v; });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(g.resume()).toBe(true);
    expect(g.resume()).toBe(false);
    await expect(w).resolves.toBe(true);
  });

  it('rejects with the abort reason when aborted while paused (or already aborted)', async () => {
    const g = new PauseGate();
    g.pause();
    const ac = new AbortController();
    const w = g.wait(ac.signal);
    ac.abort(new Error('cancelled by test'));
    await expect(w).rejects.toThrow('cancelled by test');
    await expect(g.wait(ac.signal)).rejects.toThrow('cancelled by test');
    // not paused: an aborted signal does not matter to wait
    g.resume();
    await expect(g.wait(ac.signal)).resolves.toBe(false);
  });

  it('counts paused time (the current pause included) and notifies listeners', () => {
    let t = 1000;
    const g = new PauseGate(() => t);
    const seen: boolean[] = [];
    const off = g.onChange((p) => seen.push(p));
    g.pause();
    t += 300;
    expect(g.pausedMs()).toBe(300);
    g.resume();
    t += 100;
    g.pause();
    t += 50;
    expect(g.pausedMs()).toBe(350);
    g.resume();
    off();
    g.pause();
    expect(seen).toEqual([true, false, true, false]);
  });

  it('pausePoint reports pause and resume; an abort while paused returns without onResume', async () => {
    const g = new PauseGate();
    const log: string[] = [];
    await pausePoint(g, undefined, () => log.push('pause'), () => log.push('resume'));
    expect(log).toEqual([]);
    g.pause();
    const p = pausePoint(g, undefined, () => log.push('pause'), () => log.push('resume'));
    setTimeout(() => g.resume(), 10);
    await p;
    expect(log).toEqual(['pause', 'resume']);
    g.pause();
    const ac = new AbortController();
    const q = pausePoint(g, ac.signal, () => log.push('pause2'), () => log.push('resume2'));
    ac.abort();
    await q;
    expect(log).toEqual(['pause', 'resume', 'pause2']);
  });
});
