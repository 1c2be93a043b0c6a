/**
 * Conformance with the reference Python data preparation (../shared/conformance/data-prep-instrument2014)
 * and with the published S3-Rec Beauty statistics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../../../src/core/data/lines.ts';
import { parseInteractions } from '../../../src/core/data/parse.ts';
import { prepareDataset } from '../../../src/core/data/prepare.ts';
import {
  datasetStatsJson, embMapChunks, interChunks, samplesJsonlChunks,
} from '../../../src/core/data/writers.ts';

const SHARED = resolve(__dirname, '../../../../shared');
const INSTRUMENTS = join(SHARED, 'data/amazon2014_musical_instruments/reviews_Musical_Instruments_5.json.gz');
const CONF = join(SHARED, 'conformance/data-prep-instrument2014');
const SAMPLE = resolve(__dirname, '../../../public/sample');
const BEAUTY = join(SHARED, 'data/amazon2014_beauty_sports_toys/Beauty.txt.gz');

const text = (chunks: Iterable<string>) => [...chunks].join('');
const gunzipText = (path: string) => gunzipSync(readFileSync(path)).toString('utf8');

describe.runIf(existsSync(INSTRUMENTS) && existsSync(CONF))('Instruments 2014 vs the reference script', async () => {
  const raw = await parseInteractions(bytesSource(readFileSync(INSTRUMENTS)), 'reviews_Musical_Instruments_5.json.gz', 'amazon2014');
  const ds = prepareDataset(raw, { kcore: 5, maxLen: 50 }, 'Instrument2014');

  it('writes a byte-identical .inter', () => {
    const ours = text(interChunks(ds));
    const ref = gunzipText(join(CONF, 'Instrument2014.inter.gz'));
    expect(ours.length).toBe(ref.length);
    expect(ours === ref).toBe(true);
  });

  for (const split of ['train', 'valid', 'test'] as const) {
    it(`writes a byte-identical ${split}.jsonl`, () => {
      const ours = text(samplesJsonlChunks(ds, split));
      const ref = gunzipText(join(CONF, `Instrument2014.${split}.jsonl.gz`));
      const a = ours.split('\n');
      const b = ref.split('\n');
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) expect(`${i + 1}: ${a[i]}`).toBe(`${i + 1}: ${b[i]}`);
      expect(ours === ref).toBe(true);
    });
  }

  it('has the reference stats (byte-identical dataset_stats.json)', () => {
    const ref = readFileSync(join(CONF, 'dataset_stats.json'), 'utf8');
    expect(datasetStatsJson(ds.stats)).toBe(ref);
    const refObj = JSON.parse(ref) as Record<string, number>;
    for (const [k, v] of Object.entries(refObj)) expect(ds.stats[k as keyof typeof ds.stats]).toBe(v);
    expect(ds.stats.seqLength.max).toBe(42);
    expect(ds.stats.seqLength.median).toBe(6);
    expect(ds.source.kcorePasses).toBe(1);
    expect(ds.source.rowsBeforeFilter).toBe(10261);
  });

  it('numbers items by first appearance in .inter order (emb_map)', () => {
    const inter = gunzipText(join(CONF, 'Instrument2014.inter.gz')).split('\n').slice(1, -1);
    const seen = new Map<string, number>();
    for (const line of inter) {
      const item = line.split('\t')[1];
      if (!seen.has(item)) seen.set(item, seen.size + 1);
    }
    expect(ds.itemIds).toEqual([...seen.keys()]);
    const map = JSON.parse(text(embMapChunks(ds))) as Record<string, number>;
    expect(Object.keys(map).length).toBe(901);
    expect(map['[PAD]']).toBe(0);
  });
});

describe.runIf(existsSync(BEAUTY))('S3-Rec Beauty sequence file', () => {
  it('has 22,363 users, 12,101 items, 198,502 interactions, ids = file ids', async () => {
    const raw = await parseInteractions(bytesSource(readFileSync(BEAUTY)), 'Beauty.txt.gz', 's3rec');
    const ds = prepareDataset(raw, { kcore: 5, maxLen: 50 }, 'Beauty');
    expect(ds.stats.num_users).toBe(22363);
    expect(ds.stats.num_items).toBe(12101);
    expect(ds.stats.num_interactions).toBe(198502);
    expect(ds.hasTimestamps).toBe(false);
    expect(ds.itemIds.every((s, i) => s === String(i + 1))).toBe(true);
    expect(ds.userIds[0]).toBe('1');
    // sequences exactly as in the file
    const lines = gunzipText(BEAUTY).split('\n').filter((l) => l.trim());
    for (const u of [0, 1, 100, 22362]) {
      const want = lines[u].trim().split(/\s+/).slice(1).map(Number);
      expect(Array.from(ds.seqItems.subarray(ds.seqOffsets[u], ds.seqOffsets[u + 1]))).toEqual(want);
    }
  });
});

describe.runIf(existsSync(CONF))('bundled sample (public/sample)', () => {
  it('prepares to exactly the conformance data', async () => {
    const manifest = JSON.parse(readFileSync(join(SAMPLE, 'sample.json'), 'utf8')) as {
      file: string; format: 'amazon2014'; name: string; kcore: number; maxLen: number; attribution: string;
    };
    expect(manifest).toMatchObject({ format: 'amazon2014', name: 'Instruments2014-sample', kcore: 5, maxLen: 50 });
    expect(manifest.attribution).toMatch(/McAuley/);
    const bytes = readFileSync(join(SAMPLE, manifest.file));
    const plain = gunzipSync(bytes).toString('utf8');
    expect(plain).not.toMatch(/reviewText|reviewerName|summary/);
    const raw = await parseInteractions(bytesSource(bytes), manifest.file, 'auto');
    const ds = prepareDataset(raw, { kcore: manifest.kcore, maxLen: manifest.maxLen }, 'Instrument2014');
    expect(text(interChunks(ds)) === gunzipText(join(CONF, 'Instrument2014.inter.gz'))).toBe(true);
    for (const split of ['train', 'valid', 'test'] as const) {
      expect(text(samplesJsonlChunks(ds, split)) === gunzipText(join(CONF, `Instrument2014.${split}.jsonl.gz`))).toBe(true);
    }
    expect(readFileSync(join(SAMPLE, 'ATTRIBUTION.md'), 'utf8')).toMatch(/SIGIR 2015[\s\S]*WWW 2016/);
  });
});
