/** Live GRPO curves (recharts): reward (mean, hit rate, invalid rate), KL, policy loss, lr, validation. */
import type { GrpoPoint } from '../../stores/grpo.ts';
import { Chart } from '../joint/JointCharts.tsx';

export function GrpoCharts({ points }: { points: GrpoPoint[] }) {
  return (
    <div className="tok-charts" data-testid="grpo-charts">
      <Chart title="Reward per epoch" testId="grpo-reward-chart" points={points} series={[
        { key: 'reward_mean', name: 'mean reward' }, { key: 'hit_rate', name: 'hit rate' }, { key: 'invalid_rate', name: 'invalid rate' },
      ]} />
      <Chart title="KL to the SFT policy (k1)" testId="grpo-kl-chart" points={points} series={[{ key: 'kl', name: 'KL' }]} />
      <Chart title="Policy loss (clipped surrogate)" testId="grpo-policy-chart" points={points} series={[{ key: 'policy_loss', name: 'policy loss' }]} />
      <Chart title="Learning rate" testId="grpo-lr-chart" points={points} domain0 series={[{ key: 'lr', name: 'lr' }]} />
      <Chart title="Validation NDCG@10 and invalid codes (epoch 0 = SFT model)" testId="grpo-valid-chart" points={points} domain0 series={[
        { key: 'valid/ndcg@10', name: 'NDCG@10' }, { key: 'valid/invalid_rate', name: 'invalid codes' },
      ]} />
    </div>
  );
}
