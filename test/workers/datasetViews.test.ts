import { describe, expect, it } from 'vitest';
import { DatasetView, MAX_PAGE } from '../../workers/datasetViews.ts';
import { makeDataset } from '../storage/fixture.ts';

const view = () => new DatasetView('ds-1', makeDataset('v', { titles: true, users: 6 }));

describe('DatasetView.items', () => {
  it('pages by id with counts and titles', () => {
    const v = view();
    const all = v.items({ offset: 0, limit: 100 });
    expect(all.total).toBe(5);
    expect(all.rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(all.rows.reduce((a, r) => a + r.count, 0)).toBe(v.ds.seqItems.length);
    expect(all.rows[0]).toMatchObject({ id: 1, asin: 'B00A', title: 'Guitar "Strat"' });
    expect(all.rows[2].title).toBeNull();
    expect(v.items({ offset: 2, limit: 2 }).rows.map((r) => r.id)).toEqual([3, 4]);
    expect(v.items({ offset: 10, limit: 2 })).toEqual({ total: 5, rows: [] });
  });

  it('sorts by count descending with id as tie-break', () => {
    const v = view();
    const rows = v.items({ offset: 0, limit: 10, sort: 'count' }).rows;
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i - 1].count > rows[i].count || (rows[i - 1].count === rows[i].count && rows[i - 1].id < rows[i].id)).toBe(true);
    }
  });

  it('searches id, asin and title case-insensitively', () => {
    const v = view();
    expect(v.items({ offset: 0, limit: 10, query: 'b00C' }).rows.map((r) => r.id)).toEqual([3]);
    expect(v.items({ offset: 0, limit: 10, query: 'PIANO' }).rows.map((r) => r.id)).toEqual([2]);
    expect(v.items({ offset: 0, limit: 10, query: '✓' }).rows.map((r) => r.id)).toEqual([4]);
    expect(v.items({ offset: 0, limit: 10, query: '5' }).rows.map((r) => r.id)).toEqual([5]);
    expect(v.items({ offset: 0, limit: 10, query: 'zzz' })).toEqual({ total: 0, rows: [] });
    expect(v.items({ offset: 0, limit: 10, query: '  ' }).total).toBe(5);
  });

  it('clamps bad paging values', () => {
    const v = view();
    expect(v.items({ offset: -5, limit: 2 }).rows.map((r) => r.id)).toEqual([1, 2]);
    expect(v.items({ offset: 0, limit: MAX_PAGE * 10 }).rows.length).toBe(5);
    expect(v.items({ offset: Number.NaN, limit: 1 }).rows.length).toBe(1);
  });
});

describe('DatasetView.users', () => {
  it('pages, searches and sorts by length', () => {
    const v = view();
    const p = v.users({ offset: 0, limit: 3 });
    expect(p.total).toBe(6);
    expect(p.rows).toEqual([
      { index: 0, userId: 'U000-ü', length: 3 },
      { index: 1, userId: 'U001-ü', length: 4 },
      { index: 2, userId: 'U002-ü', length: 5 },
    ]);
    expect(v.users({ offset: 0, limit: 10, query: 'u004-Ü' }).rows.map((r) => r.index)).toEqual([4]);
    const byLen = v.users({ offset: 0, limit: 10, sort: 'length' }).rows;
    expect(byLen.map((r) => r.length)).toEqual([5, 5, 4, 4, 3, 3]);
    expect(byLen.map((r) => r.index)).toEqual([2, 5, 1, 4, 0, 3]);
  });
});

describe('DatasetView.sequence', () => {
  it('returns the chronological sequence with leave-one-out splits and titles', () => {
    const v = view();
    const seq = v.sequence(2);
    expect(seq).toHaveLength(5);
    expect(seq.map((e) => e.split)).toEqual(['train', 'train', 'train', 'valid', 'test']);
    expect(seq[0]).toEqual({ itemId: 3, asin: 'b00c', title: null, time: 1_400_002_000, split: 'train' });
    expect(seq[1].title).toBe('Drum ✓');
  });

  it('time is null without timestamps; bad indices are not_found', () => {
    const ds = makeDataset('s');
    ds.hasTimestamps = false;
    const v = new DatasetView('x', ds);
    expect(v.sequence(0).every((e) => e.time === null && e.title === null)).toBe(true);
    expect(() => v.sequence(99)).toThrow(/out of range/);
    expect(() => v.sequence(-1)).toThrow(/out of range/);
  });
});
