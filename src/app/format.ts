/** Small pure formatting helpers for the UI (no DOM). */

const intFmt = new Intl.NumberFormat('en-US');

/** 10261 → "10,261". */
export function formatInt(n: number): string {
  return intFmt.format(Math.round(n));
}

/**
 * A rate (a fraction of 1) as the studio shows every rate: 0.99201 → "99.2 %" (digits after the
 * point, 1 by default); "—" for a missing or non-finite value.
 */
export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  return typeof fraction === 'number' && Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)} %` : '—';
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/** Seconds since epoch → "2014-07-22" (UTC). */
export function formatUtcDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * Milliseconds since epoch → "2026-11-28 05:05" in this browser's time zone: the one date format
 * of the studio (its zone and the UTC time are in dateTimeTitle, shown on hover).
 */
export function formatLocalDateTime(ms: number): string {
  const d = new Date(ms);
  if (!Number.isFinite(d.getTime())) return '—';
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** "UTC+01:00" for a Date in this browser's zone. */
function utcOffset(d: Date): string {
  const m = -d.getTimezoneOffset();
  return `UTC${m < 0 ? '−' : '+'}${pad2(Math.floor(Math.abs(m) / 60))}:${pad2(Math.abs(m) % 60)}`;
}

/** The hover text of a date: local time with seconds, zone and offset, and the same instant in UTC. */
export function dateTimeTitle(ms: number): string {
  const d = new Date(ms);
  if (!Number.isFinite(d.getTime())) return '';
  let zone = '';
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone ?? '';
  } catch {
    // no Intl time zone data: the offset says enough
  }
  return `${formatLocalDateTime(ms)}:${pad2(d.getSeconds())} ${zone ? `${zone}, ` : ''}${utcOffset(d)} · ${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "1 item", "2 items", "0 items"; `many` for irregular plurals. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatInt(n)} ${n === 1 ? one : many}`;
}

/** Seconds → "1 min 05 s" / "12 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/**
 * Keeps at most `max` points of a series for charting (recharts redraws the whole SVG): picks
 * evenly spaced points, always keeping the first and last.
 */
export function downsample<T>(points: T[], max = 2000): T[] {
  if (points.length <= max) return points;
  const out: T[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]);
  return out;
}
