/**
 * The wasm backend of tfjs 4.22 has no 'UnsortedSegmentSum' kernel, so the gradient of tf.gather
 * (embedding lookups) fails there. This registers a plain-JS kernel for it, once.
 * Semantics as TensorFlow: out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; ids outside [0, numSegments)
 * are dropped. segmentIds may have any rank; its shape must be a prefix of x's shape.
 */
import * as tf from '@tensorflow/tfjs';

type TypedArray = Float32Array | Int32Array | Uint8Array;

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): TypedArray;
}

const KERNEL = 'UnsortedSegmentSum';

function unsortedSegmentSumWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = Number(args.attrs?.numSegments);
  const backend = args.backend as WasmBackendLike;
  const nIds = tf.util.sizeFromShape(segmentIds.shape);
  const size = tf.util.sizeFromShape(x.shape);
  const inner = nIds === 0 ? 0 : size / nIds;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  // Allocate first: allocation may grow the wasm heap and detach earlier views.
  const out = backend.makeOutput(outShape, x.dtype);
  const o = backend.typedArrayFromHeap(out);
  o.fill(0);
  if (inner === 0) return out;
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < nIds; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xv[src + j];
  }
  return out;
}

/** Registers the kernel for backend 'wasm' unless one is registered already. Idempotent. */
export function registerWasmUnsortedSegmentSum(): void {
  if (tf.getKernel(KERNEL, 'wasm')) return;
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'wasm',
    kernelFunc: unsortedSegmentSumWasm as unknown as tf.KernelFunc,
  });
}
