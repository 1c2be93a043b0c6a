/** The RQ-VAE tokenizer's layout (spec §4.1), free of tfjs so configs and presets can import it. */
export interface RqvaeConfig {
  in_dim: number;
  /** Hidden widths of the encoder (the decoder uses the reverse). */
  layers: number[];
  e_dim: number;
  num_emb_list: number[];
  /** Commitment weight β (0.25). */
  beta: number;
  /** α in total = recon + α·rq_loss (1.0). */
  quant_loss_weight: number;
  /** Per-level Sinkhorn ε (training only; 0 = off, the executed reference path, §4.5). */
  sk_epsilons: number[];
  sk_iters: number;
}

/** Paper / official single layout: 256 → 512 → 256 → 128. */
export const RQVAE_SINGLE: RqvaeConfig = {
  in_dim: 256,
  layers: [512, 256],
  e_dim: 128,
  num_emb_list: [256, 256, 256],
  beta: 0.25,
  quant_loss_weight: 1.0,
  sk_epsilons: [0, 0, 0],
  sk_iters: 50,
};

/** Fork's dual layout (run_dual.sh): 1024 → 1024 → 512 → 256 → 128. */
export const RQVAE_DUAL: RqvaeConfig = { ...RQVAE_SINGLE, in_dim: 1024, layers: [1024, 512, 256], sk_iters: 100 };

export function rqvaeLayout(inDim: number): RqvaeConfig {
  return inDim === 1024 ? { ...RQVAE_DUAL } : { ...RQVAE_SINGLE, in_dim: inDim };
}
