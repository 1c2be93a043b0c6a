/**
 * GRPO fine-tuning (spec §6) part of the worker contract. Types only: the UI imports these shapes;
 * workers/grpo.ts implements them. StudioWorkerApi (api.ts) extends GrpoWorkerApi.
 */
import type { ExportedFile, ProgressCallback, Result } from './contract.ts';
import type { GrpoConfig, GrpoEpochRecord, GrpoPresetName } from '../src/core/train/grpo.ts';
import type { ProvenanceNote } from '../src/core/train/jointSchedule.ts';
import type { GenerativeResult } from '../src/core/eval/generative.ts';

// Core types the UI needs (type-only: nothing of tfjs reaches the UI).
export type { GrpoConfig, GrpoEpochRecord, GrpoPresetName } from '../src/core/train/grpo.ts';

/** As stored, plus 'interrupted': stored as running while no job of this worker trains it (GRPO does not resume). */
export type GrpoRunStatus = 'running' | 'cancelled' | 'failed' | 'finished' | 'interrupted';

/** A preset with where each value comes from (fork / official / ours). */
export interface GrpoPresetInfo {
  name: GrpoPresetName;
  description: string;
  config: GrpoConfig;
  provenance: Record<string, ProvenanceNote>;
}

/** Changes to a preset: typed GrpoConfig values, or any field of the GRPO declaration as form/link text. */
export type GrpoOverrides = Partial<GrpoConfig> & { [fieldKey: string]: unknown };

export interface GrpoStartRequest {
  /** A finished joint-training run (its best, else current, weights are the SFT policy). */
  jointRunId: string;
  preset: GrpoPresetName;
  overrides?: GrpoOverrides;
  /** Run name (made unique per dataset); defaults to "<joint run>_grpo_<preset>". */
  name?: string;
}

export interface GrpoRunSummary {
  id: string;
  name: string;
  datasetId: string;
  jointRunId: string;
  jointRunName: string;
  /** A 'running' record with no live job in this worker reads as 'failed' (interrupted). */
  status: GrpoRunStatus;
  active: boolean;
  createdAt: number;
  updatedAt: number;
  backend: string;
  /** The WebGPU adapter, null on wasm/cpu or in older records. */
  adapter: string | null;
  preset: string;
  config: GrpoConfig;
  seed: number;
  history: GrpoEpochRecord[];
  validBefore: GenerativeResult | null;
  validAfter: GenerativeResult | null;
  test: GenerativeResult | null;
  /** Epoch of the kept state (−1 = the SFT state); null before the end. */
  bestEpoch: number | null;
  /** Seconds: load, train (trainGrpo incl. evaluations), save, total. */
  timings: Record<string, number>;
  error: string | null;
  /** Bytes of the stored bundle (0 before the end). */
  bundleBytes: number;
}

export interface GrpoTrainResult {
  run: GrpoRunSummary;
  cancelled: boolean;
  note: string;
  seconds: number;
}

export interface GrpoWorkerApi {
  getGrpoPresets(): Promise<Result<GrpoPresetInfo[]>>;
  /** Runs GRPO from a finished joint run to the end; the run record is stored before training. */
  startGrpo(request: GrpoStartRequest, jobId: string, onEvent: ProgressCallback): Promise<Result<GrpoTrainResult>>;
  listGrpoRuns(datasetId?: string): Promise<Result<GrpoRunSummary[]>>;
  deleteGrpoRun(id: string): Promise<Result<void>>;
  /** The bundle zip: GRPO recommender, the SFT tokenizer, code.json, config.yaml, metrics.json {valid_before, valid_after, test, …}. */
  exportGrpoBundle(runId: string): Promise<Result<ExportedFile>>;
}
