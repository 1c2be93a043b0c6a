/** Live joint-training curves (the shared Chart): losses per phase, learning rates, validation, code-table changes. */
import type { JointPoint } from '../../stores/joint.ts';
import { Chart } from '../Chart.tsx';

const X = { key: 'x', label: 'epoch' };

export function JointCharts({ points }: { points: JointPoint[] }) {
  return (
    <div className="tok-charts" data-testid="joint-charts">
      <Chart title="Total loss per epoch, by phase" testId="joint-loss-chart" rows={points} x={X} yLabel="loss" smoothing series={[
        { key: 'loss/tokenizer/total', name: 'tokenizer epochs' },
        { key: 'loss/recommender/total', name: 'recommender epochs' },
        { key: 'loss/joint/total', name: 'joint epochs (w/o AT)' },
        { key: 'loss/finetune/total', name: 'finetune epochs' },
      ]} />
      <Chart title="Loss terms" testId="joint-terms-chart" rows={points} x={X} yLabel="loss" smoothing series={[
        { key: 'loss/recommender/code', name: 'code (rec)' },
        { key: 'loss/finetune/code', name: 'code (finetune)' },
        { key: 'loss/tokenizer/vq', name: 'vq (tok)' },
        { key: 'loss/tokenizer/kl', name: 'KL SIA (tok)' },
        { key: 'loss/recommender/kl', name: 'KL SIA (rec)' },
        { key: 'loss/recommender/decCl', name: 'InfoNCE PSA (rec)' },
      ]} />
      <Chart title="Learning rates" testId="joint-lr-chart" rows={points} x={X} yLabel="learning rate" zero series={[
        { key: 'lr/recommender', name: 'recommender' }, { key: 'lr/tokenizer', name: 'tokenizer' },
      ]} />
      <Chart title="Validation (beam search)" testId="joint-valid-chart" rows={points} x={X} yLabel="metric" zero series={[
        { key: 'valid/recall@5', name: 'Recall@5' }, { key: 'valid/recall@10', name: 'Recall@10' },
        { key: 'valid/ndcg@5', name: 'NDCG@5' }, { key: 'valid/ndcg@10', name: 'NDCG@10' },
        { key: 'valid/invalid_rate', name: 'invalid codes' },
      ]} />
      <Chart title="Validation lists: distinct recommendations" testId="joint-distinct-chart" rows={points} x={X} yLabel="count" zero integer series={[
        { key: 'valid/distinct_top1', name: 'distinct top-1 items' }, { key: 'valid/distinct_top10', name: 'distinct lists' },
      ]} />
      <Chart title="Validation lists: same list, coverage, popularity overlap" testId="joint-lists-chart" rows={points} x={X} yLabel="rate" percent zero series={[
        { key: 'valid/modal_top10_share', name: 'users with the most common list' }, { key: 'valid/coverage@10', name: 'catalogue coverage' },
        { key: 'valid/popularity_overlap@10', name: 'overlap with popularity' },
      ]} />
      <Chart title="Validation: history-shuffle gap (nats; ≈ 0 = the history is not used)" testId="joint-shuffle-chart" rows={points} x={X} yLabel="gap (nats)" series={[
        { key: 'valid/shuffle_gap', name: 'shuffle gap' },
      ]} />
      <Chart title="Code collision rate after each tokenizer epoch" testId="joint-collision-chart" rows={points} x={X} yLabel="collision rate" percent zero series={[
        { key: 'codes/collision_rate', name: 'collision rate' },
      ]} />
      <Chart title="Code churn (items whose code changed)" testId="joint-churn-chart" rows={points} x={X} yLabel="items" zero integer series={[
        { key: 'codes/churn', name: 'items' },
      ]} />
    </div>
  );
}
