/**
 * NumPy .npy reader/writer (format versions 1.0, 2.0, 3.0; C order; little-endian or byte-sized
 * dtypes). Used for embedding tables and conformance vectors.
 */
import { StudioError } from '../errors.ts';
import { parsePythonLiteral } from '../data/pyliteral.ts';

export type NpyDtype =
  | '<f4' | '<f8' | '<f2'
  | '|i1' | '<i2' | '<i4' | '<i8'
  | '|u1' | '<u2' | '<u4' | '<u8'
  | '|b1';

export type NpyData =
  | Float32Array | Float64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** `<f2` data is widened to a Float32Array on read (JS has no portable float16 array). */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const ITEM_SIZE: Record<NpyDtype, number> = {
  '<f4': 4, '<f8': 8, '<f2': 2, '|i1': 1, '<i2': 2, '<i4': 4, '<i8': 8,
  '|u1': 1, '<u2': 2, '<u4': 4, '<u8': 8, '|b1': 1,
};

function bad(fileName: string | undefined, message: string, extra: Partial<{ expected: string; found: string }> = {}): StudioError {
  return new StudioError({ code: 'bad_npy', message, ...(fileName ? { file: fileName } : {}), ...extra });
}

/** Normalises descr spellings numpy accepts for the same little-endian type ('=' / '<' / '|'). */
function normaliseDescr(descr: string): string {
  const m = /^([<>=|])([fiub])(\d+)$/.exec(descr);
  if (!m) return descr;
  const [, order, kind, size] = m;
  if (order === '>' && size !== '1') return descr;
  return size === '1' ? `|${kind}1` : `<${kind}${size}`;
}

export function parseNpy(bytes: Uint8Array, fileName?: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, k) => bytes[k] !== b)) {
    throw bad(fileName, 'Not a NumPy .npy file (bad magic bytes)', { expected: '\\x93NUMPY' });
  }
  const major = bytes[6];
  const minor = bytes[7];
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = bytes[8] | (bytes[9] << 8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad(fileName, 'Truncated .npy header');
    headerLen = (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 0x1000000;
    headerStart = 12;
  } else {
    throw bad(fileName, `Unsupported .npy format version ${major}.${minor}`, { expected: '1.0, 2.0 or 3.0' });
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw bad(fileName, 'Truncated .npy header');
  // v1/v2 headers are latin-1, v3 UTF-8; the fields we read are ASCII either way.
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  let header: unknown;
  try {
    header = parsePythonLiteral(headerText.trim());
  } catch (err) {
    throw bad(fileName, `Unreadable .npy header: ${(err as Error).message}`, { found: headerText.trim().slice(0, 120) });
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad(fileName, 'The .npy header is not a dict');
  const h = header as Record<string, unknown>;
  // numpy itself refuses a header whose keys are not exactly these three
  const keys = Object.keys(h).sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    throw bad(fileName, 'The .npy header must have exactly the keys descr, fortran_order and shape', { expected: "{'descr', 'fortran_order', 'shape'}", found: keys.join(', ').slice(0, 120) });
  }
  if (typeof h.descr !== 'string') {
    throw bad(fileName, 'Unsupported .npy dtype (structured arrays are not supported)', { found: JSON.stringify(h.descr) });
  }
  const descr = normaliseDescr(h.descr);
  if (!(descr in ITEM_SIZE)) {
    throw bad(fileName, `Unsupported .npy dtype ${h.descr}${h.descr.startsWith('>') ? ' (big-endian)' : ''}`, {
      expected: 'little-endian float16/32/64, int8..64, uint8..64 or bool',
      found: h.descr,
    });
  }
  const dtype = descr as NpyDtype;
  if (h.fortran_order === true) {
    throw bad(fileName, 'Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray(x) first', {
      expected: 'fortran_order False', found: 'fortran_order True',
    });
  }
  if (h.fortran_order !== false) throw bad(fileName, 'The .npy header has no fortran_order flag');
  const shapeRaw = h.shape;
  const shape = typeof shapeRaw === 'number' ? [shapeRaw] : shapeRaw;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !Number.isSafeInteger(shape.reduce((a: number, d: number) => a * d, 1))) {
    throw bad(fileName, 'The .npy header has an invalid shape', { found: JSON.stringify(shapeRaw) });
  }
  const count = shape.reduce((a: number, d: number) => a * d, 1);
  const itemSize = ITEM_SIZE[dtype];
  const expectedBytes = count * itemSize;
  const available = bytes.length - dataStart;
  if (available !== expectedBytes) {
    throw bad(fileName, available < expectedBytes
      ? `Truncated .npy data: shape (${shape.join(', ')}) of ${dtype} needs ${expectedBytes} bytes, the file holds ${available}`
      : `The .npy data size does not match its header: shape (${shape.join(', ')}) of ${dtype} needs ${expectedBytes} bytes, the file holds ${available}`, {
      expected: `${expectedBytes} data bytes`, found: `${available}`,
    });
  }
  // Copy so the typed array is aligned and independent of the input buffer.
  const buf = bytes.slice(dataStart, dataStart + expectedBytes).buffer;
  let data: NpyData;
  switch (dtype) {
    case '<f4': data = new Float32Array(buf); break;
    case '<f8': data = new Float64Array(buf); break;
    case '<f2': data = halfToFloat32(new Uint16Array(buf)); break;
    case '|i1': data = new Int8Array(buf); break;
    case '<i2': data = new Int16Array(buf); break;
    case '<i4': data = new Int32Array(buf); break;
    case '<i8': data = new BigInt64Array(buf); break;
    case '|u1': case '|b1': data = new Uint8Array(buf); break;
    case '<u2': data = new Uint16Array(buf); break;
    case '<u4': data = new Uint32Array(buf); break;
    case '<u8': data = new BigUint64Array(buf); break;
  }
  return { dtype, shape: shape as number[], data };
}

function halfToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let k = 0; k < h.length; k++) {
    const v = h[k];
    const sign = v & 0x8000 ? -1 : 1;
    const exp = (v >> 10) & 0x1f;
    const frac = v & 0x3ff;
    if (exp === 0) out[k] = sign * frac * 2 ** -24;
    else if (exp === 31) out[k] = frac ? NaN : sign * Infinity;
    else out[k] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** A 2-D float table as float32; rejects NaN/Inf naming the first bad cell (0-based row/column). */
export function npyToFloat32(arr: NpyArray, fileName?: string): { data: Float32Array; rows: number; cols: number } {
  if (arr.dtype !== '<f4' && arr.dtype !== '<f8' && arr.dtype !== '<f2') {
    throw bad(fileName, `Expected a float array, found dtype ${arr.dtype}`, { expected: 'float32, float64 or float16', found: arr.dtype });
  }
  if (arr.shape.length !== 2) {
    throw bad(fileName, `Expected a 2-D table (rows × dimensions), found shape (${arr.shape.join(', ')})`, {
      expected: '2 dimensions', found: `${arr.shape.length}`,
    });
  }
  const [rows, cols] = arr.shape;
  const src = arr.data as Float32Array | Float64Array;
  const data = src instanceof Float32Array ? src : Float32Array.from(src);
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    if (v - v !== 0) {
      const row = Math.floor(k / cols);
      const col = k % cols;
      throw new StudioError({
        code: 'embedding_non_finite',
        message: `The embedding table has a non-finite value (${String(src[k])}) at row ${row}, column ${col} (0-based)`,
        ...(fileName ? { file: fileName } : {}),
        expected: 'finite numbers', found: String(src[k]),
        details: { row, col },
      });
    }
  }
  return { data, rows, cols };
}

/** Integer arrays (any int/uint/bool dtype) as Int32Array; values outside int32 are rejected. */
export function npyToInt32(arr: NpyArray, fileName?: string): Int32Array {
  const d = arr.data;
  if (d instanceof Int32Array) return d;
  if (d instanceof Float32Array || d instanceof Float64Array) {
    throw bad(fileName, `Expected an integer array, found dtype ${arr.dtype}`, { expected: 'an integer dtype', found: arr.dtype });
  }
  const out = new Int32Array(d.length);
  for (let k = 0; k < d.length; k++) {
    const v = Number(d[k]);
    if (v > 2147483647 || v < -2147483648) throw bad(fileName, `Integer value ${String(d[k])} at index ${k} does not fit in int32`);
    out[k] = v;
  }
  return out;
}

/** Writes a v1.0 .npy (C order) byte-identical to numpy's np.save for the same array. */
export function writeNpy(data: Float32Array | Int32Array, shape: number[]): Uint8Array {
  const count = shape.reduce((a, d) => a * d, 1);
  if (count !== data.length) {
    throw new StudioError({ code: 'bad_option', message: `writeNpy: shape (${shape.join(', ')}) holds ${count} values, data has ${data.length}` });
  }
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy leaves room for the first axis to grow to 21 digits (GROWTH_AXIS_MAX_DIGITS).
  if (shape.length) header += ' '.repeat(Math.max(0, 21 - String(shape[0]).length));
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + headerBytes.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = headerBytes.length & 0xff;
  out[9] = headerBytes.length >> 8;
  out.set(headerBytes, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + headerBytes.length);
  return out;
}
