/** Sequence-length histogram and interactions per month (recharts; downsampled beyond 2k points). */
import { Area, AreaChart, Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { DatasetStats } from '../../core/data/types.ts';
import { downsample, formatInt } from '../format.ts';

const ACCENT = '#4f7cff';

export function SeqLengthHistogram({ stats }: { stats: DatasetStats }) {
  const data = downsample(
    stats.seqLengthHistogram.map((b) => ({
      bin: b.hi - b.lo <= 1 ? String(b.lo) : `${b.lo}–${b.hi - 1}`,
      count: b.count,
    })),
  );
  return (
    <section className="card chart-card" data-testid="seq-length-histogram">
      <h3>Sequence length per user</h3>
      {data.length === 0 ? (
        <p className="muted">No sequences.</p>
      ) : (
        <ResponsiveContainer width="100%" height={240}>
          <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="bin" tickLine={false} minTickGap={8} />
            <YAxis allowDecimals={false} width={48} />
            <Tooltip formatter={(v) => [formatInt(Number(v)), 'users']} labelFormatter={(l) => `length ${l}`} />
            <Bar dataKey="count" fill={ACCENT} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}

export function InteractionsOverTime({ stats, hasTimestamps }: { stats: DatasetStats; hasTimestamps: boolean }) {
  const series = stats.interactionsOverTime;
  return (
    <section className="card chart-card" data-testid="interactions-over-time">
      <h3>Interactions per month (UTC)</h3>
      {!hasTimestamps || series.length === 0 ? (
        <p className="muted" data-testid="no-timestamps">
          This dataset has no timestamps (a sequence file gives only the order), so there is no timeline.
        </p>
      ) : (
        <ResponsiveContainer width="100%" height={240}>
          <AreaChart data={downsample(series)} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="period" tickLine={false} minTickGap={24} />
            <YAxis allowDecimals={false} width={48} />
            <Tooltip formatter={(v) => [formatInt(Number(v)), 'interactions']} />
            <Area type="monotone" dataKey="count" stroke={ACCENT} fill={ACCENT} fillOpacity={0.25} isAnimationActive={false} />
          </AreaChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}

export function DatasetCharts({ stats, hasTimestamps }: { stats: DatasetStats; hasTimestamps: boolean }) {
  return (
    <div className="two-col">
      <SeqLengthHistogram stats={stats} />
      <InteractionsOverTime stats={stats} hasTimestamps={hasTimestamps} />
    </div>
  );
}
