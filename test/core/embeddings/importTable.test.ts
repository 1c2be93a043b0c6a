import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import { parseNpy, writeNpy } from '../../../src/core/io/npy.ts';
import { tableFromNpy, tableToNpy } from '../../../src/core/embeddings/importTable.ts';

/** A v1.0 .npy with any descr (numpy-style header padding to 64 bytes). */
function npyBytes(descr: string, shape: number[], data: ArrayBufferView): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + h.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  out.set(h, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + h.length);
  return out;
}

function errorOf(fn: () => unknown): StudioError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StudioError);
    return e as StudioError;
  }
  throw new Error('expected a throw');
}

const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 0.5);

describe('tableFromNpy', () => {
  it('keeps an N-row table as is (collab layout, spec §2.3)', () => {
    const t = tableFromNpy(writeNpy(seq(15), [5, 3]), 'Beauty_emb_256.npy', 5, 'collab', { now: 7 });
    expect(t).toMatchObject({ kind: 'collab', name: 'Beauty_emb_256', rows: 5, cols: 3, source: 'import:Beauty_emb_256.npy', createdAt: 7 });
    expect(Array.from(t.data)).toEqual(Array.from(seq(15)));
    expect(t.meta).toMatchObject({ fileRows: 5, droppedPadRow: false, dtype: '<f4' });
  });

  it('drops row 0 (PAD) of an N+1-row table (text layout, spec §3.1)', () => {
    const t = tableFromNpy(writeNpy(seq(18), [6, 3]), 'x_text_768.npy', 5, 'text');
    expect(t.rows).toBe(5);
    expect(Array.from(t.data)).toEqual(Array.from(seq(18).subarray(3)));
    expect(t.meta).toMatchObject({ fileRows: 6, droppedPadRow: true });
  });

  it('converts float64', () => {
    const d = Float64Array.from([0.1, -2, 3e-5, 1e10]);
    const t = tableFromNpy(npyBytes('<f8', [2, 2], d), 'a.npy', 2, 'text');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual(Array.from(Float32Array.from(d)));
  });

  it('converts float16 (including a subnormal)', () => {
    // 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), 0
    const h = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x0000]);
    const t = tableFromNpy(npyBytes('<f2', [3, 2], h), 'h.npy', 2, 'text');
    expect(t.rows).toBe(2);
    expect(Array.from(t.data)).toEqual([0.5, 65504, 2 ** -24, 0]);
  });

  it('rejects other row counts with the expected N / N+1 in the error', () => {
    const e = errorOf(() => tableFromNpy(writeNpy(seq(21), [7, 3]), 'wrong.npy', 5, 'collab'));
    expect(e.info.code).toBe('embedding_row_mismatch');
    expect(e.info.expected).toBe('N (5) or N+1 (6) rows');
    expect(e.info.found).toBe('7 rows');
    expect(e.info.file).toBe('wrong.npy');
    const big = errorOf(() => tableFromNpy(writeNpy(new Float32Array(4), [4, 1]), 'b.npy', 12101, 'collab'));
    expect(big.message).toContain('N (12101) or N+1 (12102) rows');
  });

  it('names the row and column of a NaN / Inf', () => {
    const d = seq(15);
    d[2 * 3 + 1] = NaN;
    const e = errorOf(() => tableFromNpy(writeNpy(d, [5, 3]), 'nan.npy', 5, 'collab'));
    expect(e.info.code).toBe('embedding_non_finite');
    expect(e.info.details).toEqual({ row: 2, col: 1 });
    expect(e.message).toMatch(/row 2, column 1/);
    const f = Float64Array.from([1, 2, 3, Infinity]);
    expect(errorOf(() => tableFromNpy(npyBytes('<f8', [2, 2], f), 'inf.npy', 2, 'collab')).info.code).toBe('embedding_non_finite');
  });

  it('rejects 1-D and 3-D arrays as bad_npy with the shape', () => {
    const one = errorOf(() => tableFromNpy(writeNpy(seq(5), [5]), 'v.npy', 5, 'collab'));
    expect(one.info.code).toBe('bad_npy');
    expect(one.info.found).toBe('shape (5)');
    const three = errorOf(() => tableFromNpy(writeNpy(seq(30), [5, 3, 2]), 'c.npy', 5, 'collab'));
    expect(three.info.code).toBe('bad_npy');
    expect(three.message).toContain('(5, 3, 2)');
  });

  it('rejects integer dtypes', () => {
    expect(errorOf(() => tableFromNpy(writeNpy(Int32Array.from([1, 2]), [2, 1]), 'i.npy', 2, 'collab')).info.code).toBe('bad_npy');
  });
});

describe('tableToNpy', () => {
  const t = tableFromNpy(writeNpy(seq(6), [3, 2]), 't.npy', 3, 'text');
  it('writes (N, d) by default', () => {
    const a = parseNpy(tableToNpy(t));
    expect(a.shape).toEqual([3, 2]);
    expect(Array.from(a.data as Float32Array)).toEqual(Array.from(seq(6)));
  });
  it('writes (N+1, d) with a zero PAD row on request, which imports back to the same table', () => {
    const bytes = tableToNpy(t, true);
    const a = parseNpy(bytes);
    expect(a.shape).toEqual([4, 2]);
    expect(Array.from(a.data as Float32Array)).toEqual([0, 0, ...Array.from(seq(6))]);
    expect(Array.from(tableFromNpy(bytes, 't.npy', 3, 'text').data)).toEqual(Array.from(t.data));
  });
});
