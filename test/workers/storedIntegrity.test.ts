/**
 * What the studio keeps in IndexedDB is checked before it is used or handed out: a stored tokenizer
 * (its per-tensor checksums) and a stored GRPO bundle (zip CRCs and per-tensor checksums). A
 * flipped byte is refused naming the tensor; an imported tokenizer file without checksums is
 * imported, and the message says it is unverified.
 */
import 'fake-indexeddb/auto';
import { unzipSync, zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJointBundle } from '../../src/core/io/jointBundle.ts';
import { readSafetensors, writeSafetensors } from '../../src/core/io/safetensors.ts';
import { exportRqvaeSafetensors } from '../../src/core/tokenizer/stateDict.ts';
import { newGrpoRunId, openStudioDb, saveDataset, saveGrpoRun, saveTokenizer, type GrpoRunInput } from '../../src/storage/index.ts';
import { createStudioService, type StudioService } from '../../workers/studioService.ts';
import { tinyCheckpoint } from '../core/io/checkpointFixture.ts';
import { makeDataset } from '../storage/fixture.ts';

const services: StudioService[] = [];
afterEach(() => {
  while (services.length) services.pop()!.close();
});

/** The first tensor of a safetensors file with more than 8 bytes, and its data's offset in the file. */
function someTensor(bytes: Uint8Array): { name: string; at: number } {
  const [name, t] = Object.entries(readSafetensors(bytes).tensors).find(([, x]) => x.bytes.length > 8)!;
  return { name, at: t.bytes.byteOffset - bytes.byteOffset + 3 };
}

async function chunkKeys(dbName: string, owner: string, array: string): Promise<[string, string, number][]> {
  const db = await openStudioDb(dbName);
  const keys = (await db.getAllKeys('chunks')) as unknown as [string, string, number][];
  db.close();
  return keys.filter((k) => k[0] === owner && k[1] === array).sort((a, b) => a[2] - b[2]);
}

/** Rewrites the stored chunks of one array so that they hold `bytes` (same length). */
async function overwrite(dbName: string, owner: string, array: string, bytes: Uint8Array, chunkBytes: number): Promise<void> {
  const keys = await chunkKeys(dbName, owner, array);
  expect(keys.length).toBe(Math.ceil(bytes.length / chunkBytes));
  const db = await openStudioDb(dbName);
  for (const k of keys) await db.put('chunks', bytes.slice(k[2] * chunkBytes, (k[2] + 1) * chunkBytes).buffer, k as never);
  db.close();
}

describe('stored artifacts are verified when read back', () => {
  it('a stored tokenizer with a flipped byte is refused on export, naming the tensor', async () => {
    const dbName = 'integrity-tokenizer';
    const chunkBytes = 256;
    const c = tinyCheckpoint();
    const weights = exportRqvaeSafetensors(c.current.tokenizer, c.tokenizerConfig);
    const db = await openStudioDb(dbName);
    const ds = await saveDataset(db, makeDataset());
    const tok = await saveTokenizer(db, ds.id, {
      name: 'tok', embeddingId: null, embeddingName: 'emb', source: 'rqvae', createdAt: 1, items: 5, config: c.tokenizerConfig,
      collisionRate: 0, giniMean: 0, giniPerLevel: [0, 0, 0], maxSuffix: 0, tensorCount: 8, snapshots: {}, meta: {},
    }, { weights, codes: new Uint8Array(c.current.codes.buffer.slice(0)) }, chunkBytes);
    db.close();
    const svc = createStudioService({ dbName, chunkBytes, progressIntervalMs: 0 });
    services.push(svc);
    const ok = await svc.exportTokenizer(tok.id);
    expect(ok.ok).toBe(true);

    const { name, at } = someTensor(weights);
    const bad = weights.slice();
    bad[at] ^= 0x20;
    await overwrite(dbName, tok.id, 'weights', bad, chunkBytes);
    const refused = await svc.exportTokenizer(tok.id);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.field).toBe(name);
      expect(refused.error.message).toMatch(/is corrupted: its CRC-32 does not match/);
    }
  });

  it('a stored GRPO bundle is checked before export: a corrupted tensor (valid zip CRCs) or zip byte is refused', async () => {
    const dbName = 'integrity-grpo';
    const chunkBytes = 4096;
    const c = tinyCheckpoint();
    const zip = writeJointBundle({
      recommender: c.current.recommender, recommenderConfig: c.recommenderConfig, tokenizer: c.current.tokenizer,
      tokenizerConfig: c.tokenizerConfig, codes: c.current.codes, config: c.config, history: [], metrics: {},
    });
    const db = await openStudioDb(dbName);
    const ds = await saveDataset(db, makeDataset());
    const record: GrpoRunInput = {
      id: newGrpoRunId(), createdAt: 1, updatedAt: 1, name: 'g', datasetId: ds.id, jointRunId: 'joint-x', status: 'finished',
      backend: 'cpu', preset: 'quick', config: {}, seed: 1, history: [], validBefore: null, validAfter: null, test: null,
      bestEpoch: null, timings: {}, error: null, meta: {},
    };
    await saveGrpoRun(db, record, zip, chunkBytes);
    // the recommender's bytes changed inside the zip, re-packed with valid CRCs: only the tensor checksum sees it
    const files = unzipSync(zip);
    const { name, at } = someTensor(files['recommender.safetensors']);
    const rec = files['recommender.safetensors'].slice();
    rec[at] ^= 0x01;
    const tensorBad = zipSync({ ...files, 'recommender.safetensors': rec });
    const other = { ...record, id: newGrpoRunId(), name: 'g2' };
    await saveGrpoRun(db, other, tensorBad, chunkBytes);
    db.close();

    const svc = createStudioService({ dbName, chunkBytes, progressIntervalMs: 0 });
    services.push(svc);
    const ok = await svc.exportGrpoBundle(record.id);
    expect(ok.ok).toBe(true);
    const refused = await svc.exportGrpoBundle(other.id);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error).toMatchObject({ file: 'recommender.safetensors', field: name });

    const flipped = zip.slice();
    flipped[Math.floor(flipped.length / 3)] ^= 0x04;
    await overwrite(dbName, record.id, 'bundle', flipped, chunkBytes);
    const zipRefused = await svc.exportGrpoBundle(record.id);
    expect(zipRefused.ok).toBe(false);
  });

  it('an imported tokenizer file without checksums is imported; the message says unverified', async () => {
    const c = tinyCheckpoint();
    const f = readSafetensors(exportRqvaeSafetensors(c.current.tokenizer, c.tokenizerConfig));
    const { checksums: _none, ...md } = f.metadata;
    const old = writeSafetensors(f.tensors, md);
    const svc = createStudioService({ dbName: 'integrity-import', progressIntervalMs: 0 });
    services.push(svc);
    await svc.initBackend(['cpu']);
    const db = await openStudioDb('integrity-import');
    const ds = await saveDataset(db, makeDataset());
    db.close();
    const N = 5;
    const D = c.tokenizerConfig.in_dim;
    const { writeNpy } = await import('../../src/core/io/npy.ts');
    const emb = await svc.importEmbedding(ds.id, new Blob([writeNpy(Float32Array.from({ length: N * D }, (_, i) => Math.sin(i)), [N, D]) as Uint8Array<ArrayBuffer>]), 'e.npy', 'collab');
    if (!emb.ok) throw new Error(emb.error.message);
    const r = await svc.importTokenizer(ds.id, new Blob([old as Uint8Array<ArrayBuffer>]), 'old.tokenizer.safetensors');
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.message).toMatch(/unverified: the file carries no tensor checksums/);
    const fresh = await svc.importTokenizer(ds.id, new Blob([exportRqvaeSafetensors(c.current.tokenizer, c.tokenizerConfig) as Uint8Array<ArrayBuffer>]), 'new.tokenizer.safetensors');
    if (!fresh.ok) throw new Error(fresh.error.message);
    expect(fresh.value.message).not.toMatch(/unverified/);
    // what the studio stored for the unverified import carries checksums from now on
    const ex = await svc.exportTokenizer(r.value.tokenizer.id);
    if (!ex.ok) throw new Error(ex.error.message);
    expect(Object.keys(JSON.parse(readSafetensors(ex.value.safetensors.bytes).metadata.checksums))).toHaveLength(Object.keys(f.tensors).length);
  });
});
