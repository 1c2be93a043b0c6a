/** Live joint-training curves (recharts; Chart is shared with the GRPO page): losses per phase, learning rates, validation, code-table changes. */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { JointPoint } from '../../stores/joint.ts';

const COLORS = ['#4f7cff', '#d9822b', '#2a9d8f', '#c0392b', '#8e44ad', '#7f8c8d'];

interface Series { key: string; name: string }

export function Chart({ title, testId, points, series, percent, domain0 }: { title: string; testId: string; points: JointPoint[]; series: Series[]; percent?: boolean; domain0?: boolean }) {
  const data = points.filter((p) => series.some((s) => p[s.key] !== undefined));
  const fmt = (v: number) => (percent ? `${(v * 100).toFixed(1)}%` : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(1) : v.toFixed(3));
  const shown = series.filter((s) => data.some((p) => p[s.key] !== undefined));
  return (
    <section className="card chart-card" data-testid={testId} data-points={data.length}>
      <h3>{title}</h3>
      {data.length === 0 ? (
        <p className="muted">No points yet.</p>
      ) : (
        <ResponsiveContainer width="100%" height={200}>
          <LineChart data={data} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="x" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} tickLine={false} />
            <YAxis width={58} domain={domain0 ? [0, 'auto'] : ['auto', 'auto']} tickFormatter={fmt} />
            <Tooltip formatter={(v, name) => [fmt(Number(v)), String(name)]} labelFormatter={(l) => `epoch ${l}`} />
            {shown.length > 1 && <Legend />}
            {shown.map((s, i) => (
              <Line key={s.key} type="monotone" dataKey={s.key} name={s.name} stroke={COLORS[i % COLORS.length]} dot connectNulls isAnimationActive={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}

export function JointCharts({ points }: { points: JointPoint[] }) {
  return (
    <div className="tok-charts" data-testid="joint-charts">
      <Chart title="Total loss per epoch, by phase" testId="joint-loss-chart" points={points} series={[
        { key: 'loss/tokenizer/total', name: 'tokenizer epochs' },
        { key: 'loss/recommender/total', name: 'recommender epochs' },
        { key: 'loss/joint/total', name: 'joint epochs (w/o AT)' },
        { key: 'loss/finetune/total', name: 'finetune epochs' },
      ]} />
      <Chart title="Loss terms" testId="joint-terms-chart" points={points} series={[
        { key: 'loss/recommender/code', name: 'code (rec)' },
        { key: 'loss/finetune/code', name: 'code (finetune)' },
        { key: 'loss/tokenizer/vq', name: 'vq (tok)' },
        { key: 'loss/tokenizer/kl', name: 'KL SIA (tok)' },
        { key: 'loss/recommender/kl', name: 'KL SIA (rec)' },
        { key: 'loss/recommender/decCl', name: 'InfoNCE PSA (rec)' },
      ]} />
      <Chart title="Learning rates" testId="joint-lr-chart" points={points} domain0 series={[
        { key: 'lr/recommender', name: 'recommender' }, { key: 'lr/tokenizer', name: 'tokenizer' },
      ]} />
      <Chart title="Validation (beam search)" testId="joint-valid-chart" points={points} domain0 series={[
        { key: 'valid/recall@5', name: 'Recall@5' }, { key: 'valid/recall@10', name: 'Recall@10' },
        { key: 'valid/ndcg@5', name: 'NDCG@5' }, { key: 'valid/ndcg@10', name: 'NDCG@10' },
        { key: 'valid/invalid_rate', name: 'invalid codes' },
      ]} />
      <Chart title="Validation lists: distinct recommendations" testId="joint-distinct-chart" points={points} domain0 series={[
        { key: 'valid/distinct_top1', name: 'distinct top-1 items' }, { key: 'valid/distinct_top10', name: 'distinct lists' },
      ]} />
      <Chart title="Validation lists: same list, coverage, popularity overlap" testId="joint-lists-chart" points={points} percent domain0 series={[
        { key: 'valid/modal_top10_share', name: 'users with the most common list' }, { key: 'valid/coverage@10', name: 'catalogue coverage' },
        { key: 'valid/popularity_overlap@10', name: 'overlap with popularity' },
      ]} />
      <Chart title="Validation: history-shuffle gap (nats; ≈ 0 = the history is not used)" testId="joint-shuffle-chart" points={points} series={[
        { key: 'valid/shuffle_gap', name: 'shuffle gap' },
      ]} />
      <Chart title="Code collision rate after each tokenizer epoch" testId="joint-collision-chart" points={points} percent domain0 series={[
        { key: 'codes/collision_rate', name: 'collision rate' },
      ]} />
      <Chart title="Code churn (items whose code changed)" testId="joint-churn-chart" points={points} domain0 series={[
        { key: 'codes/churn', name: 'items' },
      ]} />
    </div>
  );
}
