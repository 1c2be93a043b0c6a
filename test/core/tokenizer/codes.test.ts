import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import { adler32, buildCodeTable, forgeOffset, readCodeJson, writeCodeJson } from '../../../src/core/tokenizer/codes.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('adler32 / FORGE offsets (spec §5.2 test vectors)', () => {
  it.each([
    ['(0, 0)', 58654974, 254],
    ['(12, 200)', 132120979, 147],
    ['(255, 255)', 169411030, 214],
  ])('%s → %i → %i', (s, sum, off) => {
    expect(adler32(enc(s))).toBe(sum);
    const [a, b] = s.slice(1, -1).split(', ').map(Number);
    expect(forgeOffset(a, b)).toBe(off);
  });
  it('matches zlib on the empty and a long input', () => {
    expect(adler32(new Uint8Array(0))).toBe(1);
    expect(adler32(enc('Wikipedia'))).toBe(0x11e60398);
  });
});

describe('buildCodeTable', () => {
  it('suffix counts earlier items with the same 3-tuple; row 0 is PAD', () => {
    const prefix = Int32Array.from([1, 2, 3, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
    const t = buildCodeTable(prefix, 5);
    expect(Array.from(t.codes)).toEqual([-1, -1, -1, -1, 1, 2, 3, 0, 1, 2, 3, 1, 4, 5, 6, 0, 1, 2, 3, 2, 4, 5, 6, 1]);
    expect(t.maxSuffix).toBe(2);
    expect(t.suffixOverflow).toBe(false);
  });
  it('FORGE rewrites level 3 per (c1, c2) group in first-appearance order', () => {
    // items: (12,200,x) ×2, (0,0,x), (12,200,x)
    const prefix = Int32Array.from([12, 200, 9, 12, 200, 9, 0, 0, 7, 12, 200, 1]);
    const t = buildCodeTable(prefix, 4, { forge: true });
    const rows = Array.from({ length: 5 }, (_, r) => Array.from(t.codes.subarray(r * 4, r * 4 + 4)));
    expect(rows.slice(1)).toEqual([
      [12, 200, 147, 0],
      [12, 200, 148, 0],
      [0, 0, 254, 0],
      [12, 200, 149, 0],
    ]);
    // wrap-around mod 256 for the (0, 0) group
    const big = buildCodeTable(Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0]), 3, { forge: true });
    expect([big.codes[6], big.codes[10], big.codes[14]]).toEqual([254, 255, 0]);
  });
  it('flags a suffix beyond the codebook', () => {
    const n = 300;
    const t = buildCodeTable(new Int32Array(n * 3), n);
    expect(t.maxSuffix).toBe(299);
    expect(t.suffixOverflow).toBe(true);
  });
});

describe('code.json', () => {
  it('writes the Python json.dump layout and reads it back', () => {
    const t = buildCodeTable(Int32Array.from([1, 2, 3, 1, 2, 3]), 2);
    const text = writeCodeJson(t.codes);
    expect(text).toBe('[[-1, -1, -1, -1], [1, 2, 3, 0], [1, 2, 3, 1]]');
    const back = readCodeJson(text);
    expect(back.items).toBe(2);
    expect(back.codes).toEqual(t.codes);
  });
  it('rejects malformed files with specific errors', () => {
    expect(() => readCodeJson('[[')).toThrow(StudioError);
    expect(() => readCodeJson('[[0, 0, 0, 0]]')).toThrow(/PAD/);
    expect(() => readCodeJson('[[-1, -1, -1, -1], [1, 2, 3]]')).toThrow(/Row 1/);
    expect(() => readCodeJson('{}')).toThrow(/list/);
    // an Int32Array would wrap 2^32 to 0, a valid-looking code
    expect(() => readCodeJson('[[-1, -1, -1, -1], [4294967296, 0, 0, 0]]')).toThrow(/32-bit/);
    expect(() => readCodeJson('[[-1, -1, -1, -1], [2147483648, 0, 0, 0]]')).toThrow(/32-bit/);
  });
});
