/**
 * Training batches assembled on the device (issue 7): the split's histories and targets and the
 * code table live in tensors, and a micro-batch is two gathers from its row indices, so a step
 * uploads only the row ids (B int32) instead of the encoder codes (B × 4·L int32) built on the
 * host. The result equals historyCodes / targetCodes of evaluateGenerative.ts element for element
 * (row 0 of the code table is −1s and histories are right-padded with item 0, so padding comes
 * out as −1 as there). Call setCodes after every code-table rebuild; dispose when done.
 */
import * as tf from '@tensorflow/tfjs';
import { bucketedHistoryLength } from '../eval/evaluateGenerative.ts';
import type { JointSamples } from './jointTypes.ts';

export class DeviceBatches {
  private readonly histories: tf.Tensor2D;
  private readonly targets: tf.Tensor1D;
  private codes: tf.Tensor2D | null = null;

  constructor(
    private readonly samples: JointSamples,
    private readonly codeLength: number,
    private readonly lengthBucket: number,
  ) {
    this.histories = tf.tensor2d(samples.histories, [samples.count, samples.L], 'int32');
    this.targets = tf.tensor1d(samples.targets, 'int32');
  }

  /** Replaces the device copy of the (N+1) × codeLength table (row 0 = −1s). */
  setCodes(table: Int32Array): void {
    this.codes?.dispose();
    this.codes = tf.tensor2d(table, [table.length / this.codeLength, this.codeLength], 'int32');
  }

  private table(): tf.Tensor2D {
    if (!this.codes) throw new Error('DeviceBatches: setCodes was not called');
    return this.codes;
  }

  /** The encoder length of historyCodes(rows), without building it. */
  encoderLength(rows: ArrayLike<number>): number {
    return bucketedHistoryLength(this.samples, rows, this.lengthBucket) * this.codeLength;
  }

  /** Encoder codes [rows × codeLength·Lb], Lb = the bucketed longest history among the rows. */
  historyCodes(rows: ArrayLike<number>): tf.Tensor2D {
    const Lb = bucketedHistoryLength(this.samples, rows, this.lengthBucket);
    return tf.tidy(() => {
      const items = tf.slice(tf.gather(this.histories, tf.tensor1d(Int32Array.from(rows), 'int32')), [0, 0], [rows.length, Lb]);
      return tf.reshape(tf.gather(this.table(), items), [rows.length, Lb * this.codeLength]) as tf.Tensor2D;
    });
  }

  /** Target codes [rows × codeLength]. */
  targetCodes(rows: ArrayLike<number>): tf.Tensor2D {
    return tf.tidy(() => tf.gather(this.table(), tf.gather(this.targets, tf.tensor1d(Int32Array.from(rows), 'int32'))) as tf.Tensor2D);
  }

  dispose(): void {
    tf.dispose([this.histories, this.targets]);
    this.codes?.dispose();
    this.codes = null;
  }
}
