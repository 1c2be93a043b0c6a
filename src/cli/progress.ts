/** Terminal progress for the CLI: throttled one-line updates on stderr, with ETA. */
import { throttleProgress, type ProgressEvent, type ProgressSink } from '../core/events.ts';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatEta(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatEvent(e: ProgressEvent): string {
  switch (e.type) {
    case 'phase': return `[${e.stage}] ${e.phase}${e.message ? `: ${e.message}` : ''}`;
    case 'log': return `[${e.stage}] ${e.level === 'warn' ? 'warning: ' : ''}${e.message}`;
    case 'metric': return `[${e.stage}] ${e.name} step ${e.step}: ${e.value}`;
    case 'progress': {
      const fmt = e.unit === 'bytes' ? formatBytes : (n: number) => n.toLocaleString('en-US');
      let s = `[${e.stage}] ${e.phase} ${fmt(e.done)}`;
      if (e.total !== undefined && e.total > 0) {
        s += ` / ${fmt(e.total)} ${e.unit === 'bytes' ? '' : e.unit + ' '}(${Math.min(100, (100 * e.done) / e.total).toFixed(0)}%)`;
      } else if (e.unit !== 'bytes') {
        s += ` ${e.unit}`;
      }
      if (e.etaSeconds !== undefined) s += `, ETA ${formatEta(e.etaSeconds)}`;
      return s.trimEnd();
    }
  }
}

/** A sink writing to stderr: progress overwrites one line on a TTY, else at most once a second. */
export function stderrProgress(quiet = false): ProgressSink & { flush(): void; end(): void } {
  const tty = !!process.stderr.isTTY;
  let open = false;
  let last = '';
  const write = (e: ProgressEvent) => {
    if (quiet && e.type !== 'log') return;
    if (quiet && e.type === 'log' && e.level !== 'warn') return;
    const line = formatEvent(e);
    if (line === last) return;
    last = line;
    if (tty && e.type === 'progress') {
      process.stderr.write(`\r\x1b[2K${line}`);
      open = true;
    } else {
      if (open) { process.stderr.write('\n'); open = false; }
      process.stderr.write(line + '\n');
    }
  };
  const sink = throttleProgress(write, tty ? 100 : 1000) as ProgressSink & { flush(): void; end(): void };
  sink.end = () => {
    sink.flush();
    if (open) { process.stderr.write('\n'); open = false; }
  };
  return sink;
}
