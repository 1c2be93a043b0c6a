/**
 * Experiments (the paper's Table 4 as a sweep: ablation variants × seeds on one dataset, table and
 * tokenizer) part of the worker contract. Types only: workers/experiments.ts implements it.
 * Every run of a sweep is an ordinary stored joint run; the sweep record keeps the plan and which
 * joint run trains which entry.
 */
import type { SweepConfig } from '../src/core/stages/experiments.ts';
import type { ProgressCallback, Result } from './contract.ts';
import type { AblationName, GenerativeResult, JointOverrides, JointRunStatus } from './jointApi.ts';

/** Stored status; a 'running' sweep with no live job in this worker is reported as 'paused' (interrupted). */
export type ExperimentStatus = 'running' | 'paused' | 'cancelled' | 'failed' | 'finished';

export interface ExperimentStartRequest {
  datasetId: string;
  embeddingId: string;
  tokenizerId: string;
  /** A joint preset name (as getJointPresets lists them). */
  preset: string;
  /** Every run gets these; `ablation` and `seed` are set per run by the sweep. */
  overrides?: JointOverrides;
  /** The sweep's own values (variants, seeds, first_seed; SWEEP_DECL), the preset's where absent. */
  sweep?: Partial<Record<keyof SweepConfig, unknown>>;
  /** Sweep name (made unique per dataset); defaults to "<dataset>_ablate_<preset>". */
  name?: string;
}

/** One plan entry (variant × seed) and the joint run that trains it. */
export interface ExperimentRunView {
  key: string;
  variant: AblationName;
  seed: number;
  runId: string | null;
  runName: string | null;
  /** 'pending' = no joint run yet (or it was deleted). */
  status: JointRunStatus | 'pending';
  /** Training right now. */
  active: boolean;
  /** Finished epochs stored (both stages). */
  epochs: number;
  test: GenerativeResult | null;
  /** Training seconds of the stored epochs. */
  seconds: number | null;
}

export interface ExperimentSummary {
  id: string;
  name: string;
  kind: 'ablation';
  datasetId: string;
  embeddingId: string;
  tokenizerId: string;
  embeddingName: string;
  tokenizerName: string;
  preset: string;
  overrides: JointOverrides;
  variants: AblationName[];
  seeds: number[];
  status: ExperimentStatus;
  /** A job of this worker is running the sweep now. */
  active: boolean;
  /** Not finished and not running: Resume continues with the remaining runs. */
  resumable: boolean;
  createdAt: number;
  updatedAt: number;
  error: string | null;
  /** In plan order: every variant for the first seed, then the next seed. */
  runs: ExperimentRunView[];
  /** Runs finished (with a test result). */
  finished: number;
}

export interface ExperimentResult {
  experiment: ExperimentSummary;
  cancelled: boolean;
  note: string;
  seconds: number;
}

export interface ExperimentsWorkerApi {
  /** Stores the sweep, then trains its runs one after the other (each a stored, resumable joint run). */
  startExperiment(request: ExperimentStartRequest, jobId: string, onEvent: ProgressCallback): Promise<Result<ExperimentResult>>;
  /** Continues a stored sweep: resumes its unfinished run from its checkpoint, then the remaining ones. */
  resumeExperiment(id: string, jobId: string, onEvent: ProgressCallback): Promise<Result<ExperimentResult>>;
  listExperiments(datasetId?: string): Promise<Result<ExperimentSummary[]>>;
  /** Deletes the sweep record and, with `withRuns`, its joint runs (never one that is training). */
  deleteExperiment(id: string, withRuns: boolean): Promise<Result<void>>;
}
