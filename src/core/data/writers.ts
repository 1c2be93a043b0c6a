/**
 * Text writers for the reference file formats (spec §1.6–§1.7), byte-compatible with the Python
 * reference: floats as Python repr, JSON as json.dumps(ensure_ascii=False). Each writer is a
 * generator of text chunks so large datasets stream to disk or into a zip.
 */
import { SPLITS, type SplitName } from './samples.ts';
import { REFERENCE_STATS_KEYS } from './stats.ts';
import type { DatasetStats, PreparedDataset } from './types.ts';

const CHUNK_CHARS = 1 << 16;

/** Python's repr() of a float: shortest round-trip digits, exponent below 1e-4 and from 1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x) + '.0';
  let s = String(x);
  let sign = '';
  if (s[0] === '-') { sign = '-'; s = s.slice(1); }
  let mant = s;
  let exp = 0;
  const ei = s.indexOf('e');
  if (ei >= 0) { mant = s.slice(0, ei); exp = Number(s.slice(ei + 1)); }
  const dot = mant.indexOf('.');
  let digits = dot >= 0 ? mant.slice(0, dot) + mant.slice(dot + 1) : mant;
  let decpt = (dot >= 0 ? dot : mant.length) + exp;
  // strip leading zeros (e.g. "0.00123")
  let lz = 0;
  while (lz < digits.length - 1 && digits[lz] === '0') lz++;
  digits = digits.slice(lz);
  decpt -= lz;
  digits = digits.replace(/0+$/, '') || '0';
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const e = decpt - 1;
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** Python repr of a rating stored as float32: the shortest decimal that rounds to the same float32. */
export function float32Repr(x: number): string {
  if (!Number.isFinite(x)) return pyFloatRepr(x);
  for (let p = 1; p <= 9; p++) {
    const v = Number(x.toPrecision(p));
    if (Math.fround(v) === x) return pyFloatRepr(v);
  }
  return pyFloatRepr(x);
}

/** A JSON string literal as Python's json.dumps(ensure_ascii=False) writes it. */
export function pyJsonString(s: string): string {
  // JSON.stringify escapes exactly what Python does (", \, \b \f \n \r \t, other C0 as \u00xx lowercase).
  return JSON.stringify(s);
}

function* chunked(lines: Iterable<string>): Generator<string> {
  let buf: string[] = [];
  let size = 0;
  for (const line of lines) {
    buf.push(line);
    size += line.length;
    if (size >= CHUNK_CHARS) { yield buf.join(''); buf = []; size = 0; }
  }
  if (buf.length) yield buf.join('');
}

export const INTER_HEADER = 'user_id:token\titem_id:token\trating:float\ttimestamp:float\tsplit:token\n';

/** `<name>.inter`: one row per interaction in the prepared order, split per leave-one-out. */
export function* interChunks(ds: PreparedDataset): Generator<string> {
  yield* chunked(interLines(ds));
}

function* interLines(ds: PreparedDataset): Generator<string> {
  yield INTER_HEADER;
  const { seqOffsets: off, seqItems, seqTimes, seqRatings, userIds, itemIds } = ds;
  const ratingText = new Map<number, string>();
  for (let u = 0; u + 1 < off.length; u++) {
    const a = off[u];
    const n = off[u + 1] - a;
    const user = userIds[u];
    for (let i = 0; i < n; i++) {
      const j = a + i;
      const r = seqRatings[j];
      let rt = ratingText.get(r);
      if (rt === undefined) { rt = float32Repr(r); ratingText.set(r, rt); }
      const split = n < 3 ? 'train' : i === n - 1 ? 'test' : i === n - 2 ? 'valid' : 'train';
      yield `${user}\t${itemIds[seqItems[j] - 1]}\t${rt}\t${pyFloatRepr(seqTimes[j])}\t${split}\n`;
    }
  }
}

/** `<name>.<split>.jsonl`: {"user_id": …, "target_id": …, "inter_history": […]} per sample. */
export function* samplesJsonlChunks(ds: PreparedDataset, split: SplitName): Generator<string> {
  yield* chunked(samplesJsonlLines(ds, split));
}

function* samplesJsonlLines(ds: PreparedDataset, split: SplitName): Generator<string> {
  const itemJson = ds.itemIds.map(pyJsonString);
  const { seqOffsets: off, seqItems } = ds;
  const maxLen = ds.config.maxLen;
  for (let u = 0; u + 1 < off.length; u++) {
    const a = off[u];
    const n = off[u + 1] - a;
    if (n < 3) continue;
    const head = `{"user_id": ${pyJsonString(ds.userIds[u])}, "target_id": `;
    const from = split === 'train' ? 1 : split === 'valid' ? n - 2 : n - 1;
    const to = split === 'train' ? n - 3 : from;
    for (let i = from; i <= to; i++) {
      const parts: string[] = [];
      for (let j = Math.max(0, i - maxLen); j < i; j++) parts.push(itemJson[seqItems[a + j] - 1]);
      yield `${head}${itemJson[seqItems[a + i] - 1]}, "inter_history": [${parts.join(', ')}]}\n`;
    }
  }
}

/** `<name>.emb_map.json` as the reference writes it: json.dump(map, indent=2, ensure_ascii=False). */
export function* embMapChunks(ds: Pick<PreparedDataset, 'itemIds'>): Generator<string> {
  function* lines(): Generator<string> {
    yield '{\n  "[PAD]": 0';
    for (let i = 0; i < ds.itemIds.length; i++) yield `,\n  ${pyJsonString(ds.itemIds[i])}: ${i + 1}`;
    yield '\n}';
  }
  yield* chunked(lines());
}

/** `dataset_stats.json` exactly as the reference writes it (json.dump(stats, indent=2), no newline). */
export function datasetStatsJson(stats: DatasetStats): string {
  return '{\n' + REFERENCE_STATS_KEYS.map((k) => `  "${k}": ${stats[k]}`).join(',\n') + '\n}';
}

/** `stats.json` of the CLI: the reference keys first, then sparsity, lengths, histogram, months. */
export function fullStatsJson(stats: DatasetStats): string {
  const ordered: Record<string, unknown> = {};
  for (const k of REFERENCE_STATS_KEYS) ordered[k] = stats[k];
  for (const [k, v] of Object.entries(stats)) if (!(k in ordered)) ordered[k] = v;
  return JSON.stringify(ordered, null, 2) + '\n';
}

function tsvField(s: string): string {
  return s.replace(/[\t\r\n]/g, ' ');
}

/** `<name>.items.tsv`: item_id, asin, title (empty where unknown). */
export function* itemsTsvChunks(ds: Pick<PreparedDataset, 'itemIds' | 'itemTitles'>): Generator<string> {
  function* lines(): Generator<string> {
    yield 'item_id\tasin\ttitle\n';
    for (let i = 0; i < ds.itemIds.length; i++) {
      yield `${i + 1}\t${tsvField(ds.itemIds[i])}\t${tsvField(ds.itemTitles?.[i] ?? '')}\n`;
    }
  }
  yield* chunked(lines());
}

/** Every reference file of a prepared dataset: file name → chunk generator factory. */
export function referenceFiles(ds: PreparedDataset): { name: string; chunks: () => Iterable<string> }[] {
  const files: { name: string; chunks: () => Iterable<string> }[] = [
    { name: `${ds.name}.inter`, chunks: () => interChunks(ds) },
  ];
  for (const s of SPLITS) files.push({ name: `${ds.name}.${s}.jsonl`, chunks: () => samplesJsonlChunks(ds, s) });
  files.push({ name: `${ds.name}.emb_map.json`, chunks: () => embMapChunks(ds) });
  return files;
}
