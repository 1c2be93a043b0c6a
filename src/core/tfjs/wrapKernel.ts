/** Replacing a registered tfjs kernel with a wrapper that can still call the original. */
import * as tf from '@tensorflow/tfjs-core';

/** What a kernel function receives (inputs: named tensors, or a list for AddN/Concat). */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap | tf.TensorInfo[];
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

export type KernelFn = (args: KernelArgs) => tf.TensorInfo;

/**
 * Re-registers `name` on `backend` with `make(original)` (setup/dispose functions kept) and returns
 * the original kernel function. Throws when the backend has no such kernel (its package not loaded).
 */
export function wrapKernel(name: string, backend: string, make: (original: KernelFn) => KernelFn): KernelFn {
  const current = tf.getKernel(name, backend);
  if (!current) throw new Error(`kernel ${name} is not registered for backend ${backend} (is tfjs-backend-${backend} loaded?)`);
  const original = current.kernelFunc as unknown as KernelFn;
  tf.unregisterKernel(name, backend);
  tf.registerKernel({ ...current, kernelFunc: make(original) as unknown as tf.KernelFunc });
  return original;
}
