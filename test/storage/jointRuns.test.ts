/**
 * Joint-run storage: record + checkpoint written in one transaction (a failing write leaves the
 * previous pair), checkpoints replaced whole (fewer chunks leave no stale ones), list, delete.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deleteJointRun,
  getJointRun,
  listJointRuns,
  loadJointCheckpointBytes,
  openStudioDb,
  saveJointRun,
  updateJointRun,
  type JointRunInput,
  type StoredJointRun,
  type StudioDb,
} from '../../src/storage/index.ts';

let counter = 0;
const opened: StudioDb[] = [];
async function freshDb(): Promise<StudioDb> {
  const db = await openStudioDb(`joint-runs-${++counter}`);
  opened.push(db);
  return db;
}
afterEach(() => {
  while (opened.length) opened.pop()!.close();
});

function record(id: string, over: Partial<StoredJointRun> = {}): JointRunInput {
  return {
    id, createdAt: 1000, updatedAt: 1000, name: 'run', datasetId: 'ds-1', embeddingId: 'emb-1', tokenizerId: 'tok-1',
    status: 'running', backend: 'cpu', preset: 'quick', config: { epochs: 2 }, history: [], progress: null,
    test: null, testBeforeFinetune: null, error: null, source: 'train', meta: {}, ...over,
  };
}

const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('joint run storage', () => {
  it('stores record and checkpoint together and replaces the checkpoint whole', async () => {
    const db = await freshDb();
    await saveJointRun(db, record('r1'), bytes(10, 1), 4);
    let got = await loadJointCheckpointBytes(db, 'r1');
    expect(Array.from(got.bytes)).toEqual(new Array(10).fill(1));
    expect(got.record.checkpoint).toEqual({ byteLength: 10, chunkCount: 3 });
    // A smaller checkpoint: the old third chunk must go.
    await saveJointRun(db, record('r1', { history: [{ epoch: 0 }] }), bytes(5, 2), 4);
    got = await loadJointCheckpointBytes(db, 'r1');
    expect(Array.from(got.bytes)).toEqual(new Array(5).fill(2));
    expect(got.record.history).toEqual([{ epoch: 0 }]);
    expect(await db.getAllKeys('chunks')).toHaveLength(2);
    // Record-only updates keep the checkpoint.
    await updateJointRun(db, 'r1', { status: 'paused' });
    expect((await getJointRun(db, 'r1')).status).toBe('paused');
    expect((await loadJointCheckpointBytes(db, 'r1')).bytes.byteLength).toBe(5);
    await saveJointRun(db, record('r1', { status: 'finished' }));
    expect((await loadJointCheckpointBytes(db, 'r1')).bytes.byteLength).toBe(5);
  });

  it('a failing write changes nothing (record and checkpoint stay the previous pair)', async () => {
    const db = await freshDb();
    await saveJointRun(db, record('r1', { history: [{ epoch: 0 }] }), bytes(8, 1), 4);
    // A record that cannot be cloned fails the put after the chunks were replaced in the same transaction.
    const bad = record('r1', { history: [{ epoch: 1 }], meta: { fn: () => 1 } as unknown as Record<string, unknown> });
    await expect(saveJointRun(db, bad, bytes(12, 9), 4)).rejects.toThrow();
    const got = await loadJointCheckpointBytes(db, 'r1');
    expect(Array.from(got.bytes)).toEqual(new Array(8).fill(1));
    expect(got.record.history).toEqual([{ epoch: 0 }]);
    expect(await db.getAllKeys('chunks')).toHaveLength(2);
  });

  it('lists newest first per dataset, refuses unknown ids, deletes record and chunks', async () => {
    const db = await freshDb();
    await saveJointRun(db, record('a', { createdAt: 1 }), bytes(3, 1), 4);
    await saveJointRun(db, record('b', { createdAt: 2 }), bytes(3, 2), 4);
    await saveJointRun(db, record('c', { createdAt: 3, datasetId: 'other' }));
    expect((await listJointRuns(db, 'ds-1')).map((r) => r.id)).toEqual(['b', 'a']);
    expect((await listJointRuns(db)).map((r) => r.id)).toEqual(['c', 'b', 'a']);
    await expect(loadJointCheckpointBytes(db, 'c')).rejects.toThrow(/no stored checkpoint/);
    await expect(getJointRun(db, 'zzz')).rejects.toThrow(/No stored joint-training run/);
    expect(await deleteJointRun(db, 'a')).toBe(true);
    expect(await deleteJointRun(db, 'a')).toBe(false);
    expect(await db.getAllKeys('chunks')).toEqual([['b', 'checkpoint', 0]]);
  });
});
