/**
 * The alternating schedule of joint ETEGRec training (spec §5.6–§5.10) as pure data and functions:
 * which phase an epoch is, its loss weights (warm_epoch gating, ablation switches), which modules
 * train and in which mode, which LR scheduler steps, when the code table is rebuilt, when to
 * evaluate (early stopping: earlyStop.ts). No tfjs here; the trainer consumes these plans.
 *
 * Ablations follow the paper's Table 4 (spec §8.3):
 * * w/o L_SIA: KL weight 0 in every phase;  w/o L_PSA: InfoNCE weight 0;  w/o both: both 0.
 * * w/o AT (no alternation): every epoch is a 'joint' epoch — all objectives, both modules
 *   trainable and in train mode, both optimisers step, codes rebuilt after every epoch.
 * * w/o ETE (no end-to-end): the tokenizer is frozen for the whole run (load the final tokenizer of
 *   a full run first); every epoch is a recommender epoch on the fixed tokens.
 */
import type { JointTrainConfig, LossWeights } from '../stages/joint.ts';

// The joint stage's configuration, presets and validation are declared in src/core/stages/joint.ts.
export type { Provenance, ProvenanceNote } from '../stages/fields.ts';
export type { AblationName, AblationSwitches, FinetuneConfig, JointPreset, JointPresetName, JointTrainConfig, LossWeights } from '../stages/joint.ts';
export { ABLATIONS, JOINT_PRESETS, applyJointSettings, jointTrainConfig, validateJointConfig } from '../stages/joint.ts';
export { EarlyStopper, type EarlyStopUpdate } from './earlyStop.ts';

export type Phase = 'tokenizer' | 'recommender' | 'joint';
export type ModuleMode = 'train' | 'eval';

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
