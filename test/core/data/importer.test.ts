import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import type { ProgressEvent } from '../../../src/core/events.ts';
import { exportReferenceZip } from '../../../src/core/data/referenceBundle.ts';
import { importToDataset, type ImportSourceFile } from '../../../src/core/data/importer.ts';
import { bytesSource } from '../../../src/core/data/lines.ts';

const INSTRUMENTS = resolve(__dirname, '../../../../shared/data/amazon2014_musical_instruments/reviews_Musical_Instruments_5.json.gz');
const CONFIG = { kcore: 5, maxLen: 50 };

function file(name: string, bytes: Uint8Array, chunk = 4096): ImportSourceFile {
  return { name, size: bytes.length, open: () => bytesSource(bytes, chunk) };
}

function reviews(rows: [string, string, number][], extra: string[] = []): Uint8Array {
  const lines = rows.map(([u, i, t]) => JSON.stringify({ reviewerID: u, asin: i, unixReviewTime: t, overall: 4.0 }));
  return strToU8([...lines, ...extra].join('\n') + '\n');
}

function grid(users: number, items: number): [string, string, number][] {
  const rows: [string, string, number][] = [];
  for (let u = 0; u < users; u++) for (let i = 0; i < items; i++) rows.push([`U${u}`, `I${i}`, 1e9 + (u + i) * 86400]);
  return rows;
}

describe('importToDataset', () => {
  it.runIf(existsSync(INSTRUMENTS))('imports the Instruments reviews with progress events and ETA', async () => {
    const events: ProgressEvent[] = [];
    const { dataset, warnings, embeddings } = await importToDataset({
      files: [file('reviews_Musical_Instruments_5.json.gz', readFileSync(INSTRUMENTS), 1 << 16)],
      name: 'Instrument2014', format: 'auto', config: CONFIG, onEvent: (e) => events.push(e),
    });
    expect(dataset.stats.num_users).toBe(1429);
    expect(dataset.stats.num_items).toBe(900);
    expect(dataset.source.format).toBe('amazon2014');
    expect(warnings).toEqual([]);
    expect(embeddings).toEqual([]);
    const prog = events.filter((e) => e.type === 'progress' && e.phase === 'parse');
    expect(prog.length).toBeGreaterThan(0);
    const last = prog.at(-1)!;
    expect(last.type === 'progress' && last.total).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'phase' && e.phase === 'filter')).toBe(true);
  });

  it('reports malformed lines as warnings with line numbers', async () => {
    const bytes = reviews(grid(6, 6), ['{not json', '{"reviewerID": "x"}']);
    const { dataset, warnings } = await importToDataset({
      files: [file('r.json', bytes)], name: 'T', format: 'amazon2014', config: CONFIG,
    });
    expect(dataset.stats.num_interactions).toBe(36);
    expect(warnings.join('\n')).toMatch(/1 malformed line.*line 37/);
    expect(warnings.join('\n')).toMatch(/without a required field/);
  });

  it('attaches titles from metadata and warns about items without one', async () => {
    const meta = strToU8('item_id\tasin\ttitle\n1\tI0\tZero\n2\tI1\tOne\n');
    const { dataset, warnings } = await importToDataset({
      files: [file('r.json', reviews(grid(6, 6)))], metadata: file('items.tsv', meta),
      name: 'T', format: 'auto', metadataFormat: 'items-tsv', config: CONFIG,
    });
    expect(dataset.itemTitles?.filter((t) => t !== null).sort()).toEqual(['One', 'Zero']);
    expect(dataset.source.metadataFormat).toBe('items-tsv');
    expect(warnings.some((w) => w.includes('4 of 6 items have no title'))).toBe(true);
  });

  it('routes a zip or loose reference files to the bundle importer', async () => {
    const first = await importToDataset({ files: [file('r.json', reviews(grid(6, 6)))], name: 'T', format: 'auto', config: CONFIG });
    const zip = exportReferenceZip(first.dataset);
    const back = await importToDataset({ files: [file('T.zip', zip)], name: 'T', format: 'auto', config: CONFIG });
    expect(back.dataset.userIds).toEqual(first.dataset.userIds);
    expect(back.dataset.itemIds).toEqual(first.dataset.itemIds);
    expect(Array.from(back.dataset.seqTimes)).toEqual(Array.from(first.dataset.seqTimes));
    expect(back.dataset.source.format).toBe('reference');
  });

  it('fails with structured errors', async () => {
    const run = (files: ImportSourceFile[], format: 'auto' | 'amazon2014' = 'auto') =>
      importToDataset({ files, name: 'T', format, config: CONFIG }).then(() => null, (e: unknown) => e as StudioError);
    const e1 = await run([file('a.json', reviews(grid(2, 2))), file('b.json', reviews(grid(2, 2)))]);
    expect(e1?.info.code).toBe('bad_option');
    const e2 = await run([file('a.json', reviews(grid(2, 2)))]);
    expect(e2?.info.code).toBe('empty_after_filter');
    const e3 = await run([file('a.json', strToU8('{"foo": 1}\n{"bar": 2}\n'))]);
    expect(e3?.info.code).toBe('unknown_format');
    const e4 = await run([file('a.json', strToU8('{bad\n{worse\n'))], 'amazon2014');
    expect(e4?.info.code).toBe('empty_input');
  });

  it('can be cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    const e = await importToDataset({ files: [file('r.json', reviews(grid(6, 6)))], name: 'T', format: 'auto', config: CONFIG, signal: ac.signal })
      .then(() => null, (x: unknown) => x as StudioError);
    expect(e?.info.code).toBe('cancelled');
  });
});
