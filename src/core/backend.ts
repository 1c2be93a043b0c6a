/**
 * tfjs backend selection: tries each preferred backend in order, verifies with tf.getBackend()
 * that tfjs really switched (a failed init resolves false silently), and records why every
 * rejected backend was rejected. Backend packages are imported lazily so Node can run wasm/cpu.
 *
 * The report types mirror workers/api.ts (core may not import from workers/); a compile-time
 * check in workers/ keeps the two identical.
 */
import * as tf from '@tensorflow/tfjs-core';
import { StudioError } from './errors.ts';
import { installWasmFastBatchMatMul, setWasmFastBatchMatMul } from './tfjs/wasmBmm.ts';
import { installWasmSharedIdentity, setWasmSharedIdentity } from './tfjs/wasmShare.ts';
import { installWebGpuFixes } from './tfjs/webgpuFixes.ts';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
  limits: Record<string, number>;
  features: string[];
}

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  reason?: string;
}

export interface BackendReport {
  preference: BackendName[];
  backend: BackendName;
  adapter?: AdapterInfo;
  attempts: BackendAttempt[];
  fallbackReason?: string;
  /**
   * wasm only: threads XNNPACK runs on (tfjs getThreadsCount), and whether the threaded SIMD binary
   * is in use. 1 / false in Node and wherever the page is not cross-origin isolated.
   */
  wasmThreads?: number;
  wasmThreadedBinary?: boolean;
}

export const DEFAULT_BACKEND_PREFERENCE: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Minimal WebGPU shapes (the DOM lib of TypeScript does not ship WebGPU types). */
interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
  device?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  requestAdapterInfo?: () => Promise<GpuAdapterInfoLike>;
  isFallbackAdapter?: boolean;
  limits: Record<string, number> | object;
  features: Iterable<string>;
}
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

export interface SelectBackendOptions {
  /** Passed to setWasmPaths of tfjs-backend-wasm (browser: Vite `?url` imports). Not needed in Node. */
  wasmPaths?: string | Record<string, string>;
  /** false sets WASM_HAS_MULTITHREAD_SUPPORT=false: the single-threaded SIMD binary even where threads work. */
  wasmMultithread?: boolean;
  /**
   * Threads for the threaded wasm binary (tfjs setThreadsCount). tfjs's own default is half of
   * navigator.hardwareConcurrency — one thread on a 2-core machine — so the browser passes all cores.
   */
  wasmThreads?: number;
  /** Overrides globalThis.navigator.gpu (tests); null means "no WebGPU". */
  gpu?: GpuLike | null;
  /** Milliseconds to wait for requestAdapter() (default 60 s; see prepareWebGpu). */
  adapterTimeoutMs?: number;
  /**
   * wasm only: our kernels — batched matMuls on our SIMD kernel (tfjs/wasmBmm.ts, ~10× the stock
   * kernel) and copy-free clones (tfjs/wasmShare.ts). Default true; false keeps stock tfjs
   * (benchmark baseline).
   */
  wasmFastMatMul?: boolean;
  /**
   * Skip a WebGPU adapter that is a fallback/software one (SwiftShader): on a machine without a GPU
   * it trains ~50× slower than wasm. Set when the user did not ask for a backend (auto).
   */
  skipSoftwareAdapter?: boolean;
}

const LIMIT_KEYS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupStorageSize',
] as const;

class AttemptFailure extends Error {}

let wasmPathsSet = false;

/** Picks the first working backend of `preference`; never silent about why others were skipped. */
export async function selectBackend(
  preference: BackendName[] = DEFAULT_BACKEND_PREFERENCE,
  opts: SelectBackendOptions = {},
): Promise<BackendReport> {
  const order = preference.length ? [...preference] : [...DEFAULT_BACKEND_PREFERENCE];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    try {
      let adapter: AdapterInfo | undefined;
      if (name === 'webgpu') {
        adapter = await prepareWebGpu(opts);
        if (opts.skipSoftwareAdapter && adapter.isFallbackAdapter && order.some((b) => b !== 'webgpu')) {
          throw new AttemptFailure(`the only adapter is a software one (${adapterLabel(adapter)}), slower than wasm here; choose webgpu in the header to use it anyway`);
        }
      } else {
        const soft = name === 'webgl' && opts.skipSoftwareAdapter ? softwareWebGlRenderer() : null;
        if (soft) throw new AttemptFailure(`the WebGL renderer is a software one (${soft}), slower than wasm here; choose it explicitly to use it anyway`);
        await importBackend(name, opts);
      }
      try {
        if (name === 'wasm' && opts.wasmMultithread !== false && opts.wasmThreads) {
          // tfjs-backend-wasm caps its pool at navigator.hardwareConcurrency / 2 (read once, when the
          // module instantiates) whatever setThreadsCount asks: one thread on 2 cores
          await withReportedCores(2 * Math.floor(opts.wasmThreads), () => switchTo(name));
        } else {
          await switchTo(name);
        }
      } catch (err) {
        if (!adapter) throw err;
        throw new AttemptFailure(`adapter ${adapterLabel(adapter)} found, but ${errorText(err)}`);
      }
      if (name === 'wasm') {
        installWasmFastBatchMatMul();
        setWasmFastBatchMatMul(opts.wasmFastMatMul !== false);
        installWasmSharedIdentity();
        setWasmSharedIdentity(opts.wasmFastMatMul !== false);
      }
      // tfjs-backend-webgpu 4.22 bugs that silently corrupt training (tfjs/webgpuFixes.ts)
      if (name === 'webgpu') installWebGpuFixes();
      attempts.push({ backend: name, ok: true });
      const report: BackendReport = { preference: order, backend: name, attempts };
      if (adapter) report.adapter = adapter;
      if (name === 'wasm') Object.assign(report, await wasmThreadInfo());
      if (name !== order[0]) report.fallbackReason = summariseFailures(attempts);
      return report;
    } catch (err) {
      attempts.push({ backend: name, ok: false, reason: errorText(err) });
    }
  }
  throw new StudioError({
    code: 'backend_unavailable',
    message: `No tfjs backend could be started. ${summariseFailures(attempts)}`,
    details: attempts,
  });
}

/** One line for logs and the CLI. */
export function describeBackend(report: BackendReport): string {
  let line = `backend ${report.backend}`;
  if (report.adapter) line += ` (adapter ${adapterLabel(report.adapter)})`;
  if (report.fallbackReason) line += `; fallback: ${report.fallbackReason}`;
  line += `; tried ${report.attempts.map((t) => `${t.backend} ${t.ok ? 'ok' : 'failed'}`).join(', ')}`;
  return line;
}

function adapterLabel(a: AdapterInfo): string {
  const who = [a.vendor, a.architecture].filter(Boolean).join('/') || 'unknown';
  return `${who}${a.description ? `, ${a.description}` : ''}${a.isFallbackAdapter ? ', fallback/software adapter' : ''}`;
}

function summariseFailures(attempts: BackendAttempt[]): string {
  return attempts
    .filter((a) => !a.ok)
    .map((a) => `${a.backend} failed: ${a.reason ?? 'unknown reason'}`)
    .join('; ');
}

function errorText(err: unknown): string {
  if (err instanceof StudioError) return err.info.message;
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

async function prepareWebGpu(opts: SelectBackendOptions): Promise<AdapterInfo> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  const gpu = opts.gpu !== undefined ? opts.gpu : nav?.gpu;
  if (!gpu) {
    throw new AttemptFailure(
      'navigator.gpu is missing (this browser/context has no WebGPU; in Chromium start with --enable-unsafe-webgpu)',
    );
  }
  // 60 s: after a page reload Chromium's GPU process first finishes the killed page's queued work;
  // on a software adapter (SwiftShader) requestAdapter() then took > 10 s, and a shorter limit fell
  // back to webgl for the resumed run (seen in e2e/joint.spec.ts). A truly hung request still ends.
  const timeoutMs = opts.adapterTimeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const adapter = await Promise.race([
    gpu.requestAdapter({ powerPreference: 'high-performance' }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AttemptFailure(`requestAdapter() did not answer within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (!adapter) {
    throw new AttemptFailure('requestAdapter() returned null (no suitable GPU adapter; WebGPU may be disabled or blocklisted)');
  }
  const info = await readAdapterInfo(adapter);
  if (opts.gpu !== undefined && opts.gpu !== nav?.gpu) {
    // An injected gpu object cannot drive tfjs (its backend reads globalThis.navigator.gpu).
    throw new AttemptFailure('the injected gpu object is not globalThis.navigator.gpu; tfjs cannot use it');
  }
  await importBackend('webgpu', opts);
  return info;
}

async function readAdapterInfo(adapter: GpuAdapterLike): Promise<AdapterInfo> {
  let info: GpuAdapterInfoLike = {};
  try {
    if (adapter.info) info = adapter.info;
    else if (typeof adapter.requestAdapterInfo === 'function') info = await adapter.requestAdapterInfo();
  } catch {
    info = {};
  }
  const limits: Record<string, number> = {};
  const src = adapter.limits as Record<string, unknown>;
  for (const key of LIMIT_KEYS) {
    const v = src?.[key];
    if (typeof v === 'number') limits[key] = v;
  }
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description || info.device || '',
    isFallbackAdapter: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter ?? false),
    limits,
    features: Array.from(adapter.features ?? []).map(String).sort(),
  };
}

interface GlLike {
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
  getParameter(p: number): unknown;
}

/** The WebGL renderer's name when it is a software one (SwiftShader, llvmpipe), else null. */
function softwareWebGlRenderer(): string | null {
  const Canvas = (globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): GlLike | null } }).OffscreenCanvas;
  if (!Canvas) return null;
  try {
    const gl = new Canvas(1, 1).getContext('webgl2') ?? new Canvas(1, 1).getContext('webgl');
    const ext = gl?.getExtension('WEBGL_debug_renderer_info');
    const renderer = ext && gl ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : '';
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? renderer : null;
  } catch {
    return null;
  }
}

async function importBackend(name: BackendName, opts: SelectBackendOptions): Promise<void> {
  switch (name) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      break;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (opts.wasmMultithread === false) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      // read when the backend initialises (tf.setBackend), so it must be set before
      else if (opts.wasmThreads !== undefined && opts.wasmThreads >= 1) wasm.setThreadsCount(Math.floor(opts.wasmThreads));
      if (opts.wasmPaths && !wasmPathsSet) {
        wasm.setWasmPaths(opts.wasmPaths);
        wasmPathsSet = true;
      }
      break;
    }
    default:
      throw new AttemptFailure(`unknown backend "${String(name)}"`);
  }
  if (!tf.findBackendFactory(name)) {
    throw new AttemptFailure(
      name === 'webgl'
        ? 'the webgl backend did not register (no browser/WebGL context here)'
        : `the ${name} backend did not register in this context`,
    );
  }
}

/** Runs `start` while navigator.hardwareConcurrency reads `cores`; the real value is back afterwards. */
async function withReportedCores<T>(cores: number, start: () => Promise<T>): Promise<T> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  let shadowed = false;
  if (nav && !Object.prototype.hasOwnProperty.call(nav, 'hardwareConcurrency')) {
    try {
      Object.defineProperty(nav, 'hardwareConcurrency', { value: cores, configurable: true });
      shadowed = true;
    } catch {
      /* a frozen navigator: tfjs keeps its own cap */
    }
  }
  try {
    return await start();
  } finally {
    if (shadowed) delete nav!.hardwareConcurrency;
  }
}

/** Threads and binary of the initialised wasm backend. */
async function wasmThreadInfo(): Promise<{ wasmThreads?: number; wasmThreadedBinary: boolean }> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const threaded = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) && Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  try {
    return { wasmThreads: wasm.getThreadsCount(), wasmThreadedBinary: threaded };
  } catch {
    return { wasmThreadedBinary: threaded };
  }
}

/** setBackend + ready, capturing tfjs's console warnings (its only report of an init failure). */
async function switchTo(name: BackendName): Promise<void> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
    original.apply(console, args);
  };
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    if (ok) await tf.ready();
  } finally {
    console.warn = original;
  }
  const actual = tf.getBackend();
  if (!ok || actual !== name) {
    const detail = warnings
      .filter((w) => !/^Initialization of backend/.test(w))
      .map((w) => w.split('\n')[0])
      .join(' | ');
    throw new AttemptFailure(
      `tf.setBackend('${name}') ${ok ? `left tfjs on '${actual}'` : 'resolved false (initialization failed)'}` +
        (detail ? `: ${detail}` : ''),
    );
  }
}
