/**
 * Live GRPO curves (the shared Chart), one point per update: reward (mean, hit rate, invalid rate),
 * KL, policy loss, lr; the validation at the update that ended each epoch (update 0 = SFT model).
 */
import type { GrpoPoint } from '../../stores/grpo.ts';
import { Chart } from '../Chart.tsx';

const X = { key: 'x', label: 'update (step)' };

export function GrpoCharts({ points }: { points: GrpoPoint[] }) {
  return (
    <div className="tok-charts" data-testid="grpo-charts">
      <Chart title="Reward per update" testId="grpo-reward-chart" rows={points} x={X} yLabel="reward / rate" smoothing series={[
        { key: 'reward_mean', name: 'mean reward' }, { key: 'hit_rate', name: 'hit rate' }, { key: 'invalid_rate', name: 'invalid rate' },
      ]} />
      <Chart title="KL to the SFT policy (k1)" testId="grpo-kl-chart" rows={points} x={X} yLabel="KL (nats)" smoothing series={[{ key: 'kl', name: 'KL' }]} />
      <Chart title="Policy loss (clipped surrogate)" testId="grpo-policy-chart" rows={points} x={X} yLabel="loss" smoothing series={[{ key: 'policy_loss', name: 'policy loss' }]} />
      <Chart title="Learning rate" testId="grpo-lr-chart" rows={points} x={X} yLabel="learning rate" zero series={[{ key: 'lr', name: 'lr' }]} />
      <Chart title="Validation NDCG@10 and invalid codes (update 0 = SFT model)" testId="grpo-valid-chart" rows={points} x={X} yLabel="metric" zero series={[
        { key: 'valid/ndcg@10', name: 'NDCG@10' }, { key: 'valid/invalid_rate', name: 'invalid codes' },
      ]} />
    </div>
  );
}
