/**
 * The tokenizer stage (RQ-VAE pretraining, spec §4.3–§4.4) declared once: the config type, every
 * field with its range and help, the presets with provenance (resolved for the input width: the
 * single 256-d and dual 1024-d layouts differ), and the consistency checks. No tfjs here.
 */
import { rqvaeLayout, type RqvaeConfig } from '../models/rqvaeConfig.ts';
import { noteFromText, type FieldDecl, type FieldError, type PresetDecl, type StageDecl } from './fields.ts';

export interface RqvaeTrainConfig extends RqvaeConfig {
  epochs: number;
  batch_size: number;
  lr: number;
  weight_decay: number;
  warmup_epochs: number;
  /** Evaluate every eval_step epochs. */
  eval_step: number;
  /** Early stop after this many evaluations without a strictly lower collision rate (0 = off). */
  patience: number;
  kmeans_init: boolean;
  kmeans_iters: number;
  clip_norm: number;
  seed: number;
}

export type RqvaePresetName = 'paper' | 'quick';

export interface RqvaePreset {
  description: string;
  /** Values that differ between the single (256-d) and dual (1024-d) layouts are resolved in rqvaeTrainConfig. */
  values: Omit<RqvaeTrainConfig, keyof RqvaeConfig | 'batch_size' | 'kmeans_iters'>;
  provenance: Record<string, string>;
}

const COMMON_PROVENANCE: Record<string, string> = {
  lr: '1e-3 — official run_pretrain.sh [O]',
  weight_decay: '1e-4 — official [O]',
  clip_norm: 'global L2 1.0 — official trainer [O]',
  batch_size: '1024 single (run_pretrain.sh [O]); 2048 dual (run_dual.sh [F])',
  kmeans_iters: '100 single [O]; 500 dual (run_dual.sh [F])',
  kmeans_init: 'true in every pretrain script [O]; sklearn KMeans(random_state=42)',
  beta: '0.25 [O]',
  quant_loss_weight: '1.0 [O]',
  layers: '[512, 256] single [O, P "3-layer MLP"]; [1024, 512, 256] dual [F]',
  e_dim: '128 [O]',
  num_emb_list: '256 × 3 [O]',
  sk_epsilons: '0 (off): the executed fork path never uses Sinkhorn (spec §4.5)',
};

export const RQVAE_PRESETS: Record<RqvaePresetName, RqvaePreset> = {
  paper: {
    description: 'Reference pretraining (run_pretrain.sh / run_dual.sh, fork early stop)',
    values: { epochs: 10000, lr: 1e-3, weight_decay: 1e-4, warmup_epochs: 50, eval_step: 50, patience: 20, kmeans_init: true, clip_norm: 1, seed: 2024 },
    provenance: {
      ...COMMON_PROVENANCE,
      epochs: '10000 [O]',
      warmup_epochs: '50 [O]',
      eval_step: '50 [O]',
      patience: '20 evaluations (= 1000 epochs) — fork early stop [F]; official ran all epochs',
      seed: '2024 [O]',
    },
  },
  quick: {
    description: 'Short run for the 900-item sample: 30–34 s measured in Node/wasm on a quiet 2-core machine, about 3 min on a heavily loaded one (changed by us)',
    values: { epochs: 200, lr: 1e-3, weight_decay: 1e-4, warmup_epochs: 5, eval_step: 10, patience: 10, kmeans_init: true, clip_norm: 1, seed: 2024 },
    provenance: {
      ...COMMON_PROVENANCE,
      epochs: '200 — changed by us (paper 10000) so the sample trains in about half a minute on a quiet 2-core machine',
      warmup_epochs: '5 — changed by us (paper 50 of 10000); short runs need the peak lr early',
      eval_step: '10 — changed by us (paper 50) so short runs get curves',
      patience: '10 evaluations (= 100 epochs) — changed by us (paper 20)',
      seed: '2024 [O]',
    },
  },
};

export function rqvaeTrainConfig(preset: RqvaePresetName, inDim: number, overrides: Partial<RqvaeTrainConfig> = {}): RqvaeTrainConfig {
  const layout = rqvaeLayout(inDim);
  const dual = inDim === 1024;
  return {
    ...layout,
    ...RQVAE_PRESETS[preset].values,
    batch_size: dual ? 2048 : 1024,
    kmeans_iters: dual ? 500 : 100,
    ...overrides,
  };
}

// ---- fields ------------------------------------------------------------------------------------

type Key = keyof RqvaeTrainConfig;
const int = (key: Key, label: string, help: string, min: number, max: number, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'int', label, help, min, max, ...extra });
const num = (key: Key, label: string, help: string, min: number, max: number, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'float', label, help, min, max, ...extra });

export const RQVAE_FIELDS: readonly FieldDecl[] = [
  int('epochs', 'epochs', 'training epochs at most (early stopping on the collision rate ends sooner)', 1, 1_000_000, { main: true, unit: 'epochs' }),
  int('batch_size', 'batch size', 'items per update', 1, 1 << 20, { main: true, unit: 'items', aliases: ['batch'] }),
  num('lr', 'learning rate', 'AdamW learning rate', 0, 10, { main: true, exclusiveMin: true }),
  num('weight_decay', 'weight decay', 'decoupled AdamW weight decay', 0, 10, { main: true }),
  int('warmup_epochs', 'warm-up epochs', 'linear LR warm-up', 0, 1_000_000, { main: true, unit: 'epochs' }),
  int('eval_step', 'eval step', 'evaluate collision rate and Gini every this many epochs', 1, 1_000_000, { main: true, unit: 'epochs', aliases: ['eval-step'] }),
  int('patience', 'patience', 'evaluations without a lower collision rate before stopping (0 = off)', 0, 1_000_000, { main: true, unit: 'evaluations' }),
  { key: 'num_emb_list', kind: 'ints', label: 'codebook sizes', help: 'codes per level (3 levels; the code table adds a suffix)', length: 3, min: 2, max: 4096, main: true },
  int('e_dim', 'latent width', 'width of the quantised latent', 1, 4096, { main: true }),
  { key: 'layers', kind: 'ints', label: 'encoder widths', help: 'hidden widths of the encoder MLP (the decoder mirrors them)', min: 1, max: 65_536, main: true },
  { key: 'kmeans_init', kind: 'bool', label: 'k-means init', help: 'initialise the codebooks by k-means on the first batch', main: true },
  int('kmeans_iters', 'k-means iterations', 'iterations of the k-means initialisation', 1, 100_000, { main: true }),
  num('beta', 'β (commitment)', 'commitment weight of the quantiser', 0, 1e6),
  num('quant_loss_weight', 'α (quantisation)', 'total = recon + α · rq_loss', 0, 1e6),
  { key: 'sk_epsilons', kind: 'floats', label: 'Sinkhorn ε per level', help: 'Sinkhorn ε of each level in training (0 = off, the executed reference path)', min: 0, max: 1e6 },
  int('sk_iters', 'Sinkhorn iterations', 'Sinkhorn iterations (when an ε is above 0)', 1, 100_000),
  num('clip_norm', 'gradient clip', 'global L2 gradient-norm clip', 0, 1e6, { exclusiveMin: true }),
  int('seed', 'seed', 'random seed', 0, 2 ** 32 - 1, { main: true }),
  int('in_dim', 'input width', 'width of the semantic vectors (set by the table)', 1, 65_536, { main: true }),
];

function checkRqvae(c: RqvaeTrainConfig): FieldError[] {
  if (c.sk_epsilons.length !== c.num_emb_list.length) {
    return [{ field: 'sk_epsilons', message: `sk_epsilons must give one ε per level (${c.num_emb_list.length}), got ${c.sk_epsilons.length}` }];
  }
  return [];
}

const DESCRIPTIONS: Record<RqvaePresetName, string> = {
  paper: RQVAE_PRESETS.paper.description,
  quick: RQVAE_PRESETS.quick.description,
};

/** The tokenizer stage for semantic vectors of width `inDim` (presets resolved for its layout). */
export function tokenizerStage(inDim = 256): StageDecl<RqvaeTrainConfig> {
  const preset = (name: RqvaePresetName): PresetDecl<RqvaeTrainConfig> => ({
    name,
    description: DESCRIPTIONS[name],
    values: rqvaeTrainConfig(name, inDim),
    provenance: Object.fromEntries(Object.entries(RQVAE_PRESETS[name].provenance).map(([k, v]) => [k, noteFromText(v)])),
  });
  return {
    stage: 'tokenizer',
    title: 'tokenizer (RQ-VAE)',
    fields: RQVAE_FIELDS,
    presets: { paper: preset('paper'), quick: preset('quick') },
    defaultPreset: 'quick',
    check: checkRqvae,
  };
}
