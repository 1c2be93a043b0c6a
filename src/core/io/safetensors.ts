/**
 * safetensors read/write: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`, then the raw
 * little-endian data. Offsets are relative to the data section. Reading validates everything the
 * Rust reference validates: header bounds, JSON, dtypes, shapes, and that the offsets tile the data
 * section exactly (sorted, contiguous, no overlap, no gap, sizes = numel × dtype size).
 */
import { StudioError } from '../errors.ts';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

const DTYPE_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

export interface SafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Raw little-endian bytes (a view into the file for reads). */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** Max header we accept (the Rust reader uses 100 MB). */
const MAX_HEADER = 100_000_000;

function bad(fileName: string | undefined, message: string, extra: { expected?: string; found?: string; field?: string } = {}): StudioError {
  return new StudioError({ code: 'malformed_input', message: `safetensors: ${message}`, ...(fileName ? { file: fileName } : {}), ...extra });
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function f32Tensor(data: Float32Array, shape: number[]): SafeTensor {
  return { dtype: 'F32', shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function i32Tensor(data: Int32Array, shape: number[]): SafeTensor {
  return { dtype: 'I32', shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Writes tensors in the given key order; the header is space-padded to a multiple of 8. */
export function writeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new StudioError({ code: 'bad_option', message: 'A tensor may not be named __metadata__' });
    const size = numel(t.shape) * DTYPE_SIZE[t.dtype];
    if (size !== t.bytes.byteLength) {
      throw new StudioError({ code: 'bad_option', message: `Tensor ${name} has ${t.bytes.byteLength} bytes, its shape needs ${size}` });
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + size] };
    off += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    out.set(t.bytes, at);
    at += t.bytes.byteLength;
  }
  return out;
}

export function readSafetensors(file: Uint8Array, fileName?: string): SafetensorsFile {
  if (file.byteLength < 8) throw bad(fileName, 'file is shorter than the 8-byte header length', { found: `${file.byteLength} bytes` });
  const n = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw bad(fileName, 'header length is implausibly large', { found: String(n) });
  const hlen = Number(n);
  if (8 + hlen > file.byteLength) {
    throw bad(fileName, 'header length points beyond the end of the file', { expected: `≤ ${file.byteLength - 8}`, found: String(hlen) });
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + hlen)));
  } catch (e) {
    throw bad(fileName, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad(fileName, 'header is not a JSON object');
  const dataStart = 8 + hlen;
  const dataLen = file.byteLength - dataStart;
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(fileName, '__metadata__ must be an object of strings', { field: name });
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw bad(fileName, `__metadata__ value for "${k}" is not a string`, { field: k });
        metadata[k] = s;
      }
      continue;
    }
    const info = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!info || typeof info !== 'object') throw bad(fileName, `entry "${name}" is not an object`, { field: name });
    if (typeof info.dtype !== 'string' || !(info.dtype in DTYPE_SIZE)) {
      throw bad(fileName, `tensor "${name}" has an unknown dtype`, { field: name, expected: Object.keys(DTYPE_SIZE).join('|'), found: String(info.dtype) });
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(fileName, `tensor "${name}" has an invalid shape`, { field: name, found: JSON.stringify(shape) });
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0) || offs[1] < offs[0]) {
      throw bad(fileName, `tensor "${name}" has invalid data_offsets`, { field: name, found: JSON.stringify(offs) });
    }
    if (offs[1] > dataLen) {
      throw bad(fileName, `tensor "${name}" ends beyond the end of the file`, { field: name, expected: `≤ ${dataLen}`, found: String(offs[1]) });
    }
    const dtype = info.dtype as SafetensorsDtype;
    const need = numel(shape as number[]) * DTYPE_SIZE[dtype];
    if (offs[1] - offs[0] !== need) {
      throw bad(fileName, `tensor "${name}" spans ${offs[1] - offs[0]} bytes but ${dtype}${JSON.stringify(shape)} needs ${need}`, { field: name });
    }
    entries.push({ name, dtype, shape: shape as number[], begin: offs[0], end: offs[1] });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) throw bad(fileName, `tensor "${e.name}" overlaps the previous tensor`, { field: e.name, expected: `begin ≥ ${at}`, found: String(e.begin) });
    if (e.begin > at) throw bad(fileName, `gap in the data section before tensor "${e.name}"`, { field: e.name, expected: `begin = ${at}`, found: String(e.begin) });
    at = e.end;
  }
  if (at !== dataLen) throw bad(fileName, 'the data section has bytes no tensor covers', { expected: `${at} data bytes`, found: String(dataLen) });
  // no prototype: a tensor may be named "__proto__" (or "constructor") and must stay a tensor
  const tensors: Record<string, SafeTensor> = Object.create(null) as Record<string, SafeTensor>;
  for (const e of entries) tensors[e.name] = { dtype: e.dtype, shape: e.shape, bytes: file.subarray(dataStart + e.begin, dataStart + e.end) };
  return { tensors, metadata };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Float tensor as Float32Array (F32 copied, F64/F16/BF16 converted); others rejected. */
export function toFloat32(t: SafeTensor, name = 'tensor'): Float32Array {
  const n = numel(t.shape);
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN) out.set(new Float32Array(t.bytes.slice().buffer));
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true)); break;
    case 'BF16': {
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        tmp.setUint32(0, dv.getUint16(i * 2, true) << 16);
        out[i] = tmp.getFloat32(0);
      }
      break;
    }
    default:
      throw new StudioError({ code: 'bad_option', message: `${name} is ${t.dtype}, expected a float tensor`, field: name, expected: 'F32|F64|F16|BF16', found: t.dtype });
  }
  return out;
}
