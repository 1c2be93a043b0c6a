/**
 * Streaming interaction parsers (Amazon review JSON lines, S3-Rec and SASRec sequence files) into
 * columnar, interned RawInteractions in exact file order. Follows the reference preparation scripts
 * (spec §1.1): blank lines skipped, unparsable lines skipped, rows missing user/item/time dropped,
 * time as float, no de-duplication — but every skipped line is counted and the first ones reported.
 */
import { StudioError } from '../errors.ts';
import { detectInteractionFormat, INTERACTION_FORMATS_TEXT } from './detect.ts';
import { idError, idProblem, numberIdText } from './ids.ts';
import { lineBatches, type ByteSource, type LineReadOptions, type LineStats } from './lines.ts';
import type { InteractionFormat, ParseReport, RawInteractions } from './types.ts';

export interface ParseOptions extends LineReadOptions {
  /** Total input size, when known (informational; progress reports bytes read). */
  totalBytes?: number;
}

export const MAX_PROBLEMS = 20;
export const DETECT_SAMPLE_LINES = 50;

/** Report bookkeeping shared by interaction and metadata parsers. */
export class ReportBuilder {
  readonly report: ParseReport;
  constructor(file: string, format: ParseReport['format']) {
    this.report = {
      file, format, linesRead: 0, blankLines: 0, rowsKept: 0, malformedLines: 0,
      missingFieldRows: 0, problems: [], bytesRead: 0,
    };
  }
  malformed(line: number, reason: string): void {
    this.report.malformedLines++;
    this.problem(line, reason);
  }
  missing(line: number, reason: string): void {
    this.report.missingFieldRows++;
    this.problem(line, reason);
  }
  problem(line: number, reason: string): void {
    if (this.report.problems.length < MAX_PROBLEMS) {
      this.report.problems.push({ line, reason: reason.length > 200 ? reason.slice(0, 199) + '…' : reason });
    }
  }
}

/** Quotes the start of a line for error messages. */
export function quoteStart(line: string, max = 120): string {
  const t = line.length > max ? line.slice(0, max) + '…' : line;
  return `"${t}"`;
}

/**
 * Reads lines in batches, buffering the first `DETECT_SAMPLE_LINES` non-blank lines so the format
 * can be detected before any line is consumed (the source is read only once).
 */
export async function openLines(
  source: ByteSource,
  opts: LineReadOptions,
): Promise<{ sample: string[]; buffered: string[][]; rest: AsyncGenerator<string[]>; stats: LineStats }> {
  const stats: LineStats = { bytesRead: 0, linesRead: 0, gzip: false };
  const rest = lineBatches(source, opts, stats);
  const buffered: string[][] = [];
  const sample: string[] = [];
  while (sample.length < DETECT_SAMPLE_LINES) {
    const r = await rest.next();
    if (r.done) break;
    buffered.push(r.value);
    for (const l of r.value) {
      if (sample.length < DETECT_SAMPLE_LINES && l.trim().length) sample.push(l);
    }
  }
  return { sample, buffered, rest, stats };
}

/**
 * A copy of `s` that does not share storage with the string it was sliced from (V8 may keep the
 * parent of a sliced string alive; short slices are copied by V8 already).
 */
export function detach(s: string): string {
  return s.length >= 13 ? (JSON.parse(JSON.stringify(s)) as string) : s;
}

/** Interns strings to dense ids in first-appearance order. */
class Interner {
  readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  /** For substrings of a line: copy new names, or V8 keeps the whole decoded chunk they were sliced from. */
  idCopy(s: string): number {
    const v = this.ids.get(s);
    return v === undefined ? this.id(detach(s)) : v;
  }
  // Review files are usually grouped by item (or user): a one-entry cache skips most Map lookups.
  private last = '';
  private lastId = -1;
  id(s: string): number {
    if (s === this.last && this.lastId >= 0) return this.lastId;
    let v = this.ids.get(s);
    if (v === undefined) {
      v = this.names.length;
      this.ids.set(s, v);
      this.names.push(s);
    }
    this.last = s;
    this.lastId = v;
    return v;
  }
}

/** Growable columnar storage. */
class Columns {
  count = 0;
  users = new Int32Array(1024);
  items = new Int32Array(1024);
  times = new Float64Array(1024);
  ratings = new Float32Array(1024);
  push(u: number, i: number, t: number, r: number): void {
    const k = this.count;
    if (k === this.users.length) this.grow();
    this.users[k] = u;
    this.items[k] = i;
    this.times[k] = t;
    this.ratings[k] = r;
    this.count = k + 1;
  }
  private grow(): void {
    const cap = this.users.length * 2;
    const u = new Int32Array(cap); u.set(this.users); this.users = u;
    const i = new Int32Array(cap); i.set(this.items); this.items = i;
    const t = new Float64Array(cap); t.set(this.times); this.times = t;
    const r = new Float32Array(cap); r.set(this.ratings); this.ratings = r;
  }
}

interface ReviewFields { user: string; item: string; time: string; rating: string; timeScale: number }

const REVIEW_FIELDS: Partial<Record<InteractionFormat, ReviewFields>> = {
  amazon2014: { user: 'reviewerID', item: 'asin', time: 'unixReviewTime', rating: 'overall', timeScale: 1 },
  amazon2018: { user: 'reviewerID', item: 'asin', time: 'unixReviewTime', rating: 'overall', timeScale: 1 },
  // 2023 timestamps are milliseconds; the reference divides by 1000 (a float).
  amazon2023: { user: 'user_id', item: 'parent_asin', time: 'timestamp', rating: 'rating', timeScale: 1000 },
};

const DEFAULT_RATING = 5.0;

/**
 * A user/item id as a string: strings as is, numbers as their decimal text (integers beyond 2^53
 * as their exact digits in the line), else null.
 */
function idString(v: unknown, line: string, key: string): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numberIdText(v, line, key);
  return null;
}

/** Refuses (with line and field) an id the prepared files could not hold faithfully. */
function checkId(id: string, kind: 'user' | 'item', lineNo: number, field: string): string {
  const p = idProblem(id, kind);
  if (p) throw idError(id, kind, p, { line: lineNo, field });
  return id;
}

/** A number from a number or a numeric string (as pandas' float conversion would), else NaN. */
function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim().length) return Number(v);
  return NaN;
}

/** A short description of a field value (deeply nested values included: never recurses without bound). */
function describe(v: unknown): string {
  if (v === undefined) return 'absent';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? 'a deeply nested list' : v && typeof v === 'object' ? 'a deeply nested object' : String(v);
  }
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}

export async function parseInteractions(
  source: ByteSource,
  fileName: string,
  format: InteractionFormat | 'auto',
  opts: ParseOptions = {},
): Promise<RawInteractions> {
  if (format === 'reference') throw referenceError(fileName);
  const { sample, buffered, rest, stats } = await openLines(source, opts).catch((err) => { throw withFile(err, fileName); });
  let lineNo = 0;
  try {
    if (!sample.length) {
      throw new StudioError({
        code: 'empty_input', file: fileName,
        message: 'The file has no data (it is empty or holds only blank lines)',
      });
    }
    let fmt: InteractionFormat;
    if (format === 'auto') {
      const detected = detectInteractionFormat(sample, fileName);
      if (detected === null) {
        throw new StudioError({
          code: 'unknown_format', file: fileName, line: 1,
          message: `Unrecognised interaction file format. Supported formats: ${INTERACTION_FORMATS_TEXT}. ` +
            `The file starts with ${quoteStart(sample[0])}`,
          expected: 'one of amazon2014, amazon2018, amazon2023, s3rec, sasrec',
          found: quoteStart(sample[0]),
        });
      }
      if (detected === 'reference') throw referenceError(fileName);
      fmt = detected;
    } else {
      fmt = format;
    }

    const rb = new ReportBuilder(fileName, fmt);
    const cols = new Columns();
    const users = new Interner();
    const items = new Interner();
    const fields = REVIEW_FIELDS[fmt];

    const handle = fields
      ? makeReviewHandler(fields, rb, cols, users, items)
      : fmt === 's3rec' || fmt === 'sasrec'
        ? makeSequenceHandler(fmt, rb, cols, users, items)
        : null;
    if (!handle) {
      throw new StudioError({ code: 'bad_option', file: fileName, message: `Unknown interaction format "${String(fmt)}"` });
    }

    const run = (batch: string[]) => {
      for (let k = 0; k < batch.length; k++) {
        lineNo++;
        const line = batch[k];
        if (line.length === 0 || isBlank(line)) { rb.report.blankLines++; continue; }
        try {
          handle(line, lineNo);
        } catch (err) {
          // a refused id (StudioError, with file/line/field) ends the import; anything else the
          // line provoked (e.g. a stack overflow on a 5,000-deep value) makes it one malformed line
          if (err instanceof StudioError) throw err;
          rb.malformed(lineNo, `cannot be read: ${(err as Error)?.message ?? String(err)}`);
        }
      }
    };
    for (const b of buffered) run(b);
    for await (const b of rest) run(b);

    const report = rb.report;
    report.linesRead = lineNo;
    report.rowsKept = cols.count;
    report.bytesRead = stats.bytesRead;
    if (cols.count === 0) {
      const first = report.problems[0];
      throw new StudioError({
        code: 'empty_input', file: fileName,
        message: `No usable ${fmt} rows: ${report.malformedLines} malformed line(s), ` +
          `${report.missingFieldRows} row(s) missing a field` +
          (first ? `; first problem at line ${first.line}: ${first.reason}` : ''),
        ...(first ? { line: first.line } : {}),
        details: report,
      });
    }
    const n = cols.count;
    return {
      format: fmt,
      orderSource: fields ? 'time' : 'file',
      userNames: users.names,
      itemNames: items.names,
      users: cols.users.slice(0, n),
      items: cols.items.slice(0, n),
      times: cols.times.slice(0, n),
      ratings: cols.ratings.slice(0, n),
      count: n,
      report,
    };
  } catch (err) {
    // data that breaks mid-file (corrupt gzip, …): name the line the reader had reached
    if (err instanceof StudioError && err.info.code === 'malformed_input' && err.info.line === undefined && lineNo > 0) {
      throw withFile(new StudioError({ ...err.info, line: lineNo + 1 }), fileName);
    }
    throw withFile(err, fileName);
  } finally {
    await rest.return(undefined);
  }
}

/** Adds the file name to errors raised below the parser (e.g. corrupt gzip data). */
export function withFile(err: unknown, fileName: string): unknown {
  if (err instanceof StudioError && !err.info.file && err.info.code !== 'cancelled') {
    return new StudioError({ ...err.info, file: fileName });
  }
  return err;
}

function referenceError(fileName: string): StudioError {
  return new StudioError({
    code: 'bad_option', file: fileName,
    message: 'Reference bundles (<name>.train/.valid/.test.jsonl + <name>.emb_map.json) are loaded as a ' +
      'whole bundle, not parsed as a single interaction file',
  });
}

export function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 11 && c !== 12 && c !== 0xa0 && c !== 0xfeff) return false;
  }
  return true;
}

function makeReviewHandler(
  f: ReviewFields, rb: ReportBuilder, cols: Columns, users: Interner, items: Interner,
): (line: string, lineNo: number) => void {
  const { user: uf, item: itf, time: tf, rating: rf, timeScale } = f;
  return (line, lineNo) => {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      rb.malformed(lineNo, `not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      rb.malformed(lineNo, 'not a JSON object');
      return;
    }
    const o = obj as Record<string, unknown>;
    const u = idString(o[uf], line, uf);
    if (u === null) { rb.missing(lineNo, `missing field ${uf} (found ${describe(o[uf])})`); return; }
    const it = idString(o[itf], line, itf);
    if (it === null) { rb.missing(lineNo, `missing field ${itf} (found ${describe(o[itf])})`); return; }
    checkId(u, 'user', lineNo, uf);
    checkId(it, 'item', lineNo, itf);
    const tv = o[tf];
    let t = toNumber(tv);
    if (!Number.isFinite(t)) {
      rb.missing(lineNo, tv === undefined || tv === null
        ? `missing field ${tf}`
        : `field ${tf} is not a number (found ${describe(tv)})`);
      return;
    }
    if (timeScale !== 1) t /= timeScale;
    const rv = o[rf];
    let r = rv === undefined || rv === null ? DEFAULT_RATING : toNumber(rv);
    if (!Number.isFinite(r)) r = DEFAULT_RATING;
    cols.push(users.id(u), items.id(it), t, r);
  };
}

/**
 * Sequence files carry no timestamps and no ratings: the time is the running position of the
 * interaction within its user (0, 1, 2, …, continuing if a user appears on several lines) and the
 * rating is 1.0 (implicit feedback).
 */
function makeSequenceHandler(
  fmt: 's3rec' | 'sasrec', rb: ReportBuilder, cols: Columns, users: Interner, items: Interner,
): (line: string, lineNo: number) => void {
  let pos = new Int32Array(1024);
  const toks: string[] = [];
  return (line, lineNo) => {
    splitWs(line, toks);
    if (toks.length < 2) {
      rb.malformed(lineNo, `expected a user followed by ${fmt === 'sasrec' ? 'one item' : 'items'}, found a single token ${quoteStart(toks[0] ?? '', 40)}`);
      return;
    }
    if (fmt === 'sasrec' && toks.length !== 2) {
      rb.malformed(lineNo, `expected \`user item\` (2 tokens), found ${toks.length} tokens`);
      return;
    }
    checkId(toks[0], 'user', lineNo, 'user');
    for (let k = 1; k < toks.length; k++) checkId(toks[k], 'item', lineNo, 'item');
    const u = users.idCopy(toks[0]);
    if (u >= pos.length) {
      const p = new Int32Array(pos.length * 2);
      p.set(pos);
      pos = p;
    }
    let p = pos[u];
    for (let k = 1; k < toks.length; k++) cols.push(u, items.idCopy(toks[k]), p++, 1.0);
    pos[u] = p;
  };
}

/** Splits on ASCII whitespace into `out` (reused to avoid allocation). */
function splitWs(line: string, out: string[]): void {
  out.length = 0;
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    while (i < n && (c === 32 || c === 9 || c === 13 || c === 11 || c === 12)) c = line.charCodeAt(++i);
    if (i >= n) break;
    const s = i;
    while (i < n && c !== 32 && c !== 9 && c !== 13 && c !== 11 && c !== 12) c = line.charCodeAt(++i);
    out.push(line.slice(s, i));
  }
}
