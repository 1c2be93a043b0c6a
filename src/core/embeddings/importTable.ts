/**
 * `.npy` embedding tables in and out. Reference files come in two shapes: collaborative tables
 * (N, d) and text tables (N+1, d) with a PAD row 0 (spec §2.3 vs §3.1); both become N rows here.
 */
import { StudioError } from '../errors.ts';
import { npyToFloat32, parseNpy, writeNpy } from '../io/npy.ts';
import type { EmbeddingKind, EmbeddingTable } from './types.ts';

export interface TableFromNpyOptions {
  /** Defaults to the file name without `.npy`. */
  name?: string;
  now?: number;
}

export function tableFromNpy(
  bytes: Uint8Array,
  fileName: string,
  numItems: number,
  kind: EmbeddingKind,
  opts: TableFromNpyOptions = {},
): EmbeddingTable {
  const arr = parseNpy(bytes, fileName);
  if (arr.shape.length !== 2) {
    throw new StudioError({
      code: 'bad_npy',
      message: `Expected a 2-D embedding table (items × dimensions), found shape (${arr.shape.join(', ')})`,
      file: fileName,
      expected: '2 dimensions',
      found: `shape (${arr.shape.join(', ')})`,
      details: { shape: arr.shape },
    });
  }
  const [fileRows, cols] = arr.shape;
  // Row count first: a wrong file is the common mistake, and this check is free.
  if (fileRows !== numItems && fileRows !== numItems + 1) {
    throw new StudioError({
      code: 'embedding_row_mismatch',
      message: `The embedding table has ${fileRows} rows but the dataset has ${numItems} items`,
      file: fileName,
      expected: `N (${numItems}) or N+1 (${numItems + 1}) rows`,
      found: `${fileRows} rows`,
      details: { rows: fileRows, cols, numItems },
    });
  }
  if (cols === 0) {
    throw new StudioError({ code: 'bad_npy', message: 'The embedding table has 0 columns', file: fileName, found: `shape (${fileRows}, 0)` });
  }
  // Validates dtype (float16/32/64) and finiteness; row/column in its error are file rows.
  const { data: all } = npyToFloat32(arr, fileName);
  const dropPad = fileRows === numItems + 1;
  const data = dropPad ? all.slice(cols) : all;
  return {
    kind,
    name: opts.name ?? (fileName.replace(/^.*[\\/]/, '').replace(/\.npy$/i, '') || 'embeddings'),
    rows: numItems,
    cols,
    data,
    source: `import:${fileName}`,
    createdAt: opts.now ?? Date.now(),
    meta: { fileRows, droppedPadRow: dropPad, dtype: arr.dtype },
  };
}

/** A float32 `.npy` (N, d), or (N+1, d) with a zero PAD row 0 like the reference text files. */
export function tableToNpy(table: EmbeddingTable, withPadRow = false): Uint8Array {
  checkTable(table);
  if (!withPadRow) return writeNpy(table.data, [table.rows, table.cols]);
  const out = new Float32Array((table.rows + 1) * table.cols);
  out.set(table.data, table.cols);
  return writeNpy(out, [table.rows + 1, table.cols]);
}

/** Throws if `data` does not hold rows × cols values. */
export function checkTable(table: EmbeddingTable): void {
  if (!Number.isInteger(table.rows) || !Number.isInteger(table.cols) || table.rows < 0 || table.cols < 0 ||
      table.data.length !== table.rows * table.cols) {
    throw new StudioError({
      code: 'bad_option',
      message: `Embedding table "${table.name}" is inconsistent: ${table.rows} × ${table.cols} declared, ${table.data.length} values`,
      expected: `${table.rows * table.cols} values`,
      found: `${table.data.length}`,
    });
  }
}
