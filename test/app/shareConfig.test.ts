import { describe, expect, it } from 'vitest';
import { decodeShareConfig, encodeShareConfig, hashParams, jointShareHash, jsonValuesOf, parseJsonValues, resolveSharedConfig, sharedConfigOf, stageShareHash, type SharedJointConfig } from '../../src/app/shareConfig.ts';
import { parseRoute } from '../../src/app/route.ts';

const cfg: SharedJointConfig = { v: 1, preset: 'quick', values: { epochs: '3', 't5.d_model': '16', ablation: 'no_sia' }, embeddingId: 'emb-1', tokenizerId: 'tok-é', name: 'run "x" ünï' };

describe('share URL codec', () => {
  it('round-trips through the hash and the route', () => {
    const hash = jointShareHash('ds/1', cfg);
    expect(hash).toMatch(/^#\/joint\/ds%2F1\?cfg=[A-Za-z0-9_-]+$/);
    expect(parseRoute(hash)).toEqual({ page: 'joint', datasetId: 'ds/1' });
    expect(sharedConfigOf(hash)).toEqual({ ok: true, value: cfg });
    expect(decodeShareConfig(encodeShareConfig(cfg))).toEqual({ ok: true, value: cfg });
    expect(sharedConfigOf('#/joint/ds')).toBeNull();
    expect(hashParams('#/runs').get('cfg')).toBeNull();
  });

  it('refuses a corrupted hash with a clear message', () => {
    const enc = encodeShareConfig(cfg);
    for (const bad of [enc.slice(0, enc.length - 7), 'not base64!', encodeShareConfig({ ...cfg, v: 2 } as never), encodeShareConfig({ v: 1 } as never)]) {
      const r = decodeShareConfig(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/could not be read .*ignored/);
    }
    const r = decodeShareConfig(encodeShareConfig({ ...cfg, values: { epochs: 3 } } as never));
    expect(!r.ok && r.message).toMatch(/"epochs" is not text/);
  });
});

describe('share links of every stage page', () => {
  it('round-trips #/<stage>/<dataset>?cfg=… through the route of the tokenizer, embeddings and GRPO pages', () => {
    const c: SharedJointConfig = { v: 1, preset: 'quick', values: { epochs: '7', lr: '0.001' }, name: 'shared' };
    for (const stage of ['tokenizer', 'embeddings', 'grpo'] as const) {
      const hash = stageShareHash(stage, 'ds/1', c);
      expect(hash).toMatch(new RegExp(`^#/${stage}/ds%2F1\\?cfg=[A-Za-z0-9_-]+$`));
      expect(parseRoute(hash)).toEqual({ page: stage, datasetId: 'ds/1' });
      expect(sharedConfigOf(hash)).toEqual({ ok: true, value: c });
    }
    expect(stageShareHash('joint', 'd', c)).toBe(jointShareHash('d', c));
    // the plain routes are unchanged
    expect(parseRoute('#/tokenizer/abc')).toEqual({ page: 'tokenizer', datasetId: 'abc' });
    expect(parseRoute('#/grpo')).toEqual({ page: 'grpo', datasetId: null });
    expect(parseRoute('#/embeddings/x%20y')).toEqual({ page: 'embeddings', datasetId: 'x y' });
  });

  it('checks a decoded configuration against the page: known preset, edited fields only', () => {
    const c: SharedJointConfig = { v: 1, preset: 'paper', values: { epochs: '7', bogus: '1' }, name: 'n' };
    expect(resolveSharedConfig(c, ['quick', 'paper'], ['epochs', 'lr'])).toEqual({ ok: true, preset: 'paper', values: { epochs: '7' }, name: 'n', ignored: ['bogus'] });
    expect(resolveSharedConfig({ ...c, name: undefined }, ['paper'], ['epochs', 'bogus'])).toEqual({ ok: true, preset: 'paper', values: { epochs: '7', bogus: '1' }, ignored: [] });
    const bad = resolveSharedConfig(c, ['quick'], ['epochs']);
    expect(!bad.ok && bad.message).toMatch(/unknown preset "paper"/);
  });
});

describe('typed values as share-link text', () => {
  it('keeps only the edits, and parses them back checked against the preset', () => {
    const preset = { epochs: 30, lr: 0.001, layers: [64, 32], kmeans_init: true, in_dim: 8 };
    const config = { ...preset, epochs: 10, layers: [16], kmeans_init: false };
    const values = jsonValuesOf(config, preset, ['epochs', 'lr', 'layers', 'kmeans_init']);
    expect(values).toEqual({ epochs: '10', layers: '[16]', kmeans_init: 'false' });
    expect(parseJsonValues(values, preset)).toEqual({ values: { epochs: 10, layers: [16], kmeans_init: false }, bad: [] });
    expect(parseJsonValues({ epochs: '"ten"', lr: '{', layers: '[1,"x"]', kmeans_init: '1', unknown: '3' }, preset).bad).toEqual(['epochs', 'lr', 'layers', 'kmeans_init', 'unknown']);
  });
});
