import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { strToU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import {
  exportReferenceZip, importReferenceBundle, looksLikeReferenceBundle, referenceBundleFiles, type BundleFile,
} from '../../../src/core/data/referenceBundle.ts';
import { bytesSource } from '../../../src/core/data/lines.ts';
import { parseInteractions } from '../../../src/core/data/parse.ts';
import { prepareDataset } from '../../../src/core/data/prepare.ts';
import type { PreparedDataset, RawInteractions } from '../../../src/core/data/types.ts';
import { writeNpy } from '../../../src/core/io/npy.ts';

const INSTRUMENTS = resolve(__dirname, '../../../../shared/data/amazon2014_musical_instruments/reviews_Musical_Instruments_5.json.gz');
const CONFIG = { kcore: 5, maxLen: 50 };

function small(orderSource: 'time' | 'file' = 'time'): PreparedDataset {
  const rows: [string, string, number, number][] = [];
  const users = ['u1', 'u2', 'u3', 'u"4'];
  const items = ['a', 'b', 'c', 'd', 'é"x'];
  users.forEach((u, k) => items.forEach((it, j) => rows.push([u, it, orderSource === 'time' ? 1e9 + (j * 7 + k) % 5 * 86400 + 0.25 : j, j % 2 ? 4.5 : 3])));
  const userNames = users;
  const itemNames = items;
  const n = rows.length;
  const raw: RawInteractions = {
    format: orderSource === 'time' ? 'amazon2023' : 's3rec', orderSource, userNames, itemNames,
    users: Int32Array.from(rows, (r) => users.indexOf(r[0])), items: Int32Array.from(rows, (r) => items.indexOf(r[1])),
    times: Float64Array.from(rows, (r) => r[2]), ratings: Float32Array.from(rows, (r) => r[3]), count: n,
    report: { file: 'x', format: 'amazon2023', linesRead: n, blankLines: 0, rowsKept: n, malformedLines: 0, missingFieldRows: 0, problems: [], bytesRead: 0 },
  };
  return prepareDataset(raw, { kcore: 0, maxLen: 3 }, 'Small', { titles: new Map([['a', 'Alpha\tone'], ['c', 'Gamma']]) });
}

function expectSame(a: PreparedDataset, b: PreparedDataset, opts: { times?: boolean } = { times: true }) {
  expect(b.name).toBe(a.name);
  expect(b.userIds).toEqual(a.userIds);
  expect(b.itemIds).toEqual(a.itemIds);
  expect(Array.from(b.seqOffsets)).toEqual(Array.from(a.seqOffsets));
  expect(Array.from(b.seqItems)).toEqual(Array.from(a.seqItems));
  if (opts.times) {
    expect(Array.from(b.seqTimes)).toEqual(Array.from(a.seqTimes));
    expect(Array.from(b.seqRatings)).toEqual(Array.from(a.seqRatings));
    expect(b.hasTimestamps).toBe(a.hasTimestamps);
    expect(b.stats).toEqual(a.stats);
  }
  expect(b.config.maxLen).toBe(a.config.maxLen);
}

function strip(files: BundleFile[], re: RegExp): BundleFile[] {
  return files.filter((f) => !re.test(f.name));
}

function replace(files: BundleFile[], name: string, fn: (s: string) => string): BundleFile[] {
  return files.map((f) => (f.name === name ? { name, bytes: strToU8(fn(new TextDecoder().decode(f.bytes))) } : f));
}

async function bundleError(files: BundleFile[], maxLen = 3): Promise<StudioError> {
  try {
    await importReferenceBundle(files, { config: { kcore: 0, maxLen } });
  } catch (e) {
    if (e instanceof StudioError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('reference bundle', () => {
  it('round-trips through a zip: same dataset, titles included', async () => {
    const ds = small();
    const zip = exportReferenceZip(ds);
    const names = Object.keys(unzipSync(zip)).sort();
    expect(names).toEqual(['Small.emb_map.json', 'Small.inter', 'Small.items.tsv', 'Small.test.jsonl', 'Small.train.jsonl', 'Small.valid.jsonl', 'dataset_stats.json']);
    const back = await importReferenceBundle([{ name: 'Small.zip', bytes: zip }], { config: { kcore: 0, maxLen: 3 } });
    expectSame(ds, back.dataset);
    expect(back.dataset.itemTitles).toEqual(ds.itemTitles!.map((t) => t?.replace('\t', ' ') ?? null));
    expect(back.dataset.itemTitles!.filter((t) => t !== null).sort()).toEqual(['Alpha one', 'Gamma']);
    expect(back.embeddings).toEqual([]);
    expect(back.warnings).toEqual([]);
  });

  it('round-trips a sequence dataset (positions as times)', async () => {
    const ds = small('file');
    const back = await importReferenceBundle(referenceBundleFiles(ds), { config: { kcore: 0, maxLen: 3 } });
    expectSame(ds, back.dataset);
    expect(back.dataset.hasTimestamps).toBe(false);
  });

  it('rebuilds sequences from the jsonl samples when there is no .inter', async () => {
    const ds = small();
    const files = strip(referenceBundleFiles(ds), /\.inter$/);
    const back = await importReferenceBundle(files, { config: { kcore: 0, maxLen: 3 } });
    expectSame(ds, back.dataset, { times: false });
    expect(back.dataset.hasTimestamps).toBe(false);
    expect(back.dataset.stats.train_sequences).toBe(ds.stats.train_sequences);
  });

  it('detects bundles by name', () => {
    expect(looksLikeReferenceBundle(['x.zip'])).toBe(true);
    expect(looksLikeReferenceBundle(['A.train.jsonl', 'A.valid.jsonl'])).toBe(true);
    expect(looksLikeReferenceBundle(['A.emb_map.json'])).toBe(true);
    expect(looksLikeReferenceBundle(['reviews.json.gz'])).toBe(false);
  });

  it('validates emb_map.json', async () => {
    const ds = small();
    const files = strip(referenceBundleFiles(ds), /\.inter$/);
    const key = JSON.stringify(ds.itemIds[1]);
    const second = `${key}: 2`;
    let e = await bundleError(replace(files, 'Small.emb_map.json', (s) => s.replace('"[PAD]": 0', '"[PAD]": 1')));
    expect(e.info.code).toBe('bad_bundle');
    expect(e.info.file).toBe('Small.emb_map.json');
    e = await bundleError(replace(files, 'Small.emb_map.json', (s) => s.replace(second, `${key}: 7`)));
    expect(e.message).toMatch(/1\.\.5/);
    e = await bundleError(replace(files, 'Small.emb_map.json', (s) => s.replace(second, '"zz": 2')));
    expect(e.info.code).toBe('bad_bundle');
    expect(e.message).toContain(ds.itemIds[1]);
  });

  it('names the file and line of an item missing from the map (with .inter)', async () => {
    const files = replace(referenceBundleFiles(small()), 'Small.valid.jsonl', (s) => s.replace('"target_id": "d"', '"target_id": "nope"'));
    const e = await bundleError(files);
    expect(e.info.file).toBe('Small.valid.jsonl');
    expect(e.info.line).toBeGreaterThan(0);
    expect(e.message).toContain('"nope"');
  });

  it('reports the first sample inconsistent with the rebuilt sequence', async () => {
    const files = strip(referenceBundleFiles(small()), /\.inter$/);
    const bad = replace(files, 'Small.test.jsonl', (s) => {
      const lines = s.split('\n');
      lines[1] = lines[1].replace(/"inter_history": \["([^"]+)"/, '"inter_history": ["a"');
      return lines.join('\n');
    });
    const e = await bundleError(bad);
    expect(e.info.code).toBe('bad_bundle');
    expect(e.info.file).toBe('Small.test.jsonl');
    expect(e.info.line).toBe(2);
  });

  it('rejects a bundle without sequences', async () => {
    const e = await bundleError([{ name: 'X.emb_map.json', bytes: strToU8('{"[PAD]": 0}') }]);
    expect(e.info.code).toBe('bad_bundle');
    expect(e.message).toContain('train.jsonl');
  });

  it('imports .npy embeddings with N or N+1 rows and rejects others', async () => {
    const ds = small();
    const files = referenceBundleFiles(ds);
    const N = ds.itemIds.length;
    const good = await importReferenceBundle(
      [...files, { name: 'Small_collab_emb_4.npy', bytes: writeNpy(new Float32Array((N + 1) * 4).fill(0.5), [N + 1, 4]) }],
      { config: { kcore: 0, maxLen: 3 } },
    );
    expect(good.embeddings).toHaveLength(1);
    expect(good.embeddings[0]).toMatchObject({ rows: N + 1, cols: 4, padRow: true });
    const e = await bundleError([...files, { name: 'E.npy', bytes: writeNpy(new Float32Array(3 * 4), [3, 4]) }]);
    expect(e.info.code).toBe('embedding_row_mismatch');
    expect(e.info.expected).toContain(String(N));
    expect(e.info.found).toContain('3 rows');
  });

  it.runIf(existsSync(INSTRUMENTS))('round-trips the Instruments dataset', async () => {
    const raw = await parseInteractions(bytesSource(readFileSync(INSTRUMENTS)), 'r.json.gz', 'amazon2014');
    const ds = prepareDataset(raw, CONFIG, 'Instrument2014');
    const back = await importReferenceBundle([{ name: 'b.zip', bytes: exportReferenceZip(ds) }], { config: CONFIG });
    expectSame(ds, back.dataset);
    const files = strip(referenceBundleFiles(ds), /\.inter$/);
    const back2 = await importReferenceBundle(files, { config: CONFIG });
    expectSame(ds, back2.dataset, { times: false });
  });
});
