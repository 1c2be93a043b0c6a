/** Statistics cards of a prepared dataset. */
import type { DatasetStats } from '../../core/data/types.ts';
import { formatInt, formatPercent } from '../format.ts';

function Card({ label, value, testId, sub }: { label: string; value: string; testId?: string; sub?: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId}>{value}</div>
      {sub && <div className="stat-sub">{sub}</div>}
    </div>
  );
}

export function StatCards({ stats }: { stats: DatasetStats }) {
  const s = stats.seqLength;
  return (
    <section className="stats" data-testid="stat-cards">
      <Card label="Users" value={formatInt(stats.num_users)} testId="stat-users" />
      <Card label="Items" value={formatInt(stats.num_items)} testId="stat-items" />
      <Card label="Interactions" value={formatInt(stats.num_interactions)} testId="stat-interactions" />
      <Card label="Sparsity" value={formatPercent(stats.sparsity, 2)} testId="stat-sparsity" sub="1 − interactions / (users × items)" />
      <Card
        label="Train samples"
        value={formatInt(stats.train_sequences)}
        testId="stat-train-samples"
        sub={`${formatInt(stats.train_interactions)} train interactions`}
      />
      <Card label="Valid samples" value={formatInt(stats.valid_sequences)} testId="stat-valid-samples" />
      <Card label="Test samples" value={formatInt(stats.test_sequences)} testId="stat-test-samples" />
      <Card
        label="Mean seq. length"
        value={s.mean.toFixed(2)}
        testId="stat-seq-length"
        sub={`median ${formatInt(s.median)} · min ${formatInt(s.min)} · max ${formatInt(s.max)}`}
      />
      <Card
        label="Items with titles"
        value={formatInt(stats.itemsWithTitles)}
        testId="stat-titles"
        sub={stats.num_items ? formatPercent(stats.itemsWithTitles / stats.num_items, 1) : undefined}
      />
    </section>
  );
}
