import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'fflate';
import { bytesSource } from '../../../src/core/data/lines.ts';
import { parseMetadata } from '../../../src/core/data/metadata.ts';
import { detectMetadataFormat } from '../../../src/core/data/detect.ts';
import { StudioError } from '../../../src/core/errors.ts';

const enc = new TextEncoder();
const src = (text: string, chunk?: number) => bytesSource(enc.encode(text), chunk);

async function caught(p: Promise<unknown>): Promise<StudioError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError);
    return err as StudioError;
  }
  throw new Error('expected a StudioError');
}

const META14 = [
  "{'asin': '0000031852', 'title': 'Girls Ballet Tutu Zebra Hot Pink', 'salesRank': {'Toys & Games': 211836}, 'categories': [['Sports & Outdoors']]}",
  "{'asin': '0000031895', 'related': {'also_bought': ['B002BZX8Z6']}, 'categories': [['Toys']]}",
  '{"asin": "0123456789", "title": "Kid\'s \\"best\\" toy", \'price\': 1.5}',
  '',
  "{'asin': 'B00X', 'title': 'Caf\\xe9 \\u2122 set'}",
  "{'asin': 'B00Y', 'title': broken}",
  "{'title': 'no asin'}",
  "{'asin': '0000031852', 'title': 'Tutu (newer)'}",
].join('\n');

describe('parseMetadata', () => {
  it('parses Amazon 2014 Python-literal meta; last occurrence wins; counts problems', async () => {
    const { titles, report } = await parseMetadata(src(META14), 'meta_Toys.json', 'auto');
    expect(report.format).toBe('amazon2014-meta');
    expect(Object.fromEntries(titles)).toEqual({
      '0000031852': 'Tutu (newer)',
      '0123456789': 'Kid\'s "best" toy',
      B00X: 'Café ™ set',
    });
    expect(report).toMatchObject({ linesRead: 8, blankLines: 1, rowsKept: 4, malformedLines: 1, missingFieldRows: 2 });
    expect(report.problems.map((p) => p.line)).toEqual([6, 7]);
    const gz = await parseMetadata(bytesSource(gzipSync(enc.encode(META14)), 3), 'meta.json.gz', 'auto');
    expect(gz.titles).toEqual(titles);
    const oneByte = await parseMetadata(src(META14, 1), 'meta.json', 'amazon2014-meta');
    expect(oneByte.titles).toEqual(titles);
  });

  it('parses 2018 and 2023 JSON lines', async () => {
    const m18 = '{"category": ["A"], "title": "Guitar strings", "asin": "B01"}\n{"asin": "B02", "title": ""}\n{bad';
    const r18 = await parseMetadata(src(m18), 'meta.json', 'auto');
    expect(r18.report.format).toBe('amazon2018-meta');
    expect(Object.fromEntries(r18.titles)).toEqual({ B01: 'Guitar strings' });
    expect(r18.report.malformedLines).toBe(1);
    expect(r18.report.problems[0].reason).toMatch(/^not valid JSON/);
    const m23 = '{"main_category": "x", "title": "Pick", "parent_asin": "P1"}\n{"title": "Cable", "parent_asin": "P2"}';
    const r23 = await parseMetadata(src(m23), 'meta.jsonl', 'auto');
    expect(r23.report.format).toBe('amazon2023-meta');
    expect(Object.fromEntries(r23.titles)).toEqual({ P1: 'Pick', P2: 'Cable' });
  });

  it('parses items TSV with or without header, keyed by asin and item_id', async () => {
    const withHeader = 'item_id\tasin\ttitle\r\n1\tB004\tOPI Nail Lacquer\r\n2\tB005\t\r\n3\tB006\tTop & Coat\r\n';
    const r = await parseMetadata(src(withHeader), 'Beauty_items.tsv', 'auto');
    expect(r.report.format).toBe('items-tsv');
    expect(Object.fromEntries(r.titles)).toEqual({ B004: 'OPI Nail Lacquer', 1: 'OPI Nail Lacquer', B006: 'Top & Coat', 3: 'Top & Coat' });
    expect(r.report).toMatchObject({ rowsKept: 2, missingFieldRows: 1 });
    const noHeader = await parseMetadata(src('1\tB004\tOPI Nail Lacquer\n3\tB006\tTop & Coat'), 'x.tsv', 'auto');
    expect(noHeader.titles).toEqual(r.titles);
    const reordered = await parseMetadata(src('item_id\ttitle\tasin\n100\tEyeshadow\t7806397051\n'), 'srb.items.tsv', 'auto');
    expect(Object.fromEntries(reordered.titles)).toEqual({ 100: 'Eyeshadow', 7806397051: 'Eyeshadow' });
  });

  it('detects formats and reports unknown ones', async () => {
    expect(detectMetadataFormat(["{'asin': 'x'}"], 'm')).toBe('amazon2014-meta');
    expect(detectMetadataFormat(['{"asin": "x", "title": "t"}'], 'm')).toBe('amazon2018-meta');
    expect(detectMetadataFormat(['{"parent_asin": "x", "title": "t"}'], 'm')).toBe('amazon2023-meta');
    expect(detectMetadataFormat(['1\tB0\tt'], 'm')).toBe('items-tsv');
    expect(detectMetadataFormat(['hello world'], 'm')).toBeNull();
    const e = await caught(parseMetadata(src('just some text\n'), 'notes.txt', 'auto'));
    expect(e.info.code).toBe('unknown_format');
    expect(e.message).toContain('items-tsv');
    expect(e.message).toContain('just some text');
    expect((await caught(parseMetadata(src(''), 'e', 'auto'))).info.code).toBe('empty_input');
    const ac = new AbortController();
    ac.abort();
    expect((await caught(parseMetadata(src(META14), 'm', 'auto', { signal: ac.signal }))).info.code).toBe('cancelled');
  });

  const TSV = '/work/shared/data/amazon2014_beauty_sports_toys/Beauty_items.tsv.gz';
  it.skipIf(!existsSync(TSV))('real file: Beauty_items.tsv.gz gives 12,086 titles keyed by asin', async () => {
    const { titles, report } = await parseMetadata(bytesSource(new Uint8Array(readFileSync(TSV))), 'Beauty_items.tsv.gz', 'auto');
    expect(report.format).toBe('items-tsv');
    expect(report.rowsKept).toBe(12086);
    expect(report.missingFieldRows).toBe(15);
    expect(report.malformedLines).toBe(0);
    const asinKeys = [...titles.keys()].filter((k) => !/^\d{1,5}$/.test(k));
    expect(asinKeys.length).toBe(12086);
    expect(titles.get('B004756YJA')).toBe('OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce');
    expect(titles.get('1')).toBe('OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce');
  });
});
