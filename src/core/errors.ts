/**
 * Errors are values the user can act on: every failure the studio reports carries a machine-readable
 * code plus, where known, the file, line, field and what was expected versus found.
 */
export type StudioErrorCode =
  | 'unknown_format'
  | 'malformed_input'
  | 'empty_after_filter'
  | 'empty_input'
  | 'embedding_row_mismatch'
  | 'embedding_non_finite'
  | 'bad_npy'
  | 'bad_bundle'
  | 'bad_option'
  | 'cancelled'
  | 'quota_exceeded'
  | 'storage_failed'
  | 'not_found'
  | 'backend_unavailable'
  /** A training's loss became NaN or infinite. */
  | 'diverged'
  /**
   * The WebAssembly heap ran out or was overrun ("memory access out of bounds"): the module that
   * failed stays corrupted, so the worker that ran it must be replaced.
   */
  | 'worker_memory'
  | 'internal';

export interface StudioErrorInfo {
  code: StudioErrorCode;
  message: string;
  file?: string;
  line?: number;
  field?: string;
  expected?: string;
  found?: string;
  /** Further structured detail (e.g. the first malformed lines). Must be structured-cloneable. */
  details?: unknown;
}

export class StudioError extends Error {
  readonly info: StudioErrorInfo;
  constructor(info: StudioErrorInfo) {
    super(formatStudioError(info));
    this.name = 'StudioError';
    this.info = info;
  }
}

/** One line a person can read: "file.json, line 12, field asin: expected a string, found 12". */
export function formatStudioError(info: StudioErrorInfo): string {
  const where: string[] = [];
  if (info.file) where.push(info.file);
  if (info.line !== undefined) where.push(`line ${info.line}`);
  if (info.field) where.push(`field ${info.field}`);
  let text = where.length ? `${where.join(', ')}: ${info.message}` : info.message;
  if (info.expected !== undefined || info.found !== undefined) {
    const parts: string[] = [];
    if (info.expected !== undefined) parts.push(`expected ${info.expected}`);
    if (info.found !== undefined) parts.push(`found ${info.found}`);
    text += ` (${parts.join(', ')})`;
  }
  return text;
}

/** What the engines say when a WebAssembly heap is exhausted or overrun (V8, SpiderMonkey, emscripten). */
const WASM_MEMORY_TEXT = /memory access out of bounds|out of bounds memory access|Cannot enlarge memory|WebAssembly\.Memory\(\): could not|Aborted\(OOM\)|Array buffer allocation failed/i;

/**
 * Whether a failure is the WebAssembly heap running out or being overrun: a WebAssembly.RuntimeError
 * or RangeError with such a text, or any error (a wrapped one, its cause, a StudioError message)
 * quoting it. After such a fault the wasm module's state cannot be trusted.
 */
export function isWasmMemoryFault(err: unknown, depth = 0): boolean {
  if (err === null || err === undefined || depth > 4) return false;
  if (typeof err === 'string') return WASM_MEMORY_TEXT.test(err);
  if (typeof err !== 'object') return false;
  const e = err as { message?: unknown; cause?: unknown; info?: { code?: unknown; message?: unknown } };
  if (e.info?.code === 'worker_memory') return true;
  const RuntimeError = (globalThis as { WebAssembly?: { RuntimeError?: new () => Error } }).WebAssembly?.RuntimeError;
  const text = typeof e.message === 'string' ? e.message : typeof e.info?.message === 'string' ? e.info.message : '';
  if (RuntimeError && err instanceof RuntimeError && /memory|out of bounds/i.test(text)) return true;
  return WASM_MEMORY_TEXT.test(text) || isWasmMemoryFault(e.cause, depth + 1);
}

/** Converts anything thrown into a structured error (for crossing the worker boundary). */
export function toStudioErrorInfo(err: unknown): StudioErrorInfo {
  if (err instanceof StudioError) return err.info;
  if (err && typeof err === 'object' && 'info' in err && isInfo((err as { info: unknown }).info)) {
    return (err as { info: StudioErrorInfo }).info;
  }
  if (err instanceof Error) {
    if (err.name === 'AbortError') return { code: 'cancelled', message: 'Cancelled by the user' };
    if (err.name === 'QuotaExceededError') {
      return { code: 'quota_exceeded', message: quotaMessage() };
    }
    if (isWasmMemoryFault(err)) return { code: 'worker_memory', message: err.message || String(err) };
    return { code: 'internal', message: err.message || String(err) };
  }
  return { code: 'internal', message: String(err) };
}

export function quotaMessage(): string {
  return (
    'The browser refused to store more data (storage quota exceeded). Delete datasets or runs you ' +
    'no longer need, or grant persistent storage, then try again. Nothing was stored.'
  );
}

function isInfo(x: unknown): x is StudioErrorInfo {
  return !!x && typeof x === 'object' && typeof (x as StudioErrorInfo).code === 'string' &&
    typeof (x as StudioErrorInfo).message === 'string';
}

/** Throws the standard cancellation error if the signal is aborted. */
export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new StudioError({ code: 'cancelled', message: 'Cancelled by the user' });
}
