/**
 * Generative evaluation of a split (spec §5.8): histories mapped through the current code table,
 * batched beam search, exact 4-token match against the target's code, Recall@1/5/10, NDCG@5/10
 * and the invalid-code rate. Histories are padded to a few fixed lengths (multiples of
 * `lengthBucket` items) so GPU backends compile a handful of shapes; right-padding with masked −1
 * codes does not change the result (T5 relative positions of the real tokens are unchanged).
 */
import * as tf from '@tensorflow/tfjs';
import type { EtegrecRecommender } from '../models/recommender.ts';
import type { JointSamples } from '../train/jointTypes.ts';
import { beamSearch, CodeTrie } from './beam.ts';
import { DiagnosticsAccumulator } from './diagnostics.ts';
import { CODE_LENGTH, CodeIndex, GenerativeAccumulator, type GenerativeResult } from './generative.ts';

export interface GenerativeEvalOptions {
  beams: number;
  returnCount: number;
  batchSize: number;
  /** Only codes of real items (off for paper parity). */
  constrained?: boolean;
  /** Pad histories to a multiple of this many items (default 10). */
  lengthBucket?: number;
  /** Evaluate only the first `limit` samples. */
  limit?: number;
  signal?: AbortSignal;
  /** Awaited before each batch (a pause point). */
  beforeBatch?: () => Promise<void>;
  /** Called after each batch with samples done and the total. */
  onBatch?: (done: number, total: number) => void;
  /** The popularity top-10 (item ids) for the overlap diagnostic. */
  popularTop?: readonly number[];
  /** Called per batch with the generated codes [b × R × 4] and the hit ranks (recommendations view). */
  onGenerated?: (rows: number[], generated: Int32Array, ranks: Int32Array) => void;
  /**
   * Replicas of a data-parallel run sharing the search: replica `rank` of `size` searches every
   * size-th batch, `allSum` (element-wise, identical on every replica) pools the generated codes,
   * and every replica then scores all batches in order — the same result as one replica alone.
   */
  share?: { readonly rank: number; readonly size: number; allSum(local: Float32Array): Float32Array };
}

/** Smallest multiple of `bucket` ≥ n, capped at `max`. */
export function bucketLength(n: number, bucket: number, max: number): number {
  return Math.min(max, Math.max(bucket, Math.ceil(n / bucket) * bucket));
}

/** The bucketed longest history among `rows`: the encoder width of their batch, in items. */
export function bucketedHistoryLength(samples: Pick<JointSamples, 'lens' | 'L'>, rows: ArrayLike<number>, lengthBucket: number): number {
  let longest = 1;
  for (let i = 0; i < rows.length; i++) longest = Math.max(longest, samples.lens[rows[i]]);
  return bucketLength(longest, lengthBucket, samples.L);
}

/**
 * Flat encoder codes [rows.length × 4·Lb] (−1 = padding) for the given sample rows; Lb is the
 * bucketed longest history among them.
 */
export function historyCodes(
  samples: JointSamples,
  rows: ArrayLike<number>,
  codeTable: Int32Array,
  codeLength: number,
  lengthBucket: number,
): { codes: Int32Array; width: number } {
  const Lb = bucketedHistoryLength(samples, rows, lengthBucket);
  const width = Lb * codeLength;
  const codes = new Int32Array(rows.length * width).fill(-1);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const len = samples.lens[r];
    for (let j = 0; j < len; j++) {
      const item = samples.histories[r * samples.L + j];
      for (let c = 0; c < codeLength; c++) codes[i * width + j * codeLength + c] = codeTable[item * codeLength + c];
    }
  }
  return { codes, width };
}

/** Target codes [rows.length × 4]. */
export function targetCodes(samples: JointSamples, rows: ArrayLike<number>, codeTable: Int32Array, codeLength: number): Int32Array {
  const out = new Int32Array(rows.length * codeLength);
  for (let i = 0; i < rows.length; i++) {
    const t = samples.targets[rows[i]];
    for (let c = 0; c < codeLength; c++) out[i * codeLength + c] = codeTable[t * codeLength + c];
  }
  return out;
}

export async function evaluateGenerative(
  model: EtegrecRecommender,
  codeTable: Int32Array,
  samples: JointSamples,
  opts: GenerativeEvalOptions,
): Promise<GenerativeResult> {
  const C = model.config.code_length;
  const index = new CodeIndex(codeTable);
  const acc = new GenerativeAccumulator(index);
  const diag = new DiagnosticsAccumulator(codeTable.length / CODE_LENGTH - 1, opts.returnCount, opts.popularTop ?? []);
  const trie = opts.constrained ? new CodeTrie(codeTable, C, model.config.code_num) : undefined;
  const total = Math.min(samples.count, opts.limit ?? samples.count);
  const bucket = opts.lengthBucket ?? 10;
  // Samples in order of history length: each batch is padded only to its own longest history
  // (the metrics are sums over samples, so the order does not change them).
  const order = Array.from({ length: total }, (_, i) => i).sort((a, b) => samples.lens[a] - samples.lens[b] || a - b);
  const share = opts.share && opts.share.size > 1 ? opts.share : undefined;
  const stride = opts.returnCount * C;
  // shared: codes are small integers, exact in float32, and zero where another replica searched
  const pooled = share ? new Float32Array(total * stride) : null;
  for (let start = 0, batch = 0; start < total; start += opts.batchSize, batch++) {
    if (share && batch % share.size !== share.rank) continue;
    if (opts.beforeBatch) await opts.beforeBatch();
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('cancelled');
    const rows = order.slice(start, Math.min(total, start + opts.batchSize));
    const { codes, width } = historyCodes(samples, rows, codeTable, C, bucket);
    const input = tf.tensor2d(codes, [rows.length, width], 'int32');
    let res;
    try {
      res = await beamSearch(model, input, { beams: opts.beams, returnCount: opts.returnCount, constraint: trie });
    } finally {
      input.dispose();
    }
    if (pooled) pooled.set(res.sequences, start * stride);
    else score(rows, res.sequences);
    opts.onBatch?.(start + rows.length, total);
  }
  if (pooled) {
    const all = share!.allSum(pooled);
    for (let start = 0; start < total; start += opts.batchSize) {
      const end = Math.min(total, start + opts.batchSize);
      score(order.slice(start, end), Int32Array.from(all.subarray(start * stride, end * stride)));
    }
  }
  return { ...acc.result(), diagnostics: diag.result() };

  function score(rows: number[], sequences: Int32Array): void {
    const ranks = acc.addBatch(sequences, targetCodes(samples, rows, codeTable, C), opts.returnCount);
    addDiagnostics(diag, index, sequences, rows.length, opts.returnCount);
    opts.onGenerated?.(rows, sequences, ranks);
  }
}

/** Feeds one batch of returned codes [B × R × 4] to the diagnostics. */
export function addDiagnostics(diag: DiagnosticsAccumulator, index: CodeIndex, sequences: ArrayLike<number>, batch: number, returnCount: number): void {
  const items = new Int32Array(returnCount);
  const keys: string[] = new Array(returnCount);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < returnCount; r++) {
      const o = (b * returnCount + r) * CODE_LENGTH;
      items[r] = index.lookup(sequences, o);
      keys[r] = items[r] > 0 ? String(items[r]) : `x${sequences[o]},${sequences[o + 1]},${sequences[o + 2]},${sequences[o + 3]}`;
    }
    diag.addUser(items, keys);
  }
}
