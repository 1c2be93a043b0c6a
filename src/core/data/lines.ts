/**
 * Streaming line reader shared by all parsers: bytes in (plain or gzip), text lines out, without
 * ever holding the whole file as one string. Pure TS (Node 20+ and Web Workers).
 */
import { StudioError, throwIfCancelled } from '../errors.ts';

export type ByteSource = AsyncIterable<Uint8Array>;

export interface LineReadOptions {
  signal?: AbortSignal;
  onProgress?: (bytesRead: number, linesRead: number) => void;
  /** Longest line accepted, in UTF-16 code units (default {@link MAX_LINE_LENGTH}). */
  maxLineLength?: number;
}

/**
 * Longest line the reader accepts by default: 16 Mi characters. A review or metadata line is a few
 * KB; anything longer is not line-delimited data (or is a decompression bomb: one 600 MB line in a
 * 611 KB .gz), and is refused with its line number instead of growing one string without bound.
 */
export const MAX_LINE_LENGTH = 16 * 1024 * 1024;

/** Live counters of a line stream (read by the parsers for their reports). */
export interface LineStats {
  /** Compressed (raw input) bytes consumed so far. */
  bytesRead: number;
  /** Physical lines produced so far (blank ones included). */
  linesRead: number;
  gzip: boolean;
}

const PROGRESS_EVERY = 64 * 1024;

/** Wraps a byte array as a chunked source (tests, bundled files). */
export function bytesSource(bytes: Uint8Array, chunkSize = 1 << 16): ByteSource {
  const step = Math.max(1, Math.floor(chunkSize));
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, Math.min(bytes.length, i + step));
    },
  };
}

/** Streams text lines (see lineBatches for the faster batch form used by the parsers). */
export async function* readLines(source: ByteSource, opts: LineReadOptions = {}): AsyncGenerator<string> {
  for await (const batch of lineBatches(source, opts)) {
    for (const line of batch) yield line;
  }
}

/**
 * Streams lines in batches (one batch per decoded chunk), which avoids an async hop per line.
 * `stats` is updated as the stream advances.
 */
export async function* lineBatches(
  source: ByteSource,
  opts: LineReadOptions = {},
  stats: LineStats = { bytesRead: 0, linesRead: 0, gzip: false },
): AsyncGenerator<string[]> {
  const { signal, onProgress } = opts;
  const maxLine = opts.maxLineLength ?? MAX_LINE_LENGTH;
  throwIfCancelled(signal);
  const tooLong = (lineNo: number, length: number) => new StudioError({
    code: 'malformed_input', line: lineNo,
    message: `Line ${lineNo.toLocaleString('en-US')} is longer than ${maxLine.toLocaleString('en-US')} characters (not line-delimited text?)`,
    expected: `lines of at most ${maxLine.toLocaleString('en-US')} characters`,
    found: `${length > maxLine ? 'more than ' : ''}${maxLine.toLocaleString('en-US')} characters without a line break`,
  });
  const it = source[Symbol.asyncIterator]();
  let lastProgress = 0;
  const progress = (force: boolean) => {
    if (!onProgress) return;
    if (force || stats.bytesRead - lastProgress >= PROGRESS_EVERY) {
      lastProgress = stats.bytesRead;
      onProgress(stats.bytesRead, stats.linesRead);
    }
  };

  // Peek until at least two bytes are known, to recognise the gzip magic.
  const head: Uint8Array[] = [];
  let headLen = 0;
  let sourceDone = false;
  while (headLen < 2) {
    const r = await it.next();
    if (r.done) { sourceDone = true; break; }
    if (r.value.length === 0) continue;
    head.push(r.value);
    headLen += r.value.length;
    stats.bytesRead += r.value.length;
  }
  const first = head.length ? head[0] : new Uint8Array(0);
  const b0 = first[0];
  const b1 = first.length > 1 ? first[1] : head.length > 1 ? head[1][0] : undefined;
  stats.gzip = b0 === 0x1f && b1 === 0x8b;

  // Raw chunks: the peeked ones, then the rest of the source.
  async function* rawChunks(): AsyncGenerator<Uint8Array> {
    for (const c of head) yield c;
    if (sourceDone) return;
    for (;;) {
      throwIfCancelled(signal);
      const r = await it.next();
      if (r.done) return;
      stats.bytesRead += r.value.length;
      yield r.value;
    }
  }

  let chunks: AsyncIterator<Uint8Array>;
  let cleanup: () => Promise<void> = async () => { await it.return?.(); };
  if (stats.gzip) {
    if (typeof DecompressionStream === 'undefined') {
      throw new StudioError({ code: 'backend_unavailable', message: 'This environment has no DecompressionStream, so gzip input cannot be read; decompress the file first' });
    }
    const raw = rawChunks();
    const readable = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const r = await raw.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() { await raw.return(undefined); },
    });
    const reader = readable
      .pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>)
      .getReader();
    chunks = {
      async next() {
        try {
          const r = await reader.read();
          return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
        } catch (err) {
          if (err instanceof StudioError) throw err;
          throw new StudioError({
            code: 'malformed_input',
            message: `The gzip data is corrupt or truncated: ${(err as Error)?.message ?? String(err)}`,
          });
        }
      },
    };
    cleanup = async () => {
      try { await reader.cancel(); } catch { /* already failed or closed */ }
      await it.return?.();
    };
  } else {
    chunks = rawChunks();
  }

  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let atStart = true;
  let completed = false;
  try {
    for (;;) {
      throwIfCancelled(signal);
      const r = await chunks.next();
      let text: string;
      if (r.done) text = decoder.decode();
      else text = decoder.decode(r.value, { stream: true });
      if (atStart && text.length) {
        // TextDecoder already drops a BOM; this also covers a BOM after decompression edge cases.
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        atStart = false;
      }
      const batch: string[] = [];
      if (text.length) {
        let start = 0;
        let nl = text.indexOf('\n');
        if (nl >= 0) {
          let line = carry + text.slice(0, nl);
          carry = '';
          for (;;) {
            if (line.length && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
            if (line.length > maxLine) throw tooLong(stats.linesRead + batch.length + 1, line.length);
            batch.push(line);
            start = nl + 1;
            nl = text.indexOf('\n', start);
            if (nl < 0) break;
            line = text.slice(start, nl);
          }
        }
        const rest = text.length - start;
        // The unfinished line must stay within the limit too (checked before concatenating).
        if ((start === 0 ? carry.length : 0) + rest > maxLine + 1) throw tooLong(stats.linesRead + batch.length + 1, maxLine + 2);
        carry = start === 0 ? carry + text : text.slice(start);
      }
      if (r.done && carry.length) {
        let line = carry;
        carry = '';
        if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
        if (line.length > maxLine) throw tooLong(stats.linesRead + batch.length + 1, line.length);
        batch.push(line);
      }
      stats.linesRead += batch.length;
      if (batch.length) yield batch;
      if (r.done) break;
      progress(false);
    }
    completed = true;
    progress(true);
  } finally {
    if (!completed) await cleanup();
  }
}
