/**
 * Work-arounds for two tfjs-backend-webgpu 4.22 bugs that silently corrupt joint training (found by
 * running the joint stage on Node + Dawn + SwiftShader; both print only WebGPU validation warnings
 * and the affected ops return zeros):
 *
 * 1. Cast int32/bool → float32 keeps the integer buffer and only relabels the tensor. Programs that
 *    copy raw elements — Transpose, and every reduction or argMax over a non-innermost axis, which
 *    transposes first — then compile invalid WGSL (i32 written to an f32 output). Fixed here: such a
 *    cast gets a real float32 buffer (x + 0 through the backend's own Add kernel).
 * 2. AddN binds every input as a storage buffer and fails beyond the device limit
 *    (maxStorageBuffersPerShaderStage, 8 by default: 7 inputs + the output); the global-norm
 *    clipping sums one square per parameter tensor (11 and 34 here). Fixed here: the sum is done
 *    in chunks that fit.
 *
 * tfjs 4.22 is the last release, so the fixes live in project code (runtime-notes: "work around
 * bugs in project code"). Tested in test/core/tfjs/webgpuFixes.test.ts on Dawn + SwiftShader.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapKernel, type KernelArgs, type KernelFn } from './wrapKernel.ts';

/** The part of tfjs-backend-webgpu's WebGPUBackend these kernels use. */
interface WebGpuBackendLike {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
  device?: { limits?: { maxStorageBuffersPerShaderStage?: number } };
}

const originals = new Map<string, KernelFn>();
let enabled = true;
let fixedCasts = 0;
let chunkedAddNs = 0;

function original(name: string): KernelFn {
  return originals.get(name)!;
}

function castFixed(args: KernelArgs): tf.TensorInfo {
  const out = original('Cast')(args);
  const x = (args.inputs as { x: tf.TensorInfo }).x;
  if (!enabled || out.dtype !== 'float32' || x.dtype === 'float32' || out.dataId !== x.dataId) return out;
  // `out` shares x's integer buffer: materialise float32 values through an elementwise program.
  const backend = args.backend as WebGpuBackendLike;
  const zero = backend.makeTensorInfo([], 'float32', new Float32Array([0]));
  const fresh = original('Add')({ inputs: { a: out, b: zero }, backend, attrs: {} });
  backend.disposeData(zero.dataId);
  backend.disposeData(out.dataId);
  fixedCasts++;
  return fresh;
}

function addNFixed(args: KernelArgs): tf.TensorInfo {
  const tensors = args.inputs as tf.TensorInfo[];
  const backend = args.backend as WebGpuBackendLike;
  const perProgram = Math.max(2, (backend.device?.limits?.maxStorageBuffersPerShaderStage ?? 8) - 1);
  if (!enabled || tensors.length <= perProgram) return original('AddN')(args);
  const partials: tf.TensorInfo[] = [];
  for (let i = 0; i < tensors.length; i += perProgram) {
    partials.push(original('AddN')({ ...args, inputs: tensors.slice(i, i + perProgram) }));
  }
  chunkedAddNs++;
  const sum = addNFixed({ ...args, inputs: partials });
  for (const p of partials) backend.disposeData(p.dataId);
  return sum;
}

/** Wraps the webgpu backend's Cast and AddN (idempotent; throws if tfjs-backend-webgpu is not loaded). */
export function installWebGpuFixes(): void {
  if (originals.size) return;
  const add = tf.getKernel(tf.Add, 'webgpu');
  if (!add) throw new Error('installWebGpuFixes: tfjs-backend-webgpu is not loaded');
  originals.set('Add', add.kernelFunc as unknown as KernelFn);
  originals.set('Cast', wrapKernel('Cast', 'webgpu', () => castFixed));
  originals.set('AddN', wrapKernel('AddN', 'webgpu', () => addNFixed));
}

/** On (default) or off (stock tfjs, to show the bugs in tests). */
export function setWebGpuFixes(on: boolean): void {
  enabled = on;
}

/** How often each fix ran (tests check that the fixed path was taken). */
export function webGpuFixCounts(): { casts: number; addNs: number } {
  return { casts: fixedCasts, addNs: chunkedAddNs };
}
