/**
 * Data-parallel joint training: K replicas of the run (one per thread, each with its own backend
 * and identical modules) share every batch. Each replica computes some of the batch's
 * micro-batches; gradients, the batch-wide representations and the logged loss terms are summed
 * across replicas with `allSum` (in replica order, so every replica gets the same bits), and every
 * replica applies the same clip + AdamW step: parameters stay identical without a broadcast, and
 * equal the one-thread run's up to the association of the sums.
 *
 * This file: the peer contract and the pure pieces (dealing micro-batches, flattening gradients).
 * The threads and the shared memory live in the Node glue (src/cli/parallel/).
 */
import * as tf from '@tensorflow/tfjs';

/** The replicas of a data-parallel run, as one replica sees them. */
export interface BatchPeers {
  /** This replica's index, 0 … size − 1; replica 0 evaluates and reports. */
  readonly rank: number;
  readonly size: number;
  /**
   * Element-wise sum of every replica's `local` (the same length on all), added in replica order,
   * so every replica receives identical values. Blocks until every replica has called it; every
   * replica must make the same sequence of calls.
   */
  allSum(local: Float32Array): Float32Array;
}

/**
 * Which replica computes each micro-batch: contiguous runs of the (length-sorted) micro-batches,
 * balanced by `cost` — part i goes to the replica whose share of the total holds its midpoint.
 */
export function dealParts(cost: readonly number[], replicas: number): number[] {
  const total = cost.reduce((a, b) => a + b, 0);
  if (replicas <= 1 || total <= 0) return cost.map(() => 0);
  let before = 0;
  return cost.map((c) => {
    const owner = Math.min(replicas - 1, Math.floor((replicas * (before + c / 2)) / total));
    before += c;
    return owner;
  });
}

/** Float count of flattenGrads' layout for these variables: their values, then one presence flag each. */
export function gradLayoutSize(vars: readonly tf.Variable[]): number {
  return vars.reduce((n, v) => n + v.size, 0) + vars.length;
}

/**
 * The gradients of `vars` (those present in `grads`) as one Float32Array: the values in variable
 * order, absent ones as zeros, then a 1/0 presence flag per variable (a sum over replicas keeps a
 * gradient that any replica had). Reads the tensors back synchronously; does not dispose them.
 */
export function flattenGrads(vars: readonly tf.Variable[], grads: tf.NamedTensorMap | null): Float32Array {
  const out = new Float32Array(gradLayoutSize(vars));
  let off = 0;
  const flags = out.length - vars.length;
  vars.forEach((v, i) => {
    const g = grads?.[v.name];
    if (g) {
      out.set(g.dataSync() as Float32Array, off);
      out[flags + i] = 1;
    }
    off += v.size;
  });
  return out;
}

/** flattenGrads turned round: new tensors for the variables whose presence sum is > 0. */
export function unflattenGrads(vars: readonly tf.Variable[], flat: Float32Array): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  let off = 0;
  const flags = flat.length - vars.length;
  vars.forEach((v, i) => {
    if (flat[flags + i] > 0) out[v.name] = tf.tensor(flat.subarray(off, off + v.size), v.shape, 'float32');
    off += v.size;
  });
  return out;
}
