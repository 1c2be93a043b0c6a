import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import type { ProgressEvent } from '../../../src/core/events.ts';
import { compareCodePoints, kcoreFilter, prepareDataset } from '../../../src/core/data/prepare.ts';
import { iterateSamples, sampleCounts, splitOfPosition } from '../../../src/core/data/samples.ts';
import { computeStats } from '../../../src/core/data/stats.ts';
import {
  datasetStatsJson, embMapChunks, float32Repr, interChunks, pyFloatRepr, pyJsonString, samplesJsonlChunks,
} from '../../../src/core/data/writers.ts';
import type { OrderSource, PreparedDataset, RawInteractions } from '../../../src/core/data/types.ts';

type Row = [user: string, item: string, time: number, rating?: number];

function makeRaw(rows: Row[], orderSource: OrderSource = 'time'): RawInteractions {
  const userNames: string[] = [];
  const itemNames: string[] = [];
  const uIdx = new Map<string, number>();
  const iIdx = new Map<string, number>();
  const intern = (m: Map<string, number>, names: string[], s: string) => {
    let v = m.get(s);
    if (v === undefined) { v = names.length; names.push(s); m.set(s, v); }
    return v;
  };
  const n = rows.length;
  const raw: RawInteractions = {
    format: orderSource === 'time' ? 'amazon2014' : 's3rec',
    orderSource,
    userNames, itemNames,
    users: new Int32Array(n), items: new Int32Array(n), times: new Float64Array(n), ratings: new Float32Array(n),
    count: n,
    report: {
      file: 'test.json', format: 'amazon2014', linesRead: n, blankLines: 0, rowsKept: n, malformedLines: 0,
      missingFieldRows: 0, problems: [], bytesRead: 0,
    },
  };
  rows.forEach(([u, i, t, r], k) => {
    raw.users[k] = intern(uIdx, userNames, u);
    raw.items[k] = intern(iIdx, itemNames, i);
    raw.times[k] = t;
    raw.ratings[k] = r ?? 5;
  });
  return raw;
}

/** Each user rates every item of a list, times 1, 2, … */
function grid(users: string[], items: string[]): Row[] {
  const rows: Row[] = [];
  for (const u of users) items.forEach((i, k) => rows.push([u, i, k + 1]));
  return rows;
}

function sequences(ds: PreparedDataset): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  ds.userIds.forEach((u, k) => {
    out[u] = Array.from(ds.seqItems.subarray(ds.seqOffsets[k], ds.seqOffsets[k + 1]), (id) => ds.itemIds[id - 1]);
  });
  return out;
}

const text = (chunks: Iterable<string>) => [...chunks].join('');

describe('k-core', () => {
  it('iterates to a fixed point over several passes', () => {
    // k=2. Pass 1: user d (1 row) goes; then item z (only d and c had it) is left with 1 row and goes.
    // Pass 2: user c now has 1 row (y) and goes; item y keeps 2 rows (a, b). Pass 3 removes nothing.
    const raw = makeRaw([
      ['a', 'x', 1], ['a', 'y', 2], ['b', 'x', 1], ['b', 'y', 2],
      ['c', 'y', 3], ['c', 'z', 4], ['d', 'z', 5],
    ]);
    const seen: number[] = [];
    const { rows, passes } = kcoreFilter(raw, 2, (_p, n) => seen.push(n));
    expect(Array.from(rows)).toEqual([0, 1, 2, 3]);
    expect(seen).toEqual([5, 4, 4]);
    expect(passes).toBe(3);
  });

  it('filters users first, then items, within a pass (counts on the user-filtered table)', () => {
    // k=2. Users first: u3 (1 row) goes, so item q drops to 1 row and goes in the same pass.
    // Items first would keep q in pass 1 (2 rows) and remove p instead, giving other intermediate tables.
    const raw = makeRaw([
      ['u1', 'q', 1], ['u1', 'r', 2], ['u2', 'r', 1], ['u2', 's', 2], ['u2', 'p', 3],
      ['u3', 'q', 1], ['u4', 's', 1], ['u4', 'r', 2],
    ]);
    const after: number[] = [];
    const { rows, passes } = kcoreFilter(raw, 2, (_p, n) => after.push(n));
    // pass 1: users → drop row 5 (u3); items (q:1, r:3, s:2, p:1) → drop rows 0 and 4.
    expect(after[0]).toBe(5);
    // pass 2: u1 has 1 row (r) → goes; r still has 2 (u2, u4). Pass 3: stable.
    expect(Array.from(rows)).toEqual([2, 3, 6, 7]);
    expect(passes).toBe(3);
    // item-first pass 1 would remove only p (count 1) and keep q (count 2): 7 rows, not 5.
  });

  it('counts duplicate interactions', () => {
    const raw = makeRaw([['a', 'x', 1], ['a', 'x', 2], ['b', 'x', 1], ['b', 'y', 1]]);
    const { rows } = kcoreFilter(raw, 2);
    expect(Array.from(rows)).toEqual([0, 1]);
  });

  it('k ≤ 1 keeps everything', () => {
    const raw = makeRaw([['a', 'x', 1]]);
    expect(kcoreFilter(raw, 1).passes).toBe(0);
    expect(kcoreFilter(raw, 0).rows.length).toBe(1);
  });
});

describe('ordering', () => {
  it('compares strings by code point, not UTF-16 unit', () => {
    const fullwidthA = '\uFF21';
    const emoji = '\u{1F600}';
    expect(fullwidthA < emoji).toBe(false); // UTF-16 order
    expect(compareCodePoints(fullwidthA, emoji)).toBeLessThan(0);
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
    expect(compareCodePoints('B', 'a')).toBeLessThan(0);
    expect(compareCodePoints('x', 'x')).toBe(0);
    const ds = prepareDataset(makeRaw([...grid([emoji], ['i', 'j', 'k']), ...grid([fullwidthA], ['i', 'j', 'k'])]), { kcore: 1, maxLen: 50 }, 't');
    expect(ds.userIds).toEqual([fullwidthA, emoji]);
  });

  it('sorts by user then time, stable on equal times (file order)', () => {
    const raw = makeRaw([
      ['b', 'x3', 30], ['a', 'y1', 20], ['b', 'x1', 10], ['a', 'y2', 20], ['b', 'x2', 10], ['a', 'y0', 5],
      ['a', 'y3', 20],
    ]);
    const ds = prepareDataset(raw, { kcore: 0, maxLen: 50 }, 't');
    expect(sequences(ds)).toEqual({ a: ['y0', 'y1', 'y2', 'y3'], b: ['x1', 'x2', 'x3'] });
    expect(Array.from(ds.seqTimes)).toEqual([5, 20, 20, 20, 10, 10, 30]);
    expect(ds.hasTimestamps).toBe(true);
  });

  it('keeps file order for sequence files (users by first appearance, no sort)', () => {
    const raw = makeRaw([
      ['z', 'a', 0], ['z', 'b', 1], ['z', 'c', 2], ['y', 'c', 0], ['y', 'a', 1], ['y', 'b', 2],
    ], 'file');
    const ds = prepareDataset(raw, { kcore: 0, maxLen: 50 }, 's');
    expect(ds.userIds).toEqual(['z', 'y']);
    expect(sequences(ds)).toEqual({ z: ['a', 'b', 'c'], y: ['c', 'a', 'b'] });
    expect(ds.hasTimestamps).toBe(false);
    expect(ds.stats.interactionsOverTime).toEqual([]);
  });

  it('numbers items 1..N by first appearance in the sorted rows', () => {
    const raw = makeRaw([
      ['b', 'p', 1], ['b', 'q', 2], ['b', 'r', 3], ['a', 'r', 1], ['a', 's', 2], ['a', 'p', 3],
    ]);
    const ds = prepareDataset(raw, { kcore: 0, maxLen: 50 }, 't');
    expect(ds.itemIds).toEqual(['r', 's', 'p', 'q']);
    expect(Array.from(ds.seqItems)).toEqual([1, 2, 3, 3, 4, 1]);
    expect(text(embMapChunks(ds))).toBe('{\n  "[PAD]": 0,\n  "r": 1,\n  "s": 2,\n  "p": 3,\n  "q": 4\n}');
  });
});

describe('prepareDataset', () => {
  it('applies configurable k and maxLen', () => {
    const rows = grid(['u1', 'u2', 'u3', 'u4', 'u5'], ['a', 'b', 'c', 'd']);
    rows.push(['u6', 'a', 1], ['u6', 'b', 2], ['u6', 'c', 3]);
    const ds4 = prepareDataset(makeRaw(rows), { kcore: 4, maxLen: 2 }, 't');
    expect(ds4.userIds).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    expect(ds4.config).toEqual({ kcore: 4, maxLen: 2 });
    expect(ds4.source.rowsBeforeFilter).toBe(23);
    expect(ds4.source.kcorePasses).toBe(2);
    expect([...iterateSamples(ds4, 'test')][0].history.length).toBe(2);
    const ds3 = prepareDataset(makeRaw(rows), { kcore: 3, maxLen: 50 }, 't');
    expect(ds3.userIds).toEqual(['u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
    expect(ds3.stats.num_interactions).toBe(23);
    expect([...iterateSamples(ds3, 'test')][0].history.length).toBe(3);
  });

  it('throws empty_after_filter with the counts and k', () => {
    const raw = makeRaw(grid(['u1', 'u2'], ['a', 'b', 'c']));
    let err: unknown;
    try { prepareDataset(raw, { kcore: 5, maxLen: 50 }, 't'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StudioError);
    const info = (err as StudioError).info;
    expect(info.code).toBe('empty_after_filter');
    expect(info.message).toContain('6 interactions');
    expect(info.message).toContain('5-core');
  });

  it('drops users with fewer than 3 interactions (k < 3) with a warning', () => {
    const events: ProgressEvent[] = [];
    const raw = makeRaw([...grid(['u1'], ['a', 'b', 'c']), ['u2', 'a', 1], ['u2', 'b', 2]]);
    const ds = prepareDataset(raw, { kcore: 1, maxLen: 50 }, 't', { onEvent: (e) => events.push(e) });
    expect(ds.userIds).toEqual(['u1']);
    expect(events.some((e) => e.type === 'log' && e.level === 'warn' && e.message.includes('fewer than 3'))).toBe(true);
    expect(events.some((e) => e.type === 'phase' && e.stage === 'data')).toBe(true);
    expect(() => prepareDataset(makeRaw([['u', 'a', 1], ['u', 'b', 2]]), { kcore: 0, maxLen: 5 }, 't'))
      .toThrow(/Nothing is left/);
  });

  it('attaches titles by item string', () => {
    const raw = makeRaw(grid(['u1'], ['a', 'b', 'c']));
    const ds = prepareDataset(raw, { kcore: 0, maxLen: 50 }, 't', { titles: new Map([['b', 'Bee']]) });
    expect(ds.itemTitles).toEqual([null, 'Bee', null]);
    expect(ds.stats.itemsWithTitles).toBe(1);
  });

  it('honours cancellation', () => {
    const ac = new AbortController();
    ac.abort();
    expect(() => prepareDataset(makeRaw(grid(['u'], ['a', 'b', 'c'])), { kcore: 0, maxLen: 5 }, 't', { signal: ac.signal }))
      .toThrow(/Cancelled/);
  });
});

describe('split and samples', () => {
  const ds = prepareDataset(
    makeRaw([...grid(['u1'], ['a', 'b', 'c', 'd', 'e', 'f']), ...grid(['u2'], ['x', 'y', 'z'])]),
    { kcore: 0, maxLen: 3 }, 't',
  );
  const asStr = (split: 'train' | 'valid' | 'test') =>
    [...iterateSamples(ds, split)].map((s) => [ds.userIds[s.user], ds.itemIds[s.target - 1], Array.from(s.history, (h) => ds.itemIds[h - 1]).join('')]);

  it('splits leave-one-out', () => {
    expect([0, 1, 2, 3, 4].map((p) => splitOfPosition(5, p))).toEqual(['train', 'train', 'train', 'valid', 'test']);
    expect(splitOfPosition(3, 0)).toBe('train');
  });

  it('builds all-prefix train samples truncated to maxLen, then valid and test', () => {
    expect(asStr('train')).toEqual([['u1', 'b', 'a'], ['u1', 'c', 'ab'], ['u1', 'd', 'abc']]);
    expect(asStr('valid')).toEqual([['u1', 'e', 'bcd'], ['u2', 'y', 'x']]);
    expect(asStr('test')).toEqual([['u1', 'f', 'cde'], ['u2', 'z', 'xy']]);
    expect(sampleCounts(ds)).toEqual({ train: 3, valid: 2, test: 2 });
    expect(ds.stats.train_sequences).toBe(3);
    expect(ds.stats.train_interactions).toBe(5);
  });

  it('writes the same samples as jsonl and the .inter split column', () => {
    const train = text(samplesJsonlChunks(ds, 'train')).split('\n');
    expect(train[2]).toBe('{"user_id": "u1", "target_id": "d", "inter_history": ["a", "b", "c"]}');
    const valid = text(samplesJsonlChunks(ds, 'valid')).split('\n');
    expect(valid[0]).toBe('{"user_id": "u1", "target_id": "e", "inter_history": ["b", "c", "d"]}');
    const inter = text(interChunks(ds)).split('\n');
    expect(inter[0]).toBe('user_id:token\titem_id:token\trating:float\ttimestamp:float\tsplit:token');
    expect(inter[1]).toBe('u1\ta\t5.0\t1.0\ttrain');
    expect(inter[5]).toBe('u1\te\t5.0\t5.0\tvalid');
    expect(inter[9]).toBe('u2\tz\t5.0\t3.0\ttest');
    expect(inter[10]).toBe('');
  });
});

describe('stats', () => {
  it('computes lengths, histogram and months', () => {
    const s = computeStats({
      seqOffsets: Int32Array.from([0, 3, 8, 12]),
      seqTimes: Float64Array.from([
        1353024000, 1353024000, 1356998400, 0, 0, 0, 0, 0, 1, 2, 3, 4,
      ]),
      hasTimestamps: true, numItems: 4,
    });
    expect(s.seqLength).toEqual({ min: 3, max: 5, mean: 4, median: 4 });
    expect(s.seqLengthHistogram).toEqual([{ lo: 3, hi: 4, count: 1 }, { lo: 4, hi: 5, count: 1 }, { lo: 5, hi: 6, count: 1 }]);
    expect(s.interactionsOverTime[0]).toEqual({ period: '1970-01', count: 9 });
    expect(s.interactionsOverTime.find((p) => p.period === '2012-11')?.count).toBe(2);
    expect(s.interactionsOverTime.at(-1)).toEqual({ period: '2013-01', count: 1 });
    expect(s.sparsity).toBeCloseTo(1 - 12 / 12);
    expect(datasetStatsJson(s)).toBe(
      '{\n  "num_users": 3,\n  "num_items": 4,\n  "num_interactions": 12,\n  "train_interactions": 6,\n' +
      '  "valid_interactions": 3,\n  "test_interactions": 3,\n  "train_sequences": 3,\n  "valid_sequences": 3,\n' +
      '  "test_sequences": 3\n}',
    );
  });
});

describe('Python-compatible text', () => {
  it('writes floats as Python repr', () => {
    const cases: [number, string][] = [
      [5, '5.0'], [4.5, '4.5'], [1353024000, '1353024000.0'], [1588615855.07, '1588615855.07'],
      [1e16, '1e+16'], [1.5e16, '1.5e+16'], [9999999999999998, '9999999999999998.0'], [1e22, '1e+22'],
      [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'], [0.1, '0.1'], [-2.5, '-2.5'],
      [0, '0.0'], [-0, '-0.0'], [NaN, 'nan'], [Infinity, 'inf'], [-Infinity, '-inf'],
      [123456789.125, '123456789.125'], [1 / 3, '0.3333333333333333'], [1.2345678901234568e18, '1.2345678901234568e+18'],
      [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'], [100, '100.0'], [0.5, '0.5'],
    ];
    for (const [x, s] of cases) expect(pyFloatRepr(x), String(x)).toBe(s);
  });

  it('writes float32 ratings as their shortest decimal', () => {
    expect(float32Repr(Math.fround(4.3))).toBe('4.3');
    expect(float32Repr(5)).toBe('5.0');
    expect(float32Repr(Math.fround(3.5))).toBe('3.5');
  });

  it('escapes JSON strings like json.dumps(ensure_ascii=False)', () => {
    expect(pyJsonString('a"b\\c\nd\te\u0001é€😀')).toBe('"a\\"b\\\\c\\nd\\te\\u0001é€😀"');
    expect(pyJsonString('\u001f\u007f')).toBe('"\\u001f\u007f"');
  });
});
