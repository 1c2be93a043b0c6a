/** The hash route: a malformed % escape is a bad-link page with the reason, never a thrown URIError. */
import { describe, expect, it } from 'vitest';
import { parseRoute } from '../../src/app/route.ts';

describe('parseRoute', () => {
  it('decodes the dataset of every stage', () => {
    expect(parseRoute('#/data/a%20b')).toEqual({ page: 'dataset', datasetId: 'a b' });
    expect(parseRoute('#/joint/ds%2F1?cfg=x')).toEqual({ page: 'joint', datasetId: 'ds/1' });
  });

  it('turns a malformed escape into a bad-link route on every page', () => {
    for (const hash of ['#/data/%E0%A4%A', '#/embeddings/%', '#/tokenizer/%zz', '#/joint/%E0', '#/grpo/%', '#/experiments/%C3%28']) {
      const r = parseRoute(hash);
      expect(r.page, hash).toBe('bad-link');
      if (r.page === 'bad-link') expect(r.message).toMatch(/malformed % escape/);
    }
  });
});
