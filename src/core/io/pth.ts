/**
 * Restricted reader for PyTorch zip checkpoints (torch.save ≥ 1.6): `<archive>/data.pkl` is a pickle
 * whose tensors point (BINPERSID) at raw storages `<archive>/data/<key>`.
 *
 * The unpickler never executes anything: it knows the data opcodes torch.save emits (protocol 2,
 * plus the protocol-4 framing/memo opcodes) and rebuilds objects only through a whitelist of globals
 * (torch._utils._rebuild_tensor_v2 / _rebuild_parameter, collections.OrderedDict, torch.<T>Storage).
 * Any other global or opcode is rejected with a StudioError naming it.
 */
import { StudioError } from '../errors.ts';
import { unzipChecked } from './zip.ts';

export type PthDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface PthTensor {
  dtype: PthDtype;
  shape: number[];
  /** Contiguous row-major values: float types as float32, int64 as BigInt64Array, others Int32Array. */
  data: Float32Array | Int32Array | BigInt64Array;
}

/**
 * Bounds of the unpickler. A torch.save state dict nests a few levels and holds a few thousand
 * objects; these are far above that and far below what exhausts memory or the JS stack.
 */
export const PTH_LIMITS = {
  /** Containers (lists, tuples, dicts) nested inside each other, counted from the root. */
  maxDepth: 1000,
  /** Entries of the pickle stack (MARKs included) at any moment. */
  maxStack: 1 << 22,
  /** Distinct memo slots. */
  maxMemo: 1 << 22,
  /** Items of one list/tuple, or entries of one dict. */
  maxContainerItems: 1 << 22,
  /** Dimensions of one tensor. */
  maxDims: 64,
  /**
   * Elements all tensors may hold together, as a multiple of the elements of the storages they
   * view (shared, sliced and expanded views included), plus a small allowance.
   */
  maxViewRatio: 4,
  viewAllowance: 1 << 16,
};

/** torch storage classes (the pickle's GLOBAL torch.<name>) and the dtype and bytes per element of each. */
export const PTH_STORAGES: Record<string, { dtype: PthDtype; size: number }> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
};

class Global {
  constructor(readonly module: string, readonly name: string) {}
}
class StorageType {
  constructor(readonly name: string) {}
}
interface StorageRef {
  kind: 'storage';
  type: string;
  key: string;
  numel: number;
}
/** A _rebuild_tensor_v2 call, materialised (validated, then copied) once the whole pickle is read. */
class PendingTensor {
  constructor(readonly args: unknown[]) {}
}

/** A pickled dict (OrderedDict or dict): string-keyed entries in order. */
export type PyDict = Map<unknown, unknown>;

interface FailExtra { field?: string; expected?: string; found?: string }

function fail(fileName: string | undefined, message: string, extra: FailExtra = {}): StudioError {
  return new StudioError({ code: 'malformed_input', message: `PyTorch checkpoint: ${message}`, ...(fileName ? { file: fileName } : {}), ...extra });
}

/** A short, safe description of a pickled value for error messages (no JSON.stringify: cycles). */
function describe(v: unknown, depth = 0): string {
  if (typeof v === 'bigint') return `${v} (beyond 2^53)`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === null || v === undefined || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (depth > 1) return '[…]';
    const head = v.slice(0, 8).map((x) => describe(x, depth + 1));
    return `[${head.join(', ')}${v.length > 8 ? `, … (${v.length} items)` : ''}]`;
  }
  if (v instanceof Map) return `a dict of ${v.size} entries`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v instanceof PendingTensor) return 'a tensor';
  return typeof v === 'object' ? (v as object).constructor?.name ?? 'an object' : typeof v;
}

const quote = (s: string) => (s.length > 80 ? `${s.slice(0, 80)}… (${s.length} characters)` : s);

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export interface PthFile {
  /** The unpickled object: Map for dicts, arrays for lists/tuples, PthTensor for tensors. */
  root: unknown;
}

export interface PthReadOptions {
  /** Most bytes the archive may inflate to (see src/core/io/zip.ts; default relative to its size). */
  maxInflatedBytes?: number;
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

export function readPth(bytes: Uint8Array, fileName?: string, opts: PthReadOptions = {}): PthFile {
  if (bytes.length >= 2 && bytes[0] === 0x80) {
    throw fail(fileName, 'legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a newer PyTorch');
  }
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw fail(fileName, 'not a zip archive (expected a torch.save file)');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipChecked(bytes, { fileName, code: 'malformed_input', ...(opts.maxInflatedBytes !== undefined ? { maxInflatedBytes: opts.maxInflatedBytes } : {}) });
  } catch (e) {
    if (e instanceof StudioError) throw new StudioError({ ...e.info, message: `PyTorch checkpoint: ${e.info.message}` });
    throw fail(fileName, `corrupt zip archive (${(e as Error).message})`);
  }
  const names = Object.keys(files);
  const pkl = names.find((k) => k === 'data.pkl' || k.endsWith('/data.pkl'));
  if (!pkl) throw fail(fileName, 'no data.pkl in the archive');
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = files[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little') throw fail(fileName, 'big-endian checkpoints are not supported');
  const decoded = new Map<string, Float32Array | Int32Array | BigInt64Array>();
  // The storages' real bytes (at least their element count): the budget for all tensor views together.
  let storageBytes = 0;
  for (const k of names) if (k.startsWith(`${prefix}data/`)) storageBytes += files[k].length;
  let viewBudget = PTH_LIMITS.maxViewRatio * storageBytes + PTH_LIMITS.viewAllowance;

  /** The storage's bytes, checked to hold its declared element count. */
  const storageRaw = (ref: StorageRef, field: string) => {
    const raw = Object.prototype.hasOwnProperty.call(files, `${prefix}data/${ref.key}`) ? files[`${prefix}data/${ref.key}`] : undefined;
    const st = PTH_STORAGES[ref.type];
    if (!raw) throw fail(fileName, `tensor ${field}: storage data/${ref.key} is missing from the archive`, { field });
    const n = ref.numel;
    if (raw.length < n * st.size) {
      throw fail(fileName, `tensor ${field}: storage data/${ref.key} has ${raw.length} bytes, expected ${n * st.size}`, {
        field, expected: `${n} ${st.dtype} elements (${n * st.size} bytes)`, found: `${raw.length} bytes`,
      });
    }
    return raw;
  };
  const storageData = (ref: StorageRef, field: string) => {
    let d = decoded.get(ref.key);
    if (d) return d;
    const raw = storageRaw(ref, field);
    const st = PTH_STORAGES[ref.type];
    const n = ref.numel;
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    switch (st.dtype) {
      case 'float32': d = new Float32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getFloat32(4 * i, true); break;
      case 'float64': d = new Float32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getFloat64(8 * i, true); break;
      case 'float16': d = new Float32Array(n); for (let i = 0; i < n; i++) d[i] = f16(dv.getUint16(2 * i, true)); break;
      case 'bfloat16': { d = new Float32Array(n); const w = new Uint32Array(d.buffer); for (let i = 0; i < n; i++) w[i] = dv.getUint16(2 * i, true) << 16; break; }
      case 'int64': d = new BigInt64Array(n); for (let i = 0; i < n; i++) d[i] = dv.getBigInt64(8 * i, true); break;
      case 'int32': d = new Int32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getInt32(4 * i, true); break;
      case 'int16': d = new Int32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getInt16(2 * i, true); break;
      case 'int8': d = new Int32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getInt8(i); break;
      default: d = new Int32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getUint8(i); break;
    }
    decoded.set(ref.key, d);
    return d;
  };

  /** Validates a view against its storage (in safe integers, before allocating), then copies it. */
  const rebuildTensor = (args: unknown[], field: string): PthTensor => {
    const bad = (message: string, expected?: string, found?: string) =>
      fail(fileName, `tensor ${field}: ${message}`, { field, ...(expected !== undefined ? { expected } : {}), ...(found !== undefined ? { found } : {}) });
    const [storage, offset, size, stride] = args as [StorageRef, unknown, unknown, unknown];
    if (!storage || typeof storage !== 'object' || (storage as StorageRef).kind !== 'storage') {
      throw bad('_rebuild_tensor_v2 called with unexpected arguments', 'a storage reference first', describe(storage));
    }
    if (!Array.isArray(size) || !Array.isArray(stride)) throw bad('_rebuild_tensor_v2 called with unexpected arguments', 'size and stride tuples', `${describe(size)} and ${describe(stride)}`);
    if (size.length !== stride.length) throw bad('size and stride have different lengths', `${size.length} strides`, `${stride.length}`);
    if (size.length > PTH_LIMITS.maxDims) throw bad('too many dimensions', `at most ${PTH_LIMITS.maxDims}`, String(size.length));
    if (!isCount(offset)) throw bad('storage offset is not a non-negative integer', 'a non-negative safe integer', describe(offset));
    for (let j = 0; j < size.length; j++) {
      if (!isCount(size[j])) throw bad(`size[${j}] is not a non-negative integer`, 'non-negative safe integers', `size ${describe(size)}`);
      if (!isCount(stride[j])) throw bad(`stride[${j}] is not a non-negative integer`, 'non-negative safe integers', `stride ${describe(stride)}`);
    }
    const shape = size as number[];
    const strides = stride as number[];
    let n = 1;
    for (const s of shape) {
      n *= s;
      if (!Number.isSafeInteger(n)) throw bad('element count overflows', 'fewer than 2^53 elements', `size ${describe(shape)}`);
    }
    storageRaw(storage, field);
    const numel = storage.numel;
    // The last element the view touches: offset + Σ (size−1)·stride, all in safe integers.
    let last = offset;
    if (n > 0) {
      for (let j = 0; j < shape.length; j++) {
        last += (shape[j] - 1) * strides[j];
        if (!Number.isSafeInteger(last)) break;
      }
    }
    if (!Number.isSafeInteger(last) || (n > 0 ? last >= numel : offset > numel)) {
      throw bad(`view exceeds its storage of ${numel} elements`,
        `offset + extent within ${numel} elements`,
        `offset ${offset}, size ${describe(shape)}, stride ${describe(strides)}${Number.isSafeInteger(last) ? ` (last element ${last})` : ''}`);
    }
    if (n > viewBudget) {
      throw bad('the tensors hold more elements than their storages allow (expanded or repeated views)',
        `at most ${viewBudget} more elements`, `${n} elements`);
    }
    viewBudget -= n;
    const src = storageData(storage, field);
    const out = new (src.constructor as { new (n: number): Float32Array | Int32Array | BigInt64Array })(n);
    if (n > 0) {
      const idx = new Array<number>(shape.length).fill(0);
      let at = offset;
      for (let i = 0; i < n; i++) {
        (out as Float32Array)[i] = (src as Float32Array)[at];
        for (let j = shape.length - 1; j >= 0; j--) {
          idx[j]++;
          at += strides[j];
          if (idx[j] < shape[j]) break;
          at -= strides[j] * shape[j];
          idx[j] = 0;
        }
      }
    }
    return { dtype: PTH_STORAGES[storage.type].dtype, shape: shape.slice(), data: out };
  };

  const root = unpickle(files[pkl], fileName);
  return { root: materialize(root, fileName, rebuildTensor) };
}

/**
 * Replaces every pending tensor by the tensor itself, naming it by its path from the root
 * (`state_dict/encoder.weight`, `flags[2]`); refuses cycles and nesting deeper than maxDepth.
 * Each container is visited once (shared ones included), so this is linear in the object count.
 */
function materialize(root: unknown, fileName: string | undefined, rebuild: (args: unknown[], field: string) => PthTensor): unknown {
  const tensors = new Map<PendingTensor, PthTensor>();
  const done = new Set<object>();
  const open = new Set<object>();
  const tensorOf = (p: PendingTensor, path: string) => {
    let t = tensors.get(p);
    if (!t) { t = rebuild(p.args, path || '(root)'); tensors.set(p, t); }
    return t;
  };
  const visit = (v: unknown, path: string, depth: number): unknown => {
    if (v instanceof PendingTensor) return tensorOf(v, path);
    if (!(Array.isArray(v) || v instanceof Map)) return v;
    if (done.has(v)) return v;
    const where = path || '(root)';
    if (open.has(v)) throw fail(fileName, `the pickle holds a cycle at ${where} (a container inside itself)`, { field: where, expected: 'a tree of dicts, lists and tensors', found: 'a cycle' });
    if (depth > PTH_LIMITS.maxDepth) throw fail(fileName, `containers nested deeper than ${PTH_LIMITS.maxDepth} levels`, { field: where, expected: `at most ${PTH_LIMITS.maxDepth} levels`, found: 'deeper nesting' });
    open.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = visit(v[i], `${path}[${i}]`, depth + 1);
    } else {
      for (const [k, x] of v) {
        if (k !== null && typeof k === 'object') throw fail(fileName, `dict at ${where} has a key that is not a string or number`, { field: where, found: describe(k) });
        const seg = typeof k === 'string' ? k : String(k);
        v.set(k, visit(x, path ? `${path}/${seg}` : seg, depth + 1));
      }
    }
    open.delete(v);
    done.add(v);
    return v;
  };
  return visit(root, '', 0);
}

/** Latin-1 text of `b`, in chunks (no argument spread over an unbounded array). */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, Array.from(b.subarray(i, Math.min(b.length, i + 8192))));
  return s;
}

function unpickle(buf: Uint8Array, fileName: string | undefined): unknown {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const L = PTH_LIMITS;
  const stack: unknown[] = [];
  /** Stack lengths at each open MARK (Python's metastack): nothing pops below the last one. */
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let p = 0;
  const need = (n: number) => {
    if (!(p + n <= buf.length)) throw fail(fileName, 'truncated pickle stream');
  };
  const u8 = () => (need(1), buf[p++]);
  const u16 = () => (need(2), (p += 2), dv.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), dv.getUint32(p - 4, true));
  const str = (n: number, isLatin1 = false) => {
    need(n);
    const s = isLatin1 ? latin1(buf.subarray(p, p + n)) : utf8.decode(buf.subarray(p, p + n));
    p += n;
    return s;
  };
  const line = () => {
    const e = buf.indexOf(0x0a, p);
    if (e < 0) throw fail(fileName, 'truncated pickle stream');
    const s = latin1(buf.subarray(p, e));
    p = e + 1;
    return s;
  };
  const push = (v: unknown) => {
    if (stack.length >= L.maxStack) throw fail(fileName, `pickle stack grows beyond ${L.maxStack} entries`, { expected: `at most ${L.maxStack} stack entries`, found: 'more' });
    stack.push(v);
  };
  const floor = () => (marks.length ? marks[marks.length - 1] : 0);
  const pop = () => {
    if (stack.length <= floor()) throw fail(fileName, 'pickle stack underflow');
    return stack.pop();
  };
  const popMark = () => {
    if (!marks.length) throw fail(fileName, 'pickle MARK missing');
    return stack.splice(marks.pop()!);
  };
  const top = () => {
    if (stack.length <= floor()) throw fail(fileName, 'pickle stack underflow');
    return stack[stack.length - 1];
  };
  const tooMany = (what: string, n: number) =>
    fail(fileName, `${what} with more than ${L.maxContainerItems} items`, { expected: `at most ${L.maxContainerItems} items`, found: `${n} items` });
  const checkItems = (what: string, n: number) => { if (n > L.maxContainerItems) throw tooMany(what, n); };
  const asDict = (d: unknown, op: string) => {
    if (!(d instanceof Map)) throw fail(fileName, `${op} on a non-dict`, { expected: 'a dict', found: describe(d) });
    return d;
  };
  const setItems = (d: Map<unknown, unknown>, items: unknown[], op: string) => {
    if (items.length % 2) throw fail(fileName, `${op} with an odd number of items`, { expected: 'key/value pairs', found: `${items.length} items` });
    checkItems('a dict', d.size + items.length / 2);
    for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
  };
  const memoPut = (k: number) => {
    if (!memo.has(k) && memo.size >= L.maxMemo) throw fail(fileName, `pickle memo grows beyond ${L.maxMemo} entries`, { expected: `at most ${L.maxMemo} memo entries`, found: 'more' });
    memo.set(k, top());
  };
  const makeGlobal = (module: string, name: string) => {
    if (module === 'torch' && Object.prototype.hasOwnProperty.call(PTH_STORAGES, name)) return new StorageType(name);
    const allowed = ['torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', 'collections.OrderedDict'];
    if (!allowed.includes(`${module}.${name}`)) {
      throw fail(fileName, `pickle global ${quote(module)}.${quote(name)} is not allowed (this reader only rebuilds tensors and dicts)`);
    }
    return new Global(module, name);
  };
  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); p += 8; break; // FRAME
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) throw fail(fileName, 'pickle ended with an unbalanced stack');
        return stack[0];
      case 0x28: // MARK
        if (marks.length >= L.maxStack) throw fail(fileName, 'too many open pickle MARKs');
        marks.push(stack.length);
        break;
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push([]); break; // EMPTY_TUPLE
      case 0x74: { const items = popMark(); checkItems('a tuple', items.length); push(items); break; } // TUPLE
      case 0x85: push([pop()]); break;
      case 0x86: { const b = pop(); const a = pop(); push([a, b]); break; }
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push([a, b, c]); break; }
      case 0x6c: { const items = popMark(); checkItems('a list', items.length); push(items); break; } // LIST
      case 0x61: { // APPEND
        const v = pop(); const l = top();
        if (!Array.isArray(l)) throw fail(fileName, 'APPEND on a non-list', { expected: 'a list', found: describe(l) });
        checkItems('a list', l.length + 1);
        l.push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark(); const l = top();
        if (!Array.isArray(l)) throw fail(fileName, 'APPENDS on a non-list', { expected: 'a list', found: describe(l) });
        checkItems('a list', l.length + items.length);
        for (let i = 0; i < items.length; i++) l.push(items[i]);
        break;
      }
      case 0x64: { const items = popMark(); const d = new Map(); setItems(d, items, 'DICT'); push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); const d = asDict(top(), 'SETITEM'); checkItems('a dict', d.size + 1); d.set(k, v); break; }
      case 0x75: { const items = popMark(); setItems(asDict(top(), 'SETITEMS'), items, 'SETITEMS'); break; }
      case 0x58: push(str(u32())); break; // BINUNICODE
      case 0x8c: push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(dv.getBigUint64(p, true)); p += 8; push(str(n)); break; } // BINUNICODE8
      case 0x54: push(str(u32(), true)); break; // BINSTRING
      case 0x55: push(str(u8(), true)); break; // SHORT_BINSTRING
      case 0x42: { const n = u32(); need(n); push(buf.slice(p, p + n)); p += n; break; } // BINBYTES
      case 0x43: { const n = u8(); need(n); push(buf.slice(p, p + n)); p += n; break; } // SHORT_BINBYTES
      case 0x4a: need(4); push(dv.getInt32(p, true)); p += 4; break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: { // LONG1
        const n = u8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i]);
        if (n > 0 && buf[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); push(dv.getFloat64(p, false)); p += 8; break; // BINFLOAT
      case 0x4e: push(null); break;
      case 0x88: push(true); break;
      case 0x89: push(false); break;
      case 0x63: { const module = line(); const name = line(); push(makeGlobal(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(); const module = pop();
        if (typeof name !== 'string' || typeof module !== 'string') throw fail(fileName, 'STACK_GLOBAL of something other than two strings', { found: `${describe(module)}, ${describe(name)}` });
        push(makeGlobal(module, name));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof StorageType) || typeof pid[2] !== 'string') {
          throw fail(fileName, 'unexpected persistent id (expected a torch storage reference)', { expected: "('storage', torch.<T>Storage, key, location, numel)", found: describe(pid) });
        }
        if (!isCount(pid[4])) {
          throw fail(fileName, `storage data/${quote(pid[2])}: element count is not a non-negative integer`, { expected: 'a non-negative safe integer', found: describe(pid[4]) });
        }
        const ref: StorageRef = { kind: 'storage', type: pid[1].name, key: pid[2], numel: pid[4] };
        push(ref);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof Global) || !Array.isArray(args)) throw fail(fileName, 'REDUCE of something other than a whitelisted global');
        const q = `${fn.module}.${fn.name}`;
        if (q === 'collections.OrderedDict') {
          if (args.length) throw fail(fileName, 'OrderedDict with constructor arguments');
          push(new Map());
        } else if (q === 'torch._utils._rebuild_tensor_v2') {
          push(new PendingTensor(args));
        } else {
          // _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself
          push(args[0]);
        }
        break;
      }
      case 0x62: { // BUILD: only attribute state on dicts (state_dict._metadata) is accepted, and dropped
        const state = pop();
        if (!(top() instanceof Map) || !(state instanceof Map || state === null)) throw fail(fileName, 'BUILD on an object this reader does not rebuild');
        break;
      }
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET / LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw fail(fileName, `pickle memo ${k} is not defined`);
        push(memo.get(k));
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      default:
        throw fail(fileName, `pickle opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}') at byte ${at} is not allowed`);
    }
  }
}

export function isPthTensor(x: unknown): x is PthTensor {
  return !!x && typeof x === 'object' && 'dtype' in x && 'shape' in x && 'data' in x;
}

/**
 * The state dict inside a checkpoint: the first of `state_dict`, `model`, `model_state_dict` that
 * maps names to tensors, else the root itself. Non-tensor entries are skipped.
 */
export function pthStateDict(root: unknown, fileName?: string): Record<string, PthTensor> {
  const asSd = (x: unknown): Record<string, PthTensor> | null => {
    if (!(x instanceof Map)) return null;
    const out: Record<string, PthTensor> = {};
    for (const [k, v] of x) if (typeof k === 'string' && isPthTensor(v)) out[k] = v;
    return Object.keys(out).length ? out : null;
  };
  if (root instanceof Map) {
    for (const key of ['state_dict', 'model', 'model_state_dict']) {
      const sd = asSd(root.get(key));
      if (sd) return sd;
    }
  }
  const direct = asSd(root);
  if (direct) return direct;
  throw fail(fileName, 'no state dict (a mapping of names to tensors) found');
}
