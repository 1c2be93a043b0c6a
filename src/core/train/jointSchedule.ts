/**
 * The alternating schedule of joint ETEGRec training (spec §5.6–§5.10) as pure data and functions:
 * which phase an epoch is, its loss weights (warm_epoch gating, ablation switches), which modules
 * train and in which mode, which LR scheduler steps, when the code table is rebuilt, when to
 * evaluate, and the early-stop bookkeeping. No tfjs here; the trainer consumes these plans.
 *
 * Ablations follow the paper's Table 4 (spec §8.3):
 * * w/o L_SIA: KL weight 0 in every phase;  w/o L_PSA: InfoNCE weight 0;  w/o both: both 0.
 * * w/o AT (no alternation): every epoch is a 'joint' epoch — all objectives, both modules
 *   trainable and in train mode, both optimisers step, codes rebuilt after every epoch.
 * * w/o ETE (no end-to-end): the tokenizer is frozen for the whole run (load the final tokenizer of
 *   a full run first); every epoch is a recommender epoch on the fixed tokens.
 */
import type { SiaLogitSign } from '../losses/alignment.ts';
import type { ScheduleKind } from '../optim/schedules.ts';
import { T5_PAPER, type T5Config } from '../models/t5Config.ts';

/** Where a value comes from: the paper, the official code, the fork, or our own choice. */
export type Provenance = 'paper' | 'official' | 'fork' | 'ours';

export interface ProvenanceNote {
  sources: Provenance[];
  note: string;
}

export type Phase = 'tokenizer' | 'recommender' | 'joint';
export type ModuleMode = 'train' | 'eval';

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

export interface JointPreset {
  description: string;
  values: JointTrainConfig;
  provenance: Record<string, ProvenanceNote>;
}

const n = (sources: Provenance[], note: string): ProvenanceNote => ({ sources, note });


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
  micro_batch_size: 32,
  length_bucket: 5,
  eval_limit: 400,
  max_history: 10,
};

export const JOINT_PRESETS: Record<JointPresetName, JointPreset> = {
  paper: {
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
      micro_batch_size: n(['ours'], '32: a batch\'s rows go in history-length order, so most micro-batches of the sample (mean history 4 items) stay short; exact (same gradient)'),
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
    description: 'Trains the bundled sample to early stopping (tens of minutes on 2 cores): the quick model with a slower, longer schedule (changed by us)',
    values: {
      ...QUICK_VALUES,
      epochs: 60,
      eval_step: 2,
      early_stop: 5,
      warmup_steps: 200,
      eval_limit: 0,
      finetune: { ...QUICK_VALUES.finetune, epochs: 20, early_stop: 4 },
    },
    provenance: {
      epochs: n(['ours'], '60 at most (paper 400); early stopping ends the run'),
      eval_step: n(['official'], '2, as the reference (the quick preset validates every 4)'),
      early_stop: n(['ours'], '5 evaluations = 10 epochs without a better valid ndcg@10 (paper 15)'),
      warmup_steps: n(['ours'], '200 steps ≈ 2 epochs of the sample at batch 64 (paper 8000 at batch 512)'),
      eval_limit: n(['ours'], '0 = every valid user (the quick preset uses 400, which makes the best epoch noisy)'),
      'finetune.epochs': n(['ours'], '20 (paper 100)'),
      'finetune.early_stop': n(['ours'], '4 (paper 10)'),
      other: n(['ours'], 'every other value as the quick preset (lr_rec 1e-3, cycle 4, batch 64, the T5 size with dropout 0, history 10, micro-batches); see its notes'),
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

/** Problems with a config (empty when valid). */
export function validateJointConfig(cfg: JointTrainConfig): string[] {
  const errs: string[] = [];
  const nonFinite = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'number' && !Number.isFinite(v)) errs.push(`${prefix}${k} must be a finite number, got ${v}`);
      else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) nonFinite(v as Record<string, unknown>, `${prefix}${k}.`);
    }
  };
  nonFinite(cfg as unknown as Record<string, unknown>, '');
  const posInt = (k: keyof JointTrainConfig) => {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) errs.push(`${k} must be a positive integer`);
  };
  (['epochs', 'cycle', 'eval_step', 'early_stop', 'batch_size', 'eval_batch_size', 'num_beams', 'return_beams', 'micro_batch_size', 'length_bucket'] as const).forEach(posInt);
  if (!Number.isInteger(cfg.max_history) || cfg.max_history < 1) errs.push('max_history must be a positive integer');
  if (cfg.eval_limit < 0 || !Number.isInteger(cfg.eval_limit)) errs.push('eval_limit must be an integer ≥ 0 (0 = all)');
  const trainLimit = cfg.train_limit ?? 0;
  if (trainLimit < 0 || !Number.isInteger(trainLimit)) errs.push('train_limit must be an integer ≥ 0 (0 = all)');
  if (cfg.t5.num_heads < 1 || cfg.t5.d_model < 1 || cfg.t5.d_kv < 1 || cfg.t5.d_ff < 1) errs.push('t5 dimensions must be positive');
  if (cfg.cycle >= 1 && cfg.eval_step >= 1 && cfg.ablation.alternation && cfg.ablation.endToEnd && cfg.cycle % cfg.eval_step !== 0) {
    errs.push(`cycle (${cfg.cycle}) must be divisible by eval_step (${cfg.eval_step})`);
  }
  if (cfg.return_beams > cfg.num_beams) errs.push('return_beams must not exceed num_beams');
  if (!(cfg.tau > 0)) errs.push('tau must be positive');
  if (cfg.warm_epoch < 0 || cfg.warmup_steps < 0) errs.push('warm_epoch and warmup_steps must be ≥ 0');
  return errs;
}

export interface EpochPlan {
  epoch: number;
  phase: Phase;
  /** Effective weights (warm_epoch gating and ablation applied). */
  weights: LossWeights;
  /** epoch ≥ warm_epoch: the alignment terms are on (unless ablated). */
  alignmentWarm: boolean;
  trainTokenizer: boolean;
  trainRecommender: boolean;
  /** The recommender's semantic table is frozen in every phase of the alternating stage. */
  freezeSemantic: boolean;
  tokenizerMode: ModuleMode;
  recommenderMode: ModuleMode;
  /** Which LR schedulers advance once per batch this epoch. */
  stepTokenizerScheduler: boolean;
  stepRecommenderScheduler: boolean;
  /** The tokenizer's extra terms (vq_loss on the unique targets) are computed. */
  computeVq: boolean;
  /** Rebuild the item → code table after this epoch. */
  recomputeCodesAfter: boolean;
  /** Validate after this epoch. */
  evaluateAfter: boolean;
}

/** Phase of an epoch: tokenizer when epoch % cycle == 0 (alternation), else recommender. */
export function epochPhase(cfg: JointTrainConfig, epoch: number): Phase {
  if (!cfg.ablation.endToEnd) return 'recommender';
  if (!cfg.ablation.alternation) return 'joint';
  return epoch % cfg.cycle === 0 ? 'tokenizer' : 'recommender';
}

/** (epoch + 1) % eval_step == 0. */
export function shouldEvaluate(epoch: number, evalStep: number): boolean {
  return (epoch + 1) % evalStep === 0;
}

/** The effective loss weights of an epoch. */
export function lossWeights(cfg: JointTrainConfig, epoch: number): LossWeights {
  const phase = epochPhase(cfg, epoch);
  const warm = epoch >= cfg.warm_epoch;
  let w: LossWeights;
  if (phase === 'tokenizer') {
    w = { vq: cfg.id_vq_loss, code: cfg.id_code_loss, kl: cfg.id_kl_loss, decCl: cfg.id_dec_cl_loss };
  } else if (phase === 'recommender') {
    w = { vq: cfg.rec_vq_loss, code: cfg.rec_code_loss, kl: cfg.rec_kl_loss, decCl: cfg.rec_dec_cl_loss };
  } else {
    // joint ("w/o AT"): every objective at once — tokenizer vq weight, recommender code weight and
    // the recommender alignment weights (equal to the tokenizer ones in the paper preset) [ours]
    w = { vq: cfg.id_vq_loss, code: cfg.rec_code_loss, kl: cfg.rec_kl_loss, decCl: cfg.rec_dec_cl_loss };
  }
  if (!warm) w = { ...w, kl: 0, decCl: 0 };
  if (!cfg.ablation.sia) w = { ...w, kl: 0 };
  if (!cfg.ablation.psa) w = { ...w, decCl: 0 };
  return w;
}

/** Everything the trainer needs to know about one epoch of the alternating stage. */
export function epochPlan(cfg: JointTrainConfig, epoch: number): EpochPlan {
  const phase = epochPhase(cfg, epoch);
  const tok = phase === 'tokenizer' || phase === 'joint';
  const rec = phase === 'recommender' || phase === 'joint';
  return {
    epoch,
    phase,
    weights: lossWeights(cfg, epoch),
    alignmentWarm: epoch >= cfg.warm_epoch,
    trainTokenizer: tok,
    trainRecommender: rec,
    freezeSemantic: true,
    tokenizerMode: tok ? 'train' : 'eval',
    // in tokenizer epochs R stays in eval mode (evaluation or get_code ran just before; §5.6)
    recommenderMode: rec ? 'train' : 'eval',
    stepTokenizerScheduler: tok,
    stepRecommenderScheduler: rec,
    computeVq: tok,
    recomputeCodesAfter: tok,
    evaluateAfter: shouldEvaluate(epoch, cfg.eval_step),
  };
}

/**
 * Divisor of the tokenizer schedule's warmup and total (§5.7): `cycle` when the tokenizer steps in
 * one epoch of every cycle; 1 in the joint ("w/o AT") variant, where it steps every epoch [ours].
 */
export function tokenizerScheduleDivisor(cfg: JointTrainConfig): number {
  return cfg.ablation.alternation ? cfg.cycle : 1;
}

/** One epoch of the finetune stage (§5.10): recommender only, tokenizer frozen in eval mode. */
export function finetuneEpochPlan(cfg: JointTrainConfig, epoch: number): EpochPlan {
  const ft = cfg.finetune;
  return {
    epoch,
    phase: 'recommender',
    weights: { ...ft.weights },
    alignmentWarm: false,
    trainTokenizer: false,
    trainRecommender: true,
    freezeSemantic: ft.freeze_semantic,
    tokenizerMode: 'eval',
    recommenderMode: 'train',
    stepTokenizerScheduler: false,
    stepRecommenderScheduler: true,
    computeVq: false,
    recomputeCodesAfter: false,
    evaluateAfter: shouldEvaluate(epoch, ft.eval_step),
  };
}

export interface EarlyStopUpdate {
  improved: boolean;
  /** Stop training now. */
  stop: boolean;
  best: number;
  bad: number;
}

/**
 * Early-stop bookkeeping (§5.9, §5.13): best starts at 0; a score improves only if strictly greater;
 * training stops once `patience` consecutive evaluations did not improve.
 */
export class EarlyStopper {
  best: number;
  bad = 0;
  bestEpoch = -1;

  constructor(
    readonly patience: number,
    initialBest = 0,
  ) {
    this.best = initialBest;
  }

  update(score: number, epoch = -1): EarlyStopUpdate {
    const improved = score > this.best;
    if (improved) {
      this.best = score;
      this.bad = 0;
      this.bestEpoch = epoch;
    } else {
      this.bad += 1;
    }
    return { improved, stop: this.bad >= this.patience, best: this.best, bad: this.bad };
  }

  get stopped(): boolean {
    return this.bad >= this.patience;
  }
}

/**
 * A copy of `cfg` with `key=value` settings applied; keys are the config's own names, nested ones
 * dotted (`lr_rec`, `t5.dropout_rate`, `finetune.lr`, `ablation.sia`). A value must parse as the
 * type of the value it replaces (a finite number, true/false, or one of the allowed words).
 * Throws with the key named; the result still goes through validateJointConfig.
 */
export function applyJointSettings(cfg: JointTrainConfig, settings: readonly string[]): JointTrainConfig {
  const out = structuredClone(cfg) as unknown as Record<string, unknown>;
  const words: Record<string, readonly string[]> = { sia_sign: ['plus', 'minus'], lr_scheduler_type: ['cosine', 'linear', 'constant'], 'finetune.lr_scheduler_type': ['cosine', 'linear', 'constant'], valid_metric: ['ndcg@10'] };
  for (const s of settings) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`setting "${s}" is not key=value`);
    const key = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1).trim();
    const path = key.split('.');
    let obj = out;
    for (const p of path.slice(0, -1)) {
      const next = obj[p];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new Error(`unknown setting "${key}"`);
      obj = next as Record<string, unknown>;
    }
    const leaf = path[path.length - 1];
    if (!(leaf in obj) && !(key === 'train_limit')) throw new Error(`unknown setting "${key}"`);
    const old = obj[leaf] ?? 0;
    if (typeof old === 'number') {
      const v = Number(raw);
      if (raw === '' || !Number.isFinite(v)) throw new Error(`${key} must be a finite number, got "${raw}"`);
      obj[leaf] = v;
    } else if (typeof old === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new Error(`${key} must be true or false, got "${raw}"`);
      obj[leaf] = raw === 'true';
    } else if (typeof old === 'string') {
      const allowed = words[key];
      if (allowed && !allowed.includes(raw)) throw new Error(`${key} must be one of ${allowed.join('|')}, got "${raw}"`);
      obj[leaf] = raw;
    } else {
      throw new Error(`${key} is a group; set its members (e.g. ${key}.<name>)`);
    }
  }
  return out as unknown as JointTrainConfig;
}
