/**
 * FLOP counters for achieved GFLOP/s. Only matrix products are counted (norms, softmax, masks and
 * element-wise ops are ignored, < a few % at these shapes):
 *
 *   matmul [m×k]·[k×n]           = 2·m·n·k FLOPs
 *   training step (fwd + bwd)    ≈ 3 × forward   (backward ≈ 2 × forward: dX and dW products)
 *
 * Counts are of USEFUL work: sequences at their own length (padding not counted), so the achieved
 * GFLOP/s is a lower bound when batches are padded.
 */

export interface T5Shape {
  d_model: number;
  d_ff: number;
  num_heads: number;
  d_kv: number;
  num_layers: number;
  num_decoder_layers: number;
}

/** One self/cross-attention block: q from `q` tokens, k/v from `k` tokens. */
function attention(q: number, k: number, d: number, heads: number, dkv: number): number {
  const inner = heads * dkv;
  return (
    2 * q * d * inner + // Q
    2 * 2 * k * d * inner + // K, V
    2 * heads * q * k * dkv + // scores Q·Kᵀ
    2 * heads * q * k * dkv + // probs·V
    2 * q * inner * d // output projection
  );
}

/** Non-gated ReLU feed-forward d → d_ff → d over `n` tokens. */
const ffn = (n: number, d: number, dff: number) => 2 * 2 * n * d * dff;

/**
 * ETEGRec recommender forward for one sample: encoder over S = code_length · history tokens,
 * decoder over T = code_length tokens (start + 3 prefix codes), per-position code logits
 * (T × d × code_num), the two adapters (d→d, d→semantic) — spec §5.3/§5.4.
 */
export function t5ForwardFlops(t5: T5Shape, encTokens: number, decTokens: number, codeNum: number, semanticDim: number): number {
  const { d_model: d, d_ff: dff, num_heads: h, d_kv: dkv } = t5;
  const enc = t5.num_layers * (attention(encTokens, encTokens, d, h, dkv) + ffn(encTokens, d, dff));
  const dec = t5.num_decoder_layers * (attention(decTokens, decTokens, d, h, dkv) + attention(decTokens, encTokens, d, h, dkv) + ffn(decTokens, d, dff));
  const head = 2 * decTokens * d * codeNum;
  const adapters = 2 * d * d + 2 * d * semanticDim;
  return enc + dec + head + adapters;
}

/** Recommender training step over a batch of history lengths (items): 3 × forward. */
export function t5TrainStepFlops(t5: T5Shape, lens: ArrayLike<number>, codeLength: number, codeNum: number, semanticDim: number): number {
  let f = 0;
  for (let i = 0; i < lens.length; i++) f += t5ForwardFlops(t5, codeLength * lens[i], codeLength, codeNum, semanticDim);
  return 3 * f;
}

/**
 * SASRec training step (batch B, padded length L — SASRec always runs at L): per layer attention
 * (hidden h, all heads together) + FFN h→inner→h, then the full-catalogue logits 2·h·(N+1) at the
 * last position; × 3 for forward + backward. The last layer at one position only (ours) is ignored,
 * so this slightly over-counts when last_position_only is on.
 */
export function sasrecTrainStepFlops(B: number, L: number, hidden: number, inner: number, layers: number, numItems: number): number {
  const layer = 2 * 4 * L * hidden * hidden + 2 * 2 * L * L * hidden + 2 * 2 * L * hidden * inner;
  return 3 * B * (layers * layer + 2 * hidden * (numItems + 1));
}

/**
 * RQ-VAE step over B items: encoder MLP widths (e.g. 256-512-256-128), the mirrored decoder, and the
 * distance of each level's residual to its codebook (levels × 2·K·e_dim); × 3 for fwd + bwd.
 */
export function rqvaeTrainStepFlops(B: number, widths: number[], levels: number, K: number): number {
  let mlp = 0;
  for (let i = 0; i + 1 < widths.length; i++) mlp += 2 * widths[i] * widths[i + 1];
  const eDim = widths[widths.length - 1];
  return 3 * B * (2 * mlp + levels * 2 * K * eDim);
}
