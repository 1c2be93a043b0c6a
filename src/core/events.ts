/**
 * Typed progress events: a discriminated union consumed alike by the UI, the CLI and the tests.
 * Later stages add members; consumers switch on `type`.
 */
/**
 * What emitted an event: the data stage, or the trainer inside a pipeline stage: 'sasrec' and
 * 'text' (TF-IDF + SVD) in embeddings, 'rqvae' in tokenizer, 'joint', 'grpo'. Not the stage names
 * of src/core/stages (embeddings / tokenizer / joint / grpo): the CLI prints these as `[sasrec]`,
 * `[rqvae]`…, matching its command names.
 */
export type EventSource = 'data' | 'sasrec' | 'text' | 'rqvae' | 'joint' | 'grpo';

export type ProgressEvent =
  | { type: 'phase'; stage: EventSource; phase: string; message?: string }
  | {
      type: 'progress';
      stage: EventSource;
      phase: string;
      /** Units done so far (lines, bytes, steps…) and the total when known. */
      done: number;
      total?: number;
      unit: string;
      /** Seconds left, estimated from the rate so far; absent when unknown. */
      etaSeconds?: number;
    }
  | { type: 'metric'; stage: EventSource; name: string; step: number; value: number }
  | { type: 'log'; stage: EventSource; level: 'info' | 'warn'; message: string };

export type ProgressSink = (event: ProgressEvent) => void;

/**
 * Wraps a sink so `progress` events pass at most once per `intervalMs` (the last one of a phase
 * always passes through `flush`). Other event types are never dropped.
 */
export function throttleProgress(
  sink: ProgressSink,
  intervalMs: number,
  now: () => number = () => Date.now(),
): ProgressSink & { flush(): void } {
  let last = -Infinity;
  let pending: ProgressEvent | null = null;
  const fn = ((event: ProgressEvent) => {
    if (event.type !== 'progress') {
      if (pending) { sink(pending); pending = null; }
      sink(event);
      return;
    }
    const t = now();
    if (t - last >= intervalMs || (event.total !== undefined && event.done >= event.total)) {
      last = t;
      pending = null;
      sink(event);
    } else {
      pending = event;
    }
  }) as ProgressSink & { flush(): void };
  fn.flush = () => {
    if (pending) { sink(pending); pending = null; }
  };
  return fn;
}

/** Estimates seconds left from elapsed time and fraction done. */
export function estimateEta(startMs: number, nowMs: number, done: number, total?: number): number | undefined {
  if (total === undefined || done <= 0 || total <= 0) return undefined;
  const elapsed = (nowMs - startMs) / 1000;
  return Math.max(0, (elapsed * (total - done)) / done);
}
