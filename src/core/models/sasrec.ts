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

/** Keys follow RecBole's config keys where one exists; the rest are marked "ours". */
export interface SasrecConfig {
  hidden_size: number;
  inner_size: number;
  n_layers: number;
  n_heads: number;
  hidden_dropout_prob: number;
  attn_dropout_prob: number;
  hidden_act: 'gelu';
  layer_norm_eps: number;
  initializer_range: number;
  /** Maximum history length (RecBole MAX_ITEM_LIST_LENGTH). */
  MAX_ITEM_LIST_LENGTH: number;
  loss_type: 'CE';
  epochs: number;
  train_batch_size: number;
  eval_batch_size: number;
  learning_rate: number;
  weight_decay: number;
  /** Early stop once this many consecutive evaluations failed to improve valid NDCG@10 is exceeded. */
  stopping_step: number;
  /** Evaluate every this many epochs. */
  eval_step: number;
  seed: number;
  /** ours: rows per forward/backward pass; gradients of a batch are accumulated (same mean-loss gradient). */
  micro_batch_size: number;
  /** ours: read the loss back every this many steps. */
  log_every: number;
  /** ours: run the last layer only at position len−1 (same result, ~1/n_layers less work). */
  last_position_only: boolean;
  /**
   * ours: 0 = every forward runs the full MAX_ITEM_LIST_LENGTH (one shape: WebGPU compiles once);
   * k > 0 = a batch's rows are sorted by history length into micro-batches and each runs only to
   * its longest history rounded up to a multiple of k. Right padding under causal + padding masks
   * never reaches a real position, so the loss is the same; only the dropout draws differ.
   * Optional: configs stored before it existed mean 0.
   */
  length_bucket?: number;
}

export type SasrecPresetName = 'paper' | 'quick';

export interface SasrecPreset {
  config: SasrecConfig;
  /** Where each value comes from: paper / official code / fork / ours (+ why). */
  provenance: Record<keyof SasrecConfig, string>;
}

const REF = 'official code (get_collab_emb.py → RecBole SASRec, spec §2.2)';
const RECBOLE_DEFAULT = 'official code (RecBole SASRec default, not overridden; spec §2.2)';

const PAPER: SasrecConfig = {
  hidden_size: 256,
  inner_size: 256,
  n_layers: 4,
  n_heads: 4,
  hidden_dropout_prob: 0.5,
  attn_dropout_prob: 0.5,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-12,
  initializer_range: 0.02,
  MAX_ITEM_LIST_LENGTH: 50,
  loss_type: 'CE',
  epochs: 50,
  train_batch_size: 2048,
  eval_batch_size: 2048,
  learning_rate: 1e-3,
  weight_decay: 0,
  stopping_step: 10,
  eval_step: 1,
  seed: 2020,
  micro_batch_size: 64,
  log_every: 10,
  last_position_only: true,
  length_bucket: 0,
};

const PAPER_PROVENANCE: Record<keyof SasrecConfig, string> = {
  hidden_size: `${REF}; the paper's 256-d collaborative embeddings`,
  inner_size: REF,
  n_layers: REF,
  n_heads: REF,
  hidden_dropout_prob: REF,
  attn_dropout_prob: REF,
  hidden_act: REF,
  layer_norm_eps: RECBOLE_DEFAULT,
  initializer_range: RECBOLE_DEFAULT,
  MAX_ITEM_LIST_LENGTH: `${REF}; also MAX_SEQ_LENGTH of data preparation (§1.5)`,
  loss_type: `${REF}: full softmax CE, no negative sampling`,
  epochs: `${REF} (maximum; early stopping usually ends sooner)`,
  train_batch_size: REF,
  eval_batch_size: REF,
  learning_rate: `${REF} (Adam)`,
  weight_decay: `${RECBOLE_DEFAULT} (RecBole default 0)`,
  stopping_step: REF,
  eval_step: REF,
  seed: REF,
  micro_batch_size:
    'ours: the tfjs tape keeps every forward intermediate (~20 MB per sequence at the paper size: 128 ' +
    'rows peak at 2.9 GiB of wasm heap, 256 rows overflow its 4 GiB); accumulating 32 micro-batches of ' +
    '64 gives the same mean-loss gradient as one 2048 batch (dropout masks differ)',
  log_every: 'ours: async loss readback every N steps keeps GPU pipelines full',
  last_position_only:
    'ours: only the output at len−1 is used, so the last layer runs there only (identical output)',
  length_bucket: 'ours: 0 = fixed full-length shapes (WebGPU compiles each kernel once); the reference pads every batch to 50',
};

const QUICK: SasrecConfig = {
  ...PAPER,
  hidden_size: 64,
  inner_size: 64,
  n_layers: 2,
  n_heads: 2,
  hidden_dropout_prob: 0.2,
  attn_dropout_prob: 0.2,
  epochs: 10,
  train_batch_size: 256,
  eval_batch_size: 256,
  learning_rate: 2e-3,
  stopping_step: 3,
  micro_batch_size: 64,
  log_every: 5,
  length_bucket: 10,
};

const QUICK_NOTE = 'ours (quick preset): trains on the bundled 1,429-user sample in minutes on wasm (~5 min on a loaded 2-core machine)';

export const SASREC_PRESETS: Record<SasrecPresetName, SasrecPreset> = {
  paper: { config: PAPER, provenance: PAPER_PROVENANCE },
  quick: {
    config: QUICK,
    provenance: {
      ...PAPER_PROVENANCE,
      hidden_size: QUICK_NOTE,
      inner_size: `${QUICK_NOTE}; inner = hidden as in the paper setting`,
      n_layers: QUICK_NOTE,
      n_heads: QUICK_NOTE,
      hidden_dropout_prob: `${QUICK_NOTE}; less regularisation for a smaller model`,
      attn_dropout_prob: `${QUICK_NOTE}; less regularisation for a smaller model`,
      epochs: `${QUICK_NOTE}; ~10 epochs`,
      train_batch_size: `${QUICK_NOTE}; ~24 steps per epoch on 6k samples`,
      eval_batch_size: QUICK_NOTE,
      learning_rate: `${QUICK_NOTE}; larger step for the few updates of a short run`,
      stopping_step: `${QUICK_NOTE}; scaled with the epoch budget`,
      micro_batch_size: 'ours: 64, so that length-sorted micro-batches of short histories stay short (length_bucket)',
      length_bucket:
        'ours: 10 — the sample\'s histories average 4 items, so a length-sorted micro-batch of 64 mostly runs to 10 ' +
        'positions instead of 50 (same loss, different dropout draws; ~2× faster on wasm)',
      log_every: 'ours: few steps per epoch',
    },
  },
};

export function sasrecConfig(preset: SasrecPresetName = 'paper', overrides: Partial<SasrecConfig> = {}): SasrecConfig {
  return { ...SASREC_PRESETS[preset].config, ...overrides };
}

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
