/**
 * Pure helpers of the shared chart (Chart.tsx): axis domains and ticks chosen from the value
 * range, tick formatting by the tick step, TensorBoard's debiased exponential moving average,
 * splitting series of very different scales onto two axes, and the CSV rows of a chart.
 */

export type Row = Record<string, number | string | undefined>;

export interface AxisScale {
  domain: [number, number];
  ticks: number[];
  /** Formats a tick: decimals follow the tick step, so neighbouring ticks never read the same. */
  format: (v: number) => string;
}

const GROUPED = new Map<number, Intl.NumberFormat>();
function grouped(decimals: number): Intl.NumberFormat {
  let f = GROUPED.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: true });
    GROUPED.set(decimals, f);
  }
  return f;
}

/** A "nice" step (1, 2, 2.5 or 5 × 10^k) so that about `count` steps cover `span`. */
export function niceStep(span: number, count = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return m * mag;
}

/** Decimals needed to tell ticks `step` apart. */
export function stepDecimals(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  for (let d = 0; d <= 12; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return 12;
}

/**
 * A tick formatter for ticks `step` apart: 55000 → "55,000", 0.0005 steps → "0.0015",
 * percent (a fraction 0–1) → "12.5 %"; tiny steps (< 1e-4) and huge values use exponent form.
 */
export function tickFormatter(step: number, opts: { percent?: boolean; maxAbs?: number } = {}): (v: number) => string {
  if (opts.percent) {
    const d = Math.min(6, stepDecimals(step * 100));
    return (v) => `${grouped(d).format(v * 100)} %`;
  }
  const maxAbs = opts.maxAbs ?? 0;
  if (maxAbs >= 1e7) {
    // compact: 12,000,000 → "1.2e7" would be unreadable for counts; use M / B suffixes
    const unit = maxAbs >= 1e9 ? 1e9 : 1e6;
    const suffix = unit === 1e9 ? 'B' : 'M';
    const d = Math.min(3, stepDecimals(step / unit));
    return (v) => (v === 0 ? '0' : `${grouped(d).format(v / unit)}${suffix}`);
  }
  if (step > 0 && step < 1e-4) {
    const sig = Math.max(1, Math.min(4, Math.ceil(Math.log10(Math.max(maxAbs, step) / step)) + 1));
    return (v) => (v === 0 ? '0' : v.toExponential(Math.max(0, sig - 1)).replace(/\.?0+e/, 'e'));
  }
  const d = stepDecimals(step);
  return (v) => grouped(d).format(Math.abs(v) < step * 1e-6 ? 0 : v);
}

/** Exact value for the tooltip: 6 significant digits, percent with the same precision. */
export function formatExact(v: number | undefined, percent = false): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (percent) return `${+(v * 100).toPrecision(6)} %`;
  if (v !== 0 && (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e9)) return v.toExponential(5).replace(/\.?0+e/, 'e');
  if (Number.isInteger(v)) return grouped(0).format(v);
  return String(+v.toPrecision(6));
}

function finite(values: readonly (number | undefined)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

/**
 * The y (or numeric x) axis for `values`: a nice domain and 3–6 ticks. A single value (or all
 * equal) gets a small band around it, not an axis stretched to 4× its value; a fraction shown
 * as percent never goes past 100 % unless a value does; `zero` anchors the axis at 0.
 */
export function valueAxis(values: readonly (number | undefined)[], opts: { zero?: boolean; percent?: boolean; integer?: boolean; count?: number } = {}): AxisScale {
  const v = finite(values);
  const count = opts.count ?? 5;
  let lo = v.length ? Math.min(...v) : 0;
  let hi = v.length ? Math.max(...v) : 1;
  if (opts.zero) { lo = Math.min(0, lo); hi = Math.max(0, hi); }
  if (hi === lo) {
    // one value (or a constant): a band of ±10 % of it (or ±1 unit / ±1 % at 0)
    const pad = lo === 0 ? (opts.percent ? 0.01 : 1) : Math.abs(lo) * 0.1;
    if (opts.zero && lo >= 0) hi = lo === 0 ? pad : hi + pad;
    else if (opts.zero && hi <= 0) lo = hi === 0 ? -pad : lo - pad;
    else { lo -= pad; hi += pad; }
  }
  let step = niceStep(hi - lo, count);
  if (opts.integer) step = Math.max(1, Math.round(step));
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  let dLo = +start.toPrecision(12);
  let dHi = +end.toPrecision(12);
  if (opts.percent && hi <= 1 && dHi > 1) dHi = 1;
  if (opts.percent && lo >= 0 && dLo < 0) dLo = 0;
  const ticks: number[] = [];
  for (let t = start, i = 0; t <= end + step * 1e-9 && i < 50; i++, t = start + i * step) {
    const r = +t.toPrecision(12);
    if (r >= dLo - step * 1e-9 && r <= dHi + step * 1e-9) ticks.push(r);
  }
  return { domain: [dLo, dHi], ticks, format: tickFormatter(step, { percent: opts.percent, maxAbs: Math.max(Math.abs(dLo), Math.abs(dHi)) }) };
}

/**
 * TensorBoard's smoothing: a debiased exponential moving average with weight `w` in [0, 1)
 * (0 = off). Non-finite values pass through and do not enter the average; undefined stays a gap.
 */
export function ema(values: readonly (number | undefined)[], w: number): (number | undefined)[] {
  if (!(w > 0)) return values.slice();
  const weight = Math.min(w, 0.999);
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === undefined) return undefined;
    if (!Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Splits series of very different magnitudes onto two axes: the keys sorted by the median of
 * their |values|; where the largest gap between neighbours is at least `ratio` (default 20×),
 * the smaller-magnitude group goes to the right axis. Returns the keys for the right axis
 * (empty when one axis reads well for all).
 */
export function splitScales(rows: readonly Row[], keys: readonly string[], ratio = 20): string[] {
  const mags: { key: string; mag: number }[] = [];
  for (const key of keys) {
    const vals = finite(rows.map((r) => (typeof r[key] === 'number' ? (r[key] as number) : undefined))).map(Math.abs).filter((x) => x > 0);
    if (vals.length) mags.push({ key, mag: median(vals) });
  }
  if (mags.length < 2) return [];
  mags.sort((a, b) => a.mag - b.mag);
  let gapAt = -1;
  let gap = 0;
  for (let i = 1; i < mags.length; i++) {
    const g = mags[i].mag / mags[i - 1].mag;
    if (g > gap) { gap = g; gapAt = i; }
  }
  return gap >= ratio ? mags.slice(0, gapAt).map((m) => m.key) : [];
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The chart's data as CSV: the x column, then one column per series (named), raw values, full precision. */
export function chartCsv(rows: readonly Row[], xKey: string, xName: string, series: readonly { key: string; name: string }[]): string {
  const lines = [[xName, ...series.map((s) => s.name)].map(csvCell).join(',')];
  for (const r of rows) lines.push([r[xKey], ...series.map((s) => r[s.key])].map(csvCell).join(','));
  return `${lines.join('\n')}\n`;
}

/** A file name from a chart title: "Loss per epoch (tokenizer)" → "loss-per-epoch-tokenizer". */
export function chartFileName(title: string): string {
  const s = title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return (s || 'chart').slice(0, 60);
}

/** Few points get dots and straight segments; a spline never goes through two or three points. */
export function lineStyle(points: number): { type: 'linear' | 'monotone'; dot: boolean } {
  return { type: points <= 12 ? 'linear' : 'monotone', dot: points <= 40 };
}
