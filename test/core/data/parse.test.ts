import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'fflate';
import { bytesSource, readLines, type ByteSource } from '../../../src/core/data/lines.ts';
import { parseInteractions } from '../../../src/core/data/parse.ts';
import { detectInteractionFormat } from '../../../src/core/data/detect.ts';
import { StudioError } from '../../../src/core/errors.ts';
import type { RawInteractions } from '../../../src/core/data/types.ts';

const enc = new TextEncoder();
const src = (text: string, chunk?: number) => bytesSource(enc.encode(text), chunk);
const gz = (text: string, chunk?: number) => bytesSource(gzipSync(enc.encode(text)), chunk);

async function collect(source: ByteSource): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(source)) out.push(l);
  return out;
}

async function caught(p: Promise<unknown>): Promise<StudioError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError);
    return err as StudioError;
  }
  throw new Error('expected a StudioError');
}

/** Rows as readable tuples. */
function rows(r: RawInteractions): [string, string, number, number][] {
  const out: [string, string, number, number][] = [];
  for (let k = 0; k < r.count; k++) {
    out.push([r.userNames[r.users[k]], r.itemNames[r.items[k]], r.times[k], r.ratings[k]]);
  }
  return out;
}

const review14 = (u: string, i: string, t: number | string, extra = '') =>
  `{"reviewerID": "${u}", "asin": "${i}", "helpful": [0, 0], "overall": 4.0, "unixReviewTime": ${typeof t === 'string' ? JSON.stringify(t) : t}, "reviewTime": "02 28, 2014"${extra}}`;

describe('readLines', () => {
  it('splits lines, strips CR and a BOM, keeps the last line without newline', async () => {
    expect(await collect(src('\ufeffa\r\nb\n\nc'))).toEqual(['a', 'b', '', 'c']);
    expect(await collect(src('a\n'))).toEqual(['a']);
    expect(await collect(src(''))).toEqual([]);
  });

  it('handles 1-byte chunks splitting lines and multi-byte UTF-8 characters', async () => {
    const text = 'héllo wörld\r\n日本語 ✓ 😀\nlast';
    expect(await collect(src(text, 1))).toEqual(['héllo wörld', '日本語 ✓ 😀', 'last']);
    expect(await collect(gz(text, 1))).toEqual(['héllo wörld', '日本語 ✓ 😀', 'last']);
    expect(await collect(src('\ufeffx', 1))).toEqual(['x']);
  });

  it('gunzips transparently and reports compressed bytes', async () => {
    const text = Array.from({ length: 5000 }, (_, k) => `line ${k}`).join('\n');
    const bytes = gzipSync(enc.encode(text));
    const seen: [number, number][] = [];
    const out: string[] = [];
    for await (const l of readLines(bytesSource(bytes, 1000), { onProgress: (b, n) => seen.push([b, n]) })) out.push(l);
    expect(out.length).toBe(5000);
    expect(out[4999]).toBe('line 4999');
    expect(seen[seen.length - 1][0]).toBe(bytes.length);
  });

  it('reads multi-member gzip and rejects truncated gzip with malformed_input', async () => {
    const two = new Uint8Array([...gzipSync(enc.encode('a\nb\n')), ...gzipSync(enc.encode('c\n'))]);
    expect(await collect(bytesSource(two, 5))).toEqual(['a', 'b', 'c']);
    const g = gzipSync(enc.encode(Array.from({ length: 2000 }, (_, k) => `${k} ${k * 7} ${k * 13}`).join('\n')));
    expect((await caught(collect(bytesSource(g.subarray(0, g.length - 50), 100)))).info.code).toBe('malformed_input');
    const e = await caught(parseInteractions(bytesSource(g.subarray(0, g.length - 50), 100), 'seq.txt.gz', 'auto'));
    expect(e.info.code).toBe('malformed_input');
    expect(e.info.file).toBe('seq.txt.gz');
  });

  it('lets a consumer stop early', async () => {
    let n = 0;
    for await (const _l of readLines(src('a\nb\nc\nd', 1))) if (++n === 2) break;
    expect(n).toBe(2);
  });

  it('stops with code cancelled when the signal aborts', async () => {
    const ac = new AbortController();
    const text = Array.from({ length: 1000 }, (_, k) => `u${k} i${k}`).join('\n');
    const lines: string[] = [];
    const err = await caught((async () => {
      for await (const l of readLines(src(text, 64), { signal: ac.signal })) {
        lines.push(l);
        if (lines.length === 10) ac.abort();
      }
    })());
    expect(err.info.code).toBe('cancelled');
    expect(lines.length).toBeLessThan(1000);
  });
});

describe('parseInteractions: Amazon reviews', () => {
  it('parses 2014 lines in file order, keeps duplicates, counts problems with line numbers', async () => {
    const text = [
      review14('U1', 'A', 100),
      '',
      '{not json',
      review14('U2', 'B', '200'),
      '{"asin": "C", "unixReviewTime": 5, "helpful": [0,0]}',
      review14('U1', 'A', 100),
      review14('U3', 'C', 'yesterday'),
      '{"reviewerID": 7, "asin": "D", "unixReviewTime": 300}',
      '[1, 2]',
    ].join('\n');
    const r = await parseInteractions(src(text), 'reviews.json', 'auto');
    expect(r.format).toBe('amazon2014');
    expect(r.orderSource).toBe('time');
    expect(rows(r)).toEqual([
      ['U1', 'A', 100, 4], ['U2', 'B', 200, 4], ['U1', 'A', 100, 4], ['7', 'D', 300, 5],
    ]);
    expect(r.userNames).toEqual(['U1', 'U2', '7']);
    expect(r.report).toMatchObject({
      linesRead: 9, blankLines: 1, rowsKept: 4, malformedLines: 2, missingFieldRows: 2,
    });
    const probs = r.report.problems;
    expect(probs.map((p) => p.line)).toEqual([3, 5, 7, 9]);
    expect(probs[0].reason).toMatch(/^not valid JSON: /);
    expect(probs[1].reason).toContain('reviewerID');
    expect(probs[2].reason).toContain('unixReviewTime');
    expect(r.report.bytesRead).toBe(enc.encode(text).length);
  });

  it('gives identical results for gzip and plain input, and for 1-byte chunks', async () => {
    const text = Array.from({ length: 300 }, (_, k) => review14(`Ü${k % 17}`, `I${k % 13}`, 1000 + k)).join('\r\n');
    const a = await parseInteractions(src(text), 'a.json', 'auto');
    const b = await parseInteractions(gz(text, 7), 'a.json.gz', 'auto');
    const c = await parseInteractions(src('\ufeff' + text, 1), 'a.json', 'auto');
    expect(rows(b)).toEqual(rows(a));
    expect(rows(c)).toEqual(rows(a));
    expect(a.count).toBe(300);
    expect(a.userNames[0]).toBe('Ü0');
  });

  it('detects 2018 and 2023 and applies the 2023 field names and millisecond times', async () => {
    const l18 = '{"overall": 5.0, "verified": true, "reviewTime": "09 1, 2015", "reviewerID": "R", "asin": "X", "unixReviewTime": 1441065600, "vote": "2"}';
    const r18 = await parseInteractions(src(l18), 'f', 'auto');
    expect(r18.format).toBe('amazon2018');
    const l23 = '{"rating": 3.0, "title": "t", "asin": "B1", "parent_asin": "P1", "user_id": "AB", "timestamp": 1588687728923, "verified_purchase": true}\n' +
      '{"parent_asin": "P2", "user_id": "AB", "timestamp": 1588687729000}';
    const r23 = await parseInteractions(src(l23), 'f', 'auto');
    expect(r23.format).toBe('amazon2023');
    expect(rows(r23)).toEqual([['AB', 'P1', 1588687728.923, 3], ['AB', 'P2', 1588687729, 5]]);
  });

  it('rejects the reference format and reports unknown and empty input', async () => {
    expect((await caught(parseInteractions(src('x'), 'f', 'reference'))).info.code).toBe('bad_option');
    const long = '{"foo": 1, "bar": "' + 'x'.repeat(300) + '"}';
    const e = await caught(parseInteractions(src(long + '\n' + long), 'weird.json', 'auto'));
    expect(e.info.code).toBe('unknown_format');
    expect(e.message).toContain('amazon2014');
    expect(e.message).toContain('s3rec');
    expect(e.message).toContain('{"foo": 1');
    expect(e.message).not.toContain('x'.repeat(200));
    expect((await caught(parseInteractions(src('\n \n'), 'e.txt', 'auto'))).info.code).toBe('empty_input');
    expect((await caught(parseInteractions(src(''), 'e.txt', 'auto'))).info.code).toBe('empty_input');
    const allBad = await caught(parseInteractions(src('1 2 3\n4 5'), 'x', 'amazon2014'));
    expect(allBad.info.code).toBe('empty_input');
    expect(allBad.message).toContain('line 1');
  });

  it('reads a one-shot source exactly once, past the detection sample, with throttled progress', async () => {
    const text = Array.from({ length: 5000 }, (_, k) => review14(`u${k % 100}`, `i${k % 37}`, k)).join('\n');
    const bytes = enc.encode(text);
    let opened = 0;
    const oneShot: ByteSource = {
      [Symbol.asyncIterator]() {
        if (++opened > 1) throw new Error('source iterated twice');
        return bytesSource(bytes, 4096)[Symbol.asyncIterator]();
      },
    };
    const calls: number[] = [];
    const r = await parseInteractions(oneShot, 'once.json', 'auto', { onProgress: (b) => calls.push(b) });
    expect(opened).toBe(1);
    expect(r.count).toBe(5000);
    expect(r.times[4999]).toBe(4999);
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.length).toBeLessThanOrEqual(Math.ceil(bytes.length / 65536) + 1);
    expect(calls[calls.length - 1]).toBe(bytes.length);
  });

  it('is cancellable', async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await caught(parseInteractions(src(review14('a', 'b', 1)), 'f', 'auto', { signal: ac.signal }))).info.code).toBe('cancelled');
    const ac2 = new AbortController();
    const text = Array.from({ length: 20000 }, (_, k) => review14(`u${k}`, 'i', k)).join('\n');
    const p = parseInteractions(src(text, 4096), 'f', 'auto', {
      signal: ac2.signal,
      onProgress: (b) => { if (b > 100_000) ac2.abort(); },
    });
    expect((await caught(p)).info.code).toBe('cancelled');
  });
});

describe('parseInteractions: sequence files', () => {
  it('parses s3rec lines with positional times and reports single-token lines', async () => {
    const r = await parseInteractions(src('1 5 6 7\n2 6\n3\n\n4 7 5\n'), 'Beauty.txt', 'auto');
    expect(r.format).toBe('s3rec');
    expect(r.orderSource).toBe('file');
    expect(rows(r)).toEqual([
      ['1', '5', 0, 1], ['1', '6', 1, 1], ['1', '7', 2, 1], ['2', '6', 0, 1], ['4', '7', 0, 1], ['4', '5', 1, 1],
    ]);
    expect(r.report).toMatchObject({ linesRead: 5, blankLines: 1, malformedLines: 1, rowsKept: 6 });
    expect(r.report.problems[0].line).toBe(3);
  });

  it('parses sasrec pairs with a running position per user', async () => {
    const r = await parseInteractions(src('1 10\n1 11\r\n2 10\n1 12\n'), 'Video.txt', 'auto');
    expect(r.format).toBe('sasrec');
    expect(rows(r)).toEqual([['1', '10', 0, 1], ['1', '11', 1, 1], ['2', '10', 0, 1], ['1', '12', 2, 1]]);
    const bad = await parseInteractions(src('1 10\n1 2 3\n7\n'), 'v', 'sasrec');
    expect(bad.report.malformedLines).toBe(2);
    expect(bad.report.problems.map((p) => p.line)).toEqual([2, 3]);
  });

  it('auto-detects each format', () => {
    expect(detectInteractionFormat(['1 2', '1 3', '2 4'], 'x')).toBe('sasrec');
    expect(detectInteractionFormat(['1 2 3', '2 4'], 'x')).toBe('s3rec');
    expect(detectInteractionFormat(['A1 B01 B02'], 'x')).toBe('s3rec');
    expect(detectInteractionFormat([review14('a', 'b', 1)], 'x')).toBe('amazon2014');
    expect(detectInteractionFormat(['{"reviewerID": "a", "asin": "b", "unixReviewTime": 1}'], 'x')).toBe('amazon2014');
    expect(detectInteractionFormat(['{"reviewerID": "a", "asin": "b", "unixReviewTime": 1, "verified": true}'], 'x')).toBe('amazon2018');
    expect(detectInteractionFormat(['{"user_id": "a", "parent_asin": "b", "timestamp": 1}'], 'x')).toBe('amazon2023');
    expect(detectInteractionFormat(['{"user_id": 1, "target_id": 2, "inter_history": [1]}'], 'x.train.jsonl')).toBe('reference');
    expect(detectInteractionFormat(["{'asin': 'x', 'title': 'y'}"], 'meta.json')).toBeNull();
    expect(detectInteractionFormat(['1\t2\t5\t881250949', '1\t3\t4\t881250950', '2\t2\t4\t881250951'], 'u.data')).toBeNull();
    expect(detectInteractionFormat(['a,b,c'], 'x.csv')).toBeNull();
    expect(detectInteractionFormat([], 'x')).toBeNull();
  });
});

const DATA = '/work/shared/data';
const have = existsSync(DATA);

describe.skipIf(!have)('real files', () => {
  const file = (p: string) => bytesSource(new Uint8Array(readFileSync(`${DATA}/${p}`)));

  it('Amazon 2014 Musical Instruments 5-core', async () => {
    const r = await parseInteractions(file('amazon2014_musical_instruments/reviews_Musical_Instruments_5.json.gz'), 'reviews_Musical_Instruments_5.json.gz', 'auto');
    expect(r.format).toBe('amazon2014');
    expect([r.count, r.userNames.length, r.itemNames.length]).toEqual([10261, 1429, 900]);
    expect(r.report.malformedLines).toBe(0);
    expect(r.report.missingFieldRows).toBe(0);
    expect(r.userNames[0]).toBe('A2IBPI20UZIR0U');
    expect(r.itemNames[0]).toBe('1384719342');
    expect(r.times[0]).toBe(1393545600);
    expect(r.ratings[0]).toBe(5);
  });

  it('S3-Rec Beauty', async () => {
    const r = await parseInteractions(file('amazon2014_beauty_sports_toys/Beauty.txt.gz'), 'Beauty.txt.gz', 'auto');
    expect(r.format).toBe('s3rec');
    expect([r.count, r.userNames.length, r.itemNames.length]).toEqual([198502, 22363, 12101]);
    expect(r.report.malformedLines).toBe(0);
  });

  it('SASRec Video', async () => {
    const r = await parseInteractions(file('sasrec_kang205/Video.txt.gz'), 'Video.txt.gz', 'auto');
    expect(r.format).toBe('sasrec');
    expect([r.count, r.userNames.length, r.itemNames.length]).toEqual([287107, 31013, 23715]);
  });
});
