import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { npyToFloat32, npyToInt32, parseNpy, writeNpy } from '../../../src/core/io/npy.ts';
import { StudioError } from '../../../src/core/errors.ts';

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

// Written by numpy 2.4 (np.save / np.lib.format.write_array), base64.
const NP_F4_3x2 = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAQEAAAIhAAAAAAG8Sgzo=';
const NP_I4_3 = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoHAAAA/////xXNWwc=';
const NP_F4_0x5 = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDUpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=';
const NP_F8_V2 = 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAADwPwAAAAAAAABAAAAAAAAACEAAAAAAAAAQQAAAAAAAABRAAAAAAAAAGEA=';
const NP_F2_V3 = 'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjInLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPADB/3sABA==';
const NP_FORTRAN = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const NP_BIG_ENDIAN = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/gAAAQAAAAEBAAABAgAAA';
const NP_I8 = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAAAAAAAAAQAA';
const NP_SCALAR = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAGBA';

/** Builds an .npy by hand: magic, version, header length (2 or 4 bytes), header text, data. */
function build(major: number, header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const lenBytes = major === 1 ? 2 : 4;
  const out = new Uint8Array(8 + lenBytes + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  new DataView(out.buffer).setUint32(8, h.length, true);
  if (major === 1) new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(h, 8 + lenBytes);
  out.set(data, 8 + lenBytes + h.length);
  return out;
}
const f64bytes = (xs: number[]) => new Uint8Array(new Float64Array(xs).buffer);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError);
    return (err as StudioError).info.code;
  }
  throw new Error('expected a StudioError');
}

describe('npy', () => {
  it('writes bytes identical to numpy and round-trips', () => {
    const f = new Float32Array([1.5, -2, 3, 4.25, 0, 1e-3]);
    expect(Buffer.from(writeNpy(f, [3, 2])).toString('base64')).toBe(NP_F4_3x2);
    expect(Buffer.from(writeNpy(new Int32Array([7, -1, 123456789]), [3])).toString('base64')).toBe(NP_I4_3);
    expect(Buffer.from(writeNpy(new Float32Array(0), [0, 5])).toString('base64')).toBe(NP_F4_0x5);
    expect(Buffer.from(writeNpy(new Float32Array([3.5]), [])).toString('base64')).toBe(NP_SCALAR);
    const bytes = writeNpy(f, [3, 2]);
    expect((10 + (bytes[8] | (bytes[9] << 8))) % 64).toBe(0);
    const back = parseNpy(bytes);
    expect(back.dtype).toBe('<f4');
    expect(back.shape).toEqual([3, 2]);
    expect(Array.from(back.data as Float32Array)).toEqual(Array.from(f));
    const big = new Float32Array(1000 * 7).map((_, k) => Math.sin(k));
    expect(Array.from(parseNpy(writeNpy(big, [1000, 7])).data as Float32Array)).toEqual(Array.from(big));
    const ints = parseNpy(writeNpy(new Int32Array([5, -6]), [2, 1]));
    expect(ints.dtype).toBe('<i4');
    expect(Array.from(ints.data as Int32Array)).toEqual([5, -6]);
    expect(parseNpy(b64(NP_SCALAR)).shape).toEqual([]);
  });

  it('reads numpy v2 (f8) and v3 (f2) files and converts them to float32', () => {
    const a = parseNpy(b64(NP_F8_V2));
    expect(a.dtype).toBe('<f8');
    expect(a.shape).toEqual([2, 3]);
    const t = npyToFloat32(a);
    expect([t.rows, t.cols]).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const h = npyToFloat32(parseNpy(b64(NP_F2_V3)));
    expect(Array.from(h.data)).toEqual([1, -2.5, 65504, 0.00006103515625]);
  });

  it('reads hand-built v1 and v2 headers, including a 1-tuple shape and a header without trailing comma', () => {
    const v2 = build(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}\n", f64bytes([0.5, -1, 2]));
    const a = parseNpy(v2);
    expect(a.shape).toEqual([3]);
    expect(Array.from(a.data as Float64Array)).toEqual([0.5, -1, 2]);
    const v1 = build(1, "{'shape': (1, 2), 'fortran_order': False, 'descr': '<f8', }    \n", f64bytes([1, 2]));
    expect(npyToFloat32(parseNpy(v1))).toMatchObject({ rows: 1, cols: 2 });
    const i8 = parseNpy(b64(NP_I8));
    expect(i8.dtype).toBe('<i8');
    expect(Array.from(i8.data as BigInt64Array)).toEqual([1n, 2n ** 40n]);
    expect(code(() => npyToInt32(i8))).toBe('bad_npy');
    expect(Array.from(npyToInt32(parseNpy(build(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n", new Uint8Array([3, 250])))))).toEqual([3, 250]);
  });

  it('rejects bad magic, truncated or oversized data, Fortran order, big-endian and bad headers with bad_npy', () => {
    const good = writeNpy(new Float32Array([1, 2, 3, 4]), [2, 2]);
    const badMagic = good.slice();
    badMagic[1] = 0x4f;
    expect(code(() => parseNpy(badMagic, 'x.npy'))).toBe('bad_npy');
    expect(code(() => parseNpy(new Uint8Array([1, 2, 3])))).toBe('bad_npy');
    expect(code(() => parseNpy(good.subarray(0, good.length - 1)))).toBe('bad_npy');
    expect(code(() => parseNpy(good.subarray(0, 40)))).toBe('bad_npy');
    const extra = new Uint8Array(good.length + 4);
    extra.set(good);
    expect(code(() => parseNpy(extra))).toBe('bad_npy');
    expect(code(() => parseNpy(b64(NP_FORTRAN)))).toBe('bad_npy');
    try {
      parseNpy(b64(NP_FORTRAN), 'emb.npy');
    } catch (err) {
      expect((err as Error).message).toMatch(/Fortran/);
      expect((err as StudioError).info.file).toBe('emb.npy');
    }
    expect(code(() => parseNpy(b64(NP_BIG_ENDIAN)))).toBe('bad_npy');
    expect(code(() => parseNpy(build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': __import__('os')}\n", new Uint8Array(0))))).toBe('bad_npy');
    expect(code(() => parseNpy(build(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}\n", new Uint8Array(4))))).toBe('bad_npy');
    expect(code(() => parseNpy(build(4, "{}\n", new Uint8Array(0))))).toBe('bad_npy');
    expect(code(() => npyToFloat32(parseNpy(writeNpy(new Float32Array(4), [4]))))).toBe('bad_npy');
    expect(code(() => npyToFloat32(parseNpy(writeNpy(new Int32Array(4), [2, 2]))))).toBe('bad_npy');
  });

  it('rejects NaN and Inf naming the first row and column', () => {
    const d = new Float32Array(12);
    d[7] = NaN;
    d[10] = Infinity;
    let err: StudioError | undefined;
    try {
      npyToFloat32(parseNpy(writeNpy(d, [4, 3])), 'emb.npy');
    } catch (e) {
      err = e as StudioError;
    }
    expect(err?.info.code).toBe('embedding_non_finite');
    expect(err?.info.details).toEqual({ row: 2, col: 1 });
    expect(err?.message).toContain('row 2, column 1');
    expect(err?.message).toContain('emb.npy');
    const f8 = build(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }\n", f64bytes([1, -Infinity]));
    expect(code(() => npyToFloat32(parseNpy(f8)))).toBe('embedding_non_finite');
  });

  const CONF = '/work/shared/conformance/pytorch';
  it.skipIf(!existsSync(CONF))('parses every conformance .npy with the shape its manifest states', () => {
    // manifest.json keys are paths under pytorch/ without .npy; t5/manifest.json keys are under t5/.
    const manifests: [string, Record<string, unknown>][] = [
      ['', JSON.parse(readFileSync(join(CONF, 'manifest.json'), 'utf8'))],
      ['t5/', JSON.parse(readFileSync(join(CONF, 't5/manifest.json'), 'utf8'))],
    ];
    const lookup = (rel: string): { shape: number[]; dtype: string } | undefined => {
      for (const [prefix, m] of manifests) {
        if (!rel.startsWith(prefix)) continue;
        const e = m[rel.slice(prefix.length)] as { shape?: number[]; dtype?: string } | undefined;
        if (e && Array.isArray(e.shape)) return e as { shape: number[]; dtype: string };
      }
      return undefined;
    };
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (name.endsWith('.npy')) files.push(p);
      }
    };
    walk(CONF);
    expect(files.length).toBeGreaterThan(100);
    const unlisted: string[] = [];
    for (const f of files) {
      const rel = relative(CONF, f).slice(0, -4);
      const arr = parseNpy(new Uint8Array(readFileSync(f)), rel);
      const entry = lookup(rel);
      if (!entry) { unlisted.push(rel); continue; }
      expect(arr.shape, rel).toEqual(entry.shape);
      expect(arr.dtype, rel).toBe(entry.dtype === 'int32' ? '<i4' : '<f4');
      expect(arr.data.length, rel).toBe(entry.shape.reduce((a, b) => a * b, 1));
    }
    expect(unlisted).toEqual([]);
  });
});

describe('npy headers numpy would refuse', () => {
  const data = new Uint8Array(8);
  it('refuses extra, missing or __proto__ keys and shapes beyond 2^53', () => {
    const ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    expect(parseNpy(build(1, ok, data), 'ok.npy').shape).toEqual([2]);
    for (const h of [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), '__proto__': {}, }",
      "{'descr': '<f4', 'shape': (2,), }",
    ]) {
      expect(() => parseNpy(build(1, h, data), 'x.npy'), h).toThrow(/exactly the keys descr, fortran_order and shape/);
    }
    expect(() => parseNpy(build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (9007199254740993, 0), }", data), 'x.npy')).toThrow(/invalid shape/);
  });
});
