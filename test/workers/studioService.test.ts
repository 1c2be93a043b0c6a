import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gzipSync, unzipSync } from 'fflate';
import type { BackendReport as CoreReport } from '../../src/core/backend.ts';
import type { BackendReport as ApiReport, ImportRequest } from '../../workers/api.ts';
import type { ProgressEvent } from '../../src/core/events.ts';
import { createStudioService, type StudioService } from '../../workers/studioService.ts';
import type { FetchLike } from '../../workers/sample.ts';

// The core report type and the contract's must stay identical (core may not import workers/).
const toApi = (r: CoreReport): ApiReport => r;
const toCore = (r: ApiReport): CoreReport => r;
void toApi; void toCore;

function reviews(users = 12, perUser = 6): string {
  const lines: string[] = [];
  for (let u = 0; u < users; u++) {
    for (let k = 0; k < perUser; k++) {
      lines.push(JSON.stringify({ reviewerID: `A${u}`, asin: `B${(u + k) % 8}`, unixReviewTime: 1_400_000_000 + u * 100 + k, overall: 4 }));
    }
  }
  return lines.join('\n') + '\n';
}

function request(name = 'toy', text = reviews()): ImportRequest {
  return { files: [{ name: 'toy.json', data: new Blob([text]) }], name, format: 'auto', config: { kcore: 2, maxLen: 50 } };
}

let n = 0;
const services: StudioService[] = [];
function service(extra: Parameters<typeof createStudioService>[0] = {}): StudioService {
  const s = createStudioService({ dbName: `svc-${++n}`, chunkBytes: 64, progressIntervalMs: 0, ...extra });
  services.push(s);
  return s;
}
afterEach(() => {
  vi.unstubAllGlobals();
  while (services.length) services.pop()!.close();
});

describe('studio service (worker API in Node)', () => {
  it('imports, stores, lists, pages, shows sequences, exports and deletes', async () => {
    const svc = service();
    const events: ProgressEvent[] = [];
    const r = await svc.importDataset(request(), 'job-1', (e) => { events.push(e); });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const summary = r.value.dataset;
    expect(summary.stats.num_users).toBe(12);
    expect(events.some((e) => e.type === 'phase' && e.phase === 'save')).toBe(true);
    expect(events.some((e) => e.type === 'progress' && e.phase === 'save' && e.done === e.total)).toBe(true);

    const list = await svc.listDatasets();
    expect(list).toEqual({ ok: true, value: [summary] });

    // A second service (cold cache) reads the same data back from IndexedDB.
    const cold = createStudioService({ dbName: `svc-${n}` });
    services.push(cold);
    const items = await cold.getItems(summary.id, { offset: 0, limit: 3, sort: 'count' });
    expect(items.ok && items.value.total).toBe(8);
    const users = await cold.getUsers(summary.id, { offset: 0, limit: 100, query: 'a1' });
    expect(users.ok && users.value.rows.map((u) => u.userId).sort()).toEqual(['A1', 'A10', 'A11']);
    const seq = await cold.getUserSequence(summary.id, 0);
    expect(seq.ok && seq.value.map((e) => e.split)).toEqual(['train', 'train', 'train', 'train', 'valid', 'test']);
    expect(seq.ok && seq.value[0].time).toBe(1_400_000_000);

    const exp = await svc.exportDataset(summary.id);
    expect(exp.ok).toBe(true);
    if (exp.ok) {
      expect(exp.value.fileName).toBe('toy.reference.zip');
      const names = Object.keys(unzipSync(exp.value.bytes));
      expect(names).toEqual(expect.arrayContaining(['toy.train.jsonl', 'toy.valid.jsonl', 'toy.test.jsonl']));
    }

    const del = await svc.deleteDataset(summary.id);
    expect(del).toEqual({ ok: true, value: undefined });
    expect(await svc.listDatasets()).toEqual({ ok: true, value: [] });
    const gone = await svc.getItems(summary.id, { offset: 0, limit: 1 });
    expect(!gone.ok && gone.error.code).toBe('not_found');
  });

  it('reads gzip input and suffixes a repeated name', async () => {
    const svc = service();
    const gz = gzipSync(new TextEncoder().encode(reviews()));
    const a = await svc.importDataset(request('dup'), 'a', () => {});
    const b = await svc.importDataset({ ...request('dup'), files: [{ name: 'toy.json.gz', data: new Blob([gz]) }] }, 'b', () => {});
    expect(a.ok && a.value.dataset.name).toBe('dup');
    expect(b.ok && b.value.dataset.name).toBe('dup (2)');
    expect(b.ok && b.value.dataset.stats).toEqual(a.ok && a.value.dataset.stats);
  });

  it('a cancelled import returns cancelled and leaves IndexedDB unchanged', async () => {
    const svc = service();
    const first = await svc.importDataset(request('keep'), 'k', () => {});
    expect(first.ok).toBe(true);
    let cancelled = false;
    const r = await svc.importDataset(request('big', reviews(400, 8)), 'job-c', () => {
      if (!cancelled) { cancelled = true; void svc.cancel('job-c'); }
    });
    expect(r).toEqual({ ok: false, error: { code: 'cancelled', message: 'Cancelled by the user' } });
    const list = await svc.listDatasets();
    expect(list.ok && list.value.map((d) => d.name)).toEqual(['keep']);
  });

  it('a cancel during the save phase leaves IndexedDB unchanged', async () => {
    const svc = service();
    const r = await svc.importDataset(request('late', reviews(200, 6)), 'job-s', (e) => {
      if (e.type === 'progress' && e.phase === 'save' && e.done === 2) void svc.cancel('job-s');
    });
    expect(!r.ok && r.error.code).toBe('cancelled');
    expect(await svc.listDatasets()).toEqual({ ok: true, value: [] });
  });

  it('a failed import is a structured error and stores nothing', async () => {
    const svc = service();
    const r = await svc.importDataset(request('empty', ''), 'e', () => {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(typeof r.error.code).toBe('string');
    const r2 = await svc.importDataset({ ...request('kc'), config: { kcore: 50, maxLen: 50 } }, 'f', () => {});
    expect(!r2.ok && r2.error.code).toBe('empty_after_filter');
    expect(await svc.listDatasets()).toEqual({ ok: true, value: [] });
  });

  it('loads the bundled sample through fetch', async () => {
    const text = reviews();
    const fetchFn: FetchLike = async (url) => {
      if (url === 'http://app/base/sample/sample.json') {
        return { ok: true, status: 200, json: async () => ({ file: 'toy.jsonl', format: 'amazon2014', name: 'Sample toy', kcore: 2, maxLen: 20, attribution: 'test data' }), blob: async () => new Blob() };
      }
      if (url === 'http://app/base/sample/toy.jsonl') return { ok: true, status: 200, json: async () => null, blob: async () => new Blob([text]) };
      return { ok: false, status: 404, json: async () => null, blob: async () => new Blob() };
    };
    const svc = service({ appBase: () => 'http://app/base/', fetch: fetchFn });
    const events: ProgressEvent[] = [];
    const r = await svc.loadSample('s', (e) => { events.push(e); });
    expect(r.ok && r.value.dataset.name).toBe('Sample toy');
    expect(r.ok && r.value.dataset.config).toEqual({ kcore: 2, maxLen: 20 });
    expect(events.some((e) => e.type === 'log' && /test data/.test(e.message))).toBe(true);
  });

  it('storageInfo reads navigator.storage, and says so when it is missing', async () => {
    const svc = service();
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 10, quota: 100 }), persisted: async () => true } });
    expect(await svc.storageInfo()).toEqual({ ok: true, value: { usage: 10, quota: 100, persisted: true } });
    vi.stubGlobal('navigator', {});
    const r = await svc.storageInfo();
    expect(!r.ok && r.error.code).toBe('storage_failed');
  });

  it('initBackend reports webgpu as failed in Node and picks wasm; cpu alone has no fallbackReason', async () => {
    const svc = service();
    const r = await svc.initBackend(['webgpu', 'wasm', 'cpu']);
    expect(r.attempts[0]).toMatchObject({ backend: 'webgpu', ok: false });
    expect(r.attempts[0].reason).toMatch(/navigator\.gpu is missing/);
    expect(r.backend).toBe('wasm');
    expect(r.fallbackReason).toMatch(/webgpu/);
    const c = await svc.initBackend(['cpu']);
    expect(c.backend).toBe('cpu');
    expect(c.fallbackReason).toBeUndefined();
  });
});

describe('reference bundle with embeddings', () => {
  it('stores the bundle .npy as the dataset embedding table (PAD row dropped), values intact', async () => {
    const { zipSync } = await import('fflate');
    const { writeNpy, parseNpy, npyToFloat32 } = await import('../../src/core/io/npy.ts');
    const svc = service();
    const first = await svc.importDataset(request('base'), 'j1', () => {});
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const exp = await svc.exportDataset(first.value.dataset.id);
    if (!exp.ok) throw new Error('export failed');
    const N = first.value.dataset.stats.num_items;
    const cols = 3;
    const table = new Float32Array((N + 1) * cols).map((_, i) => (i < cols ? 0 : i * 0.5));
    const files = { ...unzipSync(exp.value.bytes), 'base_sentence-transformer_text_3.npy': writeNpy(table, [N + 1, cols]) };
    const zip = zipSync(files);
    const r = await svc.importDataset(
      { files: [{ name: 'base.zip', data: new Blob([zip as Uint8Array<ArrayBuffer>]) }], name: 'with-emb', format: 'auto', config: { kcore: 2, maxLen: 50 } },
      'j2', () => {},
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const list = await svc.listEmbeddings(r.value.dataset.id);
    expect(list.ok && list.value.map((e) => [e.kind, e.rows, e.cols])).toEqual([['text', N, cols]]);
    if (!list.ok) return;
    const out = await svc.exportEmbedding(list.value[0].id);
    if (!out.ok) throw new Error('export embedding failed');
    const back = npyToFloat32(parseNpy(out.value.bytes));
    expect(back.rows).toBe(N);
    expect(Array.from(back.data)).toEqual(Array.from(table.subarray(cols)));
  });
});
