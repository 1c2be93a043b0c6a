/** Live SASRec curves: training loss per step, valid Recall@10 / NDCG@10 per epoch (recharts). */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { EpochPoint, LossPoint } from '../../stores/embeddings.ts';
import { downsample } from '../../format.ts';

const ACCENT = '#4f7cff';
const SECOND = '#d9822b';

export function LossChart({ points }: { points: LossPoint[] }) {
  const data = downsample(points);
  return (
    <section className="card chart-card" data-testid="sasrec-loss-chart" data-points={data.length}>
      <h3>Training loss per step</h3>
      {data.length === 0 ? (
        <p className="muted">No steps yet.</p>
      ) : (
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={data} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} tickLine={false} />
            <YAxis width={48} domain={['auto', 'auto']} tickFormatter={(v: number) => v.toFixed(2)} />
            <Tooltip formatter={(v) => [Number(v).toFixed(4), 'loss']} labelFormatter={(l) => `step ${l}`} />
            <Line type="monotone" dataKey="loss" stroke={ACCENT} dot={data.length < 60} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}

export function ValidChart({ points }: { points: EpochPoint[] }) {
  const data = downsample(points.filter((p) => p.ndcg10 !== undefined || p.recall10 !== undefined));
  return (
    <section className="card chart-card" data-testid="sasrec-valid-chart" data-points={data.length}>
      <h3>Validation per epoch (full ranking)</h3>
      {data.length === 0 ? (
        <p className="muted">No evaluated epoch yet.</p>
      ) : (
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={data} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="epoch" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} tickLine={false} />
            <YAxis width={52} domain={[0, 'auto']} tickFormatter={(v: number) => v.toFixed(3)} />
            <Tooltip formatter={(v, name) => [Number(v).toFixed(4), String(name)]} labelFormatter={(l) => `epoch ${l}`} />
            <Legend />
            <Line type="monotone" dataKey="recall10" name="Recall@10" stroke={ACCENT} isAnimationActive={false} />
            <Line type="monotone" dataKey="ndcg10" name="NDCG@10" stroke={SECOND} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}
