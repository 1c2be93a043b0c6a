/**
 * The data contract of joint ETEGRec training (spec §5): what the trainer consumes, what it
 * reports per epoch, and the resumable checkpoint. No tfjs here: the worker, the CLI, the
 * bundle writer and the UI share these types.
 */
import type { BatchPeers } from './dataParallel.ts';
import type { RqvaeConfig } from '../models/rqvae.ts';
import type { RecommenderConfig } from '../models/recommender.ts';
import type { NamedArray } from '../nn/params.ts';
import type { AdamWState } from '../optim/adam.ts';
import type { GenerativeResult } from '../eval/generative.ts';
import type { JointTrainConfig, LossWeights, Phase } from './jointSchedule.ts';
import type { ProgressSink } from '../events.ts';
import type { PauseGate } from '../pause.ts';

/** Generative metrics as reported (recall@1/5/10, ndcg@5/10, rounded to 6 decimals). */
export type GenerativeMetrics = Record<'recall@1' | 'recall@5' | 'ndcg@5' | 'recall@10' | 'ndcg@10', number>;

/** Index-based samples of one split: histories right-padded with 0 (item ids 1..N). */
export interface JointSamples {
  count: number;
  /** Max history length (50). */
  L: number;
  /** [count × L] item ids, right-padded with 0. */
  histories: Int32Array;
  lens: Int32Array;
  /** Target item ids (1..N). */
  targets: Int32Array;
  /** Row index of the user of each sample (into PreparedDataset.userIds), for the recommendations view. */
  users?: Int32Array;
}

export interface JointData {
  /** N, the number of items (ids 1..N; 0 = PAD). */
  numItems: number;
  /** Semantic vectors of items 1..N, row-major [N × D_s] (row i−1 is item i). */
  semantic: Float32Array;
  semanticDim: number;
  train: JointSamples;
  valid: JointSamples;
  test: JointSamples;
}

/** Loss terms of one epoch, averaged over its batches (logging only, §5.7). */
export interface LossTerms {
  total: number;
  code: number;
  kl: number;
  decCl: number;
  /** Only in tokenizer / joint epochs; 0 otherwise. */
  vq: number;
  recon: number;
  rq: number;
}

/** Code-table statistics after a rebuild (§5.2). */
export interface CodeTableStats {
  /** Fraction of items whose 3-token prefix is shared with an earlier item (suffix > 0). */
  collisionRate: number;
  /** Items whose full 4-token code changed in this rebuild. */
  churn: number;
  /** churn / N. */
  churnRate: number;
  /** Largest de-dup suffix. */
  maxSuffix: number;
  /** Mean Gini of the code usage over the 3 RQ levels. */
  giniMean: number;
}

export type JointStage = 'alternating' | 'finetune';

export interface JointEpochRecord {
  stage: JointStage;
  epoch: number;
  phase: Phase;
  weights: LossWeights;
  loss: LossTerms;
  /** lr of the recommender / tokenizer at the end of the epoch (the one the next update would use). */
  lrRecommender: number;
  lrTokenizer: number;
  gradNormRecommender?: number;
  gradNormTokenizer?: number;
  /** After a tokenizer epoch: the statistics of the rebuilt table. */
  codes?: CodeTableStats;
  valid?: GenerativeResult;
  improved?: boolean;
  seconds: number;
  samplesPerSecond: number;
}

/** A full set of weights: the recommender state dict (reference names, PyTorch layout), tokenizer, codes. */
export interface JointWeights {
  recommender: Record<string, NamedArray>;
  tokenizer: Record<string, NamedArray>;
  /** (N+1) × 4 code table, row 0 = −1s. */
  codes: Int32Array;
}

/**
 * Everything needed to continue a run exactly where it stopped (§ "Resume" of issue 5): written
 * after every finished epoch. `nextEpoch` is the first epoch not yet run in `stage`.
 */
export interface JointCheckpoint {
  format: 'etegrec-joint-checkpoint';
  version: 1;
  config: JointTrainConfig;
  recommenderConfig: RecommenderConfig;
  tokenizerConfig: RqvaeConfig;
  stage: JointStage;
  nextEpoch: number;
  /** True once the finetune stage's test has run: nothing is left to do. */
  finished: boolean;
  current: JointWeights;
  optimizer: {
    recommender: AdamWState;
    tokenizer: AdamWState;
  };
  schedulerSteps: { recommender: number; tokenizer: number };
  rngState: { shuffle: number; dropout: number };
  early: { best: number; bad: number; bestEpoch: number };
  /** Best checkpoint of the current stage (on valid ndcg@10), or null before the first improvement. */
  best: (JointWeights & { epoch: number; stage: JointStage; valid: GenerativeResult }) | null;
  history: JointEpochRecord[];
  /** Test of the best alternating-stage checkpoint ("Pre Test Results", §5.11). */
  testBeforeFinetune?: GenerativeResult;
  /** Test of the best finetune checkpoint ("Test Results"). */
  test?: GenerativeResult;
}

export interface JointResult {
  checkpoint: JointCheckpoint;
  testBeforeFinetune?: GenerativeResult;
  test?: GenerativeResult;
  /** The final model: best of the finetune stage (or of the alternating stage when finetune did not improve/was skipped). */
  final: JointWeights;
  seconds: number;
}

/** The model of a run: the best checkpoint, else the current weights (also GRPO's SFT policy). */
export function finalWeights(c: JointCheckpoint): JointWeights {
  return c.best ?? c.current;
}

/** How a caller drives and observes a run (trainJoint). */
export interface JointTrainOptions {
  signal?: AbortSignal;
  /** Pauses between batches (training and evaluation) while paused (results are unchanged). */
  pause?: PauseGate;
  onEvent?: ProgressSink;
  onEpoch?: (record: JointEpochRecord) => void;
  /** Awaited after every finished epoch and at stage boundaries with a resumable checkpoint. */
  onCheckpoint?: (checkpoint: JointCheckpoint) => Promise<void> | void;
  /** Continue a run; `tokenizer` is then ignored. */
  resume?: JointCheckpoint;
  /** The pretrained tokenizer (PyTorch layout, reference names); required unless resuming. */
  tokenizer?: { state: Record<string, NamedArray>; config: RqvaeConfig };
  /** Stop after this many epochs of this call (tests, benchmarks); the checkpoint stays resumable. */
  maxEpochs?: number;
  /**
   * This run is one replica of a data-parallel run (dataParallel.ts): it trains its share of every
   * batch; only replica 0 evaluates (the others receive its validation NDCG@10) and reports.
   */
  peers?: BatchPeers;
}
