import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import { f32Tensor, i32Tensor, readSafetensors, toFloat32, writeSafetensors } from '../../../src/core/io/safetensors.ts';

function rawFile(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const fail = (f: () => unknown, re: RegExp) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StudioError);
  expect((err as StudioError).message).toMatch(re);
};

describe('safetensors', () => {
  it('round-trips tensors, dtypes, shapes and metadata; header is 8-aligned', () => {
    const a = Float32Array.from([1, -2.5, 3e-8, 4, 5, 6]);
    const b = Int32Array.from([7, -8]);
    const bytes = writeSafetensors({ a: f32Tensor(a, [2, 3]), b: i32Tensor(b, [2]), empty: f32Tensor(new Float32Array(0), [0, 4]) }, { note: 'x' });
    const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(hlen % 8).toBe(0);
    const f = readSafetensors(bytes);
    expect(f.metadata).toEqual({ note: 'x' });
    expect(f.tensors.a.shape).toEqual([2, 3]);
    expect(toFloat32(f.tensors.a)).toEqual(a);
    expect(f.tensors.b.dtype).toBe('I32');
    expect(new Int32Array(f.tensors.b.bytes.slice().buffer)).toEqual(b);
    expect(f.tensors.empty.shape).toEqual([0, 4]);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.b.data_offsets).toEqual([24, 32]);
  });

  it('converts F64, F16 and BF16 to float32', () => {
    const f64 = new Float64Array([1.5, -2]);
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555]); // 1, -2, ~0.333
    const bf16 = new Uint16Array([0x3f80, 0xc040]); // 1, -3
    const file = writeSafetensors({
      d: { dtype: 'F64', shape: [2], bytes: new Uint8Array(f64.buffer) },
      h: { dtype: 'F16', shape: [3], bytes: new Uint8Array(f16.buffer) },
      b: { dtype: 'BF16', shape: [2], bytes: new Uint8Array(bf16.buffer) },
    });
    const f = readSafetensors(file);
    expect(Array.from(toFloat32(f.tensors.d))).toEqual([1.5, -2]);
    const h = toFloat32(f.tensors.h);
    expect([h[0], h[1]]).toEqual([1, -2]);
    expect(h[2]).toBeCloseTo(1 / 3, 3);
    expect(Array.from(toFloat32(f.tensors.b))).toEqual([1, -3]);
    fail(() => toFloat32({ dtype: 'I32', shape: [1], bytes: new Uint8Array(4) }, 'x'), /expected a float tensor/);
  });

  it('rejects corrupt headers with specific errors', () => {
    const d8 = new Uint8Array(8);
    fail(() => readSafetensors(new Uint8Array(4)), /shorter than the 8-byte/);
    const big = new Uint8Array(16);
    new DataView(big.buffer).setBigUint64(0, 1000n, true);
    fail(() => readSafetensors(big), /beyond the end of the file/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1n << 60n, true);
    fail(() => readSafetensors(huge), /implausibly large/);
    fail(() => readSafetensors(rawFile(null, d8, '{"a": [')), /not valid UTF-8 JSON/);
    fail(() => readSafetensors(rawFile(null, d8, '[1, 2]')), /not a JSON object/);
    fail(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, d8)), /ends beyond the end of the file/);
    fail(
      () => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, d8)),
      /overlaps/,
    );
    fail(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, d8)), /gap in the data section/);
    fail(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, d8)), /bytes no tensor covers/);
    fail(() => readSafetensors(rawFile({ a: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, d8)), /unknown dtype/);
    fail(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, d8)), /spans 8 bytes but F32\[3\] needs 12/);
    fail(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, d8)), /invalid data_offsets/);
    fail(() => readSafetensors(rawFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, d8)), /invalid shape/);
    fail(() => readSafetensors(rawFile({ __metadata__: { k: 1 }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, d8)), /not a string/);
    // unsorted offsets are fine as long as they tile the data
    const ok = readSafetensors(rawFile({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, d8));
    expect(Object.keys(ok.tensors).sort()).toEqual(['a', 'b']);
  });

  it('refuses to write inconsistent tensors', () => {
    expect(() => writeSafetensors({ a: f32Tensor(new Float32Array(3), [2, 2]) })).toThrow(/needs 16/);
  });
});

describe('tensor names that are also Object property names', () => {
  it('keeps a tensor named __proto__ or constructor as a tensor', () => {
    // an object literal's __proto__ is not a key, so the header text is written by hand
    const text = new TextEncoder().encode('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"constructor":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}');
    const file = new Uint8Array(8 + text.length + 8);
    new DataView(file.buffer).setBigUint64(0, BigInt(text.length), true);
    file.set(text, 8);
    new DataView(file.buffer).setFloat32(8 + text.length, 1.5, true);
    new DataView(file.buffer).setFloat32(8 + text.length + 4, 2.5, true);
    const r = readSafetensors(file, 'p.safetensors');
    expect(Object.keys(r.tensors).sort()).toEqual(['__proto__', 'constructor']);
    expect(Array.from(toFloat32(r.tensors['__proto__']))).toEqual([1.5]);
    expect(Array.from(toFloat32(r.tensors['constructor']))).toEqual([2.5]);
  });
});
