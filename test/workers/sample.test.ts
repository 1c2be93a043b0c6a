import { describe, expect, it } from 'vitest';
import { appBaseUrl, fetchSample, type FetchLike } from '../../workers/sample.ts';

function fakeFetch(files: Record<string, unknown>, calls: string[]): FetchLike {
  return async (url) => {
    calls.push(url);
    const body = files[url];
    if (body === undefined) return { ok: false, status: 404, statusText: 'Not Found', json: async () => null, blob: async () => new Blob() };
    return { ok: true, status: 200, json: async () => body, blob: async () => new Blob([body as string]) };
  };
}

describe('fetchSample', () => {
  it('resolves the manifest and file against the app base', async () => {
    const calls: string[] = [];
    const base = appBaseUrl('http://127.0.0.1:5173', '/studio/');
    expect(base).toBe('http://127.0.0.1:5173/studio/');
    const f = fakeFetch({
      'http://127.0.0.1:5173/studio/sample/sample.json': { file: 'beauty.jsonl.gz', format: 'amazon2014', name: 'Sample', kcore: 5, maxLen: 20, attribution: 'x' },
      'http://127.0.0.1:5173/studio/sample/beauty.jsonl.gz': 'DATA',
    }, calls);
    const { manifest, source } = await fetchSample(base, undefined, f);
    expect(manifest).toEqual({ file: 'beauty.jsonl.gz', format: 'amazon2014', name: 'Sample', kcore: 5, maxLen: 20, attribution: 'x' });
    expect(source.name).toBe('beauty.jsonl.gz');
    expect(new TextDecoder().decode(await source.bytes())).toBe('DATA');
    expect(calls).toHaveLength(2);
  });

  it('a missing file is a structured not_found; a bad manifest is malformed_input', async () => {
    const base = appBaseUrl('http://h', '/');
    await expect(fetchSample(base, undefined, fakeFetch({}, []))).rejects.toMatchObject({ info: { code: 'not_found' } });
    await expect(fetchSample(base, undefined, fakeFetch({ 'http://h/sample/sample.json': { name: 'x' } }, [])))
      .rejects.toMatchObject({ info: { code: 'malformed_input', field: 'file' } });
    // SPA fallback: the server answers with index.html.
    const html: FetchLike = async () => ({ ok: true, status: 200, json: async () => JSON.parse('<!doctype html>'), blob: async () => new Blob() });
    await expect(fetchSample(base, undefined, html)).rejects.toMatchObject({ info: { code: 'not_found', message: expect.stringMatching(/not JSON/) } });
  });
});
