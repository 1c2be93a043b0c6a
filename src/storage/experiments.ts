/**
 * Experiment sweeps (the Table 4 ablation: variants × seeds): one record in the `runs` store
 * (type 'experiment') that holds the plan and, per plan entry, the id of the joint run that trains
 * it. The results live in those joint runs (stored and resumable like any other), so the sweep
 * record stays small and a reload finds both. No schema change.
 */
import { StudioError } from '../core/errors.ts';
import { newRunId } from './blobRuns.ts';
import type { StoredRun, StudioDb } from './db.ts';
import { toStorageError } from './errors.ts';

export type ExperimentStatus = 'running' | 'cancelled' | 'failed' | 'finished';

/** Structured-cloneable sweep fields (the worker owns their meaning; storage keeps them verbatim). */
export interface ExperimentFields {
  name: string;
  datasetId: string;
  embeddingId: string;
  tokenizerId: string;
  /** 'ablation' (the only kind so far). */
  kind: string;
  /** Joint preset name and the overrides every run of the sweep gets (variant and seed excepted). */
  preset: string;
  overrides: unknown;
  variants: string[];
  seeds: number[];
  /** Plan entry key ("<variant>-seed<seed>") → the joint run that trains it. */
  runIds: Record<string, string>;
  status: ExperimentStatus;
  updatedAt: number;
  error: string | null;
  meta: Record<string, unknown>;
}

export interface StoredExperiment extends StoredRun, ExperimentFields {
  id: string;
  createdAt: number;
  type: 'experiment';
  recordVersion: 1;
}

export type ExperimentInput = ExperimentFields & { id: string; createdAt: number };

export function isExperiment(r: StoredRun | undefined): r is StoredExperiment {
  return !!r && r.type === 'experiment';
}

export function newExperimentId(): string {
  return newRunId('experiment');
}

function notFound(id: string): StudioError {
  return new StudioError({ code: 'not_found', message: `No stored experiment with id "${id}" (it may have been deleted).` });
}

export async function saveExperiment(db: StudioDb, record: ExperimentInput): Promise<StoredExperiment> {
  const out: StoredExperiment = { ...record, type: 'experiment', recordVersion: 1 };
  try {
    const prev = await db.get('runs', record.id);
    if (prev && !isExperiment(prev)) throw new StudioError({ code: 'bad_option', message: `Run id "${record.id}" belongs to another kind of run` });
    await db.put('runs', out);
  } catch (err) {
    throw toStorageError(err, undefined, 'save the experiment');
  }
  return out;
}

/** Changes fields in one readwrite transaction (read–modify–write, so concurrent patches do not drop each other). */
export async function updateExperiment(db: StudioDb, id: string, patch: (prev: StoredExperiment) => Partial<ExperimentFields>): Promise<StoredExperiment> {
  const tx = db.transaction('runs', 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let out: StoredExperiment;
  try {
    const prev = await tx.store.get(id);
    if (!isExperiment(prev)) throw notFound(id);
    const p = patch(prev);
    out = { ...prev, ...p, updatedAt: p.updatedAt ?? Date.now() };
    await tx.store.put(out);
    await done;
  } catch (err) {
    try { tx.abort(); } catch { /* already finished */ }
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'update the experiment');
  }
  return out;
}

export async function getExperiment(db: StudioDb, id: string): Promise<StoredExperiment> {
  let rec: StoredRun | undefined;
  try {
    rec = await db.get('runs', id);
  } catch (err) {
    throw toStorageError(err, undefined, 'read the experiment', false);
  }
  if (!isExperiment(rec)) throw notFound(id);
  return rec;
}

/** Experiments (of one dataset, or all), newest first. */
export async function listExperiments(db: StudioDb, datasetId?: string): Promise<StoredExperiment[]> {
  let all: StoredRun[];
  try {
    all = await db.getAll('runs');
  } catch (err) {
    throw toStorageError(err, undefined, 'list the experiments', false);
  }
  return all
    .filter(isExperiment)
    .filter((r) => datasetId === undefined || r.datasetId === datasetId)
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}

/** Deletes the sweep record only (its joint runs are separate records); false when there was none. */
export async function deleteExperiment(db: StudioDb, id: string): Promise<boolean> {
  const tx = db.transaction('runs', 'readwrite');
  const done = tx.done;
  done.catch(() => undefined);
  let found: boolean;
  try {
    found = isExperiment(await tx.store.get(id));
    if (found) await tx.store.delete(id);
    await done;
  } catch (err) {
    try { tx.abort(); } catch { /* already finished */ }
    await done.catch(() => undefined);
    throw toStorageError(err, tx.error, 'delete the experiment');
  }
  return found;
}
