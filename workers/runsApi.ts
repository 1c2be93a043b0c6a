/**
 * The runs page's part of the worker contract (issue 6). Types only: workers/runs.ts implements it.
 */
import type { Result } from './contract.ts';
import type { RunRow, RunStage } from '../src/core/runs/runTable.ts';

export type { ConfigDiffEntry, RunCurvePoint, RunRow, RunStage } from '../src/core/runs/runTable.ts';

export interface RunsWorkerApi {
  /** Every recorded run of every stage (joint and GRPO runs, SASRec tables, RQ-VAE tokenizers), newest first. */
  listAllRuns(): Promise<Result<RunRow[]>>;
  /** Deletes a run and its stored artifacts/chunks (through the stage's own delete). */
  deleteRun(stage: RunStage, id: string): Promise<Result<void>>;
}
