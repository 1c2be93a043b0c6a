/**
 * Reference-format bundles (the files the reference PyTorch trainer reads): export as one .zip and
 * import from a .zip or the loose files.
 *
 * Import rules: names are matched by suffix (`.inter`, `.train.jsonl`, `.valid.jsonl`,
 * `.test.jsonl`, `.emb_map.json`, `.items.tsv`, `.npy`, `dataset_stats.json`; each may be `.gz`).
 * With a `.inter` file, user order, sequences, times and ratings come from it; otherwise sequences are
 * rebuilt from the jsonl samples (and checked against every sample). Item ids come from
 * `emb_map.json` when present, else by first appearance. `.npy` embeddings are returned alongside.
 */
import { strFromU8, strToU8, zipSync, type Zippable } from 'fflate';
import { gunzipChecked, inflateBudget, unzipChecked, type InflateBudget } from '../io/zip.ts';
import { StudioError, throwIfCancelled } from '../errors.ts';
import { checkDatasetIds, numberIdText } from './ids.ts';
import type { ProgressSink } from '../events.ts';
import { npyToFloat32, parseNpy } from '../io/npy.ts';
import { bytesSource, MAX_LINE_LENGTH } from './lines.ts';
import { parseMetadata } from './metadata.ts';
import { computeStats, REFERENCE_STATS_KEYS } from './stats.ts';
import type { PrepareConfig, PreparedDataset } from './types.ts';
import { datasetStatsJson, itemsTsvChunks, referenceFiles } from './writers.ts';

export interface BundleFile { name: string; bytes: Uint8Array }

/** An imported `.npy` table; `padRow` when it has N+1 rows (row 0 = [PAD]), else row r is item id r+1. */
export interface ImportedEmbedding { name: string; rows: number; cols: number; data: Float32Array; padRow: boolean }

export interface ImportedBundle {
  dataset: PreparedDataset;
  embeddings: ImportedEmbedding[];
  warnings: string[];
}

export interface BundleImportOptions {
  name?: string;
  config: PrepareConfig;
  signal?: AbortSignal;
  onEvent?: ProgressSink;
  /** Most bytes the zip/gzip files may inflate to, all together (default: see src/core/io/zip.ts). */
  maxInflatedBytes?: number;
}

function concatChunks(chunks: Iterable<string>): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const c of chunks) { const b = strToU8(c); parts.push(b); total += b.length; }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** All reference files of a dataset (plus `<name>.items.tsv` when titles exist) as name → bytes. */
export function referenceBundleFiles(ds: PreparedDataset): BundleFile[] {
  const out: BundleFile[] = referenceFiles(ds).map((f) => ({ name: f.name, bytes: concatChunks(f.chunks()) }));
  out.push({ name: 'dataset_stats.json', bytes: strToU8(datasetStatsJson(ds.stats)) });
  if (ds.itemTitles) out.push({ name: `${ds.name}.items.tsv`, bytes: concatChunks(itemsTsvChunks(ds)) });
  return out;
}

/** The reference bundle as one .zip (deflate). */
export function exportReferenceZip(ds: PreparedDataset): Uint8Array {
  const z: Zippable = {};
  for (const f of referenceBundleFiles(ds)) z[f.name] = f.bytes;
  return zipSync(z, { level: 6 });
}

type Kind = 'inter' | 'train' | 'valid' | 'test' | 'embmap' | 'items' | 'npy' | 'stats';
const SUFFIXES: [string, Kind][] = [
  ['.train.jsonl', 'train'], ['.valid.jsonl', 'valid'], ['.test.jsonl', 'test'], ['.emb_map.json', 'embmap'],
  ['.items.tsv', 'items'], ['.inter', 'inter'], ['.npy', 'npy'],
];

function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}

function classify(name: string): { kind: Kind; prefix: string } | null {
  if (name === 'dataset_stats.json') return { kind: 'stats', prefix: '' };
  for (const [suf, kind] of SUFFIXES) if (name.endsWith(suf)) return { kind, prefix: name.slice(0, -suf.length) };
  return null;
}

/** Whether a list of file names looks like a reference bundle (zip or the loose files). */
export function looksLikeReferenceBundle(names: string[]): boolean {
  return names.some((n) => {
    const b = baseName(n).replace(/\.gz$/i, '');
    return /\.zip$/i.test(b) || b.endsWith('.train.jsonl') || b.endsWith('.emb_map.json') || b.endsWith('.inter');
  });
}

/**
 * Expands zips and gzip members into plain named files (directories dropped). All archives share
 * one inflated-size budget (default relative to the total input size, see src/core/io/zip.ts), so
 * nested archives cannot multiply it; every member's CRC-32 is checked.
 */
export function expandBundleFiles(files: BundleFile[], opts: { maxInflatedBytes?: number } = {}, budget?: InflateBudget): BundleFile[] {
  const b = budget ?? inflateBudget(files.reduce((n, f) => n + f.bytes.length, 0), opts.maxInflatedBytes);
  const out: BundleFile[] = [];
  for (const f of files) {
    const name = baseName(f.name);
    if (/\.zip$/i.test(name)) {
      const entries = unzipChecked(f.bytes, {
        fileName: f.name, code: 'bad_bundle', budget: b, prefix: 'Cannot read the zip archive: ',
        filter: (m) => !(m.name.endsWith('/') || m.name.startsWith('__MACOSX/') || baseName(m.name).startsWith('._')),
      });
      for (const [path, bytes] of Object.entries(entries)) {
        for (const x of expandBundleFiles([{ name: baseName(path), bytes }], opts, b)) out.push(x);
      }
    } else if (/\.gz$/i.test(name)) {
      out.push({ name: name.slice(0, -3), bytes: gunzipChecked(f.bytes, { fileName: f.name, code: 'bad_bundle', budget: b, prefix: 'Cannot gunzip the file: ' }) });
    } else {
      out.push({ name, bytes: f.bytes });
    }
  }
  return out;
}

function bad(file: string, message: string, line?: number, extra: { expected?: string; found?: string } = {}): StudioError {
  return new StudioError({ code: 'bad_bundle', file, message, ...(line !== undefined ? { line } : {}), ...extra });
}

/**
 * Splits text into lines (without the final empty one); `\r\n` tolerated. A line longer than
 * MAX_LINE_LENGTH is refused with its number (no reference-bundle line comes near it).
 */
function* textLines(text: string, file: string): Generator<[string, number]> {
  let start = 0;
  let no = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    no++;
    if (end - start > MAX_LINE_LENGTH + 1) {
      throw bad(file, `Line ${no} is longer than ${MAX_LINE_LENGTH.toLocaleString('en-US')} characters`, no, {
        expected: `lines of at most ${MAX_LINE_LENGTH.toLocaleString('en-US')} characters`, found: `${(end - start).toLocaleString('en-US')} characters`,
      });
    }
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    yield [line, no];
    start = end + 1;
  }
}

function decode(f: BundleFile): string {
  try {
    return strFromU8(f.bytes);
  } catch (e) {
    if (e instanceof RangeError) {
      throw bad(f.name, 'The file is too large to read as text', undefined, { expected: 'at most about 512 Mi characters', found: `${f.bytes.length.toLocaleString('en-US')} bytes` });
    }
    throw bad(f.name, 'The file is not valid UTF-8 text');
  }
}

/** Parses emb_map.json: [PAD] = 0 and ids 1..N contiguous. Returns item strings in id order. */
function parseEmbMap(f: BundleFile): string[] {
  let obj: unknown;
  try {
    obj = JSON.parse(decode(f));
  } catch (e) {
    throw bad(f.name, `Not valid JSON: ${(e as Error).message}`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw bad(f.name, 'Expected a JSON object {"[PAD]": 0, "<item>": id, …}');
  const entries = Object.entries(obj as Record<string, unknown>);
  const pad = (obj as Record<string, unknown>)['[PAD]'];
  if (pad !== 0) throw bad(f.name, '"[PAD]" must map to 0', undefined, { expected: '"[PAD]": 0', found: pad === undefined ? 'no "[PAD]" key' : `"[PAD]": ${JSON.stringify(pad)}` });
  const n = entries.length - 1;
  const items = new Array<string | undefined>(n);
  for (const [k, v] of entries) {
    if (k === '[PAD]') continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > n) {
      throw bad(f.name, `Item ids must be the integers 1..${n} (contiguous)`, undefined, { found: `"${k}": ${JSON.stringify(v)}` });
    }
    if (items[v - 1] !== undefined) throw bad(f.name, `Id ${v} is used twice ("${items[v - 1]}" and "${k}")`);
    items[v - 1] = k;
  }
  return items as string[];
}

interface Seqs {
  userIds: string[];
  offsets: number[];
  items: string[];
  times: number[];
  ratings: number[];
  hasTimestamps: boolean;
}

/** Timestamps (seconds, or sequence positions) beyond 2^53 − 1 are no longer exact: refused, like ±Infinity. */
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;

function parseInter(f: BundleFile, signal?: AbortSignal): Seqs {
  const text = decode(f);
  const lines = textLines(text, f.name);
  const first = lines.next();
  if (first.done) throw bad(f.name, 'The .inter file is empty');
  const header = first.value[0].split('\t').map((h) => h.split(':')[0].trim());
  const col = (n: string) => header.indexOf(n);
  const cu = col('user_id');
  const ci = col('item_id');
  const ct = col('timestamp');
  const cr = col('rating');
  if (cu < 0 || ci < 0 || ct < 0) {
    throw bad(f.name, 'The header must name user_id, item_id and timestamp columns', 1, {
      expected: 'user_id:token\titem_id:token\trating:float\ttimestamp:float\tsplit:token', found: first.value[0].slice(0, 120),
    });
  }
  const s: Seqs = { userIds: [], offsets: [0], items: [], times: [], ratings: [], hasTimestamps: true };
  const seenUsers = new Set<string>();
  let cur: string | null = null;
  for (const [line, no] of lines) {
    if (no % 65536 === 0) throwIfCancelled(signal);
    if (line.trim() === '') continue;
    const p = line.split('\t');
    if (p.length < header.length) throw bad(f.name, `Expected ${header.length} tab-separated fields, found ${p.length}`, no);
    const u = p[cu];
    const t = Number(p[ct]);
    if (p[ct] === '' || Number.isNaN(t)) throw bad(f.name, 'The timestamp is not a number', no, { found: JSON.stringify(p[ct]) });
    if (!Number.isFinite(t) || Math.abs(t) > MAX_TIMESTAMP) {
      throw new StudioError({
        code: 'bad_bundle', file: f.name, line: no, field: 'timestamp',
        message: 'The timestamp is not a finite number in range',
        expected: `a finite number with |t| ≤ ${MAX_TIMESTAMP}`, found: JSON.stringify(p[ct]),
      });
    }
    const rText = cr >= 0 ? p[cr] : '';
    const r = rText === '' ? 1 : Number(rText);
    if (u !== cur) {
      if (seenUsers.has(u)) throw bad(f.name, `User "${u}" appears in two separate runs of rows; rows must be grouped by user`, no);
      if (cur !== null) s.offsets.push(s.items.length);
      seenUsers.add(u);
      s.userIds.push(u);
      cur = u;
    }
    s.items.push(p[ci]);
    s.times.push(t);
    s.ratings.push(Number.isNaN(r) ? 1 : r);
  }
  if (cur === null) throw bad(f.name, 'The .inter file has no rows');
  s.offsets.push(s.items.length);
  // sequence datasets write the position as the timestamp: detect that
  let positions = true;
  for (let u = 0; u < s.userIds.length && positions; u++) {
    for (let j = s.offsets[u]; j < s.offsets[u + 1]; j++) {
      if (s.times[j] !== j - s.offsets[u]) { positions = false; break; }
    }
  }
  s.hasTimestamps = !positions;
  return s;
}

interface JsonlSample { user: string; target: string; history: string[]; line: number }

function parseJsonl(f: BundleFile, signal?: AbortSignal): JsonlSample[] {
  const out: JsonlSample[] = [];
  for (const [line, no] of textLines(decode(f), f.name)) {
    if (no % 65536 === 0) throwIfCancelled(signal);
    if (line.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw bad(f.name, `Not valid JSON: ${(e as Error).message}`, no);
    }
    const rec = o as { user_id?: unknown; target_id?: unknown; inter_history?: unknown };
    // numeric ids keep their exact digits beyond 2^53 (read from the line, not through a double)
    const str = (v: unknown, key: string, index?: number) => (typeof v === 'string' ? v : typeof v === 'number' ? numberIdText(v, line, key, index) : null);
    const user = str(rec?.user_id, 'user_id');
    const target = str(rec?.target_id, 'target_id');
    const hist = Array.isArray(rec?.inter_history) ? rec.inter_history.map((v: unknown, k: number) => str(v, 'inter_history', k)) : null;
    if (user === null) throw bad(f.name, 'Missing or invalid "user_id"', no);
    if (target === null) throw bad(f.name, 'Missing or invalid "target_id"', no);
    if (hist === null || hist.some((h) => h === null)) throw bad(f.name, '"inter_history" must be a list of item ids', no);
    out.push({ user, target, history: hist as string[], line: no });
  }
  return out;
}

function rebuildFromSamples(
  train: BundleFile, valid: BundleFile, test: BundleFile, maxLen: number, signal?: AbortSignal,
): Seqs {
  const tr = parseJsonl(train, signal);
  const va = parseJsonl(valid, signal);
  const te = parseJsonl(test, signal);
  const byUser = new Map<string, { train: JsonlSample[]; valid?: JsonlSample; test?: JsonlSample }>();
  for (const s of va) {
    if (byUser.has(s.user)) throw bad(valid.name, `User "${s.user}" has more than one validation sample`, s.line);
    byUser.set(s.user, { train: [] });
    byUser.get(s.user)!.valid = s;
  }
  for (const s of te) {
    const e = byUser.get(s.user);
    if (!e) throw bad(test.name, `User "${s.user}" has a test sample but no validation sample`, s.line);
    if (e.test) throw bad(test.name, `User "${s.user}" has more than one test sample`, s.line);
    e.test = s;
  }
  let last: string | null = null;
  for (const s of tr) {
    const e = byUser.get(s.user);
    if (!e) throw bad(train.name, `User "${s.user}" has training samples but no validation sample`, s.line);
    if (s.user !== last && e.train.length) throw bad(train.name, `Samples of user "${s.user}" are not contiguous`, s.line);
    e.train.push(s);
    last = s.user;
  }
  const out: Seqs = { userIds: [], offsets: [0], items: [], times: [], ratings: [], hasTimestamps: false };
  for (const [user, e] of byUser) {
    if (!e.test) throw bad(test.name, `User "${user}" has no test sample`);
    const first = e.train.length ? e.train[0] : e.valid!;
    const firstFile = e.train.length ? train.name : valid.name;
    if (first.history.length < 1) throw bad(firstFile, `The first sample of user "${user}" has an empty history`, first.line);
    const seq = [first.history[0], ...e.train.map((s) => s.target), e.valid!.target, e.test.target];
    const check = (s: JsonlSample, i: number, file: string) => {
      const want = seq.slice(Math.max(0, i - maxLen), i);
      const h = s.history;
      if (h.length !== want.length || h.some((x, k) => x !== want[k])) {
        throw bad(file, `Sample inconsistent with the sequence rebuilt from the samples (user "${user}", position ${i}, maximum history ${maxLen})`, s.line, {
          expected: JSON.stringify(want).slice(0, 200), found: JSON.stringify(h).slice(0, 200),
        });
      }
    };
    e.train.forEach((s, k) => check(s, k + 1, train.name));
    check(e.valid!, seq.length - 2, valid.name);
    check(e.test, seq.length - 1, test.name);
    out.userIds.push(user);
    seq.forEach((it, k) => { out.items.push(it); out.times.push(k); out.ratings.push(1); });
    out.offsets.push(out.items.length);
  }
  return out;
}

/**
 * Imports a reference bundle. Returns the dataset (same users, items, ids, sequences, times, titles
 * and stats as the exported one), the `.npy` embeddings found, and warnings.
 */
export async function importReferenceBundle(files: BundleFile[], opts: BundleImportOptions): Promise<ImportedBundle> {
  const { signal, onEvent } = opts;
  const warnings: string[] = [];
  const warn = (m: string) => { warnings.push(m); onEvent?.({ type: 'log', stage: 'data', level: 'warn', message: m }); };
  onEvent?.({ type: 'phase', stage: 'data', phase: 'bundle', message: 'reading the reference bundle' });
  const all = expandBundleFiles(files, opts.maxInflatedBytes !== undefined ? { maxInflatedBytes: opts.maxInflatedBytes } : {});
  const byKind = new Map<Kind, BundleFile[]>();
  const prefixes = new Set<string>();
  for (const f of all) {
    const c = classify(f.name);
    if (!c) { warn(`${f.name}: not a reference bundle file; ignored`); continue; }
    if (c.kind !== 'npy' && c.kind !== 'stats') prefixes.add(c.prefix);
    byKind.set(c.kind, [...(byKind.get(c.kind) ?? []), f]);
  }
  for (const [k, list] of byKind) {
    if (k !== 'npy' && list.length > 1) {
      throw bad(list[1].name, `The bundle holds more than one ${k} file (${list.map((f) => f.name).join(', ')})`);
    }
  }
  const one = (k: Kind) => byKind.get(k)?.[0];
  const inter = one('inter');
  const train = one('train');
  const valid = one('valid');
  const test = one('test');
  if (!inter && !(train && valid && test)) {
    const missing = ['train', 'valid', 'test'].filter((k) => !one(k as Kind)).map((k) => `<name>.${k}.jsonl`);
    throw new StudioError({
      code: 'bad_bundle',
      message: `A reference bundle needs <name>.inter or all three sample files; missing ${missing.join(', ')}`,
      found: all.map((f) => f.name).join(', ') || 'no files',
    });
  }
  if (prefixes.size > 1) warn(`Files with different dataset names: ${[...prefixes].join(', ')}`);
  const name = opts.name || [...prefixes][0] || 'dataset';
  const maxLen = Math.floor(opts.config.maxLen);
  if (!(maxLen >= 1)) throw new StudioError({ code: 'bad_option', field: 'maxLen', message: 'maximum history length must be ≥ 1', found: String(opts.config.maxLen) });

  throwIfCancelled(signal);
  onEvent?.({ type: 'phase', stage: 'data', phase: 'sequences', message: inter ? `reading ${inter.name}` : 'rebuilding sequences from the samples' });
  const seqs = inter ? parseInter(inter, signal) : rebuildFromSamples(train!, valid!, test!, maxLen, signal);
  const seqFile = inter ? inter.name : 'the sample files';
  throwIfCancelled(signal);

  // item ids
  const embMapFile = one('embmap');
  let itemIds: string[];
  const idOf = new Map<string, number>();
  if (embMapFile) {
    itemIds = parseEmbMap(embMapFile);
    itemIds.forEach((s, i) => idOf.set(s, i + 1));
  } else {
    itemIds = [];
    for (const it of seqs.items) if (!idOf.has(it)) { itemIds.push(it); idOf.set(it, itemIds.length); }
    warn('No emb_map.json in the bundle: item ids were numbered by first appearance');
  }
  const n = seqs.items.length;
  const seqItems = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const id = idOf.get(seqs.items[j]);
    if (id === undefined) {
      throw bad(embMapFile!.name, `Item "${seqs.items[j]}" of ${seqFile} is not in the map`, undefined, { found: seqs.items[j] });
    }
    seqItems[j] = id;
  }
  // with a .inter, the jsonl items must still all be in the map
  if (embMapFile && inter) {
    for (const f of [train, valid, test]) {
      if (!f) continue;
      for (const s of parseJsonl(f, signal)) {
        for (const it of [s.target, ...s.history]) {
          if (!idOf.has(it)) throw bad(f.name, `Item "${it}" is not in ${embMapFile.name}`, s.line, { found: it });
        }
      }
    }
  }
  const seqOffsets = Int32Array.from(seqs.offsets);
  let short = 0;
  for (let u = 0; u + 1 < seqOffsets.length; u++) if (seqOffsets[u + 1] - seqOffsets[u] < 3) short++;
  if (short) warn(`${short} users have fewer than 3 interactions and yield no samples`);

  let itemTitles: (string | null)[] | undefined;
  const itemsFile = one('items');
  let metadataReport;
  if (itemsFile) {
    const { titles, report } = await parseMetadata(bytesSource(itemsFile.bytes), itemsFile.name, 'items-tsv', { signal });
    metadataReport = report;
    itemTitles = itemIds.map((s) => titles.get(s) ?? null);
  }

  const seqTimes = Float64Array.from(seqs.times);
  const stats = computeStats({ seqOffsets, seqTimes, hasTimestamps: seqs.hasTimestamps, numItems: itemIds.length, itemTitles });
  const statsFile = one('stats');
  if (statsFile) {
    try {
      const ref = JSON.parse(decode(statsFile)) as Record<string, unknown>;
      const diff = REFERENCE_STATS_KEYS.filter((k) => k in ref && ref[k] !== stats[k]);
      if (diff.length) warn(`dataset_stats.json disagrees with the data on ${diff.map((k) => `${k} (${String(ref[k])} vs ${stats[k]})`).join(', ')}`);
    } catch {
      warn('dataset_stats.json is not valid JSON; ignored');
    }
  }

  const embeddings: ImportedEmbedding[] = [];
  for (const f of byKind.get('npy') ?? []) {
    const { data, rows, cols } = npyToFloat32(parseNpy(f.bytes, f.name), f.name);
    const N = itemIds.length;
    if (rows !== N && rows !== N + 1) {
      throw new StudioError({
        code: 'embedding_row_mismatch', file: f.name,
        message: `The embedding table has ${rows} rows but the dataset has ${N} items`,
        expected: `${N} rows (one per item) or ${N + 1} (with a [PAD] row 0)`, found: `${rows} rows × ${cols}`,
      });
    }
    embeddings.push({ name: f.name, rows, cols, data, padRow: rows === N + 1 });
  }

  // ids the jsonl / emb_map escapes allow but .inter cannot hold (tab, newline, lone surrogates)
  checkDatasetIds({ userIds: seqs.userIds, itemIds }, files.map((f) => f.name).join(', '), { allowReplacement: true });
  const dataset: PreparedDataset = {
    name,
    config: { kcore: opts.config.kcore, maxLen },
    source: {
      format: 'reference',
      files: files.map((f) => f.name),
      ...(itemsFile ? { metadataFormat: 'items-tsv' as const } : {}),
      ...(metadataReport ? { metadataReport } : {}),
      rowsBeforeFilter: n,
      kcorePasses: 0,
    },
    userIds: seqs.userIds,
    itemIds,
    seqOffsets,
    seqItems,
    seqTimes,
    seqRatings: Float32Array.from(seqs.ratings),
    hasTimestamps: seqs.hasTimestamps,
    ...(itemTitles ? { itemTitles } : {}),
    stats,
  };
  return { dataset, embeddings, warnings };
}
