/**
 * The one chart of the studio (recharts): axis titles, ticks chosen from the value range, series
 * of very different scales on a second axis, optional TensorBoard-style smoothing, a tooltip with
 * exact values, and PNG / CSV downloads. The pure parts live in chartMath.ts.
 */
import { useMemo, useRef, useState } from 'react';
import { Area, Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { downloadBytes } from '../download.ts';
import './chart.css';
import { downsample } from '../format.ts';
import { chartCsv, chartFileName, ema, formatExact, lineStyle, splitScales, valueAxis, type Row } from './chartMath.ts';

export const CHART_COLORS = ['#4f7cff', '#d9822b', '#2a9d8f', '#c0392b', '#8e44ad', '#7f8c8d', '#e84393', '#00a8a8'];

export interface ChartSeries { key: string; name: string; color?: string }

export interface ChartProps {
  title: string;
  testId: string;
  rows: readonly Row[];
  /** The x column: numeric (epoch, step) unless categorical (a histogram bin, a month). */
  x: { key: string; label: string; categorical?: boolean };
  yLabel: string;
  series: readonly ChartSeries[];
  kind?: 'line' | 'bar' | 'area';
  /** Values are fractions shown as percent. */
  percent?: boolean;
  /** The y axis starts at 0. */
  zero?: boolean;
  /** Values are counts: integer ticks only. */
  integer?: boolean;
  /** Offer the smoothing slider (per-step curves). */
  smoothing?: boolean;
  height?: number;
  emptyText?: string;
  /** At most this many points are drawn (evenly picked, first and last kept). */
  maxPoints?: number;
  /** Extra class on the section (e.g. to drop the card frame inside another card). */
  className?: string;
}

type Num = number | undefined;
const num = (v: unknown): Num => (typeof v === 'number' ? v : undefined);

function yWidth(labels: string[]): number {
  const longest = labels.reduce((m, s) => Math.max(m, s.length), 0);
  return Math.max(44, Math.round(longest * 6.6) + 26);
}

/** Copies the computed presentation of every SVG element onto its clone, so the serialised SVG looks as on screen. */
function inlineStyles(src: Element, dst: Element): void {
  const props = ['fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity', 'fill-opacity', 'opacity', 'font-size', 'font-family', 'font-weight', 'text-anchor', 'dominant-baseline'];
  const cs = getComputedStyle(src);
  const style = props.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(';');
  dst.setAttribute('style', style);
  const a = src.children;
  const b = dst.children;
  for (let i = 0; i < a.length && i < b.length; i++) inlineStyles(a[i], b[i]);
}

function background(el: Element | null): string {
  for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\(\s*0,\s*0,\s*0,\s*0\s*\)/.test(c)) return c;
  }
  return '#ffffff';
}

/** SVG → image (blob: URL, allowed by the CSP) → canvas, with the title and the legend drawn above/below. */
async function chartPng(root: HTMLElement, title: string, legend: { name: string; color: string }[]): Promise<Uint8Array> {
  const svg = root.querySelector('svg.recharts-surface');
  if (!svg) throw new Error('no chart to export');
  const box = svg.getBoundingClientRect();
  const w = Math.max(1, Math.round(box.width));
  const h = Math.max(1, Math.round(box.height));
  const clone = svg.cloneNode(true) as SVGSVGElement;
  inlineStyles(svg, clone);
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(w));
  clone.setAttribute('height', String(h));
  const xml = new XMLSerializer().serializeToString(clone);
  const url = URL.createObjectURL(new Blob([xml], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('the chart SVG could not be drawn'));
      img.src = url;
    });
    const cs = getComputedStyle(root);
    const text = cs.color || '#222';
    const font = cs.fontFamily || 'sans-serif';
    const titleH = 28;
    const perRow = Math.max(1, Math.floor(w / 180));
    const legendH = legend.length > 1 ? Math.ceil(legend.length / perRow) * 18 + 6 : 0;
    const scale = 2;
    const canvas = document.createElement('canvas');
    canvas.width = w * scale;
    canvas.height = (h + titleH + legendH) * scale;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas');
    ctx.scale(scale, scale);
    ctx.fillStyle = background(root);
    ctx.fillRect(0, 0, w, h + titleH + legendH);
    ctx.fillStyle = text;
    ctx.font = `600 14px ${font}`;
    ctx.textBaseline = 'middle';
    ctx.fillText(title, 8, titleH / 2, w - 16);
    ctx.drawImage(img, 0, titleH, w, h);
    ctx.font = `12px ${font}`;
    legend.forEach((l, i) => {
      const x = 8 + (i % perRow) * 180;
      const y = titleH + h + 6 + Math.floor(i / perRow) * 18 + 6;
      ctx.fillStyle = l.color;
      ctx.fillRect(x, y - 5, 10, 10);
      ctx.fillStyle = text;
      ctx.fillText(l.name, x + 14, y, 160);
    });
    const blob = await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
    return new Uint8Array(await blob.arrayBuffer());
  } finally {
    URL.revokeObjectURL(url);
  }
}

export function Chart(props: ChartProps) {
  const { title, testId, rows, x, yLabel, series, kind = 'line', percent, zero, integer, smoothing, height = 220, emptyText = 'No points yet.', maxPoints = 2000, className } = props;
  const ref = useRef<HTMLElement>(null);
  const [weight, setWeight] = useState(0);
  const [error, setError] = useState<string | null>(null);

  const data = useMemo(() => downsample(rows.filter((p) => series.some((s) => p[s.key] !== undefined)), maxPoints), [rows, series, maxPoints]);
  const shown = useMemo(() => series.map((s, i) => ({ ...s, color: s.color ?? CHART_COLORS[i % CHART_COLORS.length] })).filter((s) => data.some((p) => p[s.key] !== undefined)), [series, data]);
  const right = useMemo(() => (kind === 'line' && !percent ? new Set(splitScales(data, shown.map((s) => s.key))) : new Set<string>()), [kind, percent, data, shown]);
  const w = smoothing ? weight : 0;
  const plotted = useMemo(() => {
    if (w <= 0) return data;
    const out = data.map((r) => ({ ...r }));
    for (const s of shown) {
      const sm = ema(data.map((r) => num(r[s.key])), w);
      out.forEach((r, i) => { r[`${s.key}__ema`] = sm[i]; });
    }
    return out;
  }, [data, shown, w]);

  const leftKeys = shown.filter((s) => !right.has(s.key)).map((s) => s.key);
  const rightKeys = shown.filter((s) => right.has(s.key)).map((s) => s.key);
  const yLeft = valueAxis(data.flatMap((r) => leftKeys.map((k) => num(r[k]))), { zero, percent, integer });
  const yRight = rightKeys.length ? valueAxis(data.flatMap((r) => rightKeys.map((k) => num(r[k]))), { zero, percent, integer }) : null;
  const xs = x.categorical ? [] : data.map((r) => num(r[x.key]));
  const xAxis = x.categorical ? null : (() => {
    const a = valueAxis(xs, { integer: xs.every((v) => v === undefined || Number.isInteger(v)) });
    const f = xs.filter((v): v is number => v !== undefined);
    const lo = Math.min(...f);
    const hi = Math.max(...f);
    const pad = (hi - lo) * 0.03;
    const domain: [number, number] = lo === hi ? [lo - 1, hi + 1] : [lo - pad, hi + pad];
    const ticks = a.ticks.filter((t) => t >= lo && t <= hi);
    return { domain, ticks: lo === hi ? [lo] : ticks, format: a.format };
  })();
  const style = lineStyle(data.length);
  const fmtTip = (v: unknown) => formatExact(num(v) ?? Number(v), percent);
  const rightNames = shown.filter((s) => right.has(s.key)).map((s) => s.name);
  const legend = shown.map((s) => ({ name: right.has(s.key) ? `${s.name} (right axis)` : s.name, color: s.color }));

  async function png() {
    if (!ref.current) return;
    try {
      setError(null);
      downloadBytes(`${chartFileName(title)}.png`, await chartPng(ref.current, title, legend), 'image/png');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }
  function csv() {
    const text = chartCsv(data, x.key, x.label, shown.map((s) => ({ key: s.key, name: s.name })));
    downloadBytes(`${chartFileName(title)}.csv`, new TextEncoder().encode(text), 'text/csv');
  }

  return (
    <section ref={ref} className={className ?? 'card chart-card'} data-testid={testId} data-points={data.length} data-scales={right.size ? 'two-axes' : 'one-axis'}>
      <div className="chart-head">
        <h3>{title}</h3>
        {data.length > 0 && (
          <div className="chart-tools">
            {smoothing && (
              <label className="chart-smooth" title="Exponential moving average, as TensorBoard (0 = off)">
                smoothing{' '}
                <input type="range" min={0} max={0.99} step={0.01} value={weight} data-testid={`${testId}-smoothing`}
                  onChange={(e) => setWeight(Number(e.target.value))} aria-label={`smoothing of ${title}`} />
                <span className="mono">{weight.toFixed(2)}</span>
              </label>
            )}
            <button type="button" className="chart-btn" data-testid={`${testId}-png`} onClick={() => void png()} title="Download as PNG">PNG</button>
            <button type="button" className="chart-btn" data-testid={`${testId}-csv`} onClick={csv} title="Download the data as CSV">CSV</button>
          </div>
        )}
      </div>
      {error && <p className="small error-text">{error}</p>}
      {data.length === 0 ? (
        <p className="muted">{emptyText}</p>
      ) : (
        <ResponsiveContainer width="100%" height={height}>
          <ComposedChart data={plotted} margin={{ top: 8, right: yRight ? 4 : 14, bottom: 14, left: 2 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} yAxisId="left" />
            {xAxis ? (
              <XAxis dataKey={x.key} type="number" domain={xAxis.domain} ticks={xAxis.ticks} tickFormatter={xAxis.format} tickLine={false} allowDataOverflow
                label={{ value: x.label, position: 'insideBottom', offset: -8, className: 'chart-axis-title' }} />
            ) : (
              <XAxis dataKey={x.key} tickLine={false} minTickGap={kind === 'bar' ? 8 : 24}
                label={{ value: x.label, position: 'insideBottom', offset: -8, className: 'chart-axis-title' }} />
            )}
            <YAxis yAxisId="left" width={yWidth(yLeft.ticks.map(yLeft.format))} domain={yLeft.domain} ticks={yLeft.ticks} tickFormatter={yLeft.format} allowDataOverflow
              label={{ value: yLabel, angle: -90, position: 'insideLeft', style: { textAnchor: 'middle' }, className: 'chart-axis-title' }} />
            {yRight && (
              <YAxis yAxisId="right" orientation="right" width={yWidth(yRight.ticks.map(yRight.format))} domain={yRight.domain} ticks={yRight.ticks} tickFormatter={yRight.format} allowDataOverflow
                label={{ value: `${yLabel}: ${rightNames.join(', ')}`.slice(0, 48), angle: 90, position: 'insideRight', style: { textAnchor: 'middle' }, className: 'chart-axis-title' }} />
            )}
            <Tooltip formatter={(v, name) => [fmtTip(v), String(name)]} labelFormatter={(l) => `${x.label} ${x.categorical ? String(l) : formatExact(Number(l))}`} />
            {shown.length > 1 && <Legend verticalAlign="bottom" wrapperStyle={{ paddingTop: 10 }} />}
            {shown.map((s) => {
              const axis = right.has(s.key) ? 'right' : 'left';
              const name = right.has(s.key) ? `${s.name} (right axis)` : s.name;
              if (kind === 'bar') return <Bar key={s.key} yAxisId={axis} dataKey={s.key} name={name} fill={s.color} isAnimationActive={false} />;
              if (kind === 'area') return <Area key={s.key} yAxisId={axis} type="linear" dataKey={s.key} name={name} stroke={s.color} fill={s.color} fillOpacity={0.25} isAnimationActive={false} />;
              if (w > 0) {
                return [
                  <Line key={`${s.key}-raw`} yAxisId={axis} type="linear" dataKey={s.key} name={`${name} (raw)`} stroke={s.color} strokeOpacity={0.28} dot={style.dot ? { r: 2, fill: s.color, fillOpacity: 0.35, strokeWidth: 0 } : false} legendType="none" connectNulls isAnimationActive={false} />,
                  <Line key={s.key} yAxisId={axis} type="linear" dataKey={`${s.key}__ema`} name={name} stroke={s.color} strokeWidth={2} dot={style.dot ? { r: 2.5, fill: s.color, strokeWidth: 0 } : false} connectNulls isAnimationActive={false} />,
                ];
              }
              return <Line key={s.key} yAxisId={axis} type={style.type} dataKey={s.key} name={name} stroke={s.color} dot={style.dot ? { r: data.length <= 3 ? 4 : 2.5, fill: s.color, strokeWidth: 0 } : false} connectNulls isAnimationActive={false} />;
            })}
          </ComposedChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}
