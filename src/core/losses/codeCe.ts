/**
 * Code cross-entropy of the recommender (spec §5.5): mean over all B·C tokens (suffix included) of
 * −log softmax(logits)[label], from logits (B, C, K) and integer labels (B, C). One-hot × log-softmax
 * (no gather) so the gradient exists on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { oneHotF32 } from '../nn/layers.ts';

/**
 * @param logits (B, C, K) float
 * @param labels (B, C) ints in [0, K): a tensor or a flat row-major array of B·C values
 */
export function codeCrossEntropy(logits: tf.Tensor, labels: tf.Tensor | ArrayLike<number>): tf.Scalar {
  return tf.tidy(() => {
    const K = logits.shape[logits.shape.length - 1];
    const n = logits.size / K;
    const lab =
      labels instanceof tf.Tensor ? tf.cast(tf.reshape(labels, [-1]), 'int32') : tf.tensor1d(Int32Array.from(labels), 'int32');
    if (lab.size !== n) throw new Error(`codeCrossEntropy: ${lab.size} labels for ${n} logit rows`);
    const logp = tf.logSoftmax(tf.reshape(logits, [n, K]), -1);
    const picked = tf.sum(tf.mul(logp, oneHotF32(lab, K)));
    return tf.div(tf.neg(picked), n) as tf.Scalar;
  });
}
