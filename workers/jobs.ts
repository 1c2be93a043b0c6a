/**
 * Worker-side plumbing kept out of the worker entry so Node tests can exercise it: a registry of
 * cancellable jobs, Result wrapping (errors become values; nothing is thrown across comlink),
 * throttled fire-and-forget progress forwarding, and Blob → import-source adapters.
 */
import { isWasmMemoryFault, StudioError, throwIfCancelled, toStudioErrorInfo, type StudioErrorInfo } from '../src/core/errors.ts';
import { throttleProgress, type ProgressSink } from '../src/core/events.ts';
import { PauseGate } from '../src/core/pause.ts';
import type { BackendReport } from '../src/core/backend.ts';
import type { PreparedDataset } from '../src/core/data/types.ts';
import type { StudioDb } from '../src/storage/index.ts';
import type { ProgressCallback, Result } from './contract.ts';

/** What every stage's worker methods get from the service: storage, jobs, the dataset cache, the backend. */
export interface StageContext {
  db(): Promise<StudioDb>;
  jobs: JobRegistry;
  /** The prepared dataset (cached by the service). */
  dataset(id: string): Promise<PreparedDataset>;
  /** The backend in use, selected on first need when initBackend was not called. */
  ensureBackend(): Promise<BackendReport>;
  progressIntervalMs: number;
  chunkBytes?: number;
}

const CANCELLED = { code: 'cancelled', message: 'Cancelled by the user' } as const;

export type JobStatus = 'idle' | 'running' | 'paused';

/**
 * A failure as a value; a WebAssembly heap fault is 'worker_memory' even where a stage wrapped it
 * in its own message, so the client knows to replace the worker.
 */
export function errorInfo(err: unknown): StudioErrorInfo {
  const info = toStudioErrorInfo(err);
  return info.code !== 'worker_memory' && info.code !== 'cancelled' && isWasmMemoryFault(err) ? { ...info, code: 'worker_memory' } : info;
}

/**
 * A pause gate that fails like a worker whose wasm heap was overrun: reading it (trainers do at
 * every step) throws a WebAssembly.RuntimeError. Only the test hook injectFault hands it out.
 */
class FaultyGate extends PauseGate {
  override get paused(): boolean {
    const RuntimeError = (globalThis as { WebAssembly?: { RuntimeError?: new (m: string) => Error } }).WebAssembly?.RuntimeError ?? Error;
    throw new RuntimeError('memory access out of bounds');
  }
}

export class JobRegistry {
  private readonly running = new Map<string, AbortController>();
  private readonly gates = new Map<string, PauseGate>();
  /** Cancels that arrived before their job started (bounded). */
  private readonly early = new Set<string>();
  /** Set by the test hook: every later job fails as in a worker with a corrupted wasm heap. */
  private faulty = false;

  /** Test hook: from now on every job's trainer fails at its first step with a wasm memory fault (as a real one does). */
  injectMemoryFault(): void {
    this.faulty = true;
  }

  /** Set by the test hook: the next fresh joint run starts from a tokenizer with one NaN weight. */
  private nanWeights = false;

  /** Test hook: the next fresh joint run's tokenizer gets a NaN weight, so its loss really becomes NaN. */
  injectNanWeights(): void {
    this.nanWeights = true;
  }

  /** Whether to poison this run's weights (once). */
  takeNanWeights(): boolean {
    const on = this.nanWeights;
    this.nanWeights = false;
    return on;
  }

  get size(): number {
    return this.running.size;
  }

  isRunning(jobId: string): boolean {
    return this.running.has(jobId);
  }

  status(jobId: string): JobStatus {
    if (!this.running.has(jobId)) return 'idle';
    try {
      return this.gates.get(jobId)?.paused ? 'paused' : 'running';
    } catch {
      return 'running';
    }
  }

  /**
   * Pauses a running job: its trainer waits at its next step boundary until resume (a cancel still
   * works). Returns whether a running job was found.
   */
  pause(jobId: string): boolean {
    const gate = this.gates.get(jobId);
    if (!gate) return false;
    gate.pause();
    return true;
  }

  /** Resumes a paused job; returns whether a running job was found. */
  resume(jobId: string): boolean {
    const gate = this.gates.get(jobId);
    if (!gate) return false;
    gate.resume();
    return true;
  }

  /** Aborts the job's signal; returns whether a running job was found. */
  cancel(jobId: string): boolean {
    const ctl = this.running.get(jobId);
    if (ctl) {
      ctl.abort(new StudioError({ ...CANCELLED }));
      return true;
    }
    this.early.add(jobId);
    if (this.early.size > 256) this.early.delete(this.early.values().next().value as string);
    return false;
  }

  /**
   * Runs `fn` with the job's AbortSignal and PauseGate. A job that fails after its signal was
   * aborted reports `cancelled`; one that completed before noticing the cancel reports its value
   * (it did finish).
   */
  async run<T>(jobId: string, fn: (signal: AbortSignal, pause: PauseGate) => Promise<T>): Promise<Result<T>> {
    if (this.running.has(jobId)) {
      return { ok: false, error: { code: 'bad_option', message: `Job ${jobId} is already running` } };
    }
    const ctl = new AbortController();
    if (this.early.delete(jobId)) ctl.abort(new StudioError({ ...CANCELLED }));
    const gate = this.faulty ? new FaultyGate() : new PauseGate();
    this.running.set(jobId, ctl);
    this.gates.set(jobId, gate);
    try {
      throwIfCancelled(ctl.signal);
      return { ok: true, value: await fn(ctl.signal, gate) };
    } catch (err) {
      return { ok: false, error: ctl.signal.aborted ? { ...CANCELLED } : errorInfo(err) };
    } finally {
      this.running.delete(jobId);
      this.gates.delete(jobId);
    }
  }
}

/**
 * A job's body run inside another job's signal (an experiment sweep running joint runs): the
 * outcome as JobRegistry.run reports it (a failure after the signal was aborted reads 'cancelled').
 */
export async function runInScope<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<Result<T>> {
  try {
    throwIfCancelled(signal);
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: signal.aborted ? { ...CANCELLED } : errorInfo(err) };
  }
}

/** Any call as a Result (for the non-job methods). */
export async function asResult<T>(fn: () => Promise<T> | T): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: errorInfo(err) };
  }
}

/**
 * A throttled sink that calls the (comlink-proxied) callback without awaiting it; a failing or
 * released callback never breaks the job.
 */
export function forwardProgress(
  cb: ProgressCallback | undefined,
  intervalMs = 100,
  now?: () => number,
): ProgressSink & { flush(): void } {
  const send: ProgressSink = (event) => {
    if (typeof cb !== 'function') return;
    try {
      const r = cb(event) as unknown;
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).catch(() => undefined);
    } catch {
      /* the UI side went away; keep working */
    }
  };
  return throttleProgress(send, intervalMs, now);
}

/** Structural twin of ImportSourceFile in src/core/data/importer.ts. */
export interface BlobImportSource {
  name: string;
  size: number;
  open(): AsyncIterable<Uint8Array>;
  bytes(): Promise<Uint8Array>;
}

/** A re-openable byte source over a Blob/File (reads via blob.stream(), no full copy). */
export function blobSource(name: string, blob: Blob): BlobImportSource {
  return {
    name,
    size: blob.size,
    open: () => readStream(blob.stream()),
    bytes: async () => new Uint8Array(await blob.arrayBuffer()),
  };
}

export async function* readStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) { finished = true; return; }
      if (value && value.byteLength) yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * The adapter of a backend report as a short string for run records ('google/swiftshader'):
 * vendor/architecture of the WebGPU adapter, else its description; null without an adapter
 * (wasm, cpu, webgl) or without a report.
 */
export function adapterShort(report: Pick<BackendReport, 'adapter'> | null | undefined): string | null {
  const a = report?.adapter;
  if (!a) return null;
  return [a.vendor, a.architecture].filter(Boolean).join('/') || a.description || 'unknown';
}
