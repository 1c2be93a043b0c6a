/**
 * A faster 'BatchMatMul' for the tfjs wasm backend.
 *
 * tfjs-backend-wasm 4.22 sends a matMul with batch 1 to XNNPACK (fast), but every batched product
 * (attention scores and contexts, and their gradients) to a scalar blocked loop that reaches
 * ~1.8 GFLOP/s in Node. This wraps the registered kernel: batched float32 products go to our own
 * SIMD kernel (kernels/wasm/bmm.c, 4×8 register blocks, ~15–22 GFLOP/s here with the copies),
 * everything else to the original. Operands are copied into the kernel's own memory (it cannot
 * share tfjs's heap, which is a SharedArrayBuffer in the threaded build); the copies cost O(size)
 * against O(size·K) arithmetic.
 *
 * Results differ from the original kernel only by summation order (tested against it).
 */
import * as tf from '@tensorflow/tfjs-core';
import { WASM_BMM_BASE64 } from './wasmBmmBinary.ts';
import { wrapKernel, type KernelArgs, type KernelFn } from './wrapKernel.ts';

const KERNEL = 'BatchMatMul';
/** Below this many multiply-adds per call the copies and call overhead outweigh the gain. */
const MIN_MACS = 4096;

interface BmmExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  bmm(a: number, b: number, c: number, batch: number, m: number, k: number, n: number): void;
  transpose(src: number, dst: number, batch: number, rows: number, cols: number): void;
}

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

let kernel: BmmExports | null = null;
let original: KernelFn | null = null;
let enabled = true;
let fastCalls = 0;

function instantiate(): BmmExports {
  if (kernel) return kernel;
  const bytes = Uint8Array.from(atob(WASM_BMM_BASE64), (c) => c.charCodeAt(0));
  // 4 KB: small enough for synchronous compilation on any thread.
  kernel = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as BmmExports;
  return kernel;
}

/** Byte offset of `floats` free float32 slots, growing the kernel's memory when needed. */
function ensureFloats(k: BmmExports, floats: number): number {
  const base = ((k.__heap_base.value as number) + 15) & ~15;
  const need = base + 4 * floats;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  return base;
}

/** The problem in the kernel's terms, or null when the original kernel should run. */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean) {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 3 || ra !== rb) return null;
  const outerA = a.shape.slice(0, -2);
  if (outerA.some((d, i) => d !== b.shape[i])) return null; // broadcasting: leave it to tfjs
  const batch = tf.util.sizeFromShape(outerA);
  if (batch < 2) return null; // batch 1 goes to XNNPACK, which is faster
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null; // let the original kernel raise its shape error
  if (batch * m * n * k < MIN_MACS) return null;
  return { batch, m, k, n, outShape: [...outerA, m, n] };
}

function runStock(args: KernelArgs): tf.TensorInfo {
  return original!(args);
}

function batchMatMulFast(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  const p = enabled ? plan(a, b, transposeA, transposeB) : null;
  if (!p) return runStock(args);
  const mod = instantiate();
  const { batch, m, k: inner, n } = p;
  const sizeA = batch * m * inner;
  const sizeB = batch * inner * n;
  const sizeC = batch * m * n;
  // Layout: A | B | Aᵀ (if transposed) | Bᵀ (if transposed) | C.
  let base: number;
  try {
    base = ensureFloats(mod, 2 * sizeA + 2 * sizeB + sizeC);
  } catch {
    // the kernel's own memory could not grow (it never shrinks; 4 GiB cap): the stock kernel still works
    return runStock(args);
  }
  const offA = base;
  const offB = offA + 4 * sizeA;
  const offAt = offB + 4 * sizeB;
  const offBt = offAt + 4 * sizeA;
  const offC = offBt + 4 * sizeB;
  const backend = args.backend as WasmBackendLike;
  // Allocate first: allocation may grow the tfjs heap and detach earlier views.
  const out = backend.makeOutput(p.outShape, 'float32');
  new Float32Array(mod.memory.buffer, offA, sizeA).set(backend.typedArrayFromHeap(a));
  new Float32Array(mod.memory.buffer, offB, sizeB).set(backend.typedArrayFromHeap(b));
  // Stored shapes: A is [batch, inner, m] when transposed, B is [batch, n, inner].
  if (transposeA) mod.transpose(offA, offAt, batch, inner, m);
  if (transposeB) mod.transpose(offB, offBt, batch, n, inner);
  mod.bmm(transposeA ? offAt : offA, transposeB ? offBt : offB, offC, batch, m, inner, n);
  backend.typedArrayFromHeap(out).set(new Float32Array(mod.memory.buffer, offC, sizeC));
  fastCalls++;
  return out;
}

/**
 * Wraps the wasm backend's BatchMatMul with the SIMD kernel. Idempotent; safe before or after the
 * backend is initialised (the original setup function stays in place).
 */
export function installWasmFastBatchMatMul(): void {
  if (original) return;
  if (!tf.getKernel(KERNEL, 'wasm')) throw new Error('installWasmFastBatchMatMul: tfjs-backend-wasm is not loaded');
  instantiate();
  original = wrapKernel(KERNEL, 'wasm', () => batchMatMulFast);
}

/** Turns the fast path on or off at run time (benchmarks compare both; off = stock tfjs). */
export function setWasmFastBatchMatMul(on: boolean): void {
  enabled = on;
}

/** Whether batched products currently take the SIMD kernel (installed and enabled). */
export function wasmFastBatchMatMulActive(): boolean {
  return original !== null && enabled;
}

/** Number of products the SIMD kernel has served (tests check that the fast path really ran). */
export function wasmFastBatchMatMulCalls(): number {
  return fastCalls;
}
