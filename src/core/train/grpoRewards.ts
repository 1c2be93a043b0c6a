/**
 * The plain-array pieces of GRPO (spec §6): rewards, group-normalised advantages and the sampler's
 * top-k / multinomial draw. No tfjs.
 */
import type { Rng } from '../rng.ts';

export const INVALID_REWARD = -0.1;

/**
 * Reward per generated row: rule + α·cos(S[g], S[target]); rule = 1 on a hit, −0.1 when the code is
 * invalid (g = −1), else 0; cos = 0 when invalid. `generatedItem` has B·G rows; `targets` has B
 * (row i uses targets[⌊i / G⌋], G = rows / B) or B·G entries. `semantic` is [N × dim], row i−1 = item i.
 * Cosine as torch: x·y / max(‖x‖·‖y‖, 1e-8).
 */
export function groupRewards(
  generatedItem: Int32Array,
  targets: Int32Array,
  semantic: Float32Array,
  semanticDim: number,
  alpha: number,
): Float32Array {
  const rows = generatedItem.length;
  if (targets.length === 0 || rows % targets.length !== 0) throw new Error(`groupRewards: ${rows} rows for ${targets.length} targets`);
  const G = rows / targets.length;
  const D = semanticDim;
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const g = generatedItem[i];
    const t = targets[Math.floor(i / G)];
    if (g < 0) {
      out[i] = INVALID_REWARD;
      continue;
    }
    const rule = g === t ? 1 : 0;
    const a = (g - 1) * D;
    const b = (t - 1) * D;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let k = 0; k < D; k++) {
      const x = semantic[a + k];
      const y = semantic[b + k];
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    const cos = dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-8);
    out[i] = rule + alpha * cos;
  }
  return out;
}

/**
 * Group-normalised advantages: (r − mean_G) / (std_G + 1e-8), unbiased (G − 1) std, groups of G
 * consecutive rows. G = 1 has no std; its advantages are 0 (torch would give NaN).
 */
export function groupAdvantages(rewards: Float32Array, G: number): Float32Array {
  if (rewards.length % G !== 0) throw new Error(`groupAdvantages: ${rewards.length} rewards are not groups of ${G}`);
  const out = new Float32Array(rewards.length);
  if (G < 2) return out;
  for (let s = 0; s < rewards.length; s += G) {
    let mean = 0;
    for (let j = 0; j < G; j++) mean += rewards[s + j];
    mean /= G;
    let ss = 0;
    for (let j = 0; j < G; j++) ss += (rewards[s + j] - mean) ** 2;
    const std = Math.sqrt(ss / (G - 1));
    for (let j = 0; j < G; j++) out[s + j] = (rewards[s + j] - mean) / (std + 1e-8);
  }
  return out;
}

/**
 * Top-k filter of row-major logits [rows × K]: per row, values below the k-th largest become −∞
 * (ties with the k-th are kept, as `logits < topk.values[..., -1]` in torch). k ≥ K keeps all.
 */
export function topKFilter(logits: Float32Array, numClasses: number, k: number): Float32Array {
  const K = numClasses;
  const out = Float32Array.from(logits);
  if (k >= K) return out;
  if (k < 1) throw new Error(`topKFilter: k must be ≥ 1, got ${k}`);
  const rows = logits.length / K;
  const tmp = new Float32Array(K);
  for (let r = 0; r < rows; r++) {
    tmp.set(logits.subarray(r * K, r * K + K));
    tmp.sort();
    const kth = tmp[K - k];
    for (let j = 0; j < K; j++) if (out[r * K + j] < kth) out[r * K + j] = -Infinity;
  }
  return out;
}

export interface SamplingOptions {
  temperature: number;
  topK: number;
}

/**
 * One multinomial draw per row of logits [rows × K]: logits / temperature → top-k → softmax →
 * inverse CDF with one rng.next() per row. Deterministic for a given rng state.
 */
export function sampleFromLogits(logits: Float32Array, numClasses: number, o: SamplingOptions, rng: Rng): Int32Array {
  const K = numClasses;
  const rows = logits.length / K;
  const scaled = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) scaled[i] = logits[i] / o.temperature;
  const f = topKFilter(scaled, K, o.topK);
  const out = new Int32Array(rows);
  const p = new Float64Array(K);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < K; j++) max = Math.max(max, f[r * K + j]);
    let total = 0;
    for (let j = 0; j < K; j++) {
      const v = f[r * K + j];
      p[j] = v === -Infinity ? 0 : Math.exp(v - max);
      total += p[j];
    }
    const u = rng.next() * total;
    let acc = 0;
    let pick = -1;
    for (let j = 0; j < K; j++) {
      if (p[j] <= 0) continue;
      acc += p[j];
      pick = j;
      if (u < acc) break;
    }
    out[r] = pick < 0 ? 0 : pick;
  }
  return out;
}
