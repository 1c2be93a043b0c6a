/**
 * Experiment sweep records: stored in `runs` beside (and never mistaken for) joint runs, patched
 * read–modify–write so concurrent patches keep each other's fields, listed per dataset newest
 * first, deleted alone.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deleteExperiment,
  getExperiment,
  listExperiments,
  listJointRuns,
  openStudioDb,
  saveExperiment,
  saveJointRun,
  updateExperiment,
  type ExperimentInput,
  type StudioDb,
} from '../../src/storage/index.ts';

let counter = 0;
const opened: StudioDb[] = [];
async function freshDb(): Promise<StudioDb> {
  const db = await openStudioDb(`experiments-${++counter}`);
  opened.push(db);
  return db;
}
afterEach(() => {
  while (opened.length) opened.pop()!.close();
});

function sweep(id: string, over: Partial<ExperimentInput> = {}): ExperimentInput {
  return {
    id, createdAt: 1000, updatedAt: 1000, name: 'sweep', datasetId: 'ds-1', embeddingId: 'e', tokenizerId: 't', kind: 'ablation', preset: 'quick',
    overrides: { epochs: 1 }, variants: ['full', 'no_sia'], seeds: [2020, 2021], runIds: {}, status: 'running', error: null, meta: {}, ...over,
  };
}

describe('experiment storage', () => {
  it('stores, patches, lists and deletes sweeps without touching joint runs', async () => {
    const db = await freshDb();
    await saveExperiment(db, sweep('x1'));
    await saveExperiment(db, sweep('x2', { createdAt: 2000, datasetId: 'ds-2' }));
    await saveExperiment(db, sweep('x3', { createdAt: 3000 }));
    await saveJointRun(db, {
      id: 'joint-1', createdAt: 500, updatedAt: 500, name: 'run', datasetId: 'ds-1', embeddingId: 'e', tokenizerId: 't', status: 'finished', backend: 'cpu',
      preset: 'quick', config: {}, history: [], progress: null, test: null, testBeforeFinetune: null, error: null, source: 'train', meta: {},
    });
    expect((await listExperiments(db, 'ds-1')).map((e) => e.id)).toEqual(['x3', 'x1']);
    expect((await listExperiments(db)).map((e) => e.id)).toEqual(['x3', 'x2', 'x1']);
    expect((await listJointRuns(db)).map((r) => r.id)).toEqual(['joint-1']);
    // A joint run's id is no sweep, and a sweep cannot overwrite it.
    await expect(getExperiment(db, 'joint-1')).rejects.toThrow(/No stored experiment/);
    await expect(saveExperiment(db, sweep('joint-1'))).rejects.toThrow(/another kind of run/);

    // Two patches in flight: each reads the record the other wrote.
    await Promise.all([
      updateExperiment(db, 'x1', (e) => ({ runIds: { ...e.runIds, 'full-seed2020': 'joint-a' } })),
      updateExperiment(db, 'x1', (e) => ({ runIds: { ...e.runIds, 'no_sia-seed2020': 'joint-b' } })),
    ]);
    const got = await getExperiment(db, 'x1');
    expect(got.runIds).toEqual({ 'full-seed2020': 'joint-a', 'no_sia-seed2020': 'joint-b' });
    expect(got.updatedAt).toBeGreaterThan(1000);
    expect(got.type).toBe('experiment');
    await updateExperiment(db, 'x1', () => ({ status: 'finished' }));
    expect((await getExperiment(db, 'x1')).status).toBe('finished');
    await expect(updateExperiment(db, 'nope', () => ({}))).rejects.toThrow(/No stored experiment/);

    expect(await deleteExperiment(db, 'x1')).toBe(true);
    expect(await deleteExperiment(db, 'x1')).toBe(false);
    expect(await deleteExperiment(db, 'joint-1')).toBe(false);
    expect((await listJointRuns(db)).map((r) => r.id)).toEqual(['joint-1']);
  });
});
