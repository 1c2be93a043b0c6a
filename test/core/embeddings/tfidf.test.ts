import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../src/core/events.ts';
import {
  buildTfidf,
  decodeHtmlEntities,
  encodeTextTfidfSvd,
  itemTexts,
  tokenize,
} from '../../../src/core/embeddings/tfidf.ts';
import type { EmbeddingTable } from '../../../src/core/embeddings/types.ts';

describe('item texts and tokens', () => {
  it('uses the spec §3.1 template with titles only, Product ID otherwise', () => {
    expect(itemTexts(['A1', 'A2', 'A3'], ['Red Lipstick', null, '  '])).toEqual(['Title: Red Lipstick', 'Product ID: A2', 'Product ID: A3']);
    expect(itemTexts(['A1'])).toEqual(['Product ID: A1']);
  });

  it('decodes common HTML entities (also double-escaped)', () => {
    expect(decodeHtmlEntities('A &amp; B &quot;C&quot; D&#39;s &#x27;e&#X27; &lt;f&gt; &amp;quot;g&amp;quot; &bogus;')).toBe(
      'A & B "C" D\'s \'e\' <f> "g" &bogus;',
    );
  });

  it('lower-cases runs of Unicode letters/digits', () => {
    expect(tokenize('Title: L&#39;Oréal &amp; Co. 3-Pack, ÆBLE_Größe 0.5oz')).toEqual(
      ['title', 'l', 'oréal', 'co', '3', 'pack', 'æble', 'größe', '0', '5oz'],
    );
  });
});

describe('buildTfidf (hand-computed)', () => {
  // n = 4; df: apple 3, banana 2, cherry 2, date 1 (dropped by minDf 2).
  const docs = [['apple', 'banana', 'apple'], ['banana', 'cherry'], ['apple', 'cherry', 'date'], ['apple']];
  const m = buildTfidf(docs);
  const idfApple = Math.log(5 / 4) + 1; // smooth idf: ln((1+n)/(1+df)) + 1
  const idfOther = Math.log(5 / 3) + 1;

  it('keeps terms with df ≥ 2, alphabetically, with smooth idf', () => {
    expect(m.vocab).toEqual(['apple', 'banana', 'cherry']);
    expect(Array.from(m.df)).toEqual([3, 2, 2]);
    expect(m.idf[0]).toBeCloseTo(1.2231435513142097, 14);
    expect(m.idf[1]).toBeCloseTo(1.5108256237659907, 14);
  });

  it('uses sublinear tf and L2-normalised rows', () => {
    const a = (1 + Math.log(2)) * idfApple;
    const b = idfOther;
    const norm = Math.hypot(a, b);
    expect(Array.from(m.indptr)).toEqual([0, 2, 4, 6, 7]);
    expect(Array.from(m.indices)).toEqual([0, 1, 1, 2, 0, 2, 0]);
    expect(m.values[0]).toBeCloseTo(a / norm, 14); // ≈ 0.80787
    expect(m.values[1]).toBeCloseTo(b / norm, 14);
    expect(m.values[0]).toBeCloseTo(0.8078684, 6);
    expect(m.values[2]).toBeCloseTo(Math.SQRT1_2, 14); // banana, cherry: same tf and idf
    expect(m.values[4]).toBeCloseTo(idfApple / Math.hypot(idfApple, idfOther), 14); // date is out of vocabulary
    expect(m.values[6]).toBe(1);
  });

  it('caps the vocabulary by corpus frequency', () => {
    const capped = buildTfidf(docs, { maxVocab: 2 });
    expect(capped.vocab).toEqual(['apple', 'banana']); // apple 4, banana 2 = cherry 2 → alphabetical
    expect(capped.emptyRows).toBe(0);
    expect(buildTfidf(docs, { minDf: 3 }).vocab).toEqual(['apple']);
    expect(buildTfidf(docs, { minDf: 3 }).emptyRows).toBe(1);
  });
});

describe('encodeTextTfidfSvd', () => {
  function synthetic(n: number) {
    const words = ['red', 'blue', 'green', 'lipstick', 'shampoo', 'brush', 'nail', 'polish', 'cream', 'soap', 'mask', 'oil'];
    const itemIds = Array.from({ length: n }, (_, i) => `B${i}`);
    const itemTitles = itemIds.map((_, i) => `${words[i % 12]} ${words[(i * 7) % 12]} ${words[(i * 5 + 3) % 12]}`);
    return { name: 'syn', itemIds, itemTitles };
  }

  it('emits text-stage events, clamps the width and is deterministic', async () => {
    const events: ProgressEvent[] = [];
    const ds = synthetic(200);
    const t = await encodeTextTfidfSvd(ds, { dim: 64, onEvent: (e) => events.push(e), now: 5 });
    // 12 words + 'title' from the template.
    expect(t).toMatchObject({ kind: 'text', rows: 200, cols: 13, source: 'tfidf-svd', createdAt: 5 });
    expect(events.every((e) => e.stage === 'text')).toBe(true);
    expect(events.some((e) => e.type === 'log' && e.level === 'warn' && /64 to 13/.test(e.message))).toBe(true);
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ done: 4, total: 4 });
    const again = await encodeTextTfidfSvd(ds, { dim: 64, now: 5 });
    expect(Array.from(again.data)).toEqual(Array.from(t.data));
  });

  it('normalises rows by default, and returns U·Σ with normalize: false', async () => {
    const ds = synthetic(100);
    const unit = await encodeTextTfidfSvd(ds, { dim: 6 });
    const raw = await encodeTextTfidfSvd(ds, { dim: 6, normalize: false });
    for (let r = 0; r < 100; r++) {
      const row = unit.data.subarray(r * 6, r * 6 + 6);
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    }
    const s = raw.meta!.singularValues as number[];
    let ss = 0;
    for (let r = 0; r < 100; r++) ss += raw.data[r * 6] ** 2;
    expect(Math.sqrt(ss)).toBeCloseTo(s[0], 4); // ‖U[:,0]·σ0‖ = σ0
  });

  it('refuses datasets without titles and stops when cancelled', async () => {
    await expect(encodeTextTfidfSvd({ name: 'x', itemIds: ['a', 'b'] })).rejects.toMatchObject({ info: { code: 'bad_option' } });
    const ctl = new AbortController();
    const run = encodeTextTfidfSvd(synthetic(3000), {
      dim: 8, signal: ctl.signal,
      onEvent: (e) => { if (e.type === 'phase' && e.phase === 'svd') ctl.abort(); },
    });
    await expect(run).rejects.toMatchObject({ info: { code: 'cancelled' } });
  });
});

describe('Beauty (12,101 items, real titles)', () => {
  let ids: string[];
  let titles: (string | null)[];
  let table: EmbeddingTable;
  let seconds: number;

  beforeAll(async () => {
    const tsv = gunzipSync(readFileSync('/work/shared/data/amazon2014_beauty_sports_toys/Beauty_items.tsv.gz')).toString('utf8');
    const rows = tsv.split('\n').filter(Boolean).slice(1).map((l) => l.split('\t'));
    rows.forEach(([id], i) => expect(Number(id)).toBe(i + 1)); // item_id order = row order
    ids = rows.map((r) => r[1]);
    titles = rows.map((r) => r[2] || null);
    const t0 = performance.now();
    table = await encodeTextTfidfSvd({ name: 'Beauty', itemIds: ids, itemTitles: titles });
    seconds = (performance.now() - t0) / 1000;
    console.log(`Beauty TF-IDF + SVD: ${seconds.toFixed(2)} s, vocab ${String(table.meta?.vocabSize)}, energy ${Number(table.meta?.explainedEnergy).toFixed(3)}`);
  }, 120_000);

  const cos = (a: number, b: number) => {
    let d = 0;
    for (let c = 0; c < table.cols; c++) d += table.data[a * table.cols + c] * table.data[b * table.cols + c];
    return d; // rows are unit-norm
  };
  const find = (re: RegExp, skip = 0) => titles.findIndex((t, i) => i >= skip && !!t && re.test(t));

  it('gives a 12101 × 256 unit-norm table in a bounded time', () => {
    expect(table.rows).toBe(12101);
    expect(table.cols).toBe(256);
    expect(Number.isFinite(table.data.reduce((a, b) => a + b, 0))).toBe(true);
    // "A few seconds" on an idle core; generous bound for a shared CI machine.
    expect(seconds).toBeLessThan(40);
  });

  it('puts items with similar titles closer than unrelated ones', () => {
    const opi1 = find(/^OPI Nail Lacquer/);
    const opi2 = find(/^OPI Nail Lacquer/, opi1 + 1);
    const shampoo = find(/shampoo/i);
    expect(Math.min(opi1, opi2, shampoo)).toBeGreaterThanOrEqual(0);
    expect(cos(opi1, opi2)).toBeGreaterThan(0.5);
    expect(cos(opi1, opi2)).toBeGreaterThan(cos(opi1, shampoo) + 0.3);
  });

  it('pairs sharing three title words are on average far more similar than random pairs', () => {
    const toks = titles.map((t) => new Set(tokenize(t ?? '')));
    let simSum = 0, simN = 0, randSum = 0, randN = 0;
    let seed = 1;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 4000; trial++) {
      const a = Math.floor(rnd() * ids.length);
      const b = Math.floor(rnd() * ids.length);
      if (a === b) continue;
      randSum += cos(a, b);
      randN++;
    }
    for (let a = 0; a < 600; a++) {
      for (let b = a + 1; b < 1200; b++) {
        let shared = 0;
        for (const w of toks[a]) if (toks[b].has(w)) shared++;
        if (shared >= 3) { simSum += cos(a, b); simN++; }
      }
    }
    expect(simN).toBeGreaterThan(50);
    expect(simSum / simN).toBeGreaterThan(randSum / randN + 0.25);
  });
});
