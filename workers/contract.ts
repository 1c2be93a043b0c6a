/**
 * The pieces of the worker contract that every stage's API file shares. Types only; the per-stage
 * API files (jointApi.ts, tokenizerApi.ts…) import them from here, and api.ts re-exports them, so
 * no API file needs api.ts (which imports them all).
 */
import type { StudioErrorInfo } from '../src/core/errors.ts';
import type { ProgressEvent } from '../src/core/events.ts';

/** Every worker call returns a value or a structured error (comlink keeps only name/message of Errors). */
export type Result<T> = { ok: true; value: T } | { ok: false; error: StudioErrorInfo };

export interface ImportFile {
  name: string;
  data: Blob;
}

export interface ExportedFile {
  fileName: string;
  bytes: Uint8Array;
}

export type ProgressCallback = (event: ProgressEvent) => void;

/** The development build's fault injections (e2e): a wasm heap overrun, or NaN weights in the next joint run. */
export type TestFault = 'wasm_memory' | 'nan_weights';
