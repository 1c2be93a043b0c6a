/**
 * Stage 4 (joint ETEGRec training) part of the worker contract. Types only: the UI imports these
 * shapes; workers/joint.ts implements them. StudioWorkerApi (api.ts) extends JointWorkerApi.
 */
import type { ExportedFile, ImportFile, ProgressCallback, Result } from './contract.ts';
import type { AblationName, AblationSwitches, FinetuneConfig, JointPresetName, JointTrainConfig, ProvenanceNote } from '../src/core/train/jointSchedule.ts';
import type { JointEpochRecord, JointStage } from '../src/core/train/jointTypes.ts';
import type { GenerativeResult } from '../src/core/eval/generative.ts';
import type { T5Config } from '../src/core/models/t5.ts';

// Core types the UI needs (type-only: nothing of tfjs reaches the UI).
export type { AblationName, AblationSwitches, FinetuneConfig, JointPresetName, JointTrainConfig, ProvenanceNote, Provenance } from '../src/core/train/jointSchedule.ts';
export type { JointEpochRecord, JointStage, LossTerms, CodeTableStats } from '../src/core/train/jointTypes.ts';
export type { GenerativeResult } from '../src/core/eval/generative.ts';
export type { T5Config } from '../src/core/models/t5.ts';

export type JointRunStatus = 'running' | 'paused' | 'cancelled' | 'failed' | 'finished';

/** A preset with where each value comes from (paper / official / fork / ours). */
export interface JointPresetInfo {
  name: JointPresetName;
  description: string;
  config: JointTrainConfig;
  provenance: Record<string, ProvenanceNote>;
  /** The Table 4 ablation variants by name. */
  ablations: Record<AblationName, AblationSwitches>;
}

/**
 * Changes to a preset: any JointTrainConfig field; `ablation` by variant name or switches;
 * `finetune` and `t5` merged field by field; or any field of the joint declaration by its dotted
 * key with the text a form or a link holds ('t5.d_model': '64'), parsed and checked by it.
 */
export type JointOverrides = Partial<Omit<JointTrainConfig, 'ablation' | 'finetune' | 't5'>> & {
  ablation?: AblationName | Partial<AblationSwitches>;
  finetune?: Partial<FinetuneConfig>;
  t5?: Partial<T5Config>;
} & { [fieldKey: string]: unknown };

export interface JointStartRequest {
  datasetId: string;
  /** The semantic table (N × D); the tokenizer must read D-d vectors. */
  embeddingId: string;
  tokenizerId: string;
  preset: JointPresetName;
  overrides?: JointOverrides;
  /** Run name (made unique per dataset); defaults to "<dataset>_joint_<preset>". */
  name?: string;
}

/** An embedding table and the tokenizers that can start a joint run on it. */
export interface JointInputs {
  embeddings: { id: string; name: string; rows: number; cols: number; kind: string }[];
  tokenizers: {
    id: string;
    name: string;
    inDim: number;
    numEmbList: number[];
    /** The table it was trained on (or whose rows gave its codes). */
    embeddingId: string | null;
    collisionRate: number;
  }[];
}

export interface JointRunSummary {
  id: string;
  name: string;
  datasetId: string;
  embeddingId: string | null;
  tokenizerId: string | null;
  /** Stored status; a 'running' run with no live job in this worker is reported as 'paused' (interrupted). */
  status: JointRunStatus;
  /** A job of this worker is training it right now. */
  active: boolean;
  /** A stored checkpoint can continue it (not finished). */
  resumable: boolean;
  createdAt: number;
  updatedAt: number;
  backend: string;
  /** The WebGPU adapter, null on wasm/cpu or in older records. */
  adapter: string | null;
  preset: string;
  config: JointTrainConfig;
  history: JointEpochRecord[];
  progress: { stage: JointStage; nextEpoch: number; finished: boolean } | null;
  test: GenerativeResult | null;
  testBeforeFinetune: GenerativeResult | null;
  error: string | null;
  /** Why it failed, when it did: 'diverged' (NaN/Inf loss), another StudioError code, or null. */
  errorCode: string | null;
  /** 'train' or 'import:<file>'. */
  source: string;
  checkpointBytes: number;
  meta: Record<string, unknown>;
}

export interface JointTrainResult {
  run: JointRunSummary;
  cancelled: boolean;
  note: string;
  seconds: number;
}

export interface RecommendationQuery {
  split: 'valid' | 'test';
  /** Row of the split's samples (one per user in valid/test). */
  sampleIndex?: number;
  /** Or the user's row index in the dataset (PreparedDataset.userIds). */
  userIndex?: number;
}

export interface RecItem {
  id: number;
  asin: string;
  title: string | null;
  codes: number[];
}

export interface RecGenerated {
  rank: number;
  codes: number[];
  /** Null when the code matches no item (an invalid generation). */
  item: { id: number; asin: string; title: string | null } | null;
  isTarget: boolean;
  /** The item is one of the popularity top-10 of the training data. */
  popular: boolean;
}

export interface Recommendations {
  split: 'valid' | 'test';
  sampleIndex: number;
  sampleCount: number;
  userIndex: number;
  userId: string;
  history: RecItem[];
  target: RecItem;
  generated: RecGenerated[];
  /**
   * The 10 most frequent items of the training interactions with their counts: the list a model
   * that ignores the history tends to give everyone, shown beside the user's.
   */
  popular: (RecItem & { count: number })[];
  /** 1-based rank of the target among the generated codes, 0 = not in the top list. */
  hitRank: number;
  beams: number;
  constrained: boolean;
}

export interface JointImportResult {
  run: JointRunSummary;
  /** "N of N tensors matched" (recommender + tokenizer). */
  message: string;
  /** The bundle reader's detailed line. */
  detail: string;
  matched: number;
  total: number;
  warnings: string[];
}

export interface JointWorkerApi {
  getJointPresets(): Promise<Result<JointPresetInfo[]>>;
  listJointInputs(datasetId: string): Promise<Result<JointInputs>>;
  /** Starts (and runs to the end) a joint training; the run is stored before the first epoch. */
  startJoint(request: JointStartRequest, jobId: string, onEvent: ProgressCallback): Promise<Result<JointTrainResult>>;
  /** Continues a stored run from its last checkpoint (after a reload, a crash or a cancel). */
  resumeJoint(runId: string, jobId: string, onEvent: ProgressCallback): Promise<Result<JointTrainResult>>;
  listJointRuns(datasetId?: string): Promise<Result<JointRunSummary[]>>;
  deleteJointRun(id: string): Promise<Result<void>>;
  recommendations(runId: string, query: RecommendationQuery): Promise<Result<Recommendations>>;
  /** The bundle zip: recommender/tokenizer safetensors, code.json, config.yaml, metrics.csv/json. */
  exportJointBundle(runId: string): Promise<Result<ExportedFile>>;
  /**
   * A finished run laid out for the reference PyTorch trainer, as one zip (config/<name>.yaml,
   * RecBole/dataset/<name>/, the tokenizer .pth, myckpt/<name>/<run>/<epoch>.pt + .pt.rqvae +
   * .code.json, accelerate_config_ddp.yaml for `gpus` processes, run.sh, STUDIO_EXPORT.md).
   */
  exportReferenceLayout(runId: string, gpus?: number): Promise<Result<ExportedFile>>;
  /** A bundle zip, or its files, or the reference's run folder (<epoch>.pt + .pt.rqvae + .code.json + its YAML), stored as a finished run. */
  importJointBundle(datasetId: string, files: ImportFile[], name?: string): Promise<Result<JointImportResult>>;
}
