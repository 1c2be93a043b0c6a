/**
 * Item metadata (titles) parsers. Keys are the dataset's raw item strings: ASINs for Amazon files;
 * items-tsv rows are keyed by asin AND by item_id, so S3-Rec files (integer item ids) also get
 * titles. The last occurrence of a key wins (as in the reference's text-embedding script).
 */
import { StudioError } from '../errors.ts';
import { detectMetadataFormat, METADATA_FORMATS_TEXT } from './detect.ts';
import { numberIdText } from './ids.ts';
import { type ByteSource } from './lines.ts';
import { detach, isBlank, openLines, quoteStart, ReportBuilder, withFile, type ParseOptions } from './parse.ts';
import { parsePythonLiteral } from './pyliteral.ts';
import type { MetadataFormat, ParseReport } from './types.ts';

/**
 * Lines without a key or without a non-empty title are skipped and counted in `missingFieldRows`;
 * only a missing key is listed in `problems` (untitled items are common and not an error).
 */
export async function parseMetadata(
  source: ByteSource,
  fileName: string,
  format: MetadataFormat | 'auto',
  opts: ParseOptions = {},
): Promise<{ titles: Map<string, string>; report: ParseReport }> {
  const { sample, buffered, rest, stats } = await openLines(source, opts).catch((err) => { throw withFile(err, fileName); });
  try {
    if (!sample.length) {
      throw new StudioError({ code: 'empty_input', file: fileName, message: 'The metadata file has no data (it is empty or holds only blank lines)' });
    }
    let fmt: MetadataFormat;
    if (format === 'auto') {
      const d = detectMetadataFormat(sample, fileName);
      if (d === null) {
        throw new StudioError({
          code: 'unknown_format', file: fileName, line: 1,
          message: `Unrecognised metadata file format. Supported formats: ${METADATA_FORMATS_TEXT}. ` +
            `The file starts with ${quoteStart(sample[0])}`,
          expected: 'one of amazon2014-meta, amazon2018-meta, amazon2023-meta, items-tsv',
          found: quoteStart(sample[0]),
        });
      }
      fmt = d;
    } else {
      fmt = format;
    }

    const rb = new ReportBuilder(fileName, fmt);
    const titles = new Map<string, string>();
    let lineNo = 0;
    let handle: (line: string, lineNo: number) => void;
    if (fmt === 'items-tsv') {
      handle = makeTsvHandler(rb, titles);
    } else if (fmt === 'amazon2014-meta' || fmt === 'amazon2018-meta' || fmt === 'amazon2023-meta') {
      handle = makeObjectHandler(fmt, rb, titles);
    } else {
      throw new StudioError({ code: 'bad_option', file: fileName, message: `Unknown metadata format "${String(fmt)}"` });
    }

    const run = (batch: string[]) => {
      for (let k = 0; k < batch.length; k++) {
        lineNo++;
        const line = batch[k];
        if (line.length === 0 || isBlank(line)) { rb.report.blankLines++; continue; }
        try {
          handle(line, lineNo);
        } catch (err) {
          // whatever one line provokes (e.g. a stack overflow on a deeply nested value) skips that line
          if (err instanceof StudioError) throw err;
          rb.malformed(lineNo, `cannot be read: ${(err as Error)?.message ?? String(err)}`);
        }
      }
    };
    for (const b of buffered) run(b);
    for await (const b of rest) run(b);

    const report = rb.report;
    report.linesRead = lineNo;
    report.bytesRead = stats.bytesRead;
    return { titles, report };
  } catch (err) {
    throw withFile(err, fileName);
  } finally {
    await rest.return(undefined);
  }
}

const PY_DICT_START = /^\s*\{\s*'/;

function makeObjectHandler(
  fmt: 'amazon2014-meta' | 'amazon2018-meta' | 'amazon2023-meta',
  rb: ReportBuilder,
  titles: Map<string, string>,
): (line: string, lineNo: number) => void {
  const keyField = fmt === 'amazon2023-meta' ? 'parent_asin' : 'asin';
  return (line, lineNo) => {
    let obj: unknown;
    let fromJson = true;
    if (fmt === 'amazon2014-meta') {
      // JSON fast path only where the line could be JSON: a failing JSON.parse is not free.
      let parsed = false;
      if (!PY_DICT_START.test(line)) {
        try { obj = JSON.parse(line); parsed = true; } catch { /* fall back to the Python literal */ }
      }
      if (!parsed) {
        fromJson = false;
        try {
          obj = parsePythonLiteral(line, { unsafeIntegersAsText: true });
        } catch (err) {
          rb.malformed(lineNo, `not a valid Python literal: ${(err as Error).message}`);
          return;
        }
      }
    } else {
      try {
        obj = JSON.parse(line);
      } catch (err) {
        rb.malformed(lineNo, `not valid JSON: ${(err as Error).message}`);
        return;
      }
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      rb.malformed(lineNo, 'not a dict / JSON object');
      return;
    }
    const o = obj as Record<string, unknown>;
    let key = o[keyField];
    // a numeric id keeps its exact digits beyond 2^53 (JSON: read from the line; Python literals: parsed as text)
    if (typeof key === 'number') key = fromJson ? numberIdText(key, line, keyField) : Number.isFinite(key) ? String(key) : null;
    if (typeof key !== 'string' || key.length === 0) {
      rb.missing(lineNo, `missing field ${keyField}`);
      return;
    }
    const title = o.title;
    if (typeof title !== 'string' || title.trim().length === 0) {
      rb.report.missingFieldRows++;
      return;
    }
    titles.set(detach(key), detach(title));
    rb.report.rowsKept++;
  };
}

const HEADER_NAMES = new Set(['item_id', 'asin', 'title', 'item', 'id', 'parent_asin']);

/**
 * items-tsv: columns item_id, asin, title. An optional header (first cell non-numeric, e.g.
 * "item_id") may reorder the columns; without one, 3 columns mean item_id/asin/title and 2 columns
 * item_id/title.
 */
function makeTsvHandler(rb: ReportBuilder, titles: Map<string, string>): (line: string, lineNo: number) => void {
  let idCol = 0;
  let asinCol = 1;
  let titleCol = 2;
  let seenFirst = false;
  return (line, lineNo) => {
    const cells = line.split('\t');
    if (!seenFirst) {
      seenFirst = true;
      const c0 = cells[0].trim();
      const lower = cells.map((c) => c.trim().toLowerCase());
      if (!/^\d+$/.test(c0) && lower.some((c) => HEADER_NAMES.has(c))) {
        idCol = lower.findIndex((c) => c === 'item_id' || c === 'id' || c === 'item');
        asinCol = lower.findIndex((c) => c === 'asin' || c === 'parent_asin');
        titleCol = lower.indexOf('title');
        if (titleCol < 0) {
          throw new StudioError({
            code: 'malformed_input', file: rb.report.file, line: lineNo, field: 'title',
            message: 'The TSV header has no title column', expected: 'item_id, asin, title', found: quoteStart(line),
          });
        }
        return;
      }
      if (cells.length === 2) { asinCol = -1; titleCol = 1; }
    }
    if (cells.length < 2) {
      rb.malformed(lineNo, `expected tab-separated columns, found ${cells.length}`);
      return;
    }
    const id = idCol >= 0 ? (cells[idCol] ?? '').trim() : '';
    const asin = asinCol >= 0 ? (cells[asinCol] ?? '').trim() : '';
    if (!id && !asin) {
      rb.missing(lineNo, 'missing item_id and asin');
      return;
    }
    const title = cells[titleCol] ?? '';
    if (title.trim().length === 0) {
      rb.report.missingFieldRows++;
      return;
    }
    const t = detach(title);
    if (asin) titles.set(detach(asin), t);
    if (id) titles.set(detach(id), t);
    rb.report.rowsKept++;
  };
}
