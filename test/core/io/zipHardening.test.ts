/**
 * Regression tests for bounded, integrity-checked decompression (issue 15, class "Decompression"):
 * zip bombs refused from their declared sizes before inflating, lying sizes stopped while streaming,
 * CRC-32 of every zip/gzip member checked, and over-long lines in .gz text refused by line number.
 * The hostile archives are built here with fflate's streaming API (never held inflated in memory).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inflateSync, zipSync, gzipSync, strToU8 } from 'fflate';
import { StudioError } from '../../../src/core/errors.ts';
import { readPth } from '../../../src/core/io/pth.ts';
import { readJointBundle } from '../../../src/core/io/jointBundle.ts';
import { crc32, gunzipChecked, INFLATE_FLOOR_BYTES, unzipChecked } from '../../../src/core/io/zip.ts';
import { expandBundleFiles } from '../../../src/core/data/referenceBundle.ts';
import { bytesSource, MAX_LINE_LENGTH, readLines } from '../../../src/core/data/lines.ts';
import { parseInteractions } from '../../../src/core/data/parse.ts';

const MiB = 1 << 20;
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

/**
 * A raw DEFLATE stream (one fixed-Huffman block) of literal bytes and runs that repeat the previous
 * byte (length-258, distance-1 matches: 13 bits per 258 bytes, DEFLATE's ~1032:1 ceiling). Written
 * bit by bit here because deflating 100 MiB with fflate takes seconds; fflate inflates it below.
 */
type Piece = { lit: Uint8Array } | { run: number };
function deflateOf(pieces: Piece[]): { data: Uint8Array; size: number } {
  let bits = 3 + 7;
  for (const p of pieces) bits += 'lit' in p ? 9 * p.lit.length : 13 * Math.ceil(p.run / 258) + 9 * 258;
  const out = new Uint8Array((bits >> 3) + 2);
  let pos = 0;
  const bit = (b: number) => { if (b) out[pos >> 3] |= 1 << (pos & 7); pos++; };
  const huff = (code: number, len: number) => { for (let i = len - 1; i >= 0; i--) bit((code >> i) & 1); };
  const literal = (v: number) => (v <= 143 ? huff(0x30 + v, 8) : huff(0x190 + v - 144, 9));
  bit(1); bit(1); bit(0); // BFINAL, BTYPE = 01 (fixed Huffman), LSB first
  let size = 0;
  let last = -1;
  for (const p of pieces) {
    if ('lit' in p) {
      for (const v of p.lit) literal(v);
      size += p.lit.length;
      if (p.lit.length) last = p.lit[p.lit.length - 1];
    } else {
      if (last < 0) throw new Error('a run needs a byte before it');
      let n = p.run;
      for (; n >= 258; n -= 258) { huff(0xc5, 8); huff(0, 5); } // length 258 (symbol 285), distance 1
      for (; n > 0; n--) literal(last);
      size += p.run;
    }
  }
  huff(0, 7); // end of block (256)
  return { data: out.subarray(0, (pos + 7) >> 3), size };
}
const zeros = (n: number) => deflateOf([{ lit: new Uint8Array(1) }, { run: n - 1 }]);

interface Member { name: string; bytes?: Uint8Array; deflated?: { data: Uint8Array; size: number }; crc?: number }

/** A minimal zip (no zip64): stored members with their CRC-32, deflated ones with `crc` (default 0). */
function zipOf(members: Member[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = strToU8(m.name);
    const data = m.bytes ?? m.deflated!.data;
    const size = m.bytes ? m.bytes.length : m.deflated!.size;
    const crc = m.crc ?? (m.bytes ? crc32(m.bytes) : 0);
    const method = m.bytes ? 0 : 8;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true); lv.setUint16(4, 20, true); lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true); lv.setUint32(18, data.length, true); lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true); local.set(name, 30);
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true); cv.setUint16(4, 20, true); cv.setUint16(6, 20, true); cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true); cv.setUint32(20, data.length, true); cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true); cv.setUint32(42, offset, true); cd.set(name, 46);
    parts.push(local, data);
    central.push(cd);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true); ev.setUint16(8, members.length, true); ev.setUint16(10, members.length, true);
  ev.setUint32(12, cdSize, true); ev.setUint32(16, offset, true);
  return concat([...parts, ...central, eocd]);
}

/** A zip whose `bombName` member inflates to `mib` MiB of zeros. */
const zipBomb = (bombName: string, mib: number, others: Record<string, Uint8Array> = {}) =>
  zipOf([...Object.entries(others).map(([name, bytes]) => ({ name, bytes })), { name: bombName, deflated: zeros(mib * MiB) }]);

/** A gzip member around a raw DEFLATE stream (trailer CRC as given: these never get that far). */
function gzipOf(d: { data: Uint8Array; size: number }, crc = 0): Uint8Array {
  const head = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, crc, true);
  new DataView(tail.buffer).setUint32(4, d.size >>> 0, true);
  return concat([head, d.data, tail]);
}

/** Rewrites the declared uncompressed size of `name` in the central directory (a lying archive). */
function lieAboutSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = zip.slice();
  const dv = new DataView(out.buffer);
  const nameBytes = strToU8(name);
  for (let o = 0; o + 46 < out.length; o++) {
    if (dv.getUint32(o, true) !== 0x02014b50) continue;
    const n = dv.getUint16(o + 28, true);
    if (n === nameBytes.length && out.subarray(o + 46, o + 46 + n).every((b, i) => b === nameBytes[i])) {
      dv.setUint32(o + 24, size, true);
      return out;
    }
  }
  throw new Error(`no central directory entry ${name}`);
}

function thrown(fn: () => unknown, budgetMs = 3000, budgetMb = 150): StudioError {
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(Date.now() - t0).toBeLessThan(budgetMs);
  expect((process.memoryUsage().rss - rss0) / MiB).toBeLessThan(budgetMb);
  expect(err).toBeInstanceOf(StudioError);
  return err as StudioError;
}

const pickleNone = Uint8Array.from([0x80, 2, 0x4e, 0x2e]);

describe('zip bombs', () => {
  it('a .pth whose storage declares 100 MiB inflated (100 KB compressed) is refused before inflating', () => {
    const bomb = zipBomb('archive/data/0', 100, { 'archive/data.pkl': pickleNone });
    expect(bomb.length).toBeLessThan(1 * MiB);
    const e = thrown(() => readPth(bomb, 'bomb.pth'), 1000, 50);
    expect(e.info.file).toBe('bomb.pth');
    expect(e.message).toMatch(/zip member archive\/data\/0: inflates beyond the limit of 64 MiB/);
    expect(e.info.expected).toMatch(/at most 64 MiB/);
    expect(INFLATE_FLOOR_BYTES).toBe(64 * MiB);
  });

  it('a member that lies about its size is stopped while streaming, at its declared size', () => {
    const liar = lieAboutSize(zipBomb('archive/data/0', 100, { 'archive/data.pkl': pickleNone }), 'archive/data/0', MiB);
    const e = thrown(() => readPth(liar, 'liar.pth'), 1000, 50);
    expect(e.message).toMatch(/zip member archive\/data\/0: inflates beyond its declared size/);
    expect(e.info.expected).toBe('1,048,576 bytes');
  });

  it('the limit is overridable (maxInflatedBytes), both ways', () => {
    const small = zipOf([{ name: 'archive/data.pkl', bytes: pickleNone }, { name: 'archive/data/0', deflated: zeros(2 * MiB), crc: crc32(new Uint8Array(2 * MiB)) }]);
    expect(readPth(small, 'ok.pth').root).toBeNull();
    const e = thrown(() => readPth(small, 'ok.pth', { maxInflatedBytes: MiB }));
    expect(e.message).toMatch(/inflates beyond the limit of 1\.00 MiB/);
    expect(Object.keys(unzipChecked(small, { maxInflatedBytes: 3 * MiB }))).toEqual(['archive/data.pkl', 'archive/data/0']);
  });

  it('the joint bundle and reference bundle readers refuse a bomb before inflating (nested zips share one budget)', () => {
    const bomb = zipBomb('recommender.safetensors', 100);
    const e = thrown(() => readJointBundle(bomb, { fileName: 'bundle.zip' }), 1000, 50);
    expect(e.info).toMatchObject({ code: 'bad_bundle', file: 'bundle.zip' });
    expect(e.message).toMatch(/Cannot read the zip archive: zip member recommender\.safetensors: inflates beyond the limit/);
    const r = thrown(() => expandBundleFiles([{ name: 'ref.zip', bytes: bomb }]), 1000, 50);
    expect(r.info).toMatchObject({ code: 'bad_bundle', file: 'ref.zip' });
    // a bomb inside a zip: the inner archive counts against the outer one's budget
    const nested = zipSync({ 'inner.zip': zipBomb('x.inter', 100) }, { level: 0 });
    const n = thrown(() => expandBundleFiles([{ name: 'outer.zip', bytes: nested }]), 1000, 50);
    expect(n.message).toMatch(/x\.inter: inflates beyond the limit of 64 MiB/);
  });

  it('a .gz bomb is stopped while streaming at the limit', () => {
    const gz = gzipOf(zeros(100 * MiB));
    expect(gz.length).toBeLessThan(1 * MiB);
    const e = thrown(() => expandBundleFiles([{ name: 'x.train.jsonl.gz', bytes: gz }], { maxInflatedBytes: 8 * MiB }), 2000, 80);
    expect(e.info).toMatchObject({ code: 'bad_bundle', file: 'x.train.jsonl.gz' });
    expect(e.message).toMatch(/Cannot gunzip the file: inflates beyond the limit of 8\.00 MiB/);
  });
});

describe('CRC-32 of every member', () => {
  it('the hand-made DEFLATE streams are valid (fflate inflates them to what they claim)', () => {
    const d = deflateOf([{ lit: strToU8('ab') }, { run: 1000 }, { lit: strToU8('c') }]);
    expect(new TextDecoder().decode(inflateSync(d.data))).toBe('ab' + 'b'.repeat(1000) + 'c');
    const z = zeros(3 * MiB + 5);
    const back = inflateSync(z.data);
    expect(back.length).toBe(z.size);
    expect(back.every((b) => b === 0)).toBe(true);
  });

  it('crc32 is the zip/gzip one', () => {
    expect(crc32(strToU8('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('a flipped byte in a stored .pth member is refused, naming the member', () => {
    const good = new Uint8Array(readFileSync(resolve(__dirname, 'fixtures', 'tiny_rqvae_state_dict.pth')));
    const marker = strToU8('MARKER-MARKER-MARKER');
    const zip = zipSync({ 'archive/data.pkl': pickleNone, 'archive/data/0': marker }, { level: 0 });
    expect(readPth(zip).root).toBeNull();
    const at = zip.indexOf(0x4d, 40); // the M of MARKER, inside the stored data
    const bad = zip.slice();
    bad[at] ^= 0x01;
    const e = thrown(() => readPth(bad, 'flipped.pth'));
    expect(e.message).toMatch(/zip member archive\/data\/0: CRC-32 mismatch/);
    expect(e.info).toMatchObject({ file: 'flipped.pth', details: { member: 'archive/data/0' } });
    expect(e.info.expected).toMatch(/^CRC-32 0x[0-9a-f]{8}$/);
    // the real fixtures still pass the check
    expect(() => readPth(good)).not.toThrow();
  });

  it('a flipped byte in a deflated bundle member, and a gzip with a wrong CRC, are refused', () => {
    const text = strToU8('u1\ti1\t1\n'.repeat(1000));
    const zip = zipSync({ 'code.json': text }, { level: 6 });
    // flip a bit of the stored CRC in the central directory: the data inflates fine but does not match
    const cd = zip.length - 22 - (46 + 'code.json'.length);
    const bad = zip.slice();
    bad[cd + 16] ^= 0xff;
    const e = thrown(() => readJointBundle(bad, { fileName: 'b.zip' }));
    expect(e.message).toMatch(/zip member code\.json: CRC-32 mismatch/);
    const gz = gzipSync(text);
    expect(gunzipChecked(gz)).toEqual(text);
    const badGz = gz.slice();
    badGz[badGz.length - 8] ^= 0xff;
    const g = thrown(() => expandBundleFiles([{ name: 'x.inter.gz', bytes: badGz }]));
    expect(g.message).toMatch(/gzip CRC-32 mismatch/);
  });
});

describe('line length in .gz text imports', () => {
  it(`one ${MAX_LINE_LENGTH / MiB + 1} Mi-character line inside a small .gz is refused with its line number`, async () => {
    // a real gzip (the runtime's DecompressionStream checks its CRC): 'u1 i1\n', 17 Mi × 'a', '\nu2 i2\n'
    const body = deflateOf([{ lit: strToU8('u1 i1\na') }, { run: MAX_LINE_LENGTH + MiB - 1 }, { lit: strToU8('\nu2 i2\n') }]);
    const gz = gzipOf(body, crc32(inflateSync(body.data)));
    expect(gz.length).toBeLessThan(200 * 1024);
    const rss0 = process.memoryUsage().rss;
    const t0 = Date.now();
    const err = await parseInteractions(bytesSource(gz), 'long.txt.gz', 'auto').then(() => null, (e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((process.memoryUsage().rss - rss0) / MiB).toBeLessThan(300);
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).info).toMatchObject({ code: 'malformed_input', file: 'long.txt.gz', line: 2 });
    expect((err as StudioError).message).toMatch(/Line 2 is longer than 16,777,216 characters/);
  });

  it('the limit is an option of the line reader; lines up to it still read', async () => {
    const text = strToU8('abc\n' + 'x'.repeat(100) + '\r\nlast');
    const lines: string[] = [];
    for await (const l of readLines(bytesSource(text, 7), { maxLineLength: 100 })) lines.push(l);
    expect(lines).toEqual(['abc', 'x'.repeat(100), 'last']);
    let err: unknown;
    try {
      for await (const l of readLines(bytesSource(text, 7), { maxLineLength: 99 })) lines.push(l);
    } catch (e) {
      err = e;
    }
    expect((err as StudioError).info).toMatchObject({ line: 2, expected: 'lines of at most 99 characters' });
  });
});
