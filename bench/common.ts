/**
 * Shared pieces of the stage benchmarks: backend start (wasm / cpu / webgpu through the npm
 * `webgpu` Dawn bindings), the paper's Instrument shapes on synthetic data, memory sampling,
 * medians, and the common result fields every stage reports.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend, describeBackend, type BackendName, type BackendReport } from '../src/core/backend.ts';
import { Rng } from '../src/core/rng.ts';
import { registerWasmUnsortedSegmentSum } from '../src/core/tfjs/wasmSegmentSum.ts';

/** Spec §8.1, Table 2 + implied numbers: the paper's Instrument dataset (Amazon 2023). */
export const INSTRUMENT = {
  users: 57_439,
  items: 24_587,
  interactions: 511_836,
  /** all prefixes with ≥ 1 item, minus the valid/test targets: 511,836 − 3 · 57,439 */
  trainSamples: 339_519,
  maxHistory: 50,
} as const;

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/**
 * Sets up the requested backend and fails loudly (exit 3) if it cannot run. `webgpu` in Node needs
 * the npm `webgpu` package (Dawn) and a Vulkan driver (libvulkan.so.1 + an ICD: a GPU driver,
 * Mesa lavapipe, or Chromium's SwiftShader ICD via VK_ICD_FILENAMES).
 */
export async function startBackend(name: string): Promise<BackendReport> {
  if (!['wasm', 'cpu', 'webgpu'].includes(name)) {
    log(`unknown backend "${name}"; use wasm, cpu or webgpu`);
    process.exit(2);
  }
  if (name === 'webgpu') await installNodeWebGpu();
  let report: BackendReport;
  try {
    report = await selectBackend([name as BackendName], { wasmFastMatMul: process.env.ETEGREC_WASM_STOCK_MATMUL !== '1' });
  } catch (e) {
    const why = `backend ${name} could not start: ${e instanceof Error ? e.message : String(e)}`;
    log(why);
    if (name === 'webgpu') log(WEBGPU_HINT);
    emit({ error: why, ...(name === 'webgpu' ? { hint: WEBGPU_HINT } : {}) });
    process.exit(3);
  }
  if (report.backend === 'wasm') registerWasmUnsortedSegmentSum();
  log(describeBackend(report));
  if (report.backend === 'wasm') log(`batched matMul: ${process.env.ETEGREC_WASM_STOCK_MATMUL === '1' ? 'stock tfjs' : 'SIMD kernel'}`);
  return report;
}

export const WEBGPU_HINT =
  'webgpu in Node needs (1) the npm package `webgpu` (devDependency; Dawn bindings, prebuilt for linux-x64) and ' +
  '(2) a Vulkan loader (libvulkan.so.1: `apt-get install libvulkan1`) + a driver that Dawn accepts: on a GPU machine the ' +
  'vendor driver (`vulkaninfo --summary` must list the GPU); without a GPU Chromium\'s SwiftShader ICD ' +
  '(`npm run bench -- --backend webgpu --vk-icd swiftshader`, i.e. VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json) ' +
  'or Mesa ≥ 25 lavapipe (Debian 12\'s Mesa 22.3 lavapipe is rejected by Dawn: "shaderUniform*ArrayDynamicIndexing required")';

async function installNodeWebGpu(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  let mod: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    const why = `cannot load the npm package "webgpu": ${e instanceof Error ? e.message : String(e)}`;
    log(why);
    log(WEBGPU_HINT);
    emit({ error: why, hint: WEBGPU_HINT });
    process.exit(3);
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  // Node ≥ 21 defines a read-only globalThis.navigator: redefine it.
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
}

/** Tracks peak RSS / JS heap / tfjs bytes; call sample() at step boundaries. */
export class MemoryPeak {
  rss = 0;
  heap = 0;
  tfBytes = 0;
  sample(): void {
    const m = process.memoryUsage();
    this.rss = Math.max(this.rss, m.rss);
    this.heap = Math.max(this.heap, m.heapUsed);
    this.tfBytes = Math.max(this.tfBytes, tf.memory().numBytes);
  }
  result(): { peak_rss_mb: number; peak_heap_mb: number; peak_tf_mb: number; max_rss_mb: number } {
    this.sample();
    const mb = (b: number) => Math.round(b / 2 ** 20);
    return {
      peak_rss_mb: mb(this.rss),
      peak_heap_mb: mb(this.heap),
      /** tf.memory().numBytes: on wasm this lives inside the wasm heap (4 GiB cap). */
      peak_tf_mb: mb(this.tfBytes),
      /** getrusage maxRSS of the whole process (includes the wasm heap's resident pages). */
      max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  }
}

/** Per-step timing summary: first step (compile/warm-up) separate, median over the rest. */
export function stepSummary(firstMs: number, stepMs: number[], samplesPerStep: number, flopsPerStep?: number) {
  const med = median(stepMs);
  const out: Record<string, unknown> = {
    samples_per_s: round((samplesPerStep * 1000) / med),
    median_step_ms: round(med, 1),
    first_step_ms: round(firstMs, 1),
    step_ms: stepMs.map((t) => round(t, 1)),
    steps_timed: stepMs.length,
  };
  if (flopsPerStep !== undefined) {
    out.gflop_per_step = round(flopsPerStep / 1e9, 3);
    out.gflops = round(flopsPerStep / 1e9 / (med / 1000), 3);
  }
  return out;
}

/**
 * History lengths distributed like Instrument's training samples: user sequence lengths n ≥ 5 with
 * mean 511,836 / 57,439 ≈ 8.91 (5 + geometric tail), and each user gives prefixes 1..n−3, capped
 * at 50 items. The resulting mean history is ≈ 4.9 items.
 */
export function instrumentHistoryLengths(count: number, rng: Rng, maxLen: number = INSTRUMENT.maxHistory): Int32Array {
  const meanSeq = INSTRUMENT.interactions / INSTRUMENT.users; // ≈ 8.91
  const pMore = 1 - 1 / (meanSeq - 5 + 1); // geometric tail with mean meanSeq − 5
  const out = new Int32Array(count);
  let k = 0;
  while (k < count) {
    let n = 5;
    while (rng.next() < pMore && n < 2000) n++;
    for (let len = 1; len <= n - 3 && k < count; len++) out[k++] = Math.min(len, maxLen);
  }
  // shuffle so batches mix users (the training order is a permutation anyway)
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

export interface SyntheticSamples {
  count: number;
  L: number;
  histories: Int32Array;
  lens: Int32Array;
  targets: Int32Array;
}

/** Synthetic samples: item ids uniform in 1..numItems, lengths as above. */
export function syntheticSamples(count: number, numItems: number, rng: Rng, L: number = INSTRUMENT.maxHistory): SyntheticSamples {
  const lens = instrumentHistoryLengths(count, rng, L);
  const s: SyntheticSamples = { count, L, histories: new Int32Array(count * L), lens, targets: new Int32Array(count) };
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < lens[i]; j++) s.histories[i * L + j] = 1 + rng.int(numItems);
    s.targets[i] = 1 + rng.int(numItems);
  }
  return s;
}

export function emit(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(result) + '\n');
}
