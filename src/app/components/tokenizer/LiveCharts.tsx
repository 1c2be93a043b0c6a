/** Live RQ-VAE curves (recharts): losses, collision rate, Gini per level + mean, codes used / dead, lr. */
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { TokPoint } from '../../stores/tokenizer.ts';
import { downsample } from '../../format.ts';

const COLORS = ['#4f7cff', '#d9822b', '#2a9d8f', '#c0392b', '#8e44ad', '#7f8c8d'];

interface Series { key: string; name: string }

function Chart({ title, testId, points, series, percent, domain0 }: { title: string; testId: string; points: TokPoint[]; series: Series[]; percent?: boolean; domain0?: boolean }) {
  const data = downsample(points.filter((p) => series.some((s) => p[s.key] !== undefined)));
  const fmt = (v: number) => (percent ? `${(v * 100).toFixed(1)}%` : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(1) : v.toFixed(3));
  return (
    <section className="card chart-card" data-testid={testId} data-points={data.length}>
      <h3>{title}</h3>
      {data.length === 0 ? (
        <p className="muted">No points yet.</p>
      ) : (
        <ResponsiveContainer width="100%" height={200}>
          <LineChart data={data} margin={{ top: 8, right: 12, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="epoch" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} tickLine={false} />
            <YAxis width={54} domain={domain0 ? [0, 'auto'] : ['auto', 'auto']} tickFormatter={fmt} />
            <Tooltip formatter={(v, name) => [fmt(Number(v)), String(name)]} labelFormatter={(l) => `epoch ${l}`} />
            {series.length > 1 && <Legend />}
            {series.map((s, i) => (
              <Line key={s.key} type="monotone" dataKey={s.key} name={s.name} stroke={COLORS[i % COLORS.length]} dot={data.length < 40} connectNulls isAnimationActive={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}

export function LiveCharts({ points, levels }: { points: TokPoint[]; levels: number }) {
  const lv = Array.from({ length: levels }, (_, l) => l + 1);
  const last = [...points].reverse().find((p) => p.collision_rate !== undefined);
  return (
    <div className="tok-charts" data-testid="tok-charts">
      <Chart title="Loss per epoch" testId="tok-loss-chart" points={points} series={[
        { key: 'loss', name: 'total (sum over batches)' }, { key: 'recon_loss', name: 'recon' }, { key: 'rq_loss', name: 'rq' },
      ]} />
      <Chart title="Collision rate (before suffix)" testId="tok-collision-chart" points={points} series={[{ key: 'collision_rate', name: 'collision' }]} percent domain0 />
      <Chart title="Gini of code usage" testId="tok-gini-chart" points={points} domain0 series={[
        ...lv.map((l) => ({ key: `gini_l${l}`, name: `level ${l}` })), { key: 'gini_mean', name: 'mean' },
      ]} />
      <Chart title="Codes used / dead per level" testId="tok-codes-chart" points={points} domain0 series={[
        ...lv.map((l) => ({ key: `codes_used_l${l}`, name: `used L${l}` })), ...lv.map((l) => ({ key: `dead_codes_l${l}`, name: `dead L${l}` })),
      ]} />
      <Chart title="Learning rate" testId="tok-lr-chart" points={points} series={[{ key: 'lr', name: 'lr' }]} domain0 />
      <section className="card" data-testid="tok-latest-eval">
        <h3>Latest evaluation</h3>
        {!last ? (
          <p className="muted">No evaluation yet.</p>
        ) : (
          <table className="compact">
            <tbody>
              <tr><th>epoch</th><td>{last.epoch}</td></tr>
              <tr><th>collision rate</th><td data-testid="tok-latest-collision">{(last.collision_rate * 100).toFixed(2)} %</td></tr>
              <tr><th>largest collision group</th><td data-testid="tok-latest-largest">{last.largest_collision_group ?? '—'}</td></tr>
              <tr><th>Gini mean</th><td>{last.gini_mean?.toFixed(4) ?? '—'}</td></tr>
              {lv.map((l) => (
                <tr key={l}>
                  <th>level {l}</th>
                  <td>
                    {last[`codes_used_l${l}`] ?? '—'} used · {last[`dead_codes_l${l}`] ?? '—'} dead · entropy{' '}
                    {last[`entropy_l${l}`]?.toFixed(2) ?? '—'} bits · perplexity {last[`perplexity_l${l}`]?.toFixed(1) ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
