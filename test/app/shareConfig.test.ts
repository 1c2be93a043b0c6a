import { describe, expect, it } from 'vitest';
import { decodeShareConfig, encodeShareConfig, hashParams, jointShareHash, sharedConfigOf, type SharedJointConfig } from '../../src/app/shareConfig.ts';
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
