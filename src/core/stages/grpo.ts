/**
 * The GRPO stage (fork-only RL fine-tuning of the recommender, spec §6) declared once: the config
 * type, every field with its range and help, the presets with provenance, and the consistency
 * checks. No tfjs here.
 */
import { note, validateStageConfig, type FieldDecl, type FieldError, type PresetDecl, type ProvenanceNote, type StageDecl } from './fields.ts';

export interface GrpoConfig {
  /** Group size G (samples per history); ≥ 2 (the unbiased std needs two). */
  group_size: number;
  /** β, weight of the k1 KL term. */
  kl_coeff: number;
  temperature: number;
  top_k: number;
  /** α of reward = rule + α·cos. */
  reward_alpha: number;
  /** ε of clip(ratio, 1−ε, 1+ε). */
  clip_range: number;
  lr: number;
  weight_decay: number;
  /** Global gradient-norm clip (hard-coded 1.0 in the fork). */
  clip_norm: number;
  epochs: number;
  early_stop: number;
  eval_step: number;
  /**
   * Train on this many evenly spaced training histories (the same subset every epoch, shuffled
   * per epoch); null = every one, as the fork. Absent in configs stored before it existed (= all).
   */
  train_limit?: number | null;
  /**
   * Sample only codes of real items (each step's logits outside the prefix trie of the code table
   * get −∞ before top-k); false = unconstrained, as the fork (samples may be invalid codes). The
   * log-probabilities of the loss stay unconstrained. Absent in older configs (= false).
   */
  constrained_sampling?: boolean;
  /** Histories per training batch (B); one update per batch. */
  batch_size: number;
  /** Only shortens the cosine horizon (total = batches × epochs // grad_accum); no accumulation. */
  grad_accum: number;
  /** Rows (of B·G) per forward/backward chunk; gradients are summed exactly over chunks. */
  micro_batch_size: number;
  eval_batch_size: number;
  num_beams: number;
  return_beams: number;
  /** Validate on the first `valid_limit` samples only (null = all). */
  valid_limit: number | null;
  /** Test on the first `test_limit` samples only (null = all). */
  test_limit: number | null;
  /** Pad training histories to a multiple of this many items (fewer distinct shapes). */
  length_bucket: number;
  seed: number;
}

export type GrpoPresetName = 'paper' | 'quick';

/** A preset: its values and where each comes from (one shape for every stage). */
export type GrpoPreset = PresetDecl<GrpoConfig> & { provenance: Record<keyof GrpoConfig, ProvenanceNote> };

const n = note;

const PAPER_VALUES: GrpoConfig = {
  group_size: 4,
  kl_coeff: 0.05,
  temperature: 1,
  top_k: 50,
  reward_alpha: 0.5,
  clip_range: 0.2,
  lr: 1e-5,
  weight_decay: 0.05,
  clip_norm: 1,
  epochs: 20,
  early_stop: 5,
  eval_step: 1,
  train_limit: null,
  constrained_sampling: false,
  batch_size: 256,
  grad_accum: 1,
  micro_batch_size: 1024,
  eval_batch_size: 32,
  num_beams: 20,
  return_beams: 10,
  valid_limit: null,
  test_limit: null,
  length_bucket: 10,
  seed: 2020,
};

const PAPER_PROVENANCE: Record<keyof GrpoConfig, ProvenanceNote> = {
  group_size: n(['fork'], 'train_grpo.py default 4 (run_grpo.sh 2, run_grpo_single.sh 16)'),
  kl_coeff: n(['fork'], 'β = 0.05 (run_grpo_single.sh 0.04)'),
  temperature: n(['fork'], '1.0'),
  top_k: n(['fork'], '50: logits below the 50th largest set to −∞'),
  reward_alpha: n(['fork'], '0.5: hit 1.5, valid miss in [−0.5, 0.5], invalid −0.1'),
  clip_range: n(['fork'], '0.2: ratio clipped to [0.8, 1.2], against the frozen reference'),
  lr: n(['fork'], '1e-5'),
  weight_decay: n(['fork'], '0.05 (the joint config value), decoupled (AdamW)'),
  clip_norm: n(['fork'], '1.0, hard-coded (grpo_max_grad_norm is ignored)'),
  epochs: n(['fork'], '20'),
  early_stop: n(['fork'], '5 evaluations without strict improvement of valid ndcg@10'),
  eval_step: n(['fork'], '1'),
  train_limit: n(['fork'], 'every training history'),
  constrained_sampling: n(['fork'], 'unconstrained: samples may be invalid codes (reward −0.1)'),
  batch_size: n(['fork'], 'train_grpo.py default 512 // 2 = 256 (scripts use 32)'),
  grad_accum: n(['fork'], '1; in the fork it only shortens the cosine horizon (no accumulation)'),
  micro_batch_size: n(['ours'], '1024 rows of B·G per forward/backward chunk (memory only; result unchanged)'),
  eval_batch_size: n(['official'], '32 (§5.8)'),
  num_beams: n(['official'], '20 (§5.8)'),
  return_beams: n(['official'], '10 (§5.8)'),
  valid_limit: n(['fork'], 'all validation samples'),
  test_limit: n(['fork'], 'all test samples'),
  length_bucket: n(['ours'], 'histories right-padded to multiples of 10 items (masked; result unchanged)'),
  seed: n(['official'], '2020'),
};

export const GRPO_PRESETS: Record<GrpoPresetName, GrpoPreset> = {
  paper: {
    name: 'paper',
    description: 'Fork GRPO fine-tuning (train_grpo.py defaults)',
    values: PAPER_VALUES,
    provenance: PAPER_PROVENANCE,
  },
  quick: {
    name: 'quick',
    description: 'A short smoke run: 2 epochs of 12 updates (384 evenly spaced training histories, batch 32), validation on the first 256 samples',
    values: {
      ...PAPER_VALUES,
      epochs: 2,
      train_limit: 384,
      early_stop: 2,
      batch_size: 32,
      micro_batch_size: 128,
      num_beams: 10,
      valid_limit: 256,
      test_limit: 512,
    },
    provenance: {
      ...PAPER_PROVENANCE,
      epochs: n(['ours'], '2 (a smoke run)'),
      train_limit: n(['ours'], '384 evenly spaced training histories (12 updates of 32 per epoch): an epoch in about a minute on the sample on 2 cores, against ~8–18 min for all 5,974'),
      early_stop: n(['ours'], '2'),
      batch_size: n(['fork'], '32, as run_grpo.sh / run_grpo_single.sh'),
      micro_batch_size: n(['ours'], '128 rows per chunk'),
      num_beams: n(['ours'], '10 beams (return 10) to keep validation short'),
      valid_limit: n(['ours'], 'first 256 validation samples'),
      test_limit: n(['ours'], 'first 512 test samples'),
    },
  },
};

/** A fresh copy of a preset's values with overrides. */
export function grpoConfig(preset: GrpoPresetName = 'paper', overrides: Partial<GrpoConfig> = {}): GrpoConfig {
  return { ...GRPO_PRESETS[preset].values, ...overrides };
}

// ---- fields ------------------------------------------------------------------------------------

type Key = keyof GrpoConfig;
const int = (key: Key, label: string, help: string, min: number, max: number, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'int', label, help, min, max, ...extra });
const num = (key: Key, label: string, help: string, min: number, max: number, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'float', label, help, min, max, ...extra });

export const GRPO_FIELDS: readonly FieldDecl[] = [
  int('epochs', 'epochs', 'GRPO epochs at most (early stopping ends sooner)', 1, 100_000, { main: true, unit: 'epochs' }),
  int('train_limit', 'train limit', 'train on n evenly spaced training histories, the same every epoch ("all" = every one)', 1, 1e9, { main: true, nullable: true, optional: true, unit: 'histories', aliases: ['train-limit'] }),
  { key: 'constrained_sampling', kind: 'bool', label: 'constrained sampling', help: 'sample only codes of real items (prefix trie of the code table); the loss\'s log-probabilities stay unconstrained', main: true, optional: true },
  int('batch_size', 'batch size', 'histories per update (B)', 1, 65_536, { main: true, unit: 'histories', aliases: ['batch'] }),
  int('group_size', 'group size G', 'sampled codes per history (≥ 2: the advantage uses the unbiased std)', 2, 1024, { main: true, aliases: ['group'] }),
  num('lr', 'learning rate', 'AdamW learning rate', 0, 10, { main: true }),
  num('kl_coeff', 'β (KL)', 'weight of the k1 KL term against the frozen reference', 0, 1e6, { main: true }),
  num('temperature', 'temperature', 'sampling temperature', 0, 1e3, { main: true, exclusiveMin: true }),
  int('top_k', 'top-k', 'logits below the k-th largest are dropped when sampling', 1, 1e6, { main: true }),
  num('reward_alpha', 'α (reward)', 'reward = rule + α · cos(S[g], S[target])', -1e6, 1e6, { main: true }),
  num('clip_range', 'ε (clip)', 'ratio clipped to [1 − ε, 1 + ε]', 0, 1e6, { main: true }),
  num('weight_decay', 'weight decay', 'decoupled AdamW weight decay', 0, 10),
  num('clip_norm', 'gradient clip', 'global L2 gradient-norm clip', 0, 1e6, { exclusiveMin: true }),
  int('early_stop', 'early_stop', 'evaluations without a better valid ndcg@10 before stopping', 1, 100_000, { main: true, unit: 'evaluations' }),
  int('eval_step', 'eval_step', 'validate every this many epochs', 1, 100_000, { unit: 'epochs' }),
  int('grad_accum', 'grad_accum', 'only shortens the cosine horizon (as the fork; no accumulation)', 1, 100_000),
  int('micro_batch_size', 'micro-batch rows', 'rows of B·G per forward/backward chunk (exact)', 1, 1 << 20, { main: true, unit: 'rows' }),
  int('eval_batch_size', 'eval batch size', 'users per beam-search batch', 1, 65_536, { main: true, unit: 'users' }),
  int('num_beams', 'num_beams', 'beam width of the evaluation beam search', 1, 1000, { main: true }),
  int('return_beams', 'return_beams', 'beams returned per user (at most num_beams)', 1, 1000, { main: true }),
  int('valid_limit', 'valid limit', 'validate on the first n samples ("all" = every one)', 1, 1e9, { main: true, nullable: true, unit: 'users' }),
  int('test_limit', 'test limit', 'test on the first n samples ("all" = every one)', 1, 1e9, { main: true, nullable: true, unit: 'users' }),
  int('length_bucket', 'length bucket', 'pad training histories to a multiple of n items (masked: exact)', 1, 1000, { unit: 'items' }),
  int('seed', 'seed', 'random seed', 0, 2 ** 32 - 1, { main: true }),
];

function checkGrpo(c: GrpoConfig): FieldError[] {
  return c.return_beams > c.num_beams ? [{ field: 'return_beams', message: `return_beams (${c.return_beams}) must not exceed num_beams (${c.num_beams})` }] : [];
}

export const GRPO_STAGE: StageDecl<GrpoConfig> = {
  stage: 'grpo',
  title: 'GRPO',
  fields: GRPO_FIELDS,
  presets: GRPO_PRESETS,
  defaultPreset: 'quick',
  check: checkGrpo,
};

/** Problems with a config (empty when valid), each naming its field. */
export function validateGrpoConfig(cfg: GrpoConfig): string[] {
  return validateStageConfig(GRPO_STAGE, cfg).map((e) => e.message);
}
