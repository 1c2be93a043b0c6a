/**
 * Copy-free 'Identity' and same-dtype 'Cast' for the tfjs wasm backend.
 *
 * Under a gradient tape tfjs clones every tensor a gradient needs (engine.saveTensorsForBackwardMode
 * → Identity), and the clone's own gradient is a float32 Cast. tfjs-backend-wasm 4.22 implements
 * both as a fresh allocation plus a full copy; on a quick-preset joint step that was ~60,000 copies,
 * ~4 % of the run. tfjs tensors are immutable and every wasm kernel writes a new output, so sharing
 * the buffer with a reference count (as the wasm Reshape kernel and the cpu backend's Identity do)
 * gives the same values without the copy. Casts between different dtypes keep the original kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapKernel, type KernelArgs, type KernelFn } from './wrapKernel.ts';

/** The part of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackendLike {
  incRef(dataId: tf.DataId): void;
}

const originals = new Map<string, KernelFn>();
let enabled = true;
let sharedCalls = 0;

function share(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  (backend as WasmBackendLike).incRef(x.dataId);
  sharedCalls++;
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function runOriginal(name: string, args: KernelArgs): tf.TensorInfo {
  return originals.get(name)!(args);
}

function identityShared(args: KernelArgs): tf.TensorInfo {
  const x = (args.inputs as { x: tf.TensorInfo }).x;
  // strings live outside the heap; leave them to the original
  if (!enabled || x.dtype === 'string') return runOriginal('Identity', args);
  return share(x, args.backend);
}

function castShared(args: KernelArgs): tf.TensorInfo {
  const x = (args.inputs as { x: tf.TensorInfo }).x;
  if (!enabled || x.dtype === 'string' || args.attrs?.dtype !== x.dtype) return runOriginal('Cast', args);
  return share(x, args.backend);
}

/** Wraps the wasm backend's Identity and Cast. Idempotent; throws if tfjs-backend-wasm is not loaded. */
export function installWasmSharedIdentity(): void {
  for (const [name, fn] of [
    ['Identity', identityShared],
    ['Cast', castShared],
  ] as const) {
    if (!originals.has(name)) originals.set(name, wrapKernel(name, 'wasm', () => fn));
  }
}

/** On (default) or off (stock copies: the benchmark baseline). */
export function setWasmSharedIdentity(on: boolean): void {
  enabled = on;
}

/** How many clones/casts shared their input's buffer (tests check the path really ran). */
export function wasmSharedIdentityCalls(): number {
  return sharedCalls;
}
