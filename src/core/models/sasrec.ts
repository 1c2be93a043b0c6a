/**
 * SASRec as in RecBole (spec §2.2), used to produce the collaborative item embeddings.
 * Parameters carry RecBole's state-dict names; Linear weights are stored [in, out] (PyTorch: [out, in],
 * ParamStore.stateDict() transposes). Histories are right-padded ids [B, L] with lengths [B]; positions
 * 0..L−1; the sequence representation is the last layer's output at position len−1.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore, init } from '../nn/params.ts';
import {
  causalPaddingBias,
  dropout,
  embeddingLookup,
  gelu,
  layerNorm,
  linear,
  matMul2d,
  multiHeadAttention,
  oneHotF32,
} from '../nn/layers.ts';
import { Rng } from '../rng.ts';

import type { SasrecConfig } from '../stages/embeddings.ts';

// The configuration and presets are declared in src/core/stages/embeddings.ts.
export type { SasrecConfig, SasrecPreset, SasrecPresetName } from '../stages/embeddings.ts';
export { SASREC_PRESETS, sasrecConfig } from '../stages/embeddings.ts';


export class SasrecModel {
  readonly params = new ParamStore();

  /** numItems = N (PAD excluded); tables have N+1 rows. */
  constructor(
    readonly numItems: number,
    readonly cfg: SasrecConfig,
    rng: Rng,
  ) {
    const H = cfg.hidden_size;
    const I = cfg.inner_size;
    const std = cfg.initializer_range;
    if (H % cfg.n_heads !== 0) throw new Error(`hidden_size ${H} is not a multiple of n_heads ${cfg.n_heads}`);
    const P = this.params;
    // RecBole's _init_weights re-draws every Embedding weight, the padding row included (padding_idx
    // then only blocks its gradient through the lookup).
    P.add('item_embedding.weight', [numItems + 1, H], init.normal(rng, (numItems + 1) * H, std));
    P.add('position_embedding.weight', [cfg.MAX_ITEM_LIST_LENGTH, H], init.normal(rng, cfg.MAX_ITEM_LIST_LENGTH * H, std));
    const lin = (name: string, inDim: number, outDim: number) => {
      P.add(`${name}.weight`, [inDim, outDim], init.normal(rng, inDim * outDim, std), { linear: true });
      P.add(`${name}.bias`, [outDim], init.zeros(outDim));
    };
    const ln = (name: string) => {
      P.add(`${name}.weight`, [H], init.ones(H));
      P.add(`${name}.bias`, [H], init.zeros(H));
    };
    for (let i = 0; i < cfg.n_layers; i++) {
      const a = `trm_encoder.layer.${i}.multi_head_attention`;
      lin(`${a}.query`, H, H);
      lin(`${a}.key`, H, H);
      lin(`${a}.value`, H, H);
      lin(`${a}.dense`, H, H);
      ln(`${a}.LayerNorm`);
      const f = `trm_encoder.layer.${i}.feed_forward`;
      lin(`${f}.dense_1`, H, I);
      lin(`${f}.dense_2`, I, H);
      ln(`${f}.LayerNorm`);
    }
    ln('LayerNorm');
  }

  get itemEmbedding(): tf.Variable {
    return this.params.get('item_embedding.weight');
  }

  private p(name: string): tf.Variable {
    return this.params.get(name);
  }

  /** Embedding + position → LayerNorm → dropout: [B, L, H]. */
  private embed(ids: tf.Tensor2D, training: boolean, rng?: Rng): tf.Tensor3D {
    const [, L] = ids.shape;
    const H = this.cfg.hidden_size;
    const items = embeddingLookup(this.itemEmbedding, ids, 0);
    const pos = tf.reshape(tf.slice(this.p('position_embedding.weight'), [0, 0], [L, H]), [1, L, H]);
    const x = layerNorm(tf.add(items, pos), this.p('LayerNorm.weight'), this.p('LayerNorm.bias'), this.cfg.layer_norm_eps);
    return dropout(x, this.cfg.hidden_dropout_prob, training, rng) as tf.Tensor3D;
  }

  /** RecBole MultiHeadAttention: LayerNorm(xq + dropout(dense(attn(q(xq), k(x), v(x))))). */
  private attention(i: number, xq: tf.Tensor3D, x: tf.Tensor3D, bias: tf.Tensor, training: boolean, rng?: Rng): tf.Tensor3D {
    const a = `trm_encoder.layer.${i}.multi_head_attention`;
    const w = (n: string) => this.p(`${a}.${n}.weight`);
    const b = (n: string) => this.p(`${a}.${n}.bias`);
    const q = linear(xq, w('query'), b('query')) as tf.Tensor3D;
    const k = linear(x, w('key'), b('key')) as tf.Tensor3D;
    const v = linear(x, w('value'), b('value')) as tf.Tensor3D;
    const ctx = multiHeadAttention(q, k, v, this.cfg.n_heads, bias, this.cfg.attn_dropout_prob, training, rng);
    let h = linear(ctx, w('dense'), b('dense'));
    h = dropout(h, this.cfg.hidden_dropout_prob, training, rng);
    return layerNorm(tf.add(h, xq), w('LayerNorm'), b('LayerNorm'), this.cfg.layer_norm_eps) as tf.Tensor3D;
  }

  /** RecBole FeedForward: LayerNorm(x + dropout(dense_2(gelu(dense_1(x))))). */
  private feedForward(i: number, x: tf.Tensor, training: boolean, rng?: Rng): tf.Tensor {
    const f = `trm_encoder.layer.${i}.feed_forward`;
    let h = gelu(linear(x, this.p(`${f}.dense_1.weight`), this.p(`${f}.dense_1.bias`)));
    h = linear(h, this.p(`${f}.dense_2.weight`), this.p(`${f}.dense_2.bias`));
    h = dropout(h, this.cfg.hidden_dropout_prob, training, rng);
    return layerNorm(tf.add(h, x), this.p(`${f}.LayerNorm.weight`), this.p(`${f}.LayerNorm.bias`), this.cfg.layer_norm_eps);
  }

  /** Outputs of the last layer at every position: [B, L, H] (the full RecBole computation). */
  encodeAll(ids: tf.Tensor2D, training = false, rng?: Rng): tf.Tensor3D {
    const bias = causalPaddingBias(ids, 0);
    let x = this.embed(ids, training, rng);
    for (let i = 0; i < this.cfg.n_layers; i++) {
      x = this.feedForward(i, this.attention(i, x, x, bias, training, rng), training, rng) as tf.Tensor3D;
    }
    return x;
  }

  /** Sequence representation [B, H] at position len−1. ids: right-padded int32 [B, L]; lens ≥ 1. */
  encode(ids: tf.Tensor2D, lens: tf.Tensor1D, training = false, rng?: Rng): tf.Tensor2D {
    const [B, L] = ids.shape;
    const H = this.cfg.hidden_size;
    const pick = tf.reshape(oneHotF32(tf.sub(lens, tf.scalar(1, 'int32')), L), [B, L, 1]);
    const last = (x: tf.Tensor) => tf.sum(tf.mul(x, pick), 1); // [B, H]
    const nl = this.cfg.n_layers;
    if (!this.cfg.last_position_only || nl === 0) return last(this.encodeAll(ids, training, rng)) as tf.Tensor2D;
    const bias = causalPaddingBias(ids, 0);
    let x = this.embed(ids, training, rng);
    for (let i = 0; i < nl - 1; i++) {
      x = this.feedForward(i, this.attention(i, x, x, bias, training, rng), training, rng) as tf.Tensor3D;
    }
    // The query at len−1 may see exactly the real keys: the padding mask alone.
    const keyBias = tf.mul(tf.sub(1, tf.reshape(tf.cast(tf.notEqual(ids, 0), 'float32'), [B, 1, 1, L])), -10000);
    const xq = tf.reshape(last(x), [B, 1, H]) as tf.Tensor3D;
    const h = this.attention(nl - 1, xq, x, keyBias, training, rng);
    return tf.reshape(this.feedForward(nl - 1, h, training, rng), [B, H]) as tf.Tensor2D;
  }

  /** Scores over all N+1 ids (column 0 = PAD): rep · item_embeddingᵀ. */
  logits(rep: tf.Tensor2D): tf.Tensor2D {
    return matMul2d(rep, this.itemEmbedding, false, true);
  }

  /**
   * Σ_b weights[b] · CE(logits_b, targets_b) / denom — with weights 1 for real rows, 0 for padding
   * rows and denom = #real rows of the whole batch, micro-batch gradients add up to the batch mean.
   */
  lossSum(
    ids: tf.Tensor2D,
    lens: tf.Tensor1D,
    targets: tf.Tensor1D,
    weights: tf.Tensor1D,
    denom: number,
    training: boolean,
    rng?: Rng,
  ): tf.Scalar {
    const logits = this.logits(this.encode(ids, lens, training, rng));
    const logp = tf.logSoftmax(logits, -1);
    const nll = tf.neg(tf.sum(tf.mul(logp, oneHotF32(targets, this.numItems + 1)), 1));
    return tf.div(tf.sum(tf.mul(nll, weights)), denom) as tf.Scalar;
  }

  /** Item table without the PAD row: N × hidden, row r = item r+1. */
  async itemTable(): Promise<Float32Array> {
    const t = tf.slice(this.itemEmbedding, [1, 0], [this.numItems, this.cfg.hidden_size]);
    const data = (await t.data()) as Float32Array;
    t.dispose();
    return data;
  }

  dispose(): void {
    this.params.dispose();
  }
}
