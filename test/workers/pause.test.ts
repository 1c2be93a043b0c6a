/**
 * Pause/resume of a worker job (tokenizer training in Node): a paused job reports the 'paused'
 * phase, sends no progress while paused, then resumes and finishes; a cancel works while paused.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/core/events.ts';
import { writeNpy } from '../../src/core/io/npy.ts';
import type { DatasetSummary, TokenizerConfig } from '../../workers/api.ts';
import { JobRegistry } from '../../workers/jobs.ts';
import { createStudioService, type StudioService } from '../../workers/studioService.ts';

function reviews(users = 60, items = 40): string {
  const lines: string[] = [];
  for (let u = 0; u < users; u++) {
    for (let k = 0; k < 6; k++) {
      lines.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${(u * 3 + k) % items}`, unixReviewTime: 1_400_000_000 + u * 100 + k, overall: 4 }));
    }
  }
  return lines.join('\n') + '\n';
}

let n = 0;
const services: StudioService[] = [];
function service(): StudioService {
  const svc = createStudioService({ dbName: `pause-${++n}`, chunkBytes: 512, progressIntervalMs: 0 });
  services.push(svc);
  return svc;
}
afterEach(() => {
  while (services.length) services.pop()!.close();
});

const DIM = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(svc: StudioService): Promise<{ ds: DatasetSummary; embId: string; config: TokenizerConfig }> {
  await svc.initBackend(['wasm', 'cpu']);
  const r = await svc.importDataset(
    { files: [{ name: 'toy.json', data: new Blob([reviews()]) }], name: 'toy', format: 'auto', config: { kcore: 2, maxLen: 50 } },
    'import-toy',
    () => undefined,
  );
  if (!r.ok) throw new Error(r.error.message);
  const ds = r.value.dataset;
  const N = ds.stats.num_items;
  const data = Float32Array.from({ length: N * DIM }, (_, i) => Math.sin(i * 12.9898 + 78.233) * 2);
  const e = await svc.importEmbedding(ds.id, new Blob([writeNpy(data, [N, DIM]) as Uint8Array<ArrayBuffer>]), 'emb.npy', 'collab');
  if (!e.ok) throw new Error(e.error.message);
  const p = await svc.getTokenizerPresets(DIM);
  if (!p.ok) throw new Error(p.error.message);
  const quick = p.value.find((x) => x.name === 'quick')!;
  const config = { ...quick.config, layers: [16], e_dim: 4, num_emb_list: [4, 4, 4], epochs: 8, eval_step: 2, batch_size: 16, kmeans_iters: 10, warmup_epochs: 1 };
  return { ds, embId: e.value.id, config };
}

describe('job pause/resume (worker API in Node)', () => {
  it('the registry pauses only running jobs and reports their status', async () => {
    const jobs = new JobRegistry();
    expect(jobs.pause('nope')).toBe(false);
    expect(jobs.resume('nope')).toBe(false);
    expect(jobs.status('nope')).toBe('idle');
    let release!: () => void;
    const r = jobs.run('j', async (_signal, gate) => {
      await new Promise<void>((res) => (release = res));
      return gate.pausedMs() >= 0;
    });
    expect(jobs.status('j')).toBe('running');
    expect(jobs.pause('j')).toBe(true);
    expect(jobs.status('j')).toBe('paused');
    expect(jobs.resume('j')).toBe(true);
    expect(jobs.status('j')).toBe('running');
    release();
    expect(await r).toEqual({ ok: true, value: true });
    expect(jobs.status('j')).toBe('idle');
  });

  it('a paused tokenizer training sends no progress, then resumes and finishes every epoch', async () => {
    const svc = service();
    const { ds, embId, config } = await setup(svc);
    const events: ProgressEvent[] = [];
    let asked = false;
    const run = svc.trainTokenizer(ds.id, embId, config, 'tok-p', (e) => {
      events.push(e);
      if (!asked && e.type === 'progress' && e.phase === 'train') {
        asked = true;
        void svc.pauseJob('tok-p');
      }
    });
    for (let i = 0; i < 400 && !events.some((e) => e.type === 'phase' && e.phase === 'paused'); i++) await sleep(25);
    expect(events.some((e) => e.type === 'phase' && e.phase === 'paused')).toBe(true);
    expect(await svc.jobStatus('tok-p')).toBe('paused');
    const seen = events.length;
    await sleep(400);
    expect(events.length).toBe(seen);
    expect(await svc.resumeJob('tok-p')).toBe(true);
    const r = await run;
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.cancelled).toBe(false);
    expect(r.value.epochsRun).toBe(8);
    const after = events.slice(seen);
    expect(after[0]).toMatchObject({ type: 'phase', phase: 'train' });
    expect(after.some((e) => e.type === 'progress' && e.done === 8)).toBe(true);
    expect(await svc.jobStatus('tok-p')).toBe('idle');
  }, 60_000);

  it('a cancel while paused ends the job as cancelled', async () => {
    const svc = service();
    const { ds, embId, config } = await setup(svc);
    let paused = false;
    const run = svc.trainTokenizer(ds.id, embId, { ...config, epochs: 50 }, 'tok-pc', (e) => {
      if (e.type === 'progress' && e.phase === 'train') void svc.pauseJob('tok-pc');
      if (e.type === 'phase' && e.phase === 'paused') paused = true;
    });
    for (let i = 0; i < 400 && !paused; i++) await sleep(25);
    expect(paused).toBe(true);
    await svc.cancel('tok-pc');
    const r = await run;
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.cancelled).toBe(true);
    expect(r.value.epochsRun).toBeLessThan(50);
  }, 60_000);
});
