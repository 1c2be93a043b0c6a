import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import { buildDualInput } from '../../../src/core/embeddings/dual.ts';
import type { EmbeddingKind, EmbeddingTable } from '../../../src/core/embeddings/types.ts';

function table(kind: EmbeddingKind, rows: number, cols: number, values: number[], name: string = kind): EmbeddingTable {
  return { kind, name, rows, cols, data: Float32Array.from(values), source: 'test', createdAt: 0 };
}

describe('buildDualInput (spec §3.2)', () => {
  const collab = table('collab', 2, 2, [3, 4, 0, 0]);
  const text = table('text', 2, 3, [1, 2, 2, 0, 0, 5]);

  it('concatenates [collab ‖ text] per item, collab first, raw by default', () => {
    const d = buildDualInput(collab, text, { normalize: false, now: 1 });
    expect(d).toMatchObject({ kind: 'dual', rows: 2, cols: 5, source: 'dual', createdAt: 1 });
    expect(Array.from(d.data)).toEqual([3, 4, 1, 2, 2, 0, 0, 0, 0, 5]);
    expect(d.meta).toMatchObject({ collabCols: 2, textCols: 3, normalize: false });
  });

  it('normalises each part separately as x / (‖x‖ + 1e-9); zero rows stay zero', () => {
    const d = buildDualInput(collab, text, { normalize: true });
    const expected = [3 / (5 + 1e-9), 4 / (5 + 1e-9), 1 / (3 + 1e-9), 2 / (3 + 1e-9), 2 / (3 + 1e-9), 0, 0, 0, 0, 5 / (5 + 1e-9)];
    d.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('refuses different row counts, naming both', () => {
    let err: unknown;
    try {
      buildDualInput(collab, table('text', 3, 1, [1, 2, 3], 'txt'), { normalize: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).info.code).toBe('embedding_row_mismatch');
    expect((err as StudioError).message).toMatch(/2 rows.*"txt" has 3/);
  });

  it('refuses swapped or wrong kinds and inconsistent tables', () => {
    expect(() => buildDualInput(text, collab, { normalize: false })).toThrow(/collab/);
    expect(() => buildDualInput(collab, table('dual', 2, 1, [1, 2]), { normalize: false })).toThrow(/text table/);
    expect(() => buildDualInput(collab, table('text', 2, 3, [1, 2]), { normalize: false })).toThrow(/inconsistent/);
  });
});
