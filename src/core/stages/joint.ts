/**
 * The joint stage (ETEGRec's alternating tokenizer / recommender training and its finetune, spec
 * §5.6–§5.10) declared once: the config type, every field with its range and help, the presets with
 * provenance, and the consistency checks. The trainer, the worker, the CLI, the form, share links
 * and YAML all read this module. No tfjs here.
 */
import type { SiaLogitSign } from '../losses/alignment.ts';
import type { ScheduleKind } from '../optim/schedules.ts';
import { T5_PAPER, type T5Config } from '../models/t5Config.ts';
import { ConfigErrors, findField, note, parseFieldValue, validateStageConfig, type FieldDecl, type FieldError, type PresetDecl, type ConfigContext, type StageDecl } from './fields.ts';

/** Weights of total = vq·vq_loss + code·code_loss + kl·kl_loss + decCl·dec_cl_loss. */
export interface LossWeights {
  vq: number;
  code: number;
  kl: number;
  decCl: number;
}

export interface AblationSwitches {
  /** Sequence-item alignment (KL). false = "w/o L_SIA". */
  sia: boolean;
  /** Preference-semantic alignment (InfoNCE). false = "w/o L_PSA". */
  psa: boolean;
  /** Alternating optimisation. false = "w/o AT" (all objectives jointly every epoch). */
  alternation: boolean;
  /** End-to-end tokenizer updates. false = "w/o ETE" (tokenizer frozen; train on fixed tokens). */
  endToEnd: boolean;
}

export type AblationName = 'full' | 'no_sia' | 'no_psa' | 'no_both' | 'no_alternation' | 'no_end_to_end';

export const ABLATIONS: Record<AblationName, AblationSwitches> = {
  full: { sia: true, psa: true, alternation: true, endToEnd: true },
  no_sia: { sia: false, psa: true, alternation: true, endToEnd: true },
  no_psa: { sia: true, psa: false, alternation: true, endToEnd: true },
  no_both: { sia: false, psa: false, alternation: true, endToEnd: true },
  no_alternation: { sia: true, psa: true, alternation: false, endToEnd: true },
  no_end_to_end: { sia: true, psa: true, alternation: true, endToEnd: false },
};

/** Finetune stage (§5.10), run after the alternating stage from its best checkpoint. */
export interface FinetuneConfig {
  epochs: number;
  lr: number;
  weight_decay: number;
  lr_scheduler_type: ScheduleKind;
  warmup_steps: number;
  eval_step: number;
  early_stop: number;
  weights: LossWeights;
  /** Keep the semantic table frozen (true, recommended) or reproduce the single-GPU quirk (false). */
  freeze_semantic: boolean;
  /** Fresh AdamW moments for the recommender. */
  fresh_optimizer: boolean;
}

export interface JointTrainConfig {
  epochs: number;
  cycle: number;
  warm_epoch: number;
  eval_step: number;
  /** Evaluations without strict improvement of the valid metric before stopping. */
  early_stop: number;
  valid_metric: 'ndcg@10';
  id_vq_loss: number;
  id_code_loss: number;
  id_kl_loss: number;
  id_dec_cl_loss: number;
  rec_vq_loss: number;
  rec_code_loss: number;
  rec_kl_loss: number;
  rec_dec_cl_loss: number;
  /** vq_loss = recon + alpha·rq_loss. */
  alpha: number;
  lr_rec: number;
  lr_id: number;
  weight_decay: number;
  lr_scheduler_type: ScheduleKind;
  /** Recommender warmup W; the tokenizer uses W // cycle. */
  warmup_steps: number;
  clip_norm: number;
  batch_size: number;
  eval_batch_size: number;
  num_beams: number;
  return_beams: number;
  /** InfoNCE temperature. */
  tau: number;
  sia_sign: SiaLogitSign;
  forge: boolean;
  seed: number;
  ablation: AblationSwitches;
  finetune: FinetuneConfig;
  /** The recommender's T5 backbone (§5.3). */
  t5: T5Config;
  /**
   * Rows per forward/backward pass; a batch is processed in ceil(batch/micro) passes with summed
   * gradients. Exact for the code loss and the KL (row-decomposable); the InfoNCE of recommender
   * epochs stays exact through a cached-gradient pass over the whole batch [ours].
   */
  micro_batch_size: number;
  /** Trie-constrained decoding (only codes of real items); off for paper parity. */
  constrained: boolean;
  /** Histories are padded to multiples of this many items (fewer shapes to compile) [ours]. */
  length_bucket: number;
  /** Validate on the first eval_limit valid samples only (0 = all) [ours, quick runs]. */
  eval_limit: number;
  /**
   * Train on an evenly spaced subset of this many training samples (0 = all) [ours, smoke tests
   * on slow adapters]. Optional so configs stored before it existed stay valid.
   */
  train_limit?: number;
  /** Items of history fed to the encoder (the most recent ones); 50 = the reference (all). */
  max_history: number;
}

export type JointPresetName = 'paper' | 'quick' | 'converge';

/** A preset: its values and where each comes from (one shape for every stage). */
export type JointPreset = PresetDecl<JointTrainConfig>;

const n = note;


/** The reference values (official main.py / trainer.py defaults, spec §7). */
const PAPER_VALUES: JointTrainConfig = {
  epochs: 400,
  cycle: 2,
  warm_epoch: 10,
  eval_step: 2,
  early_stop: 15,
  valid_metric: 'ndcg@10',
  id_vq_loss: 1,
  id_code_loss: 0,
  id_kl_loss: 1e-4,
  id_dec_cl_loss: 3e-4,
  rec_vq_loss: 0,
  rec_code_loss: 1,
  rec_kl_loss: 1e-4,
  rec_dec_cl_loss: 3e-4,
  alpha: 1,
  lr_rec: 5e-3,
  lr_id: 1e-4,
  weight_decay: 0.05,
  lr_scheduler_type: 'cosine',
  warmup_steps: 8000,
  clip_norm: 1,
  batch_size: 512,
  eval_batch_size: 32,
  num_beams: 20,
  return_beams: 10,
  tau: 0.07,
  sia_sign: 'plus',
  forge: false,
  seed: 2020,
  ablation: { ...ABLATIONS.full },
  finetune: {
    epochs: 100,
    lr: 5e-4,
    weight_decay: 0.05,
    lr_scheduler_type: 'cosine',
    warmup_steps: 0,
    eval_step: 1,
    early_stop: 10,
    weights: { vq: 0, code: 1, kl: 0, decCl: 0 },
    freeze_semantic: true,
    fresh_optimizer: true,
  },
  t5: { ...T5_PAPER },
  micro_batch_size: 64,
  constrained: false,
  length_bucket: 10,
  eval_limit: 0,
  train_limit: 0,
  max_history: 50,
};

/** The quick preset's values (ours), shared with the converge preset. */
const QUICK_VALUES: JointTrainConfig = {
  ...PAPER_VALUES,
  epochs: 16,
  cycle: 4,
  eval_step: 4,
  warm_epoch: 2,
  early_stop: 3,
  lr_rec: 1e-3,
  warmup_steps: 50,
  batch_size: 64,
  eval_batch_size: 64,
  ablation: { ...ABLATIONS.full },
  finetune: { ...PAPER_VALUES.finetune, weights: { ...PAPER_VALUES.finetune.weights }, epochs: 2, early_stop: 2 },
  t5: { ...T5_PAPER, num_layers: 2, num_decoder_layers: 2, d_model: 64, d_ff: 256, num_heads: 2, d_kv: 32, dropout_rate: 0 },
  micro_batch_size: 64,
  length_bucket: 5,
  eval_limit: 400,
  max_history: 10,
};

export const JOINT_PRESETS: Record<JointPresetName, JointPreset> = {
  paper: {
    name: 'paper',
    description: 'Reference joint training (official main.py / trainer.py, single process) + finetune',
    values: PAPER_VALUES,
    provenance: {
      epochs: n(['official'], '400 (max; early stopping ends earlier)'),
      cycle: n(['paper', 'official'], '2 (paper tuned in {2, 4})'),
      warm_epoch: n(['official'], '10: KL and InfoNCE weights are 0 before epoch 10 in both phases; not in the paper'),
      eval_step: n(['official'], '2: validate after epochs 1, 3, 5, … (cycle must be divisible by it)'),
      early_stop: n(['official'], '15 evaluations without strict improvement of valid ndcg@10'),
      valid_metric: n(['official'], 'ndcg@10, strict >'),
      id_vq_loss: n(['official'], '1'),
      id_code_loss: n(['official'], '0'),
      id_kl_loss: n(['official'], '1e-4 (paper optimum for SIA μ is 3e-4; spec §9 item 5)'),
      id_dec_cl_loss: n(['official'], '3e-4 (paper optimum for PSA λ is 1e-4; spec §9 item 5)'),
      rec_vq_loss: n(['official'], '0'),
      rec_code_loss: n(['official'], '1'),
      rec_kl_loss: n(['official'], '1e-4'),
      rec_dec_cl_loss: n(['official'], '3e-4'),
      alpha: n(['official'], '1'),
      lr_rec: n(['paper', 'official'], '5e-3 (paper grid {5e-3, 3e-3, 1e-3})'),
      lr_id: n(['paper', 'official'], '1e-4 (paper grid {5e-4, 1e-4, 5e-5})'),
      weight_decay: n(['paper', 'official'], '0.05, decoupled, on all parameters'),
      lr_scheduler_type: n(['official'], 'cosine with warmup (HF), stepped per batch'),
      warmup_steps: n(['official'], '8000 recommender; the tokenizer uses 8000 // cycle = 4000'),
      clip_norm: n(['official'], 'global L2 1.0 per module'),
      batch_size: n(['official'], '512 per process; single process here (official ran 4-GPU DDP, spec §5.12)'),
      eval_batch_size: n(['official'], '32'),
      num_beams: n(['paper', 'official'], '20'),
      return_beams: n(['official'], '10'),
      tau: n(['official'], '0.07 InfoNCE function default (value not given in the paper)'),
      sia_sign: n(['official'], "'plus' = softmax(+d) as the code; the paper's Eq. 6 is 'minus'"),
      forge: n(['ours'], 'off: the official algorithm; FORGE level-3 rewrite is fork-only and on by default there [fork]'),
      seed: n(['official'], '2020'),
      ablation: n(['paper'], "all components on; Table 4 variants via ABLATIONS (the 'w/o AT' and 'w/o ETE' mechanics are our reading)"),
      'finetune.epochs': n(['official'], '100'),
      'finetune.lr': n(['official'], '5e-4, new AdamW (fresh moments)'),
      'finetune.weight_decay': n(['official'], '0.05'),
      'finetune.lr_scheduler_type': n(['official'], 'cosine'),
      'finetune.warmup_steps': n(['official'], '0; total 100 × S'),
      'finetune.eval_step': n(['official'], '1'),
      'finetune.early_stop': n(['official'], '10'),
      'finetune.weights': n(['official'], 'code 1, kl 0, dec_cl 0, vq 0 (KL/InfoNCE still computed, weighted 0)'),
      'finetune.freeze_semantic': n(['ours'], 'true; official and fork unfreeze it on a single GPU (DDP name-prefix quirk) so weight decay shrinks it'),
      'finetune.fresh_optimizer': n(['official'], 'true'),
      t5: n(['paper', 'official'], 'd_model 128, 6+6 layers, 4 heads × d_kv 64, d_ff 512, ReLU FFN, dropout 0.1, 32 buckets / max distance 128'),
      micro_batch_size: n(['ours'], '64 rows per pass (the 4 GiB wasm heap does not hold a 512-row T5 tape); exact: the batch of 512 is unchanged'),
      constrained: n(['ours'], 'off = reference (unconstrained beam search; invalid codes occupy ranks)'),
      length_bucket: n(['ours'], '10 items: padding is masked, so results do not change'),
      eval_limit: n(['ours'], '0 = the whole valid split, as the reference'),
      train_limit: n(['ours'], '0 = every training sample, as the reference'),
      max_history: n(['official'], '50 items = 200 encoder tokens (the prepared histories are at most 50 long)'),
    },
  },
  quick: {
    name: 'quick',
    description: 'The whole pipeline on the bundled 900-item sample in under 8 minutes in Node/wasm on 2 cores, without collapsing to a popularity list (changed by us)',
    values: QUICK_VALUES,
    provenance: {
      epochs: n(['ours'], '16 = 4 cycles (paper 400 with early stopping), sized for ≤ 8 minutes of the whole pipeline on the sample'),
      cycle: n(['paper', 'ours'], '4 (paper tuned in {2, 4}; official 2): three recommender epochs per tokenizer epoch — more recommender updates in the same time, fewer code rebuilds to follow (docs/recipe.md)'),
      warm_epoch: n(['ours'], '2 (paper 10): alignment terms switch on within the short run'),
      early_stop: n(['ours'], '3 evaluations = 12 epochs (paper 15)'),
      lr_rec: n(['paper', 'ours'], '1e-3, the low end of the paper grid {5e-3, 3e-3, 1e-3}: at 5e-3 with a short warm-up the small T5 collapses to one list for everyone (docs/recipe.md)'),
      warmup_steps: n(['ours'], '50 steps (paper 8000 ≈ 170 epochs of the sample)'),
      batch_size: n(['ours'], '64 (paper 512): ~94 updates per epoch on the sample; twice the updates of 128 at the same cost per sample'),
      eval_batch_size: n(['ours'], '64 (paper 32): fewer, larger beam-search batches'),
      t5: n(['ours'], 'd_model 64, 2+2 layers, 2 heads × 32, d_ff 256, dropout 0 (paper 128, 6+6, 4 × 64, 512, dropout 0.1): on 6.6 training samples per item dropout only slows the fitting of the per-user level-1 codes (docs/recipe.md)'),
      eval_limit: n(['ours'], 'validation on the first 400 valid users (test always on all)'),
      micro_batch_size: n(['ours'], '64 (the whole batch: one gradient tape, so the cached-InfoNCE first pass is not needed); its rows run in length groups, so the sample\'s short histories (mean 4 items) stay short; exact (same gradient)'),
      length_bucket: n(['ours'], '5 items (paper preset 10): finer padding for the short histories of the sample; padding is masked, so results do not change'),
      train_limit: n(['ours'], '0 = every training sample'),
      max_history: n(['ours'], '10 most recent items (paper 50): the sample\'s histories average 4.1 items; 20 gave the same test metrics at ~1.4× the CPU time (docs/recipe.md)'),
      eval_step: n(['ours'], '4 = cycle (paper 2): validate after each cycle\'s last recommender epoch; keeps the pipeline within 8 minutes'),
      'finetune.epochs': n(['ours'], '2 (paper 100): the best finetune epoch on the sample was the second'),
      'finetune.eval_step': n(['ours'], '1 (paper 1)'),
      'finetune.early_stop': n(['ours'], '2 (paper 10)'),
      other: n(['official'], 'every other value as the paper preset'),
    },
  },
  converge: {
    name: 'converge',
    description: 'Trains the bundled sample to early stopping (tens of minutes on 2 cores): the quick model with a slower, longer schedule (changed by us)',
    values: {
      ...QUICK_VALUES,
      epochs: 60,
      eval_step: 2,
      early_stop: 5,
      warmup_steps: 200,
      eval_limit: 0,
      finetune: { ...QUICK_VALUES.finetune, epochs: 0, early_stop: 4 },
      t5: { ...QUICK_VALUES.t5, dropout_rate: 0.1 },
    },
    provenance: {
      epochs: n(['ours'], '60 at most (paper 400); early stopping ends the run'),
      eval_step: n(['official'], '2, as the reference (the quick preset validates every 4)'),
      early_stop: n(['ours'], '5 evaluations = 10 epochs without a better valid ndcg@10 (paper 15)'),
      warmup_steps: n(['ours'], '200 steps ≈ 2 epochs of the sample at batch 64 (paper 8000 at batch 512)'),
      eval_limit: n(['ours'], '0 = every valid user (the quick preset uses 400, which makes the best epoch noisy)'),
      'finetune.epochs': n(['ours'], '0 = no finetune (paper 100): on the sample the finetune raised valid ndcg@10 while test ndcg@10 fell (seed 2020: 0.0522 before → 0.0455 after 12 finetune epochs, dropout 0.1; 0.0469 → 0.0452 with dropout 0), so the alternating stage\'s best checkpoint is the result (docs/recipe.md)'),
      'finetune.early_stop': n(['ours'], '4 (paper 10), when finetune epochs are set'),
      't5.dropout_rate': n(['paper', 'official'], '0.1 as the paper: over 30+ epochs dropout 0 over-fits after ~16 epochs (test ndcg@10 0.0469 vs 0.0522 with 0.1, seed 2020; docs/recipe.md)'),
      t5: n(['ours'], 'the quick preset\'s T5 size (d_model 64, 2+2 layers, 2 heads × 32, d_ff 256) with the paper\'s dropout 0.1'),
      other: n(['ours'], 'every other value as the quick preset (lr_rec 1e-3, cycle 4, batch 64, history 10, micro-batches); see its notes'),
    },
  },
};

/** A fresh copy of a preset's values with overrides (ablation and finetune merged shallowly). */
export function jointTrainConfig(
  preset: JointPresetName = 'paper',
  overrides: Partial<Omit<JointTrainConfig, 'ablation' | 'finetune' | 't5'>> & {
    ablation?: Partial<AblationSwitches>;
    finetune?: Partial<FinetuneConfig>;
    t5?: Partial<T5Config>;
  } = {},
): JointTrainConfig {
  const base = JOINT_PRESETS[preset].values;
  const { ablation, finetune, t5, ...rest } = overrides;
  return {
    ...base,
    ...rest,
    ablation: { ...base.ablation, ...ablation },
    finetune: { ...base.finetune, weights: { ...base.finetune.weights }, ...finetune },
    t5: { ...base.t5, ...t5 },
  };
}

// ---- fields ------------------------------------------------------------------------------------

const ABLATION_NAMES = Object.keys(ABLATIONS) as AblationName[];

/** The Table 4 variant whose switches a config has ('custom' when none matches). */
export function ablationNameOf(s: AblationSwitches): AblationName | 'custom' {
  for (const name of ABLATION_NAMES) {
    const a = ABLATIONS[name];
    if (a.sia === s.sia && a.psa === s.psa && a.alternation === s.alternation && a.endToEnd === s.endToEnd) return name;
  }
  return 'custom';
}

const int = (key: string, label: string, help: string, min: number, max: number, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'int', label, help, min, max, ...extra });
const num = (key: string, label: string, help: string, min: number, max: number, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'float', label, help, min, max, ...extra });
const bool = (key: string, label: string, help: string, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'bool', label, help, ...extra });
const choice = (key: string, label: string, help: string, options: readonly string[], extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'enum', label, help, options, ...extra });
const weight = (key: string, what: string): FieldDecl => num(key, key, `weight of ${what}`, 0, 1e6);
const SCHEDULES = ['cosine', 'linear', 'constant'] as const;

export const JOINT_FIELDS: readonly FieldDecl[] = [
  int('epochs', 'epochs (alternating stage, max)', 'alternating-stage epochs at most (early stopping ends sooner)', 1, 100_000, { main: true, unit: 'epochs' }),
  int('finetune.epochs', 'finetune epochs', 'finetune-stage epochs at most (0 = skip the finetune)', 0, 100_000, { main: true, unit: 'epochs', aliases: ['finetune-epochs'] }),
  int('batch_size', 'batch size', 'training samples per update', 1, 65_536, { main: true, unit: 'samples', aliases: ['batch'] }),
  int('micro_batch_size', 'micro-batch size', 'rows per forward/backward pass (exact; lower it when memory runs out)', 1, 65_536, { main: true, unit: 'rows', aliases: ['micro-batch'] }),
  int('cycle', 'cycle (tokenizer epoch every …)', 'one tokenizer epoch in every cycle epochs, the rest recommender epochs', 1, 1000, { main: true, unit: 'epochs' }),
  int('warm_epoch', 'warm_epoch (alignment on from)', 'the SIA/PSA alignment weights are 0 before this epoch, in both phases', 0, 100_000, { main: true, unit: 'epoch', aliases: ['warm-epoch'] }),
  int('eval_step', 'eval_step', 'validate after every eval_step-th epoch', 1, 100_000, { main: true, unit: 'epochs' }),
  int('early_stop', 'early_stop (evaluations)', 'stop after this many evaluations without a better valid ndcg@10', 1, 100_000, { main: true, unit: 'evaluations' }),
  int('warmup_steps', 'warmup steps', 'linear LR warm-up of the recommender (the tokenizer uses warmup_steps // cycle)', 0, 1e9, { main: true, unit: 'steps' }),
  num('lr_rec', 'lr_rec', 'peak learning rate of the recommender (AdamW)', 0, 10, { main: true, exclusiveMin: true }),
  num('lr_id', 'lr_id', 'peak learning rate of the tokenizer (AdamW)', 0, 10, { main: true, exclusiveMin: true }),
  num('t5.dropout_rate', 'T5 dropout', 'dropout probability in the T5 recommender', 0, 1, { main: true, exclusiveMax: true }),
  int('num_beams', 'num_beams', 'beam width of the evaluation beam search', 1, 1000, { main: true }),
  int('return_beams', 'return_beams', 'beams returned per user (the top-k list; at most num_beams)', 1, 1000, { main: true }),
  int('eval_batch_size', 'eval batch size', 'users per beam-search batch', 1, 65_536, { main: true, unit: 'users' }),
  int('eval_limit', 'eval_limit (valid users, 0 = all)', 'validate on the first n valid users (0 = all; the test always uses all)', 0, 1e9, { main: true, unit: 'users', aliases: ['eval-limit'] }),
  int('train_limit', 'train_limit (training samples, evenly spaced; 0 = all)', 'train on n evenly spaced training samples (0 = all)', 0, 1e9, { main: true, unit: 'samples', optional: true, aliases: ['train-limit'] }),
  int('max_history', 'max_history (most recent items fed to the encoder)', 'most recent history items fed to the encoder', 1, 1000, { main: true, unit: 'items' }),
  int('length_bucket', 'length bucket (pad histories to multiples of … items)', 'pad each micro-batch\'s histories to a multiple of n items (masked: exact)', 1, 1000, { main: true, unit: 'items', aliases: ['length-bucket'] }),
  choice('sia_sign', 'SIA sign', "'plus' = softmax(+d) as the code (reference code); 'minus' = the paper's Eq. 6", ['plus', 'minus'], { main: true, aliases: ['sia-sign'] }),
  bool('constrained', 'constrained decoding', 'trie-constrained beam search (only codes of real items)', { main: true }),
  {
    ...choice('ablation', 'ablation variant (Table 4)', 'paper Table 4 variant: sets the four ablation switches', [...ABLATION_NAMES, 'custom'], { main: true }),
    get: (c) => ablationNameOf((c as JointTrainConfig).ablation),
    set: (c, v) => {
      if (v !== 'custom') (c as JointTrainConfig).ablation = { ...ABLATIONS[v as AblationName] };
    },
  },
  int('seed', 'seed', 'random seed', 0, 2 ** 32 - 1, { main: true }),
  int('t5.d_model', 'T5 d_model', 'T5 model width', 8, 2048, { main: true }),
  int('t5.num_layers', 'T5 encoder layers', 'T5 encoder blocks', 1, 48, { main: true }),
  int('t5.num_decoder_layers', 'T5 decoder layers', 'T5 decoder blocks', 1, 48, { main: true }),
  int('t5.num_heads', 'T5 heads', 'T5 attention heads', 1, 64, { main: true }),
  int('t5.d_kv', 'T5 d_kv', 'T5 width per attention head', 1, 1024, { main: true }),
  int('t5.d_ff', 'T5 d_ff', 'T5 feed-forward width', 1, 16_384, { main: true }),
  int('t5.relative_attention_num_buckets', 'T5 relative-position buckets', 'T5 relative-attention buckets', 1, 1024),
  int('t5.relative_attention_max_distance', 'T5 relative-position max distance', 'T5 relative-attention maximum distance', 1, 100_000),
  num('t5.layer_norm_epsilon', 'T5 RMSNorm ε', 'T5 RMSNorm epsilon', 0, 1, { exclusiveMin: true }),
  choice('valid_metric', 'validation metric', 'the metric early stopping follows', ['ndcg@10']),
  weight('id_vq_loss', 'the RQ-VAE loss in tokenizer epochs'),
  weight('id_code_loss', 'the code loss in tokenizer epochs'),
  weight('id_kl_loss', 'the SIA (KL) loss in tokenizer epochs'),
  weight('id_dec_cl_loss', 'the PSA (InfoNCE) loss in tokenizer epochs'),
  weight('rec_vq_loss', 'the RQ-VAE loss in recommender epochs'),
  weight('rec_code_loss', 'the code loss in recommender epochs'),
  weight('rec_kl_loss', 'the SIA (KL) loss in recommender epochs'),
  weight('rec_dec_cl_loss', 'the PSA (InfoNCE) loss in recommender epochs'),
  num('alpha', 'alpha', 'vq_loss = recon + alpha · rq_loss', 0, 1e6),
  num('weight_decay', 'weight decay', 'decoupled AdamW weight decay of both modules', 0, 10),
  choice('lr_scheduler_type', 'LR schedule', 'learning-rate schedule, stepped per batch', SCHEDULES),
  num('clip_norm', 'gradient clip', 'global L2 gradient-norm clip per module', 0, 1e6, { exclusiveMin: true }),
  num('tau', 'InfoNCE τ', 'InfoNCE temperature', 0, 100, { exclusiveMin: true }),
  bool('forge', 'FORGE level-3 rewrite', "the fork's FORGE rewrite of level 3 in the code table"),
  bool('ablation.sia', 'SIA (KL) on', 'sequence-item alignment (false = w/o L_SIA)'),
  bool('ablation.psa', 'PSA (InfoNCE) on', 'preference-semantic alignment (false = w/o L_PSA)'),
  bool('ablation.alternation', 'alternation on', 'alternating optimisation (false = w/o AT: all objectives every epoch)'),
  bool('ablation.endToEnd', 'end-to-end on', 'tokenizer updates (false = w/o ETE: tokenizer frozen)'),
  num('finetune.lr', 'finetune lr', 'peak learning rate of the finetune stage', 0, 10, { exclusiveMin: true }),
  num('finetune.weight_decay', 'finetune weight decay', 'AdamW weight decay of the finetune stage', 0, 10),
  choice('finetune.lr_scheduler_type', 'finetune LR schedule', 'learning-rate schedule of the finetune stage', SCHEDULES),
  int('finetune.warmup_steps', 'finetune warm-up', 'warm-up steps of the finetune stage', 0, 1e9, { unit: 'steps' }),
  int('finetune.eval_step', 'finetune eval_step', 'validate after every eval_step-th finetune epoch', 1, 100_000, { unit: 'epochs' }),
  int('finetune.early_stop', 'finetune early_stop', 'finetune evaluations without a better valid ndcg@10 before stopping', 1, 100_000, { unit: 'evaluations' }),
  num('finetune.weights.vq', 'finetune vq weight', 'weight of the RQ-VAE loss in the finetune', 0, 1e6),
  num('finetune.weights.code', 'finetune code weight', 'weight of the code loss in the finetune', 0, 1e6),
  num('finetune.weights.kl', 'finetune KL weight', 'weight of the SIA loss in the finetune', 0, 1e6),
  num('finetune.weights.decCl', 'finetune InfoNCE weight', 'weight of the PSA loss in the finetune', 0, 1e6),
  bool('finetune.freeze_semantic', 'finetune: semantic table frozen', 'keep the semantic table frozen in the finetune (false = the single-GPU quirk)'),
  bool('finetune.fresh_optimizer', 'finetune: fresh AdamW', 'new AdamW moments for the finetune'),
];

// ---- consistency and memory ---------------------------------------------------------------------

function checkJoint(c: JointTrainConfig, ctx: ConfigContext): FieldError[] {
  const errs: FieldError[] = [];
  if (c.ablation.alternation && c.ablation.endToEnd && c.cycle % c.eval_step !== 0) {
    errs.push({ field: 'eval_step', message: `cycle (${c.cycle}) must be divisible by eval_step (${c.eval_step})` });
  }
  if (c.return_beams > c.num_beams) errs.push({ field: 'return_beams', message: `return_beams (${c.return_beams}) must not exceed num_beams (${c.num_beams})` });
  if (ctx.numItems !== undefined && c.num_beams > ctx.numItems) {
    errs.push({ field: 'num_beams', message: `num_beams (${c.num_beams}) must not exceed the dataset's ${ctx.numItems} items` });
  }
  return errs;
}

/** Code-vocabulary size assumed when the tokenizer is not known yet (3 × 256 codes + suffixes + specials). */
const VOCAB_GUESS = 1100;

/**
 * Peak bytes of a recommender training step, roughly: parameters with gradients and two AdamW
 * moments, plus the tape of one micro-batch (per layer and token: ~12 d_model-wide, 3 d_ff-wide
 * and 3 attention-score values per head and key).
 */
export function jointMemoryEstimate(c: JointTrainConfig): number {
  const t = c.t5;
  const inner = t.num_heads * t.d_kv;
  const attn = 4 * t.d_model * inner;
  const ffn = 2 * t.d_model * t.d_ff;
  const params = t.num_layers * (attn + ffn) + t.num_decoder_layers * (2 * attn + ffn) + VOCAB_GUESS * t.d_model;
  const encLen = 4 * c.max_history;
  const rows = Math.min(c.micro_batch_size, c.batch_size);
  const perToken = 12 * t.d_model + 3 * t.d_ff + 3 * t.num_heads * encLen;
  const tape = rows * (encLen * t.num_layers + 5 * t.num_decoder_layers) * perToken;
  return 4 * (4 * params + tape);
}

export const JOINT_STAGE: StageDecl<JointTrainConfig> = {
  stage: 'joint',
  title: 'joint',
  fields: JOINT_FIELDS,
  presets: JOINT_PRESETS,
  defaultPreset: 'quick',
  check: checkJoint,
  memoryEstimate: jointMemoryEstimate,
};

/** Problems with a config (empty when valid), each naming its field. */
export function validateJointConfig(cfg: JointTrainConfig, ctx: ConfigContext = {}): string[] {
  return validateStageConfig(JOINT_STAGE, cfg, ctx).map((e) => e.message);
}

/**
 * A copy of `cfg` with `key=value` settings applied; keys are the field keys (`lr_rec`,
 * `t5.dropout_rate`, `finetune.lr`, `ablation.sia`). A value must parse as its field declares.
 * Throws with the key named; the result still goes through validateJointConfig.
 */
export function applyJointSettings(cfg: JointTrainConfig, settings: readonly string[]): JointTrainConfig {
  const out = structuredClone(cfg);
  const errors: FieldError[] = [];
  for (const s of settings) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`setting "${s}" is not key=value`);
    const key = s.slice(0, eq).trim();
    const f = findField(JOINT_STAGE as StageDecl<object>, key);
    if (!f) {
      const group = JOINT_FIELDS.some((x) => x.key.startsWith(`${key}.`));
      throw new Error(group ? `${key} is a group; set its members (e.g. ${key}.<name>)` : `unknown setting "${key}"`);
    }
    const r = parseFieldValue(f, s.slice(eq + 1).trim());
    if (!r.ok) errors.push(r.error);
    else if (f.set) f.set(out, r.value);
    else {
      const path = f.key.split('.');
      let o = out as unknown as Record<string, unknown>;
      for (const p of path.slice(0, -1)) o = o[p] as Record<string, unknown>;
      o[path[path.length - 1]] = r.value;
    }
  }
  if (errors.length) throw new ConfigErrors(errors);
  return out;
}
