/**
 * Data-stage types shared by parsers, preparation, storage, the worker and the UI.
 * Everything here is structured-cloneable (typed arrays, plain objects), so it crosses the worker
 * boundary and goes into IndexedDB unchanged.
 */

/** Interaction input formats (auto-detected, or forced with an override). */
export type InteractionFormat =
  | 'amazon2014'     // Amazon 2014 reviews, JSON lines: reviewerID, asin, unixReviewTime (s), overall
  | 'amazon2018'     // Amazon 2018 reviews, JSON lines: same fields as 2014 (plus vote/verified/style)
  | 'amazon2023'     // Amazon 2023 reviews, JSONL: user_id, parent_asin, timestamp (ms), rating
  | 's3rec'          // sequence file: `user item1 item2 …` per line, chronological
  | 'sasrec'         // sequence file: `user item` pairs per line, grouped by user, chronological
  | 'reference';     // reference ETEGRec bundle: <name>.train/.valid/.test.jsonl + <name>.emb_map.json (+ .inter)

/** Item metadata formats (titles). */
export type MetadataFormat =
  | 'amazon2014-meta'  // Python-literal dict per line (not JSON): {'asin': '…', 'title': '…', …}
  | 'amazon2018-meta'  // JSON lines with asin, title
  | 'amazon2023-meta'  // JSONL with parent_asin, title
  | 'items-tsv';       // TSV: item_id, asin, title (header optional)

/** Whether sequence order comes from timestamps (reviews) or is given by the file (sequences). */
export type OrderSource = 'time' | 'file';

/**
 * Raw interactions as parsed, columnar, in file order. Strings are interned: `users[k]` and
 * `items[k]` index into `userNames` / `itemNames` (in order of first appearance in the file).
 */
export interface RawInteractions {
  format: InteractionFormat;
  orderSource: OrderSource;
  userNames: string[];
  itemNames: string[];
  users: Int32Array;
  items: Int32Array;
  /** Seconds (float). For sequence files: the position within the user's line/run (0, 1, 2, …). */
  times: Float64Array;
  ratings: Float32Array;
  count: number;
  report: ParseReport;
}

/** What a parser saw: every line accounted for; the first problems with line numbers and reasons. */
export interface ParseReport {
  file: string;
  format: InteractionFormat | MetadataFormat;
  linesRead: number;
  blankLines: number;
  rowsKept: number;
  malformedLines: number;
  /** Rows that parsed but lacked user, item or time (dropped, as in the reference). */
  missingFieldRows: number;
  /** First problems (at most 20), 1-based line numbers. */
  problems: { line: number; reason: string }[];
  bytesRead: number;
}

export interface PrepareConfig {
  /** k of the iterated k-core (users then items per pass); 0 or 1 disables filtering. Default 5. */
  kcore: number;
  /** Maximum history length of a sample (most recent items kept). Default 50. */
  maxLen: number;
}

export const DEFAULT_PREPARE_CONFIG: PrepareConfig = { kcore: 5, maxLen: 50 };

/**
 * A prepared dataset: users in the reference's sorted order, each with a chronological sequence
 * (CSR layout). Item ids are 1..N by first appearance scanning the sorted rows (spec §1.7);
 * 0 is PAD. Samples (train/valid/test) are derived from the sequences and `config.maxLen`.
 */
export interface PreparedDataset {
  name: string;
  config: PrepareConfig;
  source: DatasetSource;
  /** Raw user strings; index u is user u in sorted order. */
  userIds: string[];
  /** Raw item strings; itemIds[i] is item id i+1 (emb_map order without [PAD]). */
  itemIds: string[];
  /** Sequence of user u is seqItems[seqOffsets[u] .. seqOffsets[u+1]). Length numUsers+1. */
  seqOffsets: Int32Array;
  /** Item ids (1..N), chronological per user. */
  seqItems: Int32Array;
  /** Timestamps in seconds (for sequence files: the position; `hasTimestamps` is then false). */
  seqTimes: Float64Array;
  seqRatings: Float32Array;
  hasTimestamps: boolean;
  /** Titles per item id-1 where known (null where unknown); absent when no metadata was given. */
  itemTitles?: (string | null)[];
  stats: DatasetStats;
}

export interface DatasetSource {
  format: InteractionFormat;
  files: string[];
  metadataFormat?: MetadataFormat;
  parseReport?: ParseReport;
  metadataReport?: ParseReport;
  /** Rows before and after k-core, and the number of k-core passes. */
  rowsBeforeFilter: number;
  kcorePasses: number;
}

/** Counts like the reference's dataset_stats.json, plus what the dataset page charts. */
export interface DatasetStats {
  num_users: number;
  num_items: number;
  num_interactions: number;
  train_interactions: number;
  valid_interactions: number;
  test_interactions: number;
  train_sequences: number;
  valid_sequences: number;
  test_sequences: number;
  /** 1 − interactions / (users × items). */
  sparsity: number;
  seqLength: { min: number; max: number; mean: number; median: number };
  /** Histogram of sequence lengths: bins [lo, hi) with counts. */
  seqLengthHistogram: { lo: number; hi: number; count: number }[];
  /** Interactions per calendar month (UTC, "YYYY-MM"); empty without timestamps. */
  interactionsOverTime: { period: string; count: number }[];
  itemsWithTitles: number;
}

/** One training/evaluation sample (item ids). */
export interface Sample {
  user: number;
  target: number;
  history: Int32Array;
}
