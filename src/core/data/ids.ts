/**
 * User / item ids that the prepared files can hold faithfully (issue 15: `prepare` never writes
 * what its own loader rejects). Decision: such ids are REFUSED, not escaped — the `.inter` format
 * of the reference has no escaping, so an escaped id would differ from the reference's. Refused:
 * tab, newline and carriage return (they split `.inter` / `.items.tsv` rows), lone UTF-16
 * surrogates (not encodable as UTF-8: written as U+FFFD, they would merge distinct ids), U+FFFD
 * itself (what invalid UTF-8 in the input decodes to — two users differing only in invalid bytes
 * would merge), and the item id `[PAD]` (the padding key of emb_map.json).
 * Also: the exact text of large integers in a JSON line (ids above 2^53 stay as written).
 */
import { StudioError } from '../errors.ts';

/** Why `id` cannot be written and read back unchanged, or null when it can. */
export function idProblem(id: string, kind: 'user' | 'item', opts: { allowReplacement?: boolean } = {}): string | null {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c === 9) return 'contains a tab';
    if (c === 10) return 'contains a newline';
    if (c === 13) return 'contains a carriage return';
    if (c === 0xfffd && !opts.allowReplacement) return 'contains U+FFFD (the file has invalid UTF-8 here, or a replacement character): distinct ids could merge';
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = id.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { i++; continue; }
      return 'contains a lone surrogate (not encodable as UTF-8)';
    }
    if (c >= 0xdc00 && c <= 0xdfff) return 'contains a lone surrogate (not encodable as UTF-8)';
  }
  if (kind === 'item' && id === '[PAD]') return 'is [PAD], the padding entry of emb_map.json';
  return null;
}

/** The StudioError for a refused id (the file is added by the parser's caller when unknown). */
export function idError(id: string, kind: 'user' | 'item', problem: string, where: { file?: string; line?: number; field: string }): StudioError {
  return new StudioError({
    code: 'malformed_input',
    ...(where.file ? { file: where.file } : {}),
    ...(where.line !== undefined ? { line: where.line } : {}),
    field: where.field,
    message: `The ${kind} id ${problem}; the prepared files could not hold it faithfully, so the import is refused (fix the id in the input)`,
    expected: 'an id without tab, newline, CR, lone surrogates or U+FFFD',
    found: JSON.stringify(id.length > 60 ? id.slice(0, 60) + '…' : id),
  });
}

/**
 * Throws when a user or item id of a prepared dataset cannot be written faithfully. With
 * `allowReplacement` U+FFFD passes (ids read from prepared text files are already that text).
 */
export function checkDatasetIds(ds: { userIds: readonly string[]; itemIds: readonly string[] }, file?: string, opts: { allowReplacement?: boolean } = {}): void {
  for (const [ids, kind] of [[ds.userIds, 'user'], [ds.itemIds, 'item']] as const) {
    for (const id of ids) {
      const p = idProblem(id, kind, opts);
      if (p) throw idError(id, kind, p, { ...(file ? { file } : {}), field: kind === 'user' ? 'user_id' : 'item_id' });
    }
  }
}

const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function endOfString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92) j++;
    else if (c === 34) return j + 1;
  }
  return s.length;
}

function endOfValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 34) return endOfString(s, i);
  if (c === 123 || c === 91) {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s.charCodeAt(j);
      if (d === 34) { j = endOfString(s, j) - 1; continue; }
      if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) { depth--; if (depth === 0) return j + 1; }
    }
    return s.length;
  }
  let j = i;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 44 || d === 125 || d === 93 || isWs(d)) break;
    j++;
  }
  return j;
}

/**
 * The source text of the top-level member `key` of a JSON object line (the last one, as JSON.parse
 * keeps), or undefined. Iterative (no recursion); assumes the line already parsed as JSON.
 */
export function rawMemberText(line: string, key: string): string | undefined {
  let i = skipWs(line, 0);
  if (line.charCodeAt(i) !== 123) return undefined;
  i++;
  let found: string | undefined;
  for (;;) {
    i = skipWs(line, i);
    if (line.charCodeAt(i) !== 34) return found;
    const kEnd = endOfString(line, i);
    let k: unknown;
    try { k = JSON.parse(line.slice(i, kEnd)); } catch { return found; }
    i = skipWs(line, kEnd);
    if (line.charCodeAt(i) !== 58) return found;
    i = skipWs(line, i + 1);
    const vEnd = endOfValue(line, i);
    if (k === key) found = line.slice(i, vEnd);
    i = skipWs(line, vEnd);
    if (line.charCodeAt(i) !== 44) return found;
    i++;
  }
}

/**
 * The source texts of the top-level elements of a JSON array's text (as rawMemberText returns
 * it), or undefined when it is not an array. Iterative; assumes the text parsed as JSON.
 */
export function rawArrayItems(text: string): string[] | undefined {
  let i = skipWs(text, 0);
  if (text.charCodeAt(i) !== 91) return undefined;
  const out: string[] = [];
  i = skipWs(text, i + 1);
  if (text.charCodeAt(i) === 93) return out;
  for (;;) {
    const end = endOfValue(text, i);
    out.push(text.slice(i, end));
    i = skipWs(text, end);
    if (text.charCodeAt(i) !== 44) return out;
    i = skipWs(text, i + 1);
  }
}

const INTEGER_LITERAL = /^-?(?:0|[1-9]\d*)$/;

/**
 * A JSON number id as text: safe numbers as String(v); integers beyond 2^53 (or beyond the double
 * range) as their exact source digits (Python's json keeps them exact), read back from the line —
 * member `key`, or element `index` of the array under `key`. Null for a non-finite value that is
 * not an integer literal.
 */
export function numberIdText(v: number, line: string, key: string, index?: number): string | null {
  if (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v))) {
    let raw = rawMemberText(line, key);
    if (raw !== undefined && index !== undefined) raw = rawArrayItems(raw)?.[index];
    if (raw !== undefined && INTEGER_LITERAL.test(raw)) return raw;
  }
  return Number.isFinite(v) ? String(v) : null;
}
