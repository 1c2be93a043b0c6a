/**
 * PyTorch checkpoint writer: the zip layout `torch.save` produces (≥ 1.6), loadable by
 * `torch.load(path, weights_only=True)` and by our restricted reader (src/core/io/pth.ts).
 *
 * Layout (as torch's PyTorchStreamWriter writes it): stored (uncompressed) members
 * `<archive>/data.pkl`, `<archive>/byteorder` ("little"), one `<archive>/data/<key>` per storage
 * (raw little-endian elements), `<archive>/version` ("3\n"). Every member's data starts at a
 * multiple of 64 bytes: like torch, the local header carries an extra field `FB` + length + `Z`
 * padding (so torch can mmap the storages).
 *
 * The pickle is protocol 2, built from the opcodes torch.save itself emits: dicts
 * (EMPTY_DICT/SETITEMS), `collections.OrderedDict()` (GLOBAL + REDUCE), lists, tuples, ints
 * (BININT1/BININT2/BININT/LONG1), floats (BINFLOAT), strings (BINUNICODE), True/False/None, and
 * tensors as `torch._utils._rebuild_tensor_v2(persistent_load(('storage', torch.<T>Storage, key,
 * 'cpu', numel)), 0, size, stride, False, OrderedDict())`. Globals and repeated strings are
 * memoised (BINPUT/BINGET) as Python's pickler does.
 *
 * Values: a tensor is any `{ shape, data }` with a typed array (`dtype` optional; Float32Array →
 * float32, Int32Array → int32, BigInt64Array → int64) — a PthTensor of the reader or a NamedArray
 * both qualify. Plain objects and Maps become `dict`, {@link pyOrderedDict} an `OrderedDict`
 * (state dicts), arrays `list`, {@link pyTuple} a `tuple`, {@link pyFloat} a float even when
 * integral (a JS number that is an integer is written as a Python int). Tensors that share one
 * `data` array (tied weights) share one storage, as torch writes them.
 */
import { StudioError } from '../errors.ts';
import { crc32 } from './zip.ts';
import { PTH_STORAGES, type PthDtype } from './pth.ts';

/** The dtypes the writer encodes (float16/bfloat16 are refused rather than rounded). */
export type PthWriteDtype = Exclude<PthDtype, 'float16' | 'bfloat16'>;

export interface PthTensorInput {
  dtype?: PthDtype;
  shape: number[];
  /** Contiguous row-major values, product(shape) of them. */
  data: Float32Array | Float64Array | Int32Array | BigInt64Array;
}

/** A Python float (a JS integer would otherwise be written as an int). */
export class PyFloat {
  constructor(readonly value: number) {}
}
/** A Python tuple. */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}
/** A `collections.OrderedDict` (what `module.state_dict()` returns). */
export class PyOrderedDict {
  constructor(readonly entries: ReadonlyMap<string | number, PyValue>) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PthTensorInput
  | PyFloat
  | PyTuple
  | PyOrderedDict
  | readonly PyValue[]
  | ReadonlyMap<string | number, PyValue>
  | { readonly [key: string]: PyValue };

export const pyFloat = (x: number) => new PyFloat(x);
export const pyTuple = (...items: PyValue[]) => new PyTuple(items);
export function pyOrderedDict(entries: ReadonlyMap<string | number, PyValue> | { readonly [key: string]: PyValue }): PyOrderedDict {
  return new PyOrderedDict(entries instanceof Map ? entries : new Map(Object.entries(entries)));
}

export interface PthWriteOptions {
  /** The archive folder inside the zip (torch uses the file's stem or "archive"). Default "archive". */
  archiveName?: string;
}

/** The reader's storage table turned round: each dtype we write, its torch storage class and width. */
const STORAGE_OF = Object.fromEntries(
  Object.entries(PTH_STORAGES).filter(([, v]) => v.dtype !== 'float16' && v.dtype !== 'bfloat16').map(([name, v]) => [v.dtype, { name, size: v.size }]),
) as Record<PthWriteDtype, { name: string; size: number }>;

const INT_RANGE: Partial<Record<PthWriteDtype, [number, number]>> = {
  int32: [-0x80000000, 0x7fffffff],
  int16: [-0x8000, 0x7fff],
  int8: [-0x80, 0x7f],
  uint8: [0, 0xff],
  bool: [0, 1],
};

function bad(message: string, field?: string, extra: { expected?: string; found?: string } = {}): StudioError {
  return new StudioError({ code: 'bad_option', message: `Cannot write the PyTorch checkpoint: ${message}`, ...(field ? { field } : {}), ...extra });
}

function isTypedData(x: unknown): x is PthTensorInput['data'] {
  return x instanceof Float32Array || x instanceof Float64Array || x instanceof Int32Array || x instanceof BigInt64Array;
}

export function isTensorInput(x: unknown): x is PthTensorInput {
  return !!x && typeof x === 'object' && Array.isArray((x as PthTensorInput).shape) && isTypedData((x as PthTensorInput).data);
}

function dtypeOf(t: PthTensorInput, field: string): PthWriteDtype {
  const d = t.dtype ?? (t.data instanceof Float32Array ? 'float32' : t.data instanceof Float64Array ? 'float64' : t.data instanceof BigInt64Array ? 'int64' : 'int32');
  if (d === 'float16' || d === 'bfloat16') throw bad(`tensor ${field} is ${d}, which this writer does not encode`, field, { expected: 'float32, float64 or an integer dtype', found: d });
  if (!Object.prototype.hasOwnProperty.call(STORAGE_OF, d)) throw bad(`tensor ${field} has an unknown dtype`, field, { found: String(d) });
  const isFloat = d === 'float32' || d === 'float64';
  const floatData = t.data instanceof Float32Array || t.data instanceof Float64Array;
  if (isFloat !== floatData) throw bad(`tensor ${field} is ${d} but holds a ${t.data.constructor.name}`, field);
  return d;
}

/** The raw little-endian bytes of a storage of dtype `d` holding `data`. */
function encodeStorage(d: PthWriteDtype, data: PthTensorInput['data'], field: string): Uint8Array {
  const n = data.length;
  const out = new Uint8Array(n * STORAGE_OF[d].size);
  const dv = new DataView(out.buffer);
  switch (d) {
    case 'float32': for (let i = 0; i < n; i++) dv.setFloat32(4 * i, data[i] as number, true); break;
    case 'float64': for (let i = 0; i < n; i++) dv.setFloat64(8 * i, data[i] as number, true); break;
    case 'int64':
      if (data instanceof BigInt64Array) for (let i = 0; i < n; i++) dv.setBigInt64(8 * i, data[i], true);
      else for (let i = 0; i < n; i++) dv.setBigInt64(8 * i, BigInt(data[i] as number), true);
      break;
    default: {
      const [lo, hi] = INT_RANGE[d]!;
      for (let i = 0; i < n; i++) {
        const v = Number(data[i]);
        if (!(v >= lo && v <= hi)) throw bad(`tensor ${field}: element ${i} (${String(data[i])}) does not fit ${d}`, field, { expected: `${lo}..${hi}`, found: String(data[i]) });
        if (d === 'int32') dv.setInt32(4 * i, v, true);
        else if (d === 'int16') dv.setInt16(2 * i, v, true);
        else if (d === 'int8') dv.setInt8(i, v);
        else dv.setUint8(i, v);
      }
    }
  }
  return out;
}

/** torch's contiguous strides (a zero-sized dimension counts as 1). */
function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= Math.max(shape[i], 1);
  }
  return st;
}

/** A growable byte buffer for the pickle stream. */
class Bytes {
  buf = new Uint8Array(1024);
  len = 0;
  private room(n: number) {
    if (this.len + n <= this.buf.length) return;
    const g = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    g.set(this.buf.subarray(0, this.len));
    this.buf = g;
  }
  byte(b: number) { this.room(1); this.buf[this.len++] = b; }
  bytes(b: Uint8Array) { this.room(b.length); this.buf.set(b, this.len); this.len += b.length; }
  u16(v: number) { this.byte(v & 0xff); this.byte((v >>> 8) & 0xff); }
  u32(v: number) { this.room(4); new DataView(this.buf.buffer).setUint32(this.len, v >>> 0, true); this.len += 4; }
  i32(v: number) { this.room(4); new DataView(this.buf.buffer).setInt32(this.len, v, true); this.len += 4; }
  f64be(v: number) { this.room(8); new DataView(this.buf.buffer).setFloat64(this.len, v, false); this.len += 8; }
  done() { return this.buf.slice(0, this.len); }
}

const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, EMPTY_DICT: 0x7d, EMPTY_LIST: 0x5d, EMPTY_TUPLE: 0x29,
  TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, APPEND: 0x61, APPENDS: 0x65,
  SETITEM: 0x73, SETITEMS: 0x75, BINUNICODE: 0x58, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d,
  LONG1: 0x8a, BINFLOAT: 0x47, NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89, GLOBAL: 0x63,
  BINPERSID: 0x51, REDUCE: 0x52, BINPUT: 0x71, LONG_BINPUT: 0x72, BINGET: 0x68, LONG_BINGET: 0x6a,
} as const;

/** Python's pickler batches APPENDS/SETITEMS by this many items. */
const BATCH = 1000;

interface Storage {
  key: string;
  bytes: Uint8Array;
}

class Pickler {
  readonly out = new Bytes();
  private memo = new Map<string, number>();
  private enc = new TextEncoder();
  readonly storages: Storage[] = [];
  private storageOf = new Map<PthTensorInput['data'], { key: string; dtype: PthWriteDtype }>();
  private depth = 0;

  private put(id: string) {
    const n = this.memo.size;
    this.memo.set(id, n);
    if (n < 256) { this.out.byte(OP.BINPUT); this.out.byte(n); } else { this.out.byte(OP.LONG_BINPUT); this.out.u32(n); }
  }
  /** BINGET of a memoised object; false when it was not memoised yet. */
  private get(id: string): boolean {
    const n = this.memo.get(id);
    if (n === undefined) return false;
    if (n < 256) { this.out.byte(OP.BINGET); this.out.byte(n); } else { this.out.byte(OP.LONG_BINGET); this.out.u32(n); }
    return true;
  }

  global(module: string, name: string) {
    const id = `g:${module}\n${name}`;
    if (this.get(id)) return;
    this.out.byte(OP.GLOBAL);
    this.out.bytes(this.enc.encode(`${module}\n${name}\n`));
    this.put(id);
  }

  str(s: string) {
    const id = `s:${s}`;
    if (this.get(id)) return;
    const b = this.enc.encode(s);
    this.out.byte(OP.BINUNICODE);
    this.out.u32(b.length);
    this.out.bytes(b);
    this.put(id);
  }

  int(v: number | bigint, field: string) {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw bad(`${field}: ${v} is not a safe integer (wrap it in pyFloat, or pass a bigint)`, field);
    if (typeof v === 'number' && v >= 0 && v <= 0xff) { this.out.byte(OP.BININT1); this.out.byte(v); return; }
    if (typeof v === 'number' && v >= 0 && v <= 0xffff) { this.out.byte(OP.BININT2); this.out.u16(v); return; }
    if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) { this.out.byte(OP.BININT); this.out.i32(v); return; }
    // LONG1: minimal two's-complement little-endian bytes (Python's encode_long)
    let x = BigInt(v);
    const bytes: number[] = [];
    if (x !== 0n) {
      for (;;) {
        bytes.push(Number(x & 0xffn));
        x >>= 8n; // arithmetic shift on BigInt
        const sign = bytes[bytes.length - 1] & 0x80;
        if ((x === 0n && !sign) || (x === -1n && sign)) break;
      }
    }
    if (bytes.length > 255) throw bad(`${field}: integer too large`, field);
    this.out.byte(OP.LONG1);
    this.out.byte(bytes.length);
    for (const b of bytes) this.out.byte(b);
  }

  private tuple(items: readonly PyValue[], field: string) {
    if (items.length === 0) { this.out.byte(OP.EMPTY_TUPLE); return; }
    if (items.length > 3) this.out.byte(OP.MARK);
    items.forEach((x, i) => this.value(x, `${field}[${i}]`));
    this.out.byte(items.length === 1 ? OP.TUPLE1 : items.length === 2 ? OP.TUPLE2 : items.length === 3 ? OP.TUPLE3 : OP.TUPLE);
  }

  private setItems(entries: Iterable<[string | number, PyValue]>, field: string) {
    const all = Array.from(entries);
    for (let i = 0; i < all.length; i += BATCH) {
      const chunk = all.slice(i, i + BATCH);
      if (chunk.length > 1) this.out.byte(OP.MARK);
      for (const [k, v] of chunk) {
        const seg = String(k);
        const path = field ? `${field}/${seg}` : seg;
        if (typeof k === 'string') this.str(k);
        else if (typeof k === 'number') this.int(k, path);
        else throw bad(`dict key at ${field || '(root)'} is not a string or an integer`, field);
        this.value(v, path);
      }
      this.out.byte(chunk.length > 1 ? OP.SETITEMS : OP.SETITEM);
    }
  }

  private tensor(t: PthTensorInput, field: string) {
    const dtype = dtypeOf(t, field);
    const shape = t.shape;
    let numel = 1;
    for (const s of shape) {
      if (!Number.isSafeInteger(s) || s < 0) throw bad(`tensor ${field} has a bad shape ${JSON.stringify(shape)}`, field);
      numel *= s;
    }
    if (numel !== t.data.length) throw bad(`tensor ${field}: shape ${JSON.stringify(shape)} holds ${numel} elements, the data ${t.data.length}`, field, { expected: `${numel} elements`, found: `${t.data.length}` });
    let st = this.storageOf.get(t.data);
    if (st && st.dtype !== dtype) st = undefined; // same array under another dtype: its own storage
    if (!st) {
      st = { key: String(this.storages.length), dtype };
      this.storages.push({ key: st.key, bytes: encodeStorage(dtype, t.data, field) });
      if (!this.storageOf.has(t.data)) this.storageOf.set(t.data, st);
    }
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.out.byte(OP.MARK);
    // persistent id ('storage', torch.<T>Storage, key, 'cpu', numel)
    this.out.byte(OP.MARK);
    this.str('storage');
    this.global('torch', STORAGE_OF[dtype].name);
    this.str(st.key);
    this.str('cpu');
    this.int(t.data.length, field);
    this.out.byte(OP.TUPLE);
    this.out.byte(OP.BINPERSID);
    this.int(0, field);
    this.tuple(shape, field);
    this.tuple(contiguousStrides(shape), field);
    this.out.byte(OP.NEWFALSE);
    this.global('collections', 'OrderedDict');
    this.out.byte(OP.EMPTY_TUPLE);
    this.out.byte(OP.REDUCE);
    this.out.byte(OP.TUPLE);
    this.out.byte(OP.REDUCE);
  }

  value(v: PyValue, field: string) {
    if (v === null || v === undefined) { this.out.byte(OP.NONE); return; }
    if (v === true) { this.out.byte(OP.NEWTRUE); return; }
    if (v === false) { this.out.byte(OP.NEWFALSE); return; }
    if (typeof v === 'bigint') { this.int(v, field); return; }
    if (typeof v === 'number') {
      if (Number.isInteger(v)) this.int(v, field);
      else { this.out.byte(OP.BINFLOAT); this.out.f64be(v); }
      return;
    }
    if (typeof v === 'string') { this.str(v); return; }
    if (v instanceof PyFloat) { this.out.byte(OP.BINFLOAT); this.out.f64be(v.value); return; }
    if (isTensorInput(v)) { this.tensor(v, field || '(root)'); return; }
    if (++this.depth > 1000) throw bad('containers nested deeper than 1000 levels', field);
    if (v instanceof PyTuple) this.tuple(v.items, field);
    else if (v instanceof PyOrderedDict) {
      this.global('collections', 'OrderedDict');
      this.out.byte(OP.EMPTY_TUPLE);
      this.out.byte(OP.REDUCE);
      this.setItems(v.entries, field);
    } else if (Array.isArray(v)) {
      this.out.byte(OP.EMPTY_LIST);
      for (let i = 0; i < v.length; i += BATCH) {
        const chunk = v.slice(i, i + BATCH);
        if (chunk.length > 1) this.out.byte(OP.MARK);
        chunk.forEach((x, j) => this.value(x, `${field}[${i + j}]`));
        this.out.byte(chunk.length > 1 ? OP.APPENDS : OP.APPEND);
      }
    } else if (v instanceof Map) {
      this.out.byte(OP.EMPTY_DICT);
      this.setItems(v, field);
    } else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      this.out.byte(OP.EMPTY_DICT);
      this.setItems(Object.entries(v), field);
    } else {
      throw bad(`value at ${field || '(root)'} is not something this writer pickles (${(v as object).constructor?.name ?? typeof v})`, field);
    }
    this.depth--;
  }
}

/** The protocol-2 pickle of `root` and the storages its tensors point at. */
export function picklePth(root: PyValue): { pickle: Uint8Array; storages: { key: string; bytes: Uint8Array }[] } {
  const p = new Pickler();
  p.out.byte(OP.PROTO);
  p.out.byte(2);
  p.value(root, '');
  p.out.byte(OP.STOP);
  return { pickle: p.out.done(), storages: p.storages };
}

/** Byte alignment of every member's data, as torch's PyTorchStreamWriter (kFieldAlignment). */
export const PTH_ALIGNMENT = 64;

/**
 * A zip of stored members whose data each start at a multiple of {@link PTH_ALIGNMENT}, padded the
 * way torch pads them (a local extra field `FB`, its length, then `Z`s). No zip64: at most 65,535
 * members and 4 GiB.
 */
export function zipStoredAligned(members: { name: string; bytes: Uint8Array }[]): Uint8Array {
  const enc = new TextEncoder();
  const entries = members.map((m) => ({ name: enc.encode(m.name), bytes: m.bytes, crc: crc32(m.bytes), offset: 0, pad: 0 }));
  if (entries.length > 0xffff) throw bad(`too many storages for a zip without zip64 (${entries.length})`);
  let at = 0;
  for (const e of entries) {
    e.offset = at;
    const start = at + 30 + e.name.length + 4;
    e.pad = (PTH_ALIGNMENT - (start % PTH_ALIGNMENT)) % PTH_ALIGNMENT;
    at = start + e.pad + e.bytes.length;
  }
  const cdStart = at;
  for (const e of entries) at += 46 + e.name.length;
  const total = at + 22;
  if (cdStart > 0xffffffff || total > 0xffffffff) throw bad('the checkpoint exceeds 4 GiB (zip64 is not written)');
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const DOS_DATE = 0x21; // 1980-01-01, time 00:00 (deterministic output)
  for (const e of entries) {
    let p = e.offset;
    dv.setUint32(p, 0x04034b50, true);
    dv.setUint16(p + 4, 20, true); // version needed
    dv.setUint16(p + 6, 0x0800, true); // UTF-8 names
    dv.setUint16(p + 8, 0, true); // stored
    dv.setUint16(p + 10, 0, true);
    dv.setUint16(p + 12, DOS_DATE, true);
    dv.setUint32(p + 14, e.crc, true);
    dv.setUint32(p + 18, e.bytes.length, true);
    dv.setUint32(p + 22, e.bytes.length, true);
    dv.setUint16(p + 26, e.name.length, true);
    dv.setUint16(p + 28, 4 + e.pad, true);
    out.set(e.name, p + 30);
    p += 30 + e.name.length;
    out[p] = 0x46; out[p + 1] = 0x42; // 'FB'
    dv.setUint16(p + 2, e.pad, true);
    out.fill(0x5a, p + 4, p + 4 + e.pad); // 'Z'
    out.set(e.bytes, p + 4 + e.pad);
  }
  let p = cdStart;
  for (const e of entries) {
    dv.setUint32(p, 0x02014b50, true);
    dv.setUint16(p + 4, 20, true); // made by
    dv.setUint16(p + 6, 20, true);
    dv.setUint16(p + 8, 0x0800, true);
    dv.setUint16(p + 10, 0, true);
    dv.setUint16(p + 12, 0, true);
    dv.setUint16(p + 14, DOS_DATE, true);
    dv.setUint32(p + 16, e.crc, true);
    dv.setUint32(p + 20, e.bytes.length, true);
    dv.setUint32(p + 24, e.bytes.length, true);
    dv.setUint16(p + 28, e.name.length, true);
    // extra length, comment length, disk, internal attrs: 0; external attrs: 0
    dv.setUint32(p + 42, e.offset, true);
    out.set(e.name, p + 46);
    p += 46 + e.name.length;
  }
  dv.setUint32(p, 0x06054b50, true);
  dv.setUint16(p + 8, entries.length, true);
  dv.setUint16(p + 10, entries.length, true);
  dv.setUint32(p + 12, total - 22 - cdStart, true);
  dv.setUint32(p + 16, cdStart, true);
  return out;
}

/**
 * A torch.save-compatible checkpoint of `root`: a state dict ({@link pyOrderedDict}), or a
 * checkpoint such as `{ state_dict: pyOrderedDict(...), epoch: 3 }`.
 */
export function writePth(root: PyValue, opts: PthWriteOptions = {}): Uint8Array {
  const archive = opts.archiveName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(archive)) throw bad('the archive name must be a plain folder name', 'archiveName', { found: archive });
  const { pickle, storages } = picklePth(root);
  const enc = new TextEncoder();
  return zipStoredAligned([
    { name: `${archive}/data.pkl`, bytes: pickle },
    { name: `${archive}/byteorder`, bytes: enc.encode('little') },
    ...storages.map((s) => ({ name: `${archive}/data/${s.key}`, bytes: s.bytes })),
    { name: `${archive}/version`, bytes: enc.encode('3\n') },
  ]);
}

/** A state dict (names → tensors, in order) as torch.save(module.state_dict()) writes it. */
export function writePthStateDict(tensors: Readonly<Record<string, PthTensorInput>> | ReadonlyMap<string, PthTensorInput>, opts: PthWriteOptions = {}): Uint8Array {
  return writePth(pyOrderedDict(tensors), opts);
}
