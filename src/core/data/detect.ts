/**
 * Content-based format detection on a small sample of lines (the first ~50 non-blank ones).
 * The file name is only a tie-breaker; content decides.
 */
import type { InteractionFormat, MetadataFormat } from './types.ts';

export const INTERACTION_FORMATS_TEXT =
  'amazon2014 / amazon2018 review JSON lines (reviewerID, asin, unixReviewTime, overall), ' +
  'amazon2023 review JSONL (user_id, parent_asin, timestamp in ms, rating), ' +
  's3rec sequences (`user item1 item2 …` per line), sasrec pairs (`user item` per line)';

export const METADATA_FORMATS_TEXT =
  'amazon2014-meta (Python-literal dicts with asin, title), amazon2018-meta (JSON lines with asin, title), ' +
  'amazon2023-meta (JSONL with parent_asin, title), items-tsv (tab-separated item_id, asin, title)';

function nonBlank(lines: string[]): string[] {
  return lines.filter((l) => l.trim().length > 0);
}

function parseObjects(lines: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of lines) {
    const t = l.trimStart();
    if (t[0] !== '{') continue;
    try {
      const v = JSON.parse(t);
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch { /* not JSON */ }
  }
  return out;
}

const INTEGERISH = /^[+-]?\d+$/;

export function detectInteractionFormat(sampleLines: string[], fileName: string): InteractionFormat | null {
  const lines = nonBlank(sampleLines);
  if (!lines.length) return null;
  const firstChar = lines[0].trimStart()[0];
  if (firstChar === '{') {
    const objs = parseObjects(lines);
    // Most sampled lines must be JSON objects (a Python-literal file parses to none).
    if (!objs.length || objs.length < lines.length * 0.5) return null;
    const has = (k: string) => objs.filter((o) => k in o).length;
    const n = objs.length;
    if (has('inter_history') > n / 2 && has('target_id') > n / 2) return 'reference';
    if (has('user_id') > n / 2 && has('parent_asin') > n / 2) return 'amazon2023';
    if (has('reviewerID') > n / 2 && has('asin') > n / 2) {
      if (has('vote') || has('verified') || has('style')) return 'amazon2018';
      if (has('helpful') || has('reviewTime')) return 'amazon2014';
      return /2018/.test(fileName) ? 'amazon2018' : 'amazon2014';
    }
    return null;
  }
  if (firstChar === '[' || firstChar === '<') return null;
  if (/^user_id:token\t/.test(lines[0])) return 'reference';

  let multi = 0;
  let pairs = 0;
  let tabTable = 0;
  let width = -1;
  let sameWidth = true;
  for (const l of lines) {
    const toks = l.trim().split(/\s+/);
    if (width < 0) width = toks.length;
    else if (toks.length !== width) sameWidth = false;
    if (toks.length >= 2) multi++;
    if (toks.length === 2 && INTEGERISH.test(toks[0]) && INTEGERISH.test(toks[1])) pairs++;
    if (l.includes('\t')) tabTable++;
    // Sequence files hold plain ids; JSON, CSV rows or prose are something else.
    for (const t of toks) if (/[{}"'[\],;:=]/.test(t)) return null;
  }
  // Tab-separated tables with a fixed column count ≥ 3 (e.g. `user item rating ts`) are not sequences.
  if (sameWidth && width >= 3 && tabTable === lines.length && lines.length >= 3) return null;
  if (pairs === lines.length) return 'sasrec';
  // A few single-token lines are tolerated (reported later as malformed).
  if (multi >= 1 && lines.length - multi <= Math.max(1, Math.floor(lines.length * 0.2))) return 's3rec';
  return null;
}

export function detectMetadataFormat(sampleLines: string[], fileName: string): MetadataFormat | null {
  const lines = nonBlank(sampleLines);
  if (!lines.length) return null;
  const first = lines[0].trimStart();
  if (first.startsWith("{'") || first.startsWith('{u\'')) return 'amazon2014-meta';
  if (first[0] === '{') {
    const objs = parseObjects(lines);
    if (!objs.length) {
      // Python-literal dicts whose first key is double-quoted still start with `{"`.
      return /'\s*:/.test(first) || /:\s*'/.test(first) ? 'amazon2014-meta' : null;
    }
    const n = objs.length;
    const has = (k: string) => objs.filter((o) => k in o).length;
    if (objs.length < lines.length * 0.5) return 'amazon2014-meta';
    if (has('parent_asin') > n / 2) return 'amazon2023-meta';
    if (has('asin') > n / 2) return 'amazon2018-meta';
    return null;
  }
  if (lines.every((l) => l.includes('\t'))) return 'items-tsv';
  if (/\.tsv(\.gz)?$/i.test(fileName) && lines.some((l) => l.includes('\t'))) return 'items-tsv';
  return null;
}
