import { describe, expect, it } from 'vitest';
import { adapterShort, asResult, blobSource, forwardProgress, JobRegistry } from '../../workers/jobs.ts';
import { StudioError } from '../../src/core/errors.ts';
import type { ProgressEvent } from '../../src/core/events.ts';

describe('JobRegistry', () => {
  it('cancel aborts the signal and the result is a structured cancelled error', async () => {
    const jobs = new JobRegistry();
    let seen: AbortSignal | undefined;
    const started = new Promise<void>((resolve) => {
      void jobs.run('j1', (signal) => {
        seen = signal;
        resolve();
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped'))));
      }).then((r) => results.push(r));
    });
    const results: unknown[] = [];
    await started;
    expect(jobs.isRunning('j1')).toBe(true);
    expect(jobs.cancel('j1')).toBe(true);
    expect(seen!.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(results).toEqual([{ ok: false, error: { code: 'cancelled', message: 'Cancelled by the user' } }]);
    expect(jobs.size).toBe(0);
  });

  it('results are values; errors are structured, never thrown', async () => {
    const jobs = new JobRegistry();
    expect(await jobs.run('a', async () => 42)).toEqual({ ok: true, value: 42 });
    const r = await jobs.run('b', async () => {
      throw new StudioError({ code: 'malformed_input', message: 'bad line', file: 'f.json', line: 3 });
    });
    expect(r).toEqual({ ok: false, error: { code: 'malformed_input', message: 'bad line', file: 'f.json', line: 3 } });
    const plain = await jobs.run('c', async () => { throw new TypeError('boom'); });
    expect(plain).toEqual({ ok: false, error: { code: 'internal', message: 'boom' } });
  });

  it('a cancel that arrives before the job starts still cancels it', async () => {
    const jobs = new JobRegistry();
    expect(jobs.cancel('early')).toBe(false);
    let ran = false;
    const r = await jobs.run('early', async () => { ran = true; return 1; });
    expect(ran).toBe(false);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('cancelled');
  });

  it('refuses a duplicate job id', async () => {
    const jobs = new JobRegistry();
    let release!: () => void;
    const first = jobs.run('dup', () => new Promise<number>((res) => { release = () => res(1); }));
    const second = await jobs.run('dup', async () => 2);
    expect(second.ok).toBe(false);
    release();
    expect(await first).toEqual({ ok: true, value: 1 });
  });

  it('asResult wraps sync and async failures', async () => {
    expect(await asResult(() => 5)).toEqual({ ok: true, value: 5 });
    const r = await asResult(() => { throw new StudioError({ code: 'not_found', message: 'gone' }); });
    expect(r).toEqual({ ok: false, error: { code: 'not_found', message: 'gone' } });
  });
});

describe('forwardProgress', () => {
  it('throttles progress, keeps other events, flushes the last, and survives a failing callback', () => {
    let t = 0;
    const got: ProgressEvent[] = [];
    const sink = forwardProgress((e) => { got.push(e); return Promise.reject(new Error('released proxy')); }, 100, () => t);
    const p = (done: number): ProgressEvent => ({ type: 'progress', stage: 'data', phase: 'parse', done, total: 100, unit: 'lines' });
    sink(p(1));
    t = 10; sink(p(2));
    t = 20; sink(p(3));
    t = 150; sink(p(4));
    t = 160; sink(p(5));
    sink({ type: 'log', stage: 'data', level: 'info', message: 'hi' });
    t = 170; sink(p(6));
    sink.flush();
    expect(got.map((e) => (e.type === 'progress' ? e.done : e.type))).toEqual([1, 4, 5, 'log', 6]);
    const throwing = forwardProgress(() => { throw new Error('gone'); });
    expect(() => throwing({ type: 'phase', stage: 'data', phase: 'x' })).not.toThrow();
  });
});

describe('blobSource', () => {
  it('streams a Blob and can be reopened', async () => {
    const text = 'a'.repeat(200_000) + 'end';
    const src = blobSource('f.txt', new Blob([text]));
    expect(src.size).toBe(text.length);
    for (let round = 0; round < 2; round++) {
      let n = 0;
      const parts: Uint8Array[] = [];
      for await (const chunk of src.open()) { n += chunk.byteLength; parts.push(chunk); }
      expect(n).toBe(text.length);
      expect(new TextDecoder().decode(parts.at(-1)!).endsWith('end')).toBe(true);
    }
    expect((await src.bytes()).byteLength).toBe(text.length);
  });

  it('breaking out early releases the stream', async () => {
    const src = blobSource('f', new Blob([new Uint8Array(1 << 20)]));
    for await (const chunk of src.open()) { expect(chunk.byteLength).toBeGreaterThan(0); break; }
  });
});

describe('adapterShort', () => {
  it('is vendor/architecture of the WebGPU adapter, else its description, and null without one', () => {
    const a = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader', isFallbackAdapter: true, limits: {}, features: [] };
    expect(adapterShort({ adapter: a })).toBe('google/swiftshader');
    expect(adapterShort({ adapter: { ...a, vendor: '', architecture: '' } })).toBe('SwiftShader');
    expect(adapterShort({ adapter: { ...a, architecture: '' } })).toBe('google');
    expect(adapterShort({})).toBeNull();
    expect(adapterShort(null)).toBeNull();
  });
});
