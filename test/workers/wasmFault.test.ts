/**
 * A WebAssembly heap fault is told apart from other failures: a real "memory access out of bounds"
 * (a hand-written wasm module loading past its one page) and the same fault wrapped in a stage's
 * message read as 'worker_memory', other errors do not; the studio service's test hook makes a
 * training fail that way at its first step, and every later one too, as in a corrupted worker.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { isWasmMemoryFault, StudioError, toStudioErrorInfo } from '../../src/core/errors.ts';
import { writeNpy } from '../../src/core/io/npy.ts';
import { errorInfo, JobRegistry } from '../../workers/jobs.ts';
import { createStudioService, type StudioService } from '../../workers/studioService.ts';

/** (module (memory 1) (func (export "f") (result i32) (i32.load (i32.const -1)))) */
const OOB_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type: () -> i32
  0x03, 0x02, 0x01, 0x00, // function 0 of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f"
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x41, 0x7f, 0x28, 0x02, 0x00, 0x0b, // i32.load at 0xffffffff
]);

function realFault(): unknown {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(OOB_MODULE));
  try {
    (inst.exports.f as () => number)();
  } catch (err) {
    return err;
  }
  throw new Error('the out-of-bounds load did not trap');
}

describe('wasm memory faults', () => {
  it('a real out-of-bounds trap is one; other errors are not', () => {
    const err = realFault();
    expect(err).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(isWasmMemoryFault(err)).toBe(true);
    expect(toStudioErrorInfo(err).code).toBe('worker_memory');
    expect(isWasmMemoryFault(new WebAssembly.RuntimeError('unreachable'))).toBe(false);
    expect(isWasmMemoryFault(new Error('shapes [2,3] and [4] do not match'))).toBe(false);
    expect(isWasmMemoryFault(new RangeError('Invalid array length'))).toBe(false);
    expect(isWasmMemoryFault(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(toStudioErrorInfo(new Error('boom')).code).toBe('internal');
  });

  it('a fault wrapped in a stage message or as a cause still reads as one', () => {
    const wrapped = new StudioError({ code: 'internal', message: 'Joint training failed on wasm after 0 stored epochs: memory access out of bounds.' });
    expect(isWasmMemoryFault(wrapped)).toBe(true);
    expect(errorInfo(wrapped).code).toBe('worker_memory');
    expect(errorInfo(new Error('outer', { cause: realFault() })).code).toBe('worker_memory');
    expect(errorInfo(new StudioError({ code: 'bad_option', message: 'lr must be > 0' })).code).toBe('bad_option');
  });

  it('a job failing with the fault reports worker_memory; the test hook fails every later job', async () => {
    const jobs = new JobRegistry();
    const r = await jobs.run('a', async () => { throw realFault(); });
    expect(r).toMatchObject({ ok: false, error: { code: 'worker_memory', message: 'memory access out of bounds' } });
    jobs.injectMemoryFault();
    for (const id of ['b', 'c']) {
      const x = await jobs.run(id, async (_signal, gate) => gate.paused);
      expect(x).toMatchObject({ ok: false, error: { code: 'worker_memory' } });
    }
  });
});

const services: StudioService[] = [];
afterEach(() => {
  while (services.length) services.pop()!.close();
});

describe('studio service with the injected fault', () => {
  it('a tokenizer training fails at its first step with worker_memory and stores nothing', async () => {
    const svc = createStudioService({ dbName: 'wasm-fault-1', chunkBytes: 512, progressIntervalMs: 0 });
    services.push(svc);
    await svc.initBackend(['wasm', 'cpu']);
    const lines: string[] = [];
    for (let u = 0; u < 40; u++) for (let k = 0; k < 6; k++) lines.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${(u * 3 + k) % 30}`, unixReviewTime: 1_400_000_000 + u * 100 + k, overall: 4 }));
    const imp = await svc.importDataset({ files: [{ name: 'toy.json', data: new Blob([lines.join('\n')]) }], name: 'toy', format: 'auto', config: { kcore: 2, maxLen: 50 } }, 'imp', () => undefined);
    if (!imp.ok) throw new Error(imp.error.message);
    const n = imp.value.dataset.stats.num_items;
    const data = Float32Array.from({ length: n * 8 }, (_, i) => Math.sin(i * 12.9898) * 2);
    const emb = await svc.importEmbedding(imp.value.dataset.id, new Blob([writeNpy(data, [n, 8]) as Uint8Array<ArrayBuffer>]), 'e.npy', 'collab');
    if (!emb.ok) throw new Error(emb.error.message);
    const presets = await svc.getTokenizerPresets(8);
    if (!presets.ok) throw new Error(presets.error.message);
    const cfg = { ...presets.value.find((p) => p.name === 'quick')!.config, layers: [16], e_dim: 4, num_emb_list: [4, 4, 4], epochs: 2, eval_step: 1, batch_size: 64, kmeans_iters: 5, warmup_epochs: 1 };
    await svc.injectFault('wasm_memory');
    const r = await svc.trainTokenizer(imp.value.dataset.id, emb.value.id, cfg, 'tok', () => undefined);
    expect(r).toMatchObject({ ok: false, error: { code: 'worker_memory' } });
    expect(!r.ok && r.error.message).toMatch(/memory access out of bounds/);
    const list = await svc.listTokenizers(imp.value.dataset.id);
    expect(list.ok && list.value).toEqual([]);
  });
});
