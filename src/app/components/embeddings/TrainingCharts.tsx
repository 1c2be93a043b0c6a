/** Live SASRec curves (the shared Chart): training loss per step, valid Recall@10 / NDCG@10 per epoch. */
import type { EpochPoint, LossPoint } from '../../stores/embeddings.ts';
import { Chart } from '../Chart.tsx';

export function LossChart({ points }: { points: LossPoint[] }) {
  return (
    <Chart title="Training loss per step" testId="sasrec-loss-chart" rows={points as unknown as Record<string, number>[]} x={{ key: 'step', label: 'step' }}
      yLabel="loss" smoothing emptyText="No steps yet." series={[{ key: 'loss', name: 'loss' }]} />
  );
}

export function ValidChart({ points }: { points: EpochPoint[] }) {
  return (
    <Chart title="Validation per epoch (full ranking)" testId="sasrec-valid-chart" rows={points as unknown as Record<string, number>[]} x={{ key: 'epoch', label: 'epoch' }}
      yLabel="metric" zero emptyText="No evaluated epoch yet." series={[{ key: 'recall10', name: 'Recall@10' }, { key: 'ndcg10', name: 'NDCG@10' }]} />
  );
}
