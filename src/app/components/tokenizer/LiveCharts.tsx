/** Live RQ-VAE curves (the shared Chart): losses, collision rate, Gini per level + mean, codes used / dead, lr. */
import type { TokPoint } from '../../stores/tokenizer.ts';
import { Chart } from '../Chart.tsx';
import { formatPercent } from '../../format.ts';

const X = { key: 'epoch', label: 'epoch' };

export function LiveCharts({ points, levels }: { points: TokPoint[]; levels: number }) {
  const lv = Array.from({ length: levels }, (_, l) => l + 1);
  const last = [...points].reverse().find((p) => p.collision_rate !== undefined);
  return (
    <div className="tok-charts" data-testid="tok-charts">
      <Chart title="Loss per epoch" testId="tok-loss-chart" rows={points} x={X} yLabel="loss" smoothing series={[
        { key: 'loss', name: 'total (sum over batches)' }, { key: 'recon_loss', name: 'recon' }, { key: 'rq_loss', name: 'rq' },
      ]} />
      <Chart title="Collision rate (before suffix)" testId="tok-collision-chart" rows={points} x={X} yLabel="collision rate" series={[{ key: 'collision_rate', name: 'collision' }]} percent zero />
      <Chart title="Gini of code usage" testId="tok-gini-chart" rows={points} x={X} yLabel="Gini" zero series={[
        ...lv.map((l) => ({ key: `gini_l${l}`, name: `level ${l}` })), { key: 'gini_mean', name: 'mean' },
      ]} />
      <Chart title="Codes used / dead per level" testId="tok-codes-chart" rows={points} x={X} yLabel="codes" zero integer series={[
        ...lv.map((l) => ({ key: `codes_used_l${l}`, name: `used L${l}` })), ...lv.map((l) => ({ key: `dead_codes_l${l}`, name: `dead L${l}` })),
      ]} />
      <Chart title="Learning rate" testId="tok-lr-chart" rows={points} x={X} yLabel="learning rate" series={[{ key: 'lr', name: 'lr' }]} zero />
      <section className="card" data-testid="tok-latest-eval">
        <h3>Latest evaluation</h3>
        {!last ? (
          <p className="muted">No evaluation yet.</p>
        ) : (
          <table className="compact">
            <tbody>
              <tr><th>epoch</th><td>{last.epoch}</td></tr>
              <tr><th>collision rate</th><td data-testid="tok-latest-collision">{formatPercent(last.collision_rate, 2)}</td></tr>
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
