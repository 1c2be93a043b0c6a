/**
 * Regression tests for the .pth reader's hardening (issue 15, class "PyTorch .pth reader"): views
 * checked against their storage before allocating, sizes/strides validated, no argument spreads over
 * unbounded arrays, cycles and deep nesting refused — every failure a StudioError naming the tensor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { StudioError } from '../../../src/core/errors.ts';
import { PTH_LIMITS, readPth, type PthTensor } from '../../../src/core/io/pth.ts';

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const u32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const uni = (s: string) => [0x58, ...u32le(s.length), ...ascii(s)];

/** A pickled number: BININT for int32, LONG1 for BigInt, BINFLOAT (big-endian) otherwise. */
function num(v: number | bigint): number[] {
  if (typeof v === 'bigint') {
    const bytes: number[] = [];
    let x = v;
    for (let i = 0; i < 9; i++) { bytes.push(Number(x & 0xffn)); x >>= 8n; }
    return [0x8a, 9, ...bytes];
  }
  if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) return [0x4a, ...u32le(v >>> 0)];
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, false);
  return [0x47, ...b];
}
const tuple = (xs: number[][]) => [0x28, ...xs.flat(), 0x74];

interface View { numel?: number | bigint; offset?: number | bigint; size: (number | bigint)[]; stride: (number | bigint)[]; rawSize?: number[] }

/** {key: _rebuild_tensor_v2(storage('0', FloatStorage, numel), offset, size, stride, False, OrderedDict())}. */
function tensorPickle(key: string, v: View): number[] {
  const storage = [0x28, ...uni('storage'), ...ascii('ctorch\nFloatStorage\n'), ...uni('0'), ...uni('cpu'), ...num(v.numel ?? 1), 0x74, 0x51];
  const args = [0x28, ...storage, ...num(v.offset ?? 0), ...(v.rawSize ?? tuple(v.size.map(num))), ...tuple(v.stride.map(num)), 0x89,
    ...ascii('ccollections\nOrderedDict\n'), 0x29, 0x52, 0x74];
  return [0x80, 2, 0x7d, ...uni(key), ...ascii('ctorch._utils\n_rebuild_tensor_v2\n'), ...args, 0x52, 0x73, 0x2e];
}

function pth(pkl: number[] | Uint8Array, data: Record<string, Uint8Array> = { 'data/0': new Uint8Array(4) }): Uint8Array {
  const files: Record<string, Uint8Array> = { 'archive/data.pkl': Uint8Array.from(pkl) };
  for (const [k, v] of Object.entries(data)) files[`archive/${k}`] = v;
  return zipSync(files, { level: 0 });
}

/** The StudioError readPth throws, within a time and memory budget. */
function refusal(bytes: Uint8Array, budgetMs = 2000, budgetMb = 200): StudioError {
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  let err: unknown;
  try {
    readPth(bytes, 'hostile.pth');
  } catch (e) {
    err = e;
  }
  expect(Date.now() - t0).toBeLessThan(budgetMs);
  expect((process.memoryUsage().rss - rss0) / 2 ** 20).toBeLessThan(budgetMb);
  expect(err).toBeInstanceOf(StudioError);
  const e = err as StudioError;
  expect(e.info.file).toBe('hostile.pth');
  return e;
}

const saved = { ...PTH_LIMITS };
afterEach(() => { Object.assign(PTH_LIMITS, saved); });

describe('.pth reader: views checked against the storage before allocating', () => {
  it('a tiny file whose view claims 300 M elements (stride 0 over one float) is refused by name, without allocating', () => {
    const bytes = pth(tensorPickle('enc.weight', { numel: 1, size: [300_000_000], stride: [0] }));
    expect(bytes.length).toBeLessThan(1024);
    const e = refusal(bytes);
    expect(e.info.field).toBe('enc.weight');
    expect(e.message).toMatch(/tensor enc\.weight: .*more elements than their storages allow/);
  });

  it('views past the end of the storage, and storages larger than their bytes, are refused', () => {
    let e = refusal(pth(tensorPickle('w', { numel: 1, size: [300_000_000], stride: [1] })));
    expect(e.info).toMatchObject({ field: 'w', expected: 'offset + extent within 1 elements' });
    e = refusal(pth(tensorPickle('w', { numel: 300_000_000, size: [300_000_000], stride: [1] })));
    expect(e.message).toMatch(/storage data\/0 has 4 bytes, expected 1200000000/);
    e = refusal(pth(tensorPickle('w', { numel: 4, offset: 3, size: [2], stride: [1] }), { 'data/0': new Uint8Array(16) }));
    expect(e.info.found).toMatch(/last element 4/);
    // extents that overflow 2^53 are caught in safe integers
    e = refusal(pth(tensorPickle('w', { numel: 1, size: [2 ** 31 - 1, 2 ** 31 - 1], stride: [2 ** 31 - 1, 2 ** 31 - 1] })));
    expect(e.info.field).toBe('w');
  });

  it('negative, NaN, fractional, BigInt sizes/strides/offsets/numel give a StudioError naming the tensor', () => {
    const cases: [View, RegExp][] = [
      [{ size: [-1], stride: [1] }, /size\[0\] is not a non-negative integer/],
      [{ size: [NaN], stride: [1] }, /size\[0\]/],
      [{ size: [1.5], stride: [1] }, /size\[0\]/],
      [{ size: [2n ** 60n], stride: [1] }, /size\[0\]/],
      [{ size: [1], stride: [-1] }, /stride\[0\]/],
      [{ size: [1], stride: [0.5] }, /stride\[0\]/],
      [{ offset: -1, size: [1], stride: [1] }, /offset/],
      [{ offset: 2n ** 64n, size: [1], stride: [1] }, /offset/],
    ];
    for (const [v, re] of cases) {
      const e = refusal(pth(tensorPickle('dec.bias', v)));
      expect(e.info.field, String(re)).toBe('dec.bias');
      expect(e.message).toMatch(re);
      expect(e.info.expected).toBe(/offset/.test(String(re)) ? 'a non-negative safe integer' : 'non-negative safe integers');
    }
    for (const numel of [-1, NaN, 0.5, 2n ** 70n]) {
      const e = refusal(pth(tensorPickle('w', { numel, size: [1], stride: [1] })));
      expect(e.message).toMatch(/storage data\/0: element count is not a non-negative integer/);
    }
  });

  it('well-formed views still read (offset, strides, empty tensors)', () => {
    const data = { 'data/0': new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer) };
    const root = readPth(pth(tensorPickle('t', { numel: 6, offset: 1, size: [2, 2], stride: [1, 3] }), data)).root as Map<string, PthTensor>;
    expect(Array.from(root.get('t')!.data as Float32Array)).toEqual([1, 4, 2, 5]);
    const empty = readPth(pth(tensorPickle('t', { numel: 6, offset: 6, size: [0, 3], stride: [3, 1] }), data)).root as Map<string, PthTensor>;
    expect(empty.get('t')!.shape).toEqual([0, 3]);
  });
});

describe('.pth reader: bounded unpickler (no stack overflow, cycles, depth)', () => {
  it('a 300 k-byte BINSTRING and a 300 k-item APPENDS read without overflowing the stack', () => {
    const n = 300_000;
    const s = readPth(pth([0x80, 2, 0x54, ...u32le(n), ...new Array<number>(n).fill(0x41), 0x2e])).root as string;
    expect(s.length).toBe(n);
    expect(s.slice(0, 3)).toBe('AAA');
    const list = readPth(pth([0x80, 2, 0x5d, 0x28, ...new Array<number>(n).fill(0x4e), 0x65, 0x2e])).root as unknown[];
    expect(list.length).toBe(n);
  });

  it('a 300 k-character GLOBAL name is refused as a global, not a RangeError', () => {
    const e = refusal(pth([0x80, 2, 0x63, ...new Array<number>(300_000).fill(0x61), 0x0a, ...ascii('x\n'), 0x2e]));
    expect(e.message).toMatch(/pickle global a{80}… \(300000 characters\)\.x is not allowed/);
  });

  it('a list that contains itself is refused as a cycle (also as a tensor size)', () => {
    // ] q0 h0 a .   — l = []; l.append(l)
    let e = refusal(pth([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]));
    expect(e.message).toMatch(/cycle at \[0\]/);
    expect(e.info.field).toBe('[0]');
    // {'k': l} with l = [l]
    e = refusal(pth([0x80, 2, 0x7d, ...uni('k'), 0x5d, 0x71, 1, 0x68, 1, 0x61, 0x73, 0x2e]));
    expect(e.info.field).toBe('k[0]');
    // a tensor whose size list holds itself: described without JSON.stringify, refused by name
    const cyclic = tensorPickle('w', { size: [], stride: [1], rawSize: [0x5d, 0x71, 9, 0x68, 9, 0x61] });
    e = refusal(pth(cyclic));
    expect(e.info.field).toBe('w');
    expect(e.message).toMatch(/size\[0\] is not a non-negative integer/);
  });

  it(`containers nested deeper than ${PTH_LIMITS.maxDepth} levels are refused (2,000 nested 1-tuples in 2 KB)`, () => {
    const e = refusal(pth([0x80, 2, 0x5d, ...new Array<number>(2000).fill(0x85), 0x2e]));
    expect(e.message).toMatch(/nested deeper than 1000 levels/);
    // 900 levels are fine
    expect(() => readPth(pth([0x80, 2, 0x5d, ...new Array<number>(900).fill(0x85), 0x2e]))).not.toThrow();
  });

  it('container, memo and stack sizes are bounded (limits lowered for the test)', () => {
    PTH_LIMITS.maxContainerItems = 10;
    let e = refusal(pth([0x80, 2, 0x5d, 0x28, ...new Array<number>(11).fill(0x4e), 0x65, 0x2e]));
    expect(e.info).toMatchObject({ expected: 'at most 10 items', found: '11 items' });
    e = refusal(pth([0x80, 2, 0x7d, ...Array.from({ length: 11 }, (_, i) => [0x4b, i, 0x4e, 0x73]).flat(), 0x2e]));
    expect(e.message).toMatch(/a dict with more than 10 items/);
    Object.assign(PTH_LIMITS, saved);
    PTH_LIMITS.maxMemo = 3;
    e = refusal(pth([0x80, 2, 0x4e, ...Array.from({ length: 4 }, (_, i) => [0x71, i]).flat(), 0x2e]));
    expect(e.message).toMatch(/memo grows beyond 3 entries/);
    Object.assign(PTH_LIMITS, saved);
    PTH_LIMITS.maxStack = 5;
    e = refusal(pth([0x80, 2, ...new Array<number>(6).fill(0x4e), 0x2e]));
    expect(e.message).toMatch(/stack grows beyond 5 entries/);
  });
});
