/**
 * Offline text encoder: item text (spec §3.1 template) → TF-IDF → truncated randomized SVD.
 * A stand-in for the reference's sentence-t5-base (768-d, unit-norm) that needs no model
 * download; where a pretrained sentence encoder is available, encode offline and import its
 * `.npy` (N or N+1 rows) with tableFromNpy(…, 'text') instead.
 *
 * TF-IDF follows scikit-learn's TfidfVectorizer(sublinear_tf=True, smooth_idf=True, norm='l2'):
 * tf = 1 + ln(count), idf = ln((1 + n) / (1 + df)) + 1, rows L2-normalised.
 */
import type { PreparedDataset } from '../data/types.ts';
import { StudioError, throwIfCancelled } from '../errors.ts';
import { estimateEta, type ProgressSink } from '../events.ts';
import { randomizedSvd, type CsrMatrix } from './svd.ts';
import type { EmbeddingTable } from './types.ts';

/** Text per item (index i = item id i+1). Only titles are stored, so the template is `Title: …`. */
export function itemTexts(itemIds: string[], itemTitles?: (string | null)[]): string[] {
  return itemIds.map((asin, i) => {
    const title = itemTitles?.[i];
    return title && title.trim() ? `Title: ${title}` : `Product ID: ${asin}`;
  });
}

const NAMED: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', nbsp: ' ' };

/** Decodes the entities Amazon titles carry (&amp; &quot; &#39; &#x27; …); unknown ones stay. */
export function decodeHtmlEntities(s: string): string {
  // Two rounds undo double escaping ("&amp;quot;"), common in scraped metadata.
  for (let round = 0; round < 2 && s.includes('&'); round++) {
    s = s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);/g, (whole, body: string) => {
      if (body[0] === '#') {
        const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return NAMED[body.toLowerCase()] ?? whole;
    });
  }
  return s;
}

/** Lower-cased runs of Unicode letters/digits (marks kept inside words), after entity decoding. */
export function tokenize(text: string): string[] {
  return decodeHtmlEntities(text).toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu) ?? [];
}

export interface TfidfOptions {
  /** Terms in fewer documents are dropped. Default 2. */
  minDf?: number;
  /** Keep only the most frequent terms (corpus count; ties by df, then alphabetically). */
  maxVocab?: number;
}

export interface TfidfMatrix extends CsrMatrix {
  /** Column j's term, alphabetical. */
  vocab: string[];
  idf: Float64Array;
  df: Int32Array;
  /** Rows with no vocabulary term (all-zero rows). */
  emptyRows: number;
}

export function buildTfidf(docs: string[][], opts: TfidfOptions = {}): TfidfMatrix {
  const minDf = opts.minDf ?? 2;
  const n = docs.length;
  const dfMap = new Map<string, number>();
  const cfMap = new Map<string, number>();
  for (const doc of docs) {
    const seen = new Set<string>();
    for (const t of doc) {
      cfMap.set(t, (cfMap.get(t) ?? 0) + 1);
      if (!seen.has(t)) { seen.add(t); dfMap.set(t, (dfMap.get(t) ?? 0) + 1); }
    }
  }
  let terms = [...dfMap.keys()].filter((t) => dfMap.get(t)! >= minDf);
  if (opts.maxVocab !== undefined && terms.length > opts.maxVocab) {
    terms.sort((a, b) => cfMap.get(b)! - cfMap.get(a)! || dfMap.get(b)! - dfMap.get(a)! || cmp(a, b));
    terms = terms.slice(0, Math.max(0, opts.maxVocab));
  }
  terms.sort(cmp);
  const col = new Map<string, number>(terms.map((t, j) => [t, j]));
  const df = Int32Array.from(terms, (t) => dfMap.get(t)!);
  const idf = Float64Array.from(df, (d) => Math.log((1 + n) / (1 + d)) + 1);

  const indptr = new Int32Array(n + 1);
  const idx: number[] = [];
  const val: number[] = [];
  let emptyRows = 0;
  for (let i = 0; i < n; i++) {
    const counts = new Map<number, number>();
    for (const t of docs[i]) {
      const j = col.get(t);
      if (j !== undefined) counts.set(j, (counts.get(j) ?? 0) + 1);
    }
    const js = [...counts.keys()].sort((a, b) => a - b);
    let ss = 0;
    const start = val.length;
    for (const j of js) {
      const w = (1 + Math.log(counts.get(j)!)) * idf[j];
      idx.push(j);
      val.push(w);
      ss += w * w;
    }
    if (js.length === 0) emptyRows++;
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let p = start; p < val.length; p++) val[p] *= inv;
    indptr[i + 1] = val.length;
  }
  return {
    rows: n, cols: terms.length, indptr, indices: Int32Array.from(idx), values: Float64Array.from(val),
    vocab: terms, idf, df, emptyRows,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface TextEncoderOptions extends TfidfOptions {
  /** Output width (SVD rank). Default 256; clamped to what the matrix supports, with a warning. */
  dim?: number;
  /** L2-normalise output rows (like sentence-t5 outputs); false gives U·Σ. Default true. */
  normalize?: boolean;
  seed?: number;
  oversamples?: number;
  powerIters?: number;
  signal?: AbortSignal;
  onEvent?: ProgressSink;
  name?: string;
  now?: number;
}

export const DEFAULT_TEXT_DIM = 256;

/** N-row text table (row r = item id r+1) from the dataset's titles. */
export async function encodeTextTfidfSvd(
  ds: Pick<PreparedDataset, 'name' | 'itemIds' | 'itemTitles'>,
  opts: TextEncoderOptions = {},
): Promise<EmbeddingTable> {
  const emit = opts.onEvent ?? (() => undefined);
  const started = Date.now();
  const n = ds.itemIds.length;
  const titled = ds.itemTitles?.filter((t) => t && t.trim()).length ?? 0;
  if (!titled) {
    throw new StudioError({
      code: 'bad_option',
      message: `Dataset "${ds.name}" has no item titles, so there is no text to encode. Import item metadata with the dataset, or import a text embedding .npy.`,
      expected: 'item titles', found: 'none',
    });
  }
  throwIfCancelled(opts.signal);
  emit({ type: 'phase', stage: 'text', phase: 'tfidf', message: `tokenising ${n} item texts` });
  const docs = itemTexts(ds.itemIds, ds.itemTitles).map(tokenize);
  const tfidf = buildTfidf(docs, opts);
  throwIfCancelled(opts.signal);
  if (tfidf.cols === 0) {
    throw new StudioError({
      code: 'empty_input',
      message: `No term occurs in at least ${opts.minDf ?? 2} item texts, so TF-IDF has no vocabulary`,
    });
  }
  const tfidfMs = Date.now() - started;
  emit({ type: 'log', stage: 'text', level: 'info', message: `TF-IDF: ${n} items × ${tfidf.cols} terms, ${tfidf.values.length} non-zeros, ${tfidf.emptyRows} items without a known term` });

  const want = opts.dim ?? DEFAULT_TEXT_DIM;
  if (!Number.isInteger(want) || want < 1) {
    throw new StudioError({ code: 'bad_option', message: 'The text embedding width must be a positive integer', found: String(want) });
  }
  const dim = Math.min(want, n, tfidf.cols);
  if (dim < want) {
    emit({ type: 'log', stage: 'text', level: 'warn', message: `Width reduced from ${want} to ${dim}: the TF-IDF matrix (${n} × ${tfidf.cols}) has no more directions` });
  }
  emit({ type: 'phase', stage: 'text', phase: 'svd', message: `randomized SVD to ${dim} dimensions` });
  const svdStart = Date.now();
  const svd = await randomizedSvd(tfidf, dim, {
    seed: opts.seed ?? 0,
    ...(opts.oversamples !== undefined ? { oversamples: opts.oversamples } : {}),
    ...(opts.powerIters !== undefined ? { powerIters: opts.powerIters } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onStep: (done, total) => emit({
      type: 'progress', stage: 'text', phase: 'svd', done, total, unit: 'steps',
      ...withEta(svdStart, done, total),
    }),
  });
  throwIfCancelled(opts.signal);

  const normalize = opts.normalize ?? true;
  const data = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let c = 0; c < dim; c++) {
      const v = svd.U[r * dim + c] * svd.s[c];
      data[r * dim + c] = v;
      ss += v * v;
    }
    if (normalize && ss > 0) {
      const inv = 1 / Math.sqrt(ss);
      for (let c = 0; c < dim; c++) data[r * dim + c] *= inv;
    }
  }
  const totalMs = Date.now() - started;
  emit({ type: 'phase', stage: 'text', phase: 'done', message: `text embeddings ${n} × ${dim} in ${(totalMs / 1000).toFixed(1)} s` });
  return {
    kind: 'text',
    name: opts.name ?? `${ds.name}_tfidf-svd_text_${dim}`,
    rows: n,
    cols: dim,
    data,
    source: 'tfidf-svd',
    createdAt: opts.now ?? Date.now(),
    meta: {
      vocabSize: tfidf.cols,
      nnz: tfidf.values.length,
      minDf: opts.minDf ?? 2,
      maxVocab: opts.maxVocab ?? null,
      requestedDim: want,
      normalize,
      seed: opts.seed ?? 0,
      powerIters: opts.powerIters ?? 2,
      oversamples: opts.oversamples ?? 10,
      itemsWithTitles: titled,
      itemsWithoutTerms: tfidf.emptyRows,
      // Share of the TF-IDF energy the kept directions explain (rows have unit norm, except empty ones).
      explainedEnergy: sumSq(svd.s) / Math.max(1, n - tfidf.emptyRows),
      singularValues: Array.from(svd.s.subarray(0, Math.min(16, dim))),
      tfidfMs,
      svdMs: totalMs - tfidfMs,
    },
  };
}

function withEta(start: number, done: number, total: number): { etaSeconds?: number } {
  const eta = estimateEta(start, Date.now(), done, total);
  return eta === undefined ? {} : { etaSeconds: eta };
}

function sumSq(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return s;
}
