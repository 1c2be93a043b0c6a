/**
 * The ETEGRec recommender (spec §5.3–§5.4): a T5 encoder–decoder over item code tokens with
 * per-level token tables tied to the per-position output logits, plus the two adapters that feed
 * the alignment losses, and the frozen semantic table.
 *
 * Layout:
 * * encoder input [c1(h1), c2(h1), c3(h1), s(h1), c1(h2), …], flat position p embedded with
 *   token_embeddings[p mod 4]; positions with code −1 get model.shared.weight[0] and are masked;
 * * decoder input [BOS = shared[0], emb0[c1], emb1[c2], emb2[c3]];
 * * logits[:, i] = H_D[:, i] · token_embeddings[i]ᵀ;
 * * z_E = enc_adapter(masked mean of the encoder output); h_D = dec_adapter(H_D[:, 0]).
 *
 * The state dict carries the HF tied aliases model.encoder.embed_tokens / model.decoder.embed_tokens /
 * model.lm_head (one stored variable, model.shared.weight, written under all four names).
 */
import * as tf from '@tensorflow/tfjs';
import { linear, matMul2d, oneHotF32 } from '../nn/layers.ts';
import { ParamStore, type NamedArray } from '../nn/params.ts';
import { Rng } from '../rng.ts';
import { codebookLookup } from './rqvae.ts';
import { T5Stacks, T5_PAPER, addT5Params, t5StackShapes, type RunOptions, type T5Config } from './t5.ts';

export interface RecommenderConfig {
  t5: T5Config;
  /** Tokens per item (3 RQ levels + the de-dup suffix). */
  code_length: number;
  /** Codes per level (K). */
  code_num: number;
  /** enc_adapter output width (the RQ-VAE latent width). */
  e_dim: number;
  /** dec_adapter output width = semantic table width D_s (256 single / 1024 dual). */
  semantic_hidden_size: number;
  /** Rows of the semantic table: N items + the padding row. */
  n_items_plus_pad: number;
  /** Std of the N(0, std²) re-initialisation of every Linear / Embedding (0.02). */
  initializer_range: number;
}

export function paperRecommenderConfig(nItemsPlusPad: number, semanticHiddenSize = 256): RecommenderConfig {
  return {
    t5: { ...T5_PAPER },
    code_length: 4,
    code_num: 256,
    e_dim: 128,
    semantic_hidden_size: semanticHiddenSize,
    n_items_plus_pad: nItemsPlusPad,
    initializer_range: 0.02,
  };
}

export const SHARED = 'model.shared.weight';
/** HF names tied to model.shared.weight. */
export const TIED_ALIASES = ['model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight', 'model.lm_head.weight'];
export const SEMANTIC = 'semantic_embedding.weight';
export const ENC_ADAPTER = 'enc_adapter.mlp_layers.1';
export const DEC_ADAPTER = 'dec_adapter.mlp_layers.1';
export const tokenTableName = (i: number): string => `token_embeddings.${i}.weight`;

/** Every reference state-dict key → PyTorch shape, in the reference order (aliases included). */
export function recommenderStateDictShapes(cfg: RecommenderConfig): Record<string, number[]> {
  const d = cfg.t5.d_model;
  const out: Record<string, number[]> = {};
  out[SHARED] = [1, d];
  out[TIED_ALIASES[0]] = [1, d];
  Object.assign(out, t5StackShapes(cfg.t5, 'encoder'));
  out[TIED_ALIASES[1]] = [1, d];
  Object.assign(out, t5StackShapes(cfg.t5, 'decoder'));
  out[TIED_ALIASES[2]] = [1, d];
  out[SEMANTIC] = [cfg.n_items_plus_pad, cfg.semantic_hidden_size];
  for (let i = 0; i < cfg.code_length; i++) out[tokenTableName(i)] = [cfg.code_num, d];
  out[`${ENC_ADAPTER}.weight`] = [cfg.e_dim, d];
  out[`${ENC_ADAPTER}.bias`] = [cfg.e_dim];
  out[`${DEC_ADAPTER}.weight`] = [cfg.semantic_hidden_size, d];
  out[`${DEC_ADAPTER}.bias`] = [cfg.semantic_hidden_size];
  return out;
}

export interface RecommenderOutput {
  /** [B, 4·Lmax, d] encoder final output (after final norm + dropout). */
  encoderHidden: tf.Tensor3D;
  /** [B, 4·Lmax] float code-level mask (1 = code != −1). */
  encoderMask: tf.Tensor2D;
  /** [B, 4, d] decoder final output H_D. */
  decoderHidden: tf.Tensor3D;
  /** [B, 4, K]. */
  logits: tf.Tensor3D;
  /** [B, d] masked mean of the encoder output. */
  seqLatent: tf.Tensor2D;
  /** [B, e_dim] z_E = enc_adapter(seqLatent). */
  seqProject: tf.Tensor2D;
  /** [B, D_s] h_D = dec_adapter(H_D[:, 0]). */
  decLatent: tf.Tensor2D;
}

export class EtegrecRecommender {
  readonly params = new ParamStore();
  readonly t5: T5Stacks;

  constructor(
    readonly config: RecommenderConfig,
    seed = 2020,
  ) {
    const rng = new Rng(seed);
    const std = config.initializer_range;
    const d = config.t5.d_model;
    this.params.add(SHARED, [1, d], rng.normalArray(d, std));
    addT5Params(this.params, config.t5, rng, std);
    this.params.add(SEMANTIC, [config.n_items_plus_pad, config.semantic_hidden_size], rng.normalArray(config.n_items_plus_pad * config.semantic_hidden_size, std), {
      trainable: false,
    });
    for (let i = 0; i < config.code_length; i++) this.params.add(tokenTableName(i), [config.code_num, d], rng.normalArray(config.code_num * d, std));
    this.params.add(`${ENC_ADAPTER}.weight`, [d, config.e_dim], rng.normalArray(d * config.e_dim, std), { linear: true });
    this.params.add(`${ENC_ADAPTER}.bias`, [config.e_dim], new Float32Array(config.e_dim));
    this.params.add(`${DEC_ADAPTER}.weight`, [d, config.semantic_hidden_size], rng.normalArray(d * config.semantic_hidden_size, std), { linear: true });
    this.params.add(`${DEC_ADAPTER}.bias`, [config.semantic_hidden_size], new Float32Array(config.semantic_hidden_size));
    this.t5 = new T5Stacks(this.params, config.t5);
  }

  tokenTable(i: number): tf.Variable {
    return this.params.get(tokenTableName(i));
  }

  /** The frozen semantic table S (N+1, D_s). */
  semanticTable(): tf.Variable {
    return this.params.get(SEMANTIC);
  }

  /** Trainable variables (everything but the semantic table), by reference name. */
  trainableVariables(): Map<string, tf.Variable> {
    return this.params.trainable();
  }

  /**
   * How many dropout draws one training forward() takes from its Rng for `rows` histories padded
   * to `encoderLength` codes: every dropout mask has the batch as its leading axis, so a replica of
   * a data-parallel run can jump its Rng to where a micro-batch starts in the one-thread stream.
   */
  dropoutDraws(rows: number, encoderLength: number): number {
    const c = this.config.t5;
    if (c.dropout_rate <= 0) return 0;
    const { d_model: d, d_ff: ff, num_heads: H } = c;
    const L = encoderLength;
    const T = this.config.code_length; // BOS + the C − 1 label prefix
    // encoder: input, per block (attention probabilities, attention out, FF hidden, FF out), final
    const enc = L * d + c.num_layers * (H * L * L + L * d + L * ff + L * d) + L * d;
    // decoder: input, per block (self probs, self out, cross probs, cross out, FF hidden, FF out), final
    const dec = T * d + c.num_decoder_layers * (H * T * T + T * d + H * T * L + T * d + T * ff + T * d) + T * d;
    return rows * (enc + dec);
  }

  numTrainableParams(): number {
    let n = 0;
    for (const v of this.trainableVariables().values()) n += v.size;
    return n;
  }

  /** shared.weight[0] as [1, d]. */
  private bos(): tf.Tensor2D {
    return this.params.get(SHARED) as unknown as tf.Tensor2D;
  }

  /**
   * Encoder input embeddings and mask from flat codes [B, 4·Lmax] (int32, −1 = padding).
   */
  encoderInputs(codes: tf.Tensor2D): { embeds: tf.Tensor3D; mask: tf.Tensor2D } {
    const C = this.config.code_length;
    const d = this.config.t5.d_model;
    const [B, LC] = codes.shape;
    if (LC % C !== 0) throw new Error(`encoder codes width ${LC} is not a multiple of ${C}`);
    const L = LC / C;
    const mask = tf.cast(tf.notEqual(codes, -1), 'float32') as tf.Tensor2D;
    const safe = tf.maximum(codes, tf.scalar(0, 'int32'));
    const perLevel = tf.split(tf.reshape(safe, [B, L, C]), C, 2);
    const levels: tf.Tensor[] = perLevel.map((c, i) => tf.reshape(codebookLookup(this.tokenTable(i), tf.reshape(c, [-1]) as tf.Tensor1D), [B, L, 1, d]));
    const raw = tf.reshape(tf.concat(levels, 2), [B, LC, d]);
    const m = tf.expandDims(mask, 2);
    const embeds = tf.add(tf.mul(raw, m), tf.mul(tf.reshape(this.bos(), [1, 1, d]), tf.sub(1, m))) as tf.Tensor3D;
    return { embeds, mask };
  }

  /** Decoder inputs [B, T+1, d] = [BOS, emb0[t0], …, emb_{T−1}[t_{T−1}]] from tokens [B, T] (T ≤ 3 used). */
  decoderInputs(tokens: tf.Tensor2D, batch?: number): tf.Tensor3D {
    const d = this.config.t5.d_model;
    const B = batch ?? tokens.shape[0];
    const T = tokens.shape[1] ?? 0;
    const parts: tf.Tensor[] = [tf.tile(tf.reshape(this.bos(), [1, 1, d]), [B, 1, 1])];
    for (let i = 0; i < T; i++) {
      const col = tf.reshape(tf.slice(tokens, [0, i], [B, 1]), [-1]) as tf.Tensor1D;
      parts.push(tf.reshape(codebookLookup(this.tokenTable(i), col), [B, 1, d]));
    }
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor3D;
  }

  /** Runs the encoder on flat codes [B, 4·Lmax]. */
  encode(codes: tf.Tensor2D, o: RunOptions = {}): { hidden: tf.Tensor3D; mask: tf.Tensor2D } {
    const { embeds, mask } = this.encoderInputs(codes);
    return { hidden: this.t5.encode(embeds, mask, o), mask };
  }

  /**
   * Decoder hidden states [N, T+1, d] for the prefix tokens [N, T] (T = 0 gives BOS only). N may be
   * G·B for an encoder batch B (rows b·G … b·G+G−1 attend to sample b: beam search).
   */
  decode(tokens: tf.Tensor2D, encHidden: tf.Tensor3D, encMask: tf.Tensor2D, o: RunOptions = {}): tf.Tensor3D {
    return this.t5.decode(this.decoderInputs(tokens), encHidden, encMask, o);
  }

  /** Logits of one decoder position i: H [B, d] · token_embeddings[i]ᵀ → [B, K]. */
  positionLogits(h: tf.Tensor2D, i: number): tf.Tensor2D {
    return matMul2d(h, this.tokenTable(i), false, true);
  }

  /** logits[:, i] = H_D[:, i] · token_embeddings[i]ᵀ for every decoder position. */
  logits(decoderHidden: tf.Tensor3D): tf.Tensor3D {
    const [B, T, d] = decoderHidden.shape;
    const rows: tf.Tensor[] = [];
    for (let i = 0; i < T; i++) {
      const h = tf.reshape(tf.slice(decoderHidden, [0, i, 0], [B, 1, d]), [B, d]) as tf.Tensor2D;
      rows.push(tf.expandDims(this.positionLogits(h, i), 1));
    }
    return tf.concat(rows, 1) as tf.Tensor3D;
  }

  /** The full forward pass with teacher forcing. codes [B, 4·Lmax], labels [B, 4] (int32). */
  forward(codes: tf.Tensor2D, labels: tf.Tensor2D, o: RunOptions = {}): RecommenderOutput {
    const { hidden, mask } = this.encode(codes, o);
    const C = this.config.code_length;
    const B = codes.shape[0];
    const prefix = tf.slice(labels, [0, 0], [B, C - 1]) as tf.Tensor2D;
    const decoderHidden = this.decode(prefix, hidden, mask, o);
    const logits = this.logits(decoderHidden);
    const m = tf.expandDims(mask, 2);
    const seqLatent = tf.div(tf.sum(tf.mul(hidden, m), 1), tf.sum(m, 1)) as tf.Tensor2D;
    const seqProject = linear(seqLatent, this.params.get(`${ENC_ADAPTER}.weight`), this.params.get(`${ENC_ADAPTER}.bias`)) as tf.Tensor2D;
    const d = this.config.t5.d_model;
    const h0 = tf.reshape(tf.slice(decoderHidden, [0, 0, 0], [B, 1, d]), [B, d]);
    const decLatent = linear(h0, this.params.get(`${DEC_ADAPTER}.weight`), this.params.get(`${DEC_ADAPTER}.bias`)) as tf.Tensor2D;
    return { encoderHidden: hidden, encoderMask: mask, decoderHidden, logits, seqLatent, seqProject, decLatent };
  }

  /** code_loss: mean over B·4 tokens (suffix included) of CE(logits, labels). */
  codeLoss(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
    const K = this.config.code_num;
    const lp = tf.reshape(tf.logSoftmax(tf.reshape(logits, [-1, K])), [-1, K]);
    const oh = oneHotF32(tf.reshape(labels, [-1]), K);
    return tf.neg(tf.mean(tf.sum(tf.mul(lp, oh), 1))) as tf.Scalar;
  }

  /** Values under every reference key (PyTorch layout), the tied aliases written with shared's values. */
  async stateDict(): Promise<Record<string, NamedArray>> {
    const own = await this.params.stateDict();
    const out: Record<string, NamedArray> = {};
    for (const key of Object.keys(recommenderStateDictShapes(this.config))) {
      const src = TIED_ALIASES.includes(key) ? own[SHARED] : own[key];
      out[key] = { shape: src.shape.slice(), data: src.data.slice() };
    }
    return out;
  }

  /**
   * Loads a reference state dict. Every reference key must be present with its shape and no other
   * key may appear; otherwise nothing is assigned and the error says "N of M matched".
   * Aliases of model.shared.weight are accepted (they must have the same shape); shared is loaded.
   */
  loadStateDict(dict: Record<string, NamedArray>): void {
    const want = recommenderStateDictShapes(this.config);
    const keys = Object.keys(want);
    const missing: string[] = [];
    const wrong: string[] = [];
    let matched = 0;
    for (const k of keys) {
      const a = dict[k];
      if (!a) missing.push(k);
      else if (!tf.util.arraysEqual(a.shape, want[k]) || a.data.length !== want[k].reduce((x, y) => x * y, 1)) wrong.push(`${k} ${JSON.stringify(a.shape)} ≠ ${JSON.stringify(want[k])}`);
      else matched++;
    }
    const extra = Object.keys(dict).filter((k) => !(k in want));
    if (matched !== keys.length || extra.length > 0) {
      const parts = [`recommender state dict: ${matched} of ${keys.length} matched`];
      if (missing.length) parts.push(`missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
      if (wrong.length) parts.push(`wrong shape: ${wrong.slice(0, 5).join(', ')}${wrong.length > 5 ? ', …' : ''}`);
      if (extra.length) parts.push(`unexpected: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`);
      throw new Error(parts.join('; '));
    }
    const own: Record<string, NamedArray> = {};
    for (const k of keys) if (!TIED_ALIASES.includes(k)) own[k] = dict[k];
    this.params.loadStateDict(own);
  }

  dispose(): void {
    this.params.dispose();
  }
}
