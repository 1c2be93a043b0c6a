/**
 * Bounded, integrity-checked decompression for every zip and gzip the studio reads (.pth
 * checkpoints, joint bundles, reference bundles). fflate inflates; this module decides how much it
 * may inflate and checks what came out:
 *
 * - a limit on the inflated bytes (default: {@link inflateLimit} of the compressed size, overridable
 *   with `maxInflatedBytes`), checked against the sizes the archive declares before anything is
 *   inflated, and again while streaming — inflation stops at the limit, whatever was declared;
 * - every zip member inflates to exactly its declared size and matches its CRC-32; a gzip member
 *   matches its trailer (CRC-32 and size mod 2^32). fflate checks neither.
 *
 * Errors are StudioErrors naming the archive and the member.
 */
import { Inflate } from 'fflate';
import { StudioError, type StudioErrorCode } from '../errors.ts';

/** Anything up to this many inflated bytes is always allowed (small archives compress very well). */
export const INFLATE_FLOOR_BYTES = 64 * 1024 * 1024;
/** Beyond the floor, an archive may inflate to this many times its own (compressed) size… */
export const INFLATE_MAX_RATIO = 50;
/** …but never beyond this, unless `maxInflatedBytes` says otherwise. */
export const INFLATE_CAP_BYTES = 1024 * 1024 * 1024;
/** At most this many members in one zip. */
export const ZIP_MAX_MEMBERS = 65_536;

export interface InflateOptions {
  /** Archive name for errors. */
  fileName?: string;
  /** Error code for malformed or over-limit archives (default `malformed_input`). */
  code?: StudioErrorCode;
  /** Most inflated bytes in total (all members); default {@link inflateLimit}(compressed size). */
  maxInflatedBytes?: number;
  /** Put before every message (e.g. "Cannot read the zip archive: "). */
  prefix?: string;
}

/** The default inflated-size limit for an archive of `compressedBytes` bytes. */
export function inflateLimit(compressedBytes: number): number {
  return Math.min(INFLATE_CAP_BYTES, Math.max(INFLATE_FLOOR_BYTES, INFLATE_MAX_RATIO * compressedBytes));
}

/** A running budget of inflated bytes, shared by nested archives (a zip inside a zip). */
export interface InflateBudget {
  limit: number;
  used: number;
}

export function inflateBudget(compressedBytes: number, maxInflatedBytes?: number): InflateBudget {
  const limit = maxInflatedBytes ?? inflateLimit(compressedBytes);
  if (!(typeof limit === 'number' && limit >= 0 && Number.isSafeInteger(limit))) {
    throw new StudioError({ code: 'bad_option', field: 'maxInflatedBytes', message: 'The inflated-size limit must be a non-negative integer', found: String(limit) });
  }
  return { limit, used: 0 };
}

// --- CRC-32 (IEEE 802.3, the zip/gzip one), table-driven ---
let CRC_TABLE: Uint32Array | undefined;
function crcTable(): Uint32Array {
  if (CRC_TABLE) return CRC_TABLE;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return (CRC_TABLE = t);
}

/** CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = crcTable();
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const mib = (n: number) => `${(n / 1048576).toFixed(n < 10 * 1048576 ? 2 : 0)} MiB (${n.toLocaleString('en-US')} bytes)`;

function error(opts: InflateOptions, message: string, extra: { expected?: string; found?: string; member?: string } = {}): StudioError {
  const { member, ...ef } = extra;
  return new StudioError({
    code: opts.code ?? 'malformed_input',
    message: (opts.prefix ?? '') + (member !== undefined ? `zip member ${member}: ${message}` : message),
    ...(opts.fileName ? { file: opts.fileName } : {}),
    ...ef,
    ...(member !== undefined ? { details: { member } } : {}),
  });
}

function overLimit(opts: InflateOptions, budget: InflateBudget, wanted: number, member?: string): StudioError {
  return error(opts,
    `inflates beyond the limit of ${mib(budget.limit)} (a decompression bomb, or pass a larger maxInflatedBytes)`,
    { expected: `at most ${mib(budget.limit)} inflated`, found: `${wanted > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : mib(wanted)} inflated`, ...(member !== undefined ? { member } : {}) });
}

/** Input slice size for streaming inflation: one slice inflates to at most ~1032× its size. */
const SLICE = 16 * 1024;

/**
 * Inflates raw DEFLATE data, stopping as soon as the output would pass `maxOut` (then `onOver` is
 * thrown) — memory stays at the output size plus one slice's worth.
 */
function inflateBounded(data: Uint8Array, maxOut: number, onOver: (size: number) => StudioError, onCorrupt: (msg: string) => StudioError, expected?: number): Uint8Array {
  let out = new Uint8Array(Math.min(maxOut, expected ?? Math.min(maxOut, Math.max(1024, data.length * 4))));
  let len = 0;
  const inf = new Inflate((chunk) => {
    if (len + chunk.length > maxOut) throw onOver(len + chunk.length);
    if (len + chunk.length > out.length) {
      const grown = new Uint8Array(Math.min(maxOut, Math.max(out.length * 2, len + chunk.length)));
      grown.set(out.subarray(0, len));
      out = grown;
    }
    out.set(chunk, len);
    len += chunk.length;
  });
  try {
    if (data.length === 0) inf.push(new Uint8Array(0), true);
    for (let i = 0; i < data.length; i += SLICE) inf.push(data.subarray(i, Math.min(data.length, i + SLICE)), i + SLICE >= data.length);
  } catch (e) {
    if (e instanceof StudioError) throw e;
    throw onCorrupt((e as Error)?.message ?? String(e));
  }
  return len === out.length ? out : out.slice(0, len);
}

// --- zip ---
const u16 = (d: Uint8Array, b: number) => d[b] | (d[b + 1] << 8);
const u32 = (d: Uint8Array, b: number) => (d[b] | (d[b + 1] << 8) | (d[b + 2] << 16) | (d[b + 3] << 24)) >>> 0;
const u64 = (d: Uint8Array, b: number) => u32(d, b) + u32(d, b + 4) * 4294967296; // may pass 2^53: checked by callers

export interface ZipMember {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  /** Offset of the local file header. */
  headerOffset: number;
}

/** Reads the central directory (zip64 included) without inflating anything. */
export function listZip(data: Uint8Array, opts: InflateOptions = {}): ZipMember[] {
  const bad = (m: string, member?: string) => error(opts, `corrupt zip archive: ${m}`, member !== undefined ? { member } : {});
  let e = data.length - 22;
  for (; e >= 0 && u32(data, e) !== 0x06054b50; e--) {
    if (data.length - e > 65_557 + 22) { e = -1; break; }
  }
  if (e < 0) throw bad('no end-of-central-directory record (not a zip, or truncated)');
  let count = u16(data, e + 10);
  let cdOffset = u32(data, e + 16);
  let zip64 = false;
  if (e >= 20 && u32(data, e - 20) === 0x07064b50) {
    const ze = u64(data, e - 12);
    if (ze + 56 <= data.length && u32(data, ze) === 0x06064b50) {
      zip64 = true;
      count = u64(data, ze + 32);
      cdOffset = u64(data, ze + 48);
    }
  }
  if (count > ZIP_MAX_MEMBERS) throw error(opts, `the zip archive has too many members`, { expected: `at most ${ZIP_MAX_MEMBERS}`, found: String(count) });
  const members: ZipMember[] = [];
  let o = cdOffset;
  for (let i = 0; i < count; i++) {
    if (o + 46 > data.length || u32(data, o) !== 0x02014b50) throw bad(`central directory entry ${i + 1} of ${count} is missing`);
    const flags = u16(data, o + 8);
    const method = u16(data, o + 10);
    const crc = u32(data, o + 16);
    let compressedSize = u32(data, o + 20);
    let size = u32(data, o + 24);
    const nameLen = u16(data, o + 28);
    const extraLen = u16(data, o + 30);
    const commentLen = u16(data, o + 32);
    let headerOffset = u32(data, o + 42);
    if (o + 46 + nameLen + extraLen + commentLen > data.length) throw bad(`central directory entry ${i + 1} is truncated`);
    const nameBytes = data.subarray(o + 46, o + 46 + nameLen);
    const name = flags & 0x800 ? new TextDecoder().decode(nameBytes) : latin1(nameBytes);
    const needSize = size === 0xffffffff, needComp = compressedSize === 0xffffffff, needOff = headerOffset === 0xffffffff;
    if (needSize || needComp || needOff) {
      // zip64 extended information extra field (id 1): the fields that overflowed, in this order.
      let x = o + 46 + nameLen;
      const end = x + extraLen;
      let found = false;
      for (; x + 4 <= end; x += 4 + u16(data, x + 2)) {
        if (u16(data, x) !== 1) continue;
        let f = x + 4;
        const fend = f + u16(data, x + 2);
        const next = () => { if (f + 8 > fend) throw bad('zip64 extra field is truncated', name); const v = u64(data, f); f += 8; return v; };
        if (needSize) size = next();
        if (needComp) compressedSize = next();
        if (needOff) headerOffset = next();
        found = true;
        break;
      }
      if (!found && zip64) throw bad('zip64 sizes are missing', name);
    }
    if (flags & 1) throw error(opts, 'encrypted zip members are not supported', { member: name });
    members.push({ name, method, compressedSize, size, crc, headerOffset });
    o += 46 + nameLen + extraLen + commentLen;
  }
  return members;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, Array.from(b.subarray(i, i + 8192)));
  return s;
}

export interface UnzipOptions extends InflateOptions {
  /** Only members for which this is true are inflated (and counted against the limit). */
  filter?: (m: ZipMember) => boolean;
  /** A budget shared with enclosing archives (default: a fresh one for this archive). */
  budget?: InflateBudget;
}

/**
 * Unzips `data` into its members by name, within the inflated-size limit, each checked against its
 * declared size and CRC-32. Duplicate names are refused.
 */
export function unzipChecked(data: Uint8Array, opts: UnzipOptions = {}): Record<string, Uint8Array> {
  const budget = opts.budget ?? inflateBudget(data.length, opts.maxInflatedBytes);
  const members = listZip(data, opts).filter((m) => !opts.filter || opts.filter(m));
  // Before inflating anything: the declared sizes must fit the limit.
  let declared = budget.used;
  for (const m of members) {
    declared += m.size;
    if (!Number.isSafeInteger(m.size) || !Number.isSafeInteger(m.compressedSize) || declared > budget.limit) {
      throw overLimit(opts, budget, declared, m.name);
    }
  }
  const out: Record<string, Uint8Array> = Object.create(null) as Record<string, Uint8Array>;
  for (const m of members) {
    const bad = (msg: string) => error(opts, msg, { member: m.name });
    if (Object.prototype.hasOwnProperty.call(out, m.name)) throw bad('the archive holds this name twice');
    const h = m.headerOffset;
    if (!Number.isSafeInteger(h) || h + 30 > data.length || u32(data, h) !== 0x04034b50) throw bad('corrupt zip archive: local file header missing');
    const start = h + 30 + u16(data, h + 26) + u16(data, h + 28);
    const end = start + m.compressedSize;
    if (end > data.length) throw bad(`corrupt zip archive: data runs past the end of the file`);
    const raw = data.subarray(start, end);
    let bytes: Uint8Array;
    if (m.method === 0) {
      if (m.compressedSize !== m.size) throw bad('stored member whose sizes disagree');
      bytes = raw.slice();
    } else if (m.method === 8) {
      const room = Math.min(m.size, budget.limit - budget.used);
      bytes = inflateBounded(raw, room,
        (n) => n > m.size
          ? error(opts, 'inflates beyond its declared size', { member: m.name, expected: `${m.size.toLocaleString('en-US')} bytes`, found: `more than ${m.size.toLocaleString('en-US')} bytes` })
          : overLimit(opts, budget, budget.used + n, m.name),
        (msg) => bad(`corrupt deflate data (${msg})`), m.size);
      if (bytes.length !== m.size) {
        throw error(opts, 'inflated size differs from the declared one', { member: m.name, expected: `${m.size.toLocaleString('en-US')} bytes`, found: `${bytes.length.toLocaleString('en-US')} bytes` });
      }
    } else {
      throw error(opts, `unsupported zip compression method ${m.method}`, { member: m.name, expected: 'stored (0) or deflate (8)', found: String(m.method) });
    }
    budget.used += bytes.length;
    const crc = crc32(bytes);
    if (crc !== m.crc) {
      throw error(opts, 'CRC-32 mismatch (the member is corrupt)', { member: m.name, expected: `CRC-32 ${hex(m.crc)}`, found: `CRC-32 ${hex(crc)}` });
    }
    out[m.name] = bytes;
  }
  return out;
}

// --- gzip ---

/** Gunzips one gzip member within the inflated-size limit, checking its CRC-32 and size. */
export function gunzipChecked(data: Uint8Array, opts: InflateOptions & { budget?: InflateBudget } = {}): Uint8Array {
  const budget = opts.budget ?? inflateBudget(data.length, opts.maxInflatedBytes);
  const bad = (m: string) => error(opts, `corrupt gzip data: ${m}`);
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b) throw bad('not gzip (no 1f 8b magic) or truncated');
  if (data[2] !== 8) throw bad(`unknown compression method ${data[2]}`);
  const flg = data[3];
  let p = 10;
  if (flg & 4) p += 2 + u16(data, p); // FEXTRA
  const skipZ = () => { while (p < data.length && data[p] !== 0) p++; p++; };
  if (flg & 8) skipZ(); // FNAME
  if (flg & 16) skipZ(); // FCOMMENT
  if (flg & 2) p += 2; // FHCRC
  if (p + 8 > data.length) throw bad('truncated header');
  const declared = u32(data, data.length - 4); // size mod 2^32
  const room = budget.limit - budget.used;
  const bytes = inflateBounded(data.subarray(p, data.length - 8), room,
    (n) => overLimit(opts, budget, budget.used + n), (m) => bad(m), declared <= room ? declared : undefined);
  budget.used += bytes.length;
  const crc = crc32(bytes);
  const want = u32(data, data.length - 8);
  if (crc !== want) throw error(opts, 'gzip CRC-32 mismatch (the file is corrupt or truncated)', { expected: `CRC-32 ${hex(want)}`, found: `CRC-32 ${hex(crc)}` });
  if ((bytes.length >>> 0) !== declared) throw error(opts, 'gzip size mismatch (the file is corrupt or truncated)', { expected: `${declared} bytes (mod 2^32)`, found: `${bytes.length} bytes` });
  return bytes;
}
