/**
 * Issue 15: review import (deeply nested lines are one malformed line, with its line number) and
 * `prepare` never writing what its own loader rejects (hostile ids refused with file, line and
 * field; invalid UTF-8 never merges users; integer ids beyond 2^53 exact), plus a seeded
 * round-trip property test prepare → write → re-import over generated ids; and reference-bundle
 * timestamps (±Infinity / beyond 2^53 refused with file, line and field).
 */
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import { describeReport, importToDataset } from '../../../src/core/data/importer.ts';
import { bytesSource } from '../../../src/core/data/lines.ts';
import { parseInteractions } from '../../../src/core/data/parse.ts';
import { parseMetadata } from '../../../src/core/data/metadata.ts';
import { prepareDataset } from '../../../src/core/data/prepare.ts';
import { importReferenceBundle, referenceBundleFiles, type BundleFile } from '../../../src/core/data/referenceBundle.ts';
import { Rng } from '../../../src/core/rng.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const review = (u: unknown, i: unknown, t: number) => `{"reviewerID": ${JSON.stringify(u)}, "asin": ${JSON.stringify(i)}, "unixReviewTime": ${t}, "overall": 5.0}`;

async function parse(text: string | Uint8Array, name = 'reviews.json') {
  return parseInteractions(bytesSource(typeof text === 'string' ? enc(text) : text, 7), name, 'amazon2014');
}

async function refusal(p: Promise<unknown>): Promise<StudioError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StudioError);
    return e as StudioError;
  }
  throw new Error('accepted');
}

describe('review import: one hostile line is one malformed line', () => {
  it('a 5,000-deep nested field is counted as malformed with its line number and reason', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const lines = [review('u1', 'a', 1), `{"reviewerID": ${deep}, "asin": "b", "unixReviewTime": 2}`, review('u2', 'b', 3), `{"reviewerID": "u3", "asin": "c", "unixReviewTime": 4, "x": ${deep}}`];
    const r = await parse(lines.join('\n'));
    expect(r.count).toBe(3);
    expect(r.report.malformedLines + r.report.missingFieldRows).toBe(1);
    expect(r.report.problems).toHaveLength(1);
    expect(r.report.problems[0].line).toBe(2);
    expect(r.report.problems[0].reason).toMatch(/reviewerID/);
  });

  it('the warning for dropped rows names their lines', async () => {
    const r = await parse([review('u1', 'a', 1), '{"asin": "b", "unixReviewTime": 2}', review('u2', 'b', 3)].join('\n'));
    expect(describeReport(r.report).join('\n')).toMatch(/1 row\(s\) without a required field dropped \(first: line 2: missing field reviewerID/);
  });
});

describe('prepare never writes ids its loader rejects', () => {
  const hostile: [string, string][] = [['tab', 'u\t1'], ['newline', 'u\n1'], ['CR', 'u\r1'], ['lone high surrogate', 'u\ud8001'], ['lone low surrogate', '\udc00']];
  for (const [what, id] of hostile) {
    it(`refuses a user id with a ${what}, naming file, line and field`, async () => {
      const e = await refusal(parse([review('ok', 'a', 1), review(id, 'a', 2)].join('\n')));
      expect(e.info).toMatchObject({ code: 'malformed_input', file: 'reviews.json', line: 2, field: 'reviewerID' });
    });
  }

  it('refuses the item id [PAD] and hostile item ids', async () => {
    expect((await refusal(parse(review('u', '[PAD]', 1)))).info).toMatchObject({ line: 1, field: 'asin' });
    expect((await refusal(parse(review('u', 'a\tb', 1)))).info).toMatchObject({ line: 1, field: 'asin' });
  });

  it('invalid UTF-8 never merges two users: the line is refused', async () => {
    const bytes = (b: number) => new Uint8Array([...enc('{"reviewerID": "u'), b, ...enc('", "asin": "a", "unixReviewTime": 1}')]);
    const text = new Uint8Array([...enc(review('x', 'a', 0) + '\n'), ...bytes(0xff), 10, ...bytes(0xfe)]);
    const e = await refusal(parse(text));
    expect(e.info).toMatchObject({ line: 2, field: 'reviewerID' });
    expect(e.message).toMatch(/U\+FFFD/);
  });

  it('keeps integer ids above 2^53 exact (their source digits)', async () => {
    const huge = '1' + '0'.repeat(320); // beyond the double range: JSON.parse gives Infinity
    const text = [
      '{"reviewerID": 9007199254740993, "asin": 12345678901234567890123, "unixReviewTime": 1}',
      '{"reviewerID": 9007199254740992, "asin": 12345678901234567890124, "unixReviewTime": 2}',
      `{"reviewerID": 17, "asin": ${huge}, "unixReviewTime": 3}`,
    ].join('\n');
    const r = await parse(text);
    expect(r.userNames).toEqual(['9007199254740993', '9007199254740992', '17']);
    expect(r.itemNames).toEqual(['12345678901234567890123', '12345678901234567890124', huge]);
  });

  it('keeps numeric ids above 2^53 exact in metadata (JSON and Python literals)', async () => {
    const json = ['{"asin": 9007199254740993, "title": "odd"}', '{"asin": 9007199254740992, "title": "even"}', '{"asin": 17, "title": "small"}'].join('\n');
    const j = await parseMetadata(bytesSource(enc(json), 5), 'meta.json', 'amazon2018-meta');
    expect([...j.titles.entries()]).toEqual([['9007199254740993', 'odd'], ['9007199254740992', 'even'], ['17', 'small']]);
    const py = ["{'asin': 9007199254740993, 'title': 'odd'}", "{'asin': 0x20000000000003, 'title': 'hex'}", "{'asin': -12345678901234567890, 'title': 'neg'}", "{'asin': 17, 'title': 'small'}"].join('\n');
    const p = await parseMetadata(bytesSource(enc(py), 5), 'meta.json', 'amazon2014-meta');
    expect([...p.titles.entries()]).toEqual([['9007199254740993', 'odd'], ['9007199254740995', 'hex'], ['-12345678901234567890', 'neg'], ['17', 'small']]);
  });

  it('keeps numeric ids above 2^53 exact in the reference jsonl (user_id, target_id, inter_history)', async () => {
    const u = '9007199254740993';
    const [a, b, c, d] = ['12345678901234567890123', '12345678901234567890125', '7', '9007199254740995'];
    const sample = (user: string, hist: string[], target: string) => `{"user_id": ${user}, "inter_history": [${hist.join(', ')}], "target_id": ${target}}`;
    const files: BundleFile[] = [
      { name: 'R.train.jsonl', bytes: enc(sample(u, [a], b) + '\n') },
      { name: 'R.valid.jsonl', bytes: enc(sample(u, [a, b], c) + '\n') },
      { name: 'R.test.jsonl', bytes: enc(sample(u, [a, b, c], d) + '\n') },
    ];
    const { dataset } = await importReferenceBundle(files, { config: { kcore: 0, maxLen: 50 } });
    expect(dataset.userIds).toEqual([u]);
    expect(dataset.itemIds).toEqual([a, b, c, d]);
  });
});

/** Seeded generator of ids, some of them hostile. */
const SAFE = ['a', 'B', '7', ' ', '"', '\\', 'é', '😀', '\u2028', '_', '__proto__', '{', ',', '[PAD'];
const HOSTILE = ['\t', '\n', '\r', '\ud800', '\udfff', '\ufffd'];

/** A numeric id: its exact decimal digits, written into the JSON as a number literal. */
interface NumId { digits: string }

function genId(rng: Rng, hostileRate: number): string | NumId {
  if (rng.next() < 0.15) {
    // numeric ids: small, and beyond 2^53 (odd ones have no double; neighbours differ only past it)
    const r = rng.next();
    const big = r < 0.33 ? BigInt(Math.floor(rng.next() * 1e6)) : r < 0.66 ? 2n ** 53n + BigInt(Math.floor(rng.next() * 8)) : 10n ** 25n + BigInt(Math.floor(rng.next() * 1e6));
    return { digits: big.toString() };
  }
  let s = '';
  const len = 1 + Math.floor(rng.next() * 6);
  for (let k = 0; k < len; k++) s += SAFE[Math.floor(rng.next() * SAFE.length)];
  if (rng.next() < hostileRate) {
    const at = Math.floor(rng.next() * (s.length + 1));
    s = s.slice(0, at) + HOSTILE[Math.floor(rng.next() * HOSTILE.length)] + s.slice(at);
  }
  return s;
}

/** A JSON number id written with its exact digits. */
const jsonId = (v: string | NumId) => (typeof v === 'string' ? JSON.stringify(v) : v.digits);
const idText = (v: string | NumId) => (typeof v === 'string' ? v : v.digits);

/**
 * The reference jsonl with every id that is a plain integer written as a JSON number (as other
 * tools write them) instead of the string our writer uses: the re-import must read it exactly.
 */
function numericJsonl(files: BundleFile[]): BundleFile[] {
  const dec = new TextDecoder();
  return files.map((f) => (/\.jsonl$/.test(f.name) ? { ...f, bytes: enc(dec.decode(f.bytes).replace(/(?<![\\\w])"(-?(?:0|[1-9]\d*))"(?=\s*[,\]}])/g, '$1')) } : f));
}

describe('round trip: prepare → write → re-import equals (seeded property test)', () => {
  it('holds for 60 generated datasets; hostile ones are refused with their line', async () => {
    const rng = new Rng(20260315);
    let accepted = 0;
    let refused = 0;
    for (let trial = 0; trial < 60; trial++) {
      const users = Array.from({ length: 4 + Math.floor(rng.next() * 4) }, () => genId(rng, 0.04));
      const items = Array.from({ length: 3 + Math.floor(rng.next() * 5) }, () => genId(rng, 0.04));
      const lines: string[] = [];
      const ids: [string, string][] = [];
      for (let n = 0; n < 40; n++) {
        const u = users[Math.floor(rng.next() * users.length)];
        const i = items[Math.floor(rng.next() * items.length)];
        lines.push(`{"reviewerID": ${jsonId(u)}, "asin": ${jsonId(i)}, "unixReviewTime": ${1e9 + n}, "overall": 4.0}`);
        ids.push([idText(u), idText(i)]);
      }
      const firstBad = ids.findIndex(([u, i]) => HOSTILE.some((h) => u.includes(h) || i.includes(h)));
      const file = { name: `t${trial}.json`, size: 0, open: () => bytesSource(enc(lines.join('\n')), 64) };
      const run = importToDataset({ files: [file], name: 'T', format: 'amazon2014', config: { kcore: 0, maxLen: 50 } });
      if (firstBad >= 0) {
        const e = await refusal(run);
        expect(e.info.file).toBe(file.name);
        expect(e.info.line).toBe(firstBad + 1);
        expect(['reviewerID', 'asin']).toContain(e.info.field);
        refused++;
        continue;
      }
      const { dataset } = await run;
      // every distinct source id is one distinct prepared id, unchanged (nothing merged or altered);
      // users with fewer than 3 rows are dropped by leave-one-out (spec §1.4)
      const perUser = new Map<string, number>();
      for (const [u] of ids) perUser.set(u, (perUser.get(u) ?? 0) + 1);
      const kept = ids.filter(([u]) => perUser.get(u)! >= 3);
      expect(new Set(dataset.userIds)).toEqual(new Set(kept.map(([u]) => u)));
      expect(dataset.userIds).toHaveLength(new Set(kept.map(([u]) => u)).size);
      expect(new Set(dataset.itemIds)).toEqual(new Set(kept.map(([, i]) => i)));
      expect(dataset.itemIds).toHaveLength(new Set(kept.map(([, i]) => i)).size);
      const files: BundleFile[] = referenceBundleFiles(dataset);
      const back = (await importReferenceBundle(files, { config: { kcore: 0, maxLen: 50 } })).dataset;
      expect(back.userIds).toEqual(dataset.userIds);
      expect(back.itemIds).toEqual(dataset.itemIds);
      expect(Array.from(back.seqOffsets)).toEqual(Array.from(dataset.seqOffsets));
      expect(Array.from(back.seqItems)).toEqual(Array.from(dataset.seqItems));
      expect(Array.from(back.seqTimes)).toEqual(Array.from(dataset.seqTimes));
      // the samples alone (no .inter) with numeric ids as JSON numbers rebuild the same users and items
      const samplesOnly = numericJsonl(files.filter((f) => /\.(train|valid|test)\.jsonl$|emb_map\.json$/.test(f.name)));
      const fromSamples = (await importReferenceBundle(samplesOnly, { config: { kcore: 0, maxLen: 50 } })).dataset;
      expect(new Set(fromSamples.userIds)).toEqual(new Set(dataset.userIds.filter((_, u) => dataset.seqOffsets[u + 1] - dataset.seqOffsets[u] >= 3)));
      expect(fromSamples.itemIds).toEqual(dataset.itemIds);
      accepted++;
    }
    expect(accepted).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(5);
  });

  it('prepareDataset itself refuses hostile ids from any other source of rows', () => {
    const raw = {
      format: 's3rec' as const, orderSource: 'file' as const, userNames: ['u\t1'], itemNames: ['a', 'b', 'c'],
      users: Int32Array.from([0, 0, 0]), items: Int32Array.from([0, 1, 2]), times: Float64Array.from([0, 1, 2]), ratings: Float32Array.from([1, 1, 1]), count: 3,
      report: { file: 'in.txt', format: 's3rec' as const, linesRead: 1, blankLines: 0, rowsKept: 3, malformedLines: 0, missingFieldRows: 0, problems: [], bytesRead: 0 },
    };
    expect(() => prepareDataset(raw, { kcore: 0, maxLen: 50 }, 'x', { files: ['in.txt'] })).toThrow(/in\.txt, field user_id: The user id contains a tab/);
  });
});

describe('reference bundle timestamps', () => {
  it('refuses Infinity and timestamps beyond 2^53 with file, line and field', async () => {
    const inter = (t: string) => [{ name: 'R.inter', bytes: enc(`user_id:token\titem_id:token\trating:float\ttimestamp:float\tsplit:token\nu\ta\t5.0\t1.0\ttrain\nu\tb\t5.0\t${t}\ttrain\n`) }];
    for (const t of ['Infinity', '-Infinity', '1e999', '1e300']) {
      const e = await refusal(importReferenceBundle(inter(t), { config: { kcore: 0, maxLen: 50 } }));
      expect(e.info).toMatchObject({ file: 'R.inter', line: 3, field: 'timestamp' });
    }
  });
});
