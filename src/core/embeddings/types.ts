/**
 * Item embedding tables (pipeline stage 2). Row r is item id r+1: the PAD row of the reference's
 * (N+1)-row files is dropped on import (spec §2.3, §3.1), so every table here has exactly N rows.
 */
export type EmbeddingKind = 'collab' | 'text' | 'dual';

export interface EmbeddingTable {
  kind: EmbeddingKind;
  name: string;
  /** N (items); row r = item id r+1, PAD dropped. */
  rows: number;
  cols: number;
  /** Row-major rows × cols. */
  data: Float32Array;
  /** 'sasrec' | 'tfidf-svd' | 'import:<file>' | 'dual' */
  source: string;
  createdAt: number;
  /** Provenance (options, shapes, timings); structured-cloneable. */
  meta?: Record<string, unknown>;
}
