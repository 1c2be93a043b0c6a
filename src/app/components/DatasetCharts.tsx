/** Sequence-length histogram and interactions per month (the shared Chart; downsampled beyond 2k points). */
import type { DatasetStats } from '../../core/data/types.ts';
import { Chart } from './Chart.tsx';

export function SeqLengthHistogram({ stats }: { stats: DatasetStats }) {
  const data = stats.seqLengthHistogram.map((b) => ({
    bin: b.hi - b.lo <= 1 ? String(b.lo) : `${b.lo}–${b.hi - 1}`,
    count: b.count,
  }));
  return (
    <Chart title="Sequence length per user" testId="seq-length-histogram" rows={data} kind="bar" height={240} zero integer
      x={{ key: 'bin', label: 'sequence length (interactions)', categorical: true }} yLabel="users" emptyText="No sequences."
      series={[{ key: 'count', name: 'users' }]} />
  );
}

export function InteractionsOverTime({ stats, hasTimestamps }: { stats: DatasetStats; hasTimestamps: boolean }) {
  const series = stats.interactionsOverTime;
  if (!hasTimestamps || series.length === 0) {
    return (
      <section className="card chart-card" data-testid="interactions-over-time">
        <h3>Interactions per month (UTC)</h3>
        <p className="muted" data-testid="no-timestamps">
          This dataset has no timestamps (a sequence file gives only the order), so there is no timeline.
        </p>
      </section>
    );
  }
  return (
    <Chart title="Interactions per month (UTC)" testId="interactions-over-time" rows={series as unknown as Record<string, number | string>[]} kind="area" height={240} zero integer
      x={{ key: 'period', label: 'month (UTC)', categorical: true }} yLabel="interactions" series={[{ key: 'count', name: 'interactions' }]} />
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
