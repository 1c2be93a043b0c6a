/**
 * Restricted reader for PyTorch zip checkpoints (torch.save ≥ 1.6): `<archive>/data.pkl` is a pickle
 * whose tensors point (BINPERSID) at raw storages `<archive>/data/<key>`.
 *
 * The unpickler never executes anything: it knows the data opcodes torch.save emits (protocol 2,
 * plus the protocol-4 framing/memo opcodes) and rebuilds objects only through a whitelist of globals
 * (torch._utils._rebuild_tensor_v2 / _rebuild_parameter, collections.OrderedDict, torch.<T>Storage).
 * Any other global or opcode is rejected with a StudioError naming it.
 */
import { unzipSync } from 'fflate';
import { StudioError } from '../errors.ts';

export type PthDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface PthTensor {
  dtype: PthDtype;
  shape: number[];
  /** Contiguous row-major values: float types as float32, int64 as BigInt64Array, others Int32Array. */
  data: Float32Array | Int32Array | BigInt64Array;
}

const STORAGES: Record<string, { dtype: PthDtype; size: number }> = {
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
const MARK = Symbol('mark');

/** A pickled dict (OrderedDict or dict): string-keyed entries in order. */
export type PyDict = Map<unknown, unknown>;

function fail(fileName: string | undefined, message: string): StudioError {
  return new StudioError({ code: 'malformed_input', message: `PyTorch checkpoint: ${message}`, ...(fileName ? { file: fileName } : {}) });
}

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

export function readPth(bytes: Uint8Array, fileName?: string): PthFile {
  if (bytes.length >= 2 && bytes[0] === 0x80) {
    throw fail(fileName, 'legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a newer PyTorch');
  }
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw fail(fileName, 'not a zip archive (expected a torch.save file)');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw fail(fileName, `corrupt zip archive (${(e as Error).message})`);
  }
  const pkl = Object.keys(files).find((k) => k === 'data.pkl' || k.endsWith('/data.pkl'));
  if (!pkl) throw fail(fileName, 'no data.pkl in the archive');
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = files[`${prefix}byteorder`];
  if (order && new TextDecoder().decode(order).trim() !== 'little') throw fail(fileName, 'big-endian checkpoints are not supported');
  const decoded = new Map<string, Float32Array | Int32Array | BigInt64Array>();
  const storageData = (ref: StorageRef) => {
    let d = decoded.get(ref.key);
    if (d) return d;
    const raw = files[`${prefix}data/${ref.key}`];
    const st = STORAGES[ref.type];
    if (!raw) throw fail(fileName, `storage data/${ref.key} is missing from the archive`);
    if (raw.length < ref.numel * st.size) throw fail(fileName, `storage data/${ref.key} has ${raw.length} bytes, expected ${ref.numel * st.size}`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const n = ref.numel;
    switch (st.dtype) {
      case 'float32': d = new Float32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getFloat32(4 * i, true); break;
      case 'float64': d = new Float32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getFloat64(8 * i, true); break;
      case 'float16': d = new Float32Array(n); for (let i = 0; i < n; i++) d[i] = f16(dv.getUint16(2 * i, true)); break;
      case 'bfloat16': d = new Float32Array(n); for (let i = 0; i < n; i++) d[i] = new Float32Array(new Uint32Array([dv.getUint16(2 * i, true) << 16]).buffer)[0]; break;
      case 'int64': d = new BigInt64Array(n); for (let i = 0; i < n; i++) d[i] = dv.getBigInt64(8 * i, true); break;
      case 'int32': d = new Int32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getInt32(4 * i, true); break;
      case 'int16': d = new Int32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getInt16(2 * i, true); break;
      case 'int8': d = new Int32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getInt8(i); break;
      default: d = new Int32Array(n); for (let i = 0; i < n; i++) d[i] = dv.getUint8(i); break;
    }
    decoded.set(ref.key, d);
    return d;
  };
  const rebuildTensor = (args: unknown[]): PthTensor => {
    const [storage, offset, size, stride] = args as [StorageRef, number, number[], number[]];
    if (!storage || (storage as StorageRef).kind !== 'storage' || !Array.isArray(size) || !Array.isArray(stride) || size.length !== stride.length || typeof offset !== 'number') {
      throw fail(fileName, '_rebuild_tensor_v2 called with unexpected arguments');
    }
    const src = storageData(storage);
    const n = size.reduce((a, b) => a * b, 1);
    const out = new (src.constructor as { new (n: number): Float32Array | Int32Array | BigInt64Array })(n);
    if (n > 0) {
      let maxIdx = offset;
      for (let j = 0; j < size.length; j++) maxIdx += (size[j] - 1) * stride[j];
      if (offset < 0 || maxIdx >= storage.numel || stride.some((s) => s < 0)) {
        throw fail(fileName, `tensor view (offset ${offset}, size ${JSON.stringify(size)}, stride ${JSON.stringify(stride)}) exceeds its storage of ${storage.numel} elements`);
      }
      const idx = new Array<number>(size.length).fill(0);
      let at = offset;
      for (let i = 0; i < n; i++) {
        (out as Float32Array)[i] = (src as Float32Array)[at];
        for (let j = size.length - 1; j >= 0; j--) {
          idx[j]++;
          at += stride[j];
          if (idx[j] < size[j]) break;
          at -= stride[j] * size[j];
          idx[j] = 0;
        }
      }
    }
    return { dtype: STORAGES[storage.type].dtype, shape: size.slice(), data: out };
  };
  return { root: unpickle(files[pkl], fileName, rebuildTensor) };
}

function unpickle(buf: Uint8Array, fileName: string | undefined, rebuildTensor: (args: unknown[]) => PthTensor): unknown {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const need = (n: number) => {
    if (p + n > buf.length) throw fail(fileName, 'truncated pickle stream');
  };
  const u8 = () => (need(1), buf[p++]);
  const u16 = () => (need(2), (p += 2), dv.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), dv.getUint32(p - 4, true));
  const str = (n: number, latin1 = false) => {
    need(n);
    const s = latin1 ? String.fromCharCode(...buf.subarray(p, p + n)) : new TextDecoder().decode(buf.subarray(p, p + n));
    p += n;
    return s;
  };
  const line = () => {
    const e = buf.indexOf(0x0a, p);
    if (e < 0) throw fail(fileName, 'truncated pickle stream');
    const s = String.fromCharCode(...buf.subarray(p, e));
    p = e + 1;
    return s;
  };
  const pop = () => {
    if (!stack.length) throw fail(fileName, 'pickle stack underflow');
    return stack.pop();
  };
  const popMark = () => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw fail(fileName, 'pickle MARK missing');
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const top = () => {
    if (!stack.length) throw fail(fileName, 'pickle stack underflow');
    return stack[stack.length - 1];
  };
  const asDict = (d: unknown, op: string) => {
    if (!(d instanceof Map)) throw fail(fileName, `${op} on a non-dict`);
    return d;
  };
  const makeGlobal = (module: string, name: string) => {
    if (module === 'torch' && name in STORAGES) return new StorageType(name);
    const allowed = ['torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', 'collections.OrderedDict'];
    if (!allowed.includes(`${module}.${name}`)) {
      throw fail(fileName, `pickle global ${module}.${name} is not allowed (this reader only rebuilds tensors and dicts)`);
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
        if (stack.length !== 1) throw fail(fileName, 'pickle ended with an unbalanced stack');
        return stack[0];
      case 0x28: stack.push(MARK); break;
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break;
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; }
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; }
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) throw fail(fileName, 'APPEND on a non-list'); l.push(v); break; }
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) throw fail(fileName, 'APPENDS on a non-list'); l.push(...items); break; }
      case 0x64: { const items = popMark(); const d = new Map(); for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); asDict(top(), 'SETITEM').set(k, v); break; }
      case 0x75: { const items = popMark(); const d = asDict(top(), 'SETITEMS'); for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]); break; }
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(dv.getBigUint64(p, true)); p += 8; stack.push(str(n)); break; }
      case 0x54: stack.push(str(u32(), true)); break; // BINSTRING
      case 0x55: stack.push(str(u8(), true)); break; // SHORT_BINSTRING
      case 0x42: { const n = u32(); need(n); stack.push(buf.slice(p, p + n)); p += n; break; } // BINBYTES
      case 0x43: { const n = u8(); need(n); stack.push(buf.slice(p, p + n)); p += n; break; } // SHORT_BINBYTES
      case 0x4a: need(4); stack.push(dv.getInt32(p, true)); p += 4; break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1
        const n = u8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i]);
        if (n > 0 && buf[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); stack.push(dv.getFloat64(p, false)); p += 8; break; // BINFLOAT
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x63: { const module = line(); const name = line(); stack.push(makeGlobal(module, name)); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); stack.push(makeGlobal(String(module), String(name))); break; } // STACK_GLOBAL
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof StorageType) || typeof pid[2] !== 'string' || typeof pid[4] !== 'number') {
          throw fail(fileName, 'unexpected persistent id (expected a torch storage reference)');
        }
        const ref: StorageRef = { kind: 'storage', type: pid[1].name, key: pid[2], numel: pid[4] };
        stack.push(ref);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof Global) || !Array.isArray(args)) throw fail(fileName, 'REDUCE of something other than a whitelisted global');
        const q = `${fn.module}.${fn.name}`;
        if (q === 'collections.OrderedDict') {
          if (args.length) throw fail(fileName, 'OrderedDict with constructor arguments');
          stack.push(new Map());
        } else if (q === 'torch._utils._rebuild_tensor_v2') {
          stack.push(rebuildTensor(args));
        } else {
          // _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself
          stack.push(args[0]);
        }
        break;
      }
      case 0x62: { // BUILD: only attribute state on dicts (state_dict._metadata) is accepted, and dropped
        const state = pop();
        if (!(top() instanceof Map) || !(state instanceof Map || state === null)) throw fail(fileName, 'BUILD on an object this reader does not rebuild');
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET / LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw fail(fileName, `pickle memo ${k} is not defined`);
        stack.push(memo.get(k));
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
