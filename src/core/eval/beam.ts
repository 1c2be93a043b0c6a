/**
 * Batched beam search over item codes (spec §5.8): the encoder runs once per sample and the decoder
 * attends from all beams of a sample to that one output (equivalent to the reference, which repeats
 * the inputs per beam and encodes them all);
 * beam scores start [0, −1e9, …]; at each of the code_length steps the decoder is recomputed on the
 * whole prefix, position t's logits (tied to token_embeddings[t]) go through log_softmax over K, the
 * cumulative beam scores are added, the (beams × K) candidates are flattened and the top 2·beams are
 * taken sorted descending (on the CPU after one readback per step; ties keep the lower flat index),
 * of which the first `beams` are kept: token = idx mod K, parent = floor(idx / K). No EOS, no length
 * penalty. The first `returnCount` beams per sample are returned with their summed log-probabilities.
 *
 * By default nothing is constrained (generated codes may match no item, as in the reference). With
 * `constraint` (a CodeTrie of the real item codes) invalid next tokens get −∞.
 */
import * as tf from '@tensorflow/tfjs';
import type { EtegrecRecommender } from '../models/recommender.ts';

/** Prefix trie of valid item codes: for each prefix (of any length < code_length), the allowed next tokens. */
export class CodeTrie {
  private readonly next = new Map<string, Uint8Array>();

  /**
   * table: row-major (rows × codeLength) codes, e.g. the (N+1, 4) code table; rows holding a −1
   * (the PAD row) are skipped.
   */
  constructor(
    table: ArrayLike<number>,
    readonly codeLength: number,
    readonly codeNum: number,
  ) {
    const rows = Math.floor(table.length / codeLength);
    for (let r = 0; r < rows; r++) {
      let ok = true;
      for (let t = 0; t < codeLength; t++) {
        const c = table[r * codeLength + t];
        if (c < 0 || c >= codeNum) ok = false;
      }
      if (!ok) continue;
      let key = '';
      for (let t = 0; t < codeLength; t++) {
        let allowed = this.next.get(key);
        if (!allowed) this.next.set(key, (allowed = new Uint8Array(codeNum)));
        const c = table[r * codeLength + t];
        allowed[c] = 1;
        key += `${c},`;
      }
    }
  }

  /** Allowed next tokens after `prefix` (a Uint8Array of 0/1 over K), or undefined when none. */
  allowed(prefix: ArrayLike<number>): Uint8Array | undefined {
    let key = '';
    for (let i = 0; i < prefix.length; i++) key += `${prefix[i]},`;
    return this.next.get(key);
  }
}

export interface BeamSearchOptions {
  /** Beam width (20 in the reference). */
  beams: number;
  /** Sequences returned per sample (10 in the reference); ≤ beams. */
  returnCount: number;
  /** Restrict generation to prefixes of real item codes (off by default). */
  constraint?: CodeTrie | null;
}

export interface BeamSearchResult {
  batch: number;
  returnCount: number;
  codeLength: number;
  /** [batch, returnCount, codeLength], best first per sample. */
  sequences: Int32Array;
  /** [batch, returnCount] summed log-probabilities (−Infinity for beams with no valid continuation). */
  scores: Float64Array;
}

const INIT_NEG = -1e9;

/**
 * Indices of the `k` largest values, sorted descending (ties: lower index first). A bounded
 * insertion list instead of a full sort: the beam step ranks W·K candidates (5,120 at the paper
 * configuration) for only W survivors.
 */
export function topKDescending(values: ArrayLike<number>, k: number): number[] {
  const n = values.length;
  const want = Math.min(k, n);
  const top: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    // indices arrive in increasing order, so an equal value never displaces an earlier one
    if (top.length === want && !(v > vals[want - 1])) continue;
    let at = top.length === want ? want - 1 : top.length;
    while (at > 0 && v > vals[at - 1]) {
      vals[at] = vals[at - 1];
      top[at] = top[at - 1];
      at--;
    }
    vals[at] = v;
    top[at] = i;
  }
  return top;
}

/**
 * Beam search for flat history codes [B, 4·Lmax] (int32, −1 = padding). The model runs in eval mode
 * (no dropout). Tensors are created and disposed per step; none leak.
 */
export async function beamSearch(model: EtegrecRecommender, codes: tf.Tensor2D, opts: BeamSearchOptions): Promise<BeamSearchResult> {
  const W = opts.beams;
  const R = opts.returnCount;
  if (!(W >= 1 && R >= 1 && R <= W)) throw new Error(`beam search: need 1 ≤ returnCount (${R}) ≤ beams (${W})`);
  const C = model.config.code_length;
  const K = model.config.code_num;
  const B = codes.shape[0];
  const trie = opts.constraint ?? null;

  // Encoded once per sample; the decoder folds the W beam rows of a sample onto its encoder row.
  const { hidden: encRep, mask: maskRep } = tf.tidy(() => model.encode(codes, { training: false }));

  let tokens = new Int32Array(0); // [B·W, t]
  let scores = new Float64Array(B * W);
  for (let b = 0; b < B; b++) for (let j = 1; j < W; j++) scores[b * W + j] = INIT_NEG;

  try {
    for (let t = 0; t < C; t++) {
      const lpT = tf.tidy(() => {
        const prefix = tf.tensor2d(tokens, [B * W, t], 'int32');
        const H = model.decode(prefix, encRep, maskRep, { training: false });
        const d = H.shape[2];
        const h = tf.reshape(tf.slice(H, [0, t, 0], [B * W, 1, d]), [B * W, d]) as tf.Tensor2D;
        return tf.logSoftmax(model.positionLogits(h, t));
      });
      const lp = (await lpT.data()) as Float32Array;
      lpT.dispose();

      const nextTokens = new Int32Array(B * W * (t + 1));
      const nextScores = new Float64Array(B * W);
      const cand = new Float64Array(W * K);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < W; j++) {
          const row = b * W + j;
          const allowed = trie ? trie.allowed(tokens.subarray(row * t, row * t + t)) : undefined;
          for (let k = 0; k < K; k++) {
            const ok = !trie || (allowed !== undefined && allowed[k] === 1);
            cand[j * K + k] = ok ? scores[row] + lp[row * K + k] : -Infinity;
          }
        }
        const top = topKDescending(cand, W);
        top.forEach((flat, j) => {
          const parent = Math.floor(flat / K);
          const tok = flat % K;
          const dst = (b * W + j) * (t + 1);
          const src = (b * W + parent) * t;
          nextTokens.set(tokens.subarray(src, src + t), dst);
          nextTokens[dst + t] = tok;
          nextScores[b * W + j] = cand[flat];
        });
      }
      tokens = nextTokens;
      scores = nextScores;
    }
  } finally {
    encRep.dispose();
    maskRep.dispose();
  }

  const sequences = new Int32Array(B * R * C);
  const outScores = new Float64Array(B * R);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      sequences.set(tokens.subarray((b * W + r) * C, (b * W + r + 1) * C), (b * R + r) * C);
      outScores[b * R + r] = scores[b * W + r];
    }
  }
  return { batch: B, returnCount: R, codeLength: C, sequences, scores: outScores };
}
