/**
 * Dual semantic input (spec §3.2): [collab ‖ text] per item, collab first, optionally each part
 * L2-normalised as x / (‖x‖ + 1e-9). The reference default is normalize = false.
 */
import { StudioError } from '../errors.ts';
import { checkTable } from './importTable.ts';
import type { EmbeddingTable } from './types.ts';

export interface DualOptions {
  normalize: boolean;
  name?: string;
  now?: number;
}

export function buildDualInput(collab: EmbeddingTable, text: EmbeddingTable, opts: DualOptions): EmbeddingTable {
  checkTable(collab);
  checkTable(text);
  if (collab.kind !== 'collab') {
    throw new StudioError({ code: 'bad_option', message: `The first (collaborative) part must be a collab table; "${collab.name}" is ${collab.kind}`, expected: 'collab', found: collab.kind });
  }
  if (text.kind !== 'text') {
    throw new StudioError({ code: 'bad_option', message: `The second part must be a text table; "${text.name}" is ${text.kind}`, expected: 'text', found: text.kind });
  }
  // Tables here already have N rows (PAD dropped on import), so the reference's N+1 case is gone.
  if (collab.rows !== text.rows) {
    throw new StudioError({
      code: 'embedding_row_mismatch',
      message: `Collaborative table "${collab.name}" has ${collab.rows} rows but text table "${text.name}" has ${text.rows}; both must cover the same items`,
      expected: `${collab.rows} rows (as the collaborative table)`,
      found: `${text.rows} rows`,
      details: { collabRows: collab.rows, textRows: text.rows },
    });
  }
  const n = collab.rows;
  const a = collab.cols;
  const b = text.cols;
  const d = a + b;
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    copyRow(collab.data, r * a, a, out, r * d, opts.normalize);
    copyRow(text.data, r * b, b, out, r * d + a, opts.normalize);
  }
  return {
    kind: 'dual',
    name: opts.name ?? `${collab.name} + ${text.name}`,
    rows: n,
    cols: d,
    data: out,
    source: 'dual',
    createdAt: opts.now ?? Date.now(),
    meta: { collab: collab.name, text: text.name, collabCols: a, textCols: b, normalize: opts.normalize },
  };
}

function copyRow(src: Float32Array, at: number, len: number, dst: Float32Array, to: number, normalize: boolean): void {
  let scale = 1;
  if (normalize) {
    let ss = 0;
    for (let k = 0; k < len; k++) ss += src[at + k] * src[at + k];
    scale = 1 / (Math.sqrt(ss) + 1e-9);
  }
  for (let k = 0; k < len; k++) dst[to + k] = src[at + k] * scale;
}
