/**
 * Data preparation per spec §1: iterated k-core (users then items per pass), stable sort by
 * (user string in code-point order, time), leave-one-out, item ids by first appearance.
 */
import { StudioError, throwIfCancelled } from '../errors.ts';
import type { ProgressSink } from '../events.ts';
import { checkDatasetIds } from './ids.ts';
import { computeStats } from './stats.ts';
import type {
  MetadataFormat,
  ParseReport,
  PrepareConfig,
  PreparedDataset,
  RawInteractions,
} from './types.ts';

export interface PrepareOptions {
  signal?: AbortSignal;
  onEvent?: ProgressSink;
  /** Item string → title. */
  titles?: Map<string, string>;
  files?: string[];
  metadataFormat?: MetadataFormat;
  metadataReport?: ParseReport;
}

/** Maps a UTF-16 unit so that numeric order equals code-point order (surrogates above U+E000–U+FFFF). */
function fixUnit(c: number): number {
  if (c >= 0xd800) return c <= 0xdfff ? c + 0x2000 : c - 0x800;
  return c;
}

/** Compares strings by Unicode code points (Python's str order), not UTF-16 units. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixUnit(x) - fixUnit(y);
  }
  return a.length - b.length;
}

/** Result of the iterated k-core: indices of the kept rows (file order) and the number of passes. */
export function kcoreFilter(
  raw: Pick<RawInteractions, 'users' | 'items' | 'count' | 'userNames' | 'itemNames'>,
  k: number,
  onPass?: (pass: number, rows: number) => void,
  signal?: AbortSignal,
): { rows: Int32Array; passes: number } {
  let rows = new Int32Array(raw.count);
  for (let i = 0; i < raw.count; i++) rows[i] = i;
  if (k <= 1) return { rows, passes: 0 };
  const { users, items } = raw;
  const uCount = new Int32Array(raw.userNames.length);
  const iCount = new Int32Array(raw.itemNames.length);
  let passes = 0;
  let n = rows.length;
  for (;;) {
    throwIfCancelled(signal);
    passes++;
    const prev = n;
    uCount.fill(0);
    for (let j = 0; j < n; j++) uCount[users[rows[j]]]++;
    let m = 0;
    for (let j = 0; j < n; j++) {
      const r = rows[j];
      if (uCount[users[r]] >= k) rows[m++] = r;
    }
    n = m;
    iCount.fill(0);
    for (let j = 0; j < n; j++) iCount[items[rows[j]]]++;
    m = 0;
    for (let j = 0; j < n; j++) {
      const r = rows[j];
      if (iCount[items[r]] >= k) rows[m++] = r;
    }
    n = m;
    onPass?.(passes, n);
    if (n === prev) break;
  }
  rows = rows.slice(0, n);
  return { rows, passes };
}

/**
 * Orders kept rows: users by code-point order of their strings, then time ascending, ties in file
 * order (rows must come in file order). Returns the ordered rows and per-user segment offsets.
 */
export function orderRows(
  raw: Pick<RawInteractions, 'users' | 'times' | 'userNames' | 'orderSource'>,
  rows: Int32Array,
): { ordered: Int32Array; userOrder: Int32Array; offsets: Int32Array } {
  const { users, times, userNames } = raw;
  const nu = userNames.length;
  const cnt = new Int32Array(nu);
  for (let j = 0; j < rows.length; j++) cnt[users[rows[j]]]++;
  const present: number[] = [];
  if (raw.orderSource === 'file') {
    // users in order of first appearance among the kept rows
    const seen = new Uint8Array(nu);
    for (let j = 0; j < rows.length; j++) {
      const u = users[rows[j]];
      if (!seen[u]) { seen[u] = 1; present.push(u); }
    }
  } else {
    for (let u = 0; u < nu; u++) if (cnt[u] > 0) present.push(u);
    present.sort((a, b) => compareCodePoints(userNames[a], userNames[b]));
  }
  const userOrder = Int32Array.from(present);
  const start = new Int32Array(nu);
  const offsets = new Int32Array(userOrder.length + 1);
  let acc = 0;
  for (let r = 0; r < userOrder.length; r++) {
    const u = userOrder[r];
    start[u] = acc;
    offsets[r] = acc;
    acc += cnt[u];
  }
  offsets[userOrder.length] = acc;
  // counting sort by user: stable, so each segment stays in file order
  const ordered = new Int32Array(rows.length);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    ordered[start[users[r]]++] = r;
  }
  if (raw.orderSource === 'time') {
    for (let s = 0; s < userOrder.length; s++) {
      const a = offsets[s];
      const b = offsets[s + 1];
      let sorted = true;
      for (let j = a + 1; j < b; j++) {
        if (times[ordered[j]] < times[ordered[j - 1]]) { sorted = false; break; }
      }
      if (sorted) continue;
      if (b - a <= 64) {
        // stable insertion sort on (time, file index)
        for (let j = a + 1; j < b; j++) {
          const r = ordered[j];
          const t = times[r];
          let k = j - 1;
          while (k >= a && (times[ordered[k]] > t || (times[ordered[k]] === t && ordered[k] > r))) {
            ordered[k + 1] = ordered[k];
            k--;
          }
          ordered[k + 1] = r;
        }
        continue;
      }
      const seg = Array.from(ordered.subarray(a, b));
      // rows are file indices, ascending within a segment: tie-break on them keeps file order
      seg.sort((x, y) => (times[x] - times[y]) || (x - y));
      ordered.set(seg, a);
    }
  }
  return { ordered, userOrder, offsets };
}

/** Prepares a dataset from parsed interactions (spec §1). */
export function prepareDataset(
  raw: RawInteractions,
  config: PrepareConfig,
  name: string,
  opts: PrepareOptions = {},
): PreparedDataset {
  const { signal, onEvent } = opts;
  const k = Math.floor(config.kcore);
  const maxLen = Math.floor(config.maxLen);
  if (!Number.isFinite(k) || k < 0) {
    throw new StudioError({ code: 'bad_option', message: 'k-core must be an integer ≥ 0', field: 'kcore', found: String(config.kcore) });
  }
  if (!Number.isFinite(maxLen) || maxLen < 1) {
    throw new StudioError({ code: 'bad_option', message: 'maximum history length must be an integer ≥ 1', field: 'maxLen', found: String(config.maxLen) });
  }
  throwIfCancelled(signal);
  if (raw.count === 0) {
    throw new StudioError({
      code: 'empty_input',
      message: 'No interactions were read from the input',
      file: raw.report?.file,
      details: raw.report,
    });
  }

  onEvent?.({ type: 'phase', stage: 'data', phase: 'filter', message: k > 1 ? `iterated ${k}-core filter` : 'no k-core filter' });
  const { rows, passes } = kcoreFilter(raw, k, (pass, n) => {
    onEvent?.({ type: 'progress', stage: 'data', phase: 'filter', done: pass, unit: 'k-core passes' });
    onEvent?.({ type: 'log', stage: 'data', level: 'info', message: `k-core pass ${pass}: ${n.toLocaleString('en-US')} interactions left` });
  }, signal);
  const emptyError = (extra: string) => new StudioError({
    code: 'empty_after_filter',
    message:
      `Nothing is left after filtering: ${raw.count.toLocaleString('en-US')} interactions of ` +
      `${raw.userNames.length.toLocaleString('en-US')} users and ${raw.itemNames.length.toLocaleString('en-US')} items ` +
      `before the ${k}-core filter${extra}. Lower the k-core value or use a larger file.`,
    file: raw.report?.file,
    field: 'kcore',
    details: { rowsBefore: raw.count, users: raw.userNames.length, items: raw.itemNames.length, kcore: k },
  });
  if (rows.length === 0) throw emptyError('');
  throwIfCancelled(signal);

  onEvent?.({ type: 'phase', stage: 'data', phase: 'sort', message: 'ordering by user and time' });
  let { ordered, userOrder, offsets } = orderRows(raw, rows);
  throwIfCancelled(signal);

  // Users with < 3 rows cannot be split (spec §1.4); only possible when k < 3.
  let short = 0;
  for (let s = 0; s < userOrder.length; s++) if (offsets[s + 1] - offsets[s] < 3) short++;
  if (short > 0) {
    const keepUsers: number[] = [];
    const keepOff: number[] = [0];
    const keptRows: number[] = [];
    for (let s = 0; s < userOrder.length; s++) {
      const a = offsets[s];
      const b = offsets[s + 1];
      if (b - a < 3) continue;
      keepUsers.push(userOrder[s]);
      for (let j = a; j < b; j++) keptRows.push(ordered[j]);
      keepOff.push(keptRows.length);
    }
    onEvent?.({
      type: 'log', stage: 'data', level: 'warn',
      message: `${short.toLocaleString('en-US')} users with fewer than 3 interactions were dropped ` +
        `(leave-one-out needs at least 3; raise k-core to 3 or more to avoid this)`,
    });
    if (keepUsers.length === 0) throw emptyError(' (every remaining user has fewer than 3 interactions)');
    ordered = Int32Array.from(keptRows);
    userOrder = Int32Array.from(keepUsers);
    offsets = Int32Array.from(keepOff);
  }

  onEvent?.({ type: 'phase', stage: 'data', phase: 'ids', message: 'numbering items' });
  const idOf = new Int32Array(raw.itemNames.length); // 0 = unassigned
  const itemIds: string[] = [];
  const n = ordered.length;
  const seqItems = new Int32Array(n);
  const seqTimes = new Float64Array(n);
  const seqRatings = new Float32Array(n);
  const { items, times, ratings } = raw;
  for (let j = 0; j < n; j++) {
    const r = ordered[j];
    const it = items[r];
    let id = idOf[it];
    if (id === 0) {
      itemIds.push(raw.itemNames[it]);
      id = itemIds.length;
      idOf[it] = id;
    }
    seqItems[j] = id;
    seqTimes[j] = times[r];
    seqRatings[j] = ratings[r];
  }
  const userIds = new Array<string>(userOrder.length);
  for (let s = 0; s < userOrder.length; s++) userIds[s] = raw.userNames[userOrder[s]];
  // the parsers refuse such ids with their line; this guards every other source of raw rows
  checkDatasetIds({ userIds, itemIds }, opts.files?.[0] ?? raw.report?.file);

  let itemTitles: (string | null)[] | undefined;
  if (opts.titles) {
    const t = opts.titles;
    itemTitles = itemIds.map((asin) => t.get(asin) ?? null);
  }
  throwIfCancelled(signal);
  onEvent?.({ type: 'phase', stage: 'data', phase: 'stats', message: 'computing statistics' });
  const hasTimestamps = raw.orderSource === 'time';
  const stats = computeStats({ seqOffsets: offsets, seqTimes, hasTimestamps, numItems: itemIds.length, itemTitles });
  return {
    name,
    config: { kcore: k, maxLen },
    source: {
      format: raw.format,
      files: opts.files ?? (raw.report?.file ? [raw.report.file] : []),
      ...(opts.metadataFormat ? { metadataFormat: opts.metadataFormat } : {}),
      ...(raw.report ? { parseReport: raw.report } : {}),
      ...(opts.metadataReport ? { metadataReport: opts.metadataReport } : {}),
      rowsBeforeFilter: raw.count,
      kcorePasses: passes,
    },
    userIds,
    itemIds,
    seqOffsets: offsets,
    seqItems,
    seqTimes,
    seqRatings,
    hasTimestamps,
    ...(itemTitles ? { itemTitles } : {}),
    stats,
  };
}
