/**
 * The GRPO page's chart points (src/app/stores/grpo.ts): one x per update, live and stored alike;
 * the SFT validation at x = 0, each epoch's validation at the update that ended it; records stored
 * before per-update numbers existed give one point per epoch.
 */
import { describe, expect, it } from 'vitest';
import type { GrpoEpochRecord, GrpoRunSummary } from '../../workers/grpoApi.ts';
import type { ProgressEvent } from '../../src/core/events.ts';
import { grpoPointsFromRun, withGrpoMetricEvents } from '../../src/app/stores/grpo.ts';

const metric = (name: string, step: number, value: number): ProgressEvent => ({ type: 'metric', stage: 'grpo', name, step, value });
const valid = (ndcg: number, invalid: number) => ({ metrics: { 'ndcg@10': ndcg }, invalidRate: invalid }) as unknown as GrpoRunSummary['validBefore'];

function step(s: number, reward: number) {
  return { step: s, rewardMean: reward, hitRate: 0, invalidRate: 0.5, kl: 0.01 * s, policyLoss: -0.1, loss: -0.1, gradNorm: 1, lr: 1e-5 };
}

describe('GRPO chart points', () => {
  it('live events: x = update, the SFT validation at 0, the epoch validation merged into its last update; the test is not charted', () => {
    const events = [
      metric('valid_before/ndcg@10', 0, 0.02), metric('valid_before/invalid_rate', 0, 0.1),
      metric('reward_mean', 1, 0.3), metric('kl', 1, 0.01), metric('reward_mean', 2, 0.4),
      metric('valid/ndcg@10', 2, 0.03), metric('test/ndcg@10', 2, 0.5),
    ];
    const pts = withGrpoMetricEvents([], events);
    expect(pts).toEqual([
      { x: 0, 'valid/ndcg@10': 0.02, 'valid/invalid_rate': 0.1 },
      { x: 1, reward_mean: 0.3, kl: 0.01 },
      { x: 2, reward_mean: 0.4, 'valid/ndcg@10': 0.03 },
    ]);
  });

  it('a stored run gives the same x values as the live events', () => {
    const history = [
      { epoch: 0, endStep: 2, steps: [step(1, 0.3), step(2, 0.4)], valid: valid(0.03, 0.2), rewardMean: 0.35 },
      { epoch: 1, endStep: 4, steps: [step(3, 0.5), step(4, 0.6)], valid: valid(0.04, 0.1), rewardMean: 0.55 },
    ] as unknown as GrpoEpochRecord[];
    const run = { validBefore: valid(0.02, 0.3), history, config: { batch_size: 32 } } as unknown as GrpoRunSummary;
    const pts = grpoPointsFromRun(run);
    expect(pts.map((p) => p.x)).toEqual([0, 1, 2, 3, 4]);
    expect(pts.map((p) => p.reward_mean)).toEqual([undefined, 0.3, 0.4, 0.5, 0.6]);
    expect(pts.map((p) => p['valid/ndcg@10'])).toEqual([0.02, undefined, 0.03, undefined, 0.04]);
    expect(pts[4]['valid/invalid_rate']).toBe(0.1);
  });

  it('older records (no per-update numbers) give one point per epoch', () => {
    const history = [
      { epoch: 0, rewardMean: 0.2, hitRate: 0, invalidRate: 0.4, kl: 0, policyLoss: 0, loss: 0, gradNorm: 1, lr: 1e-5, valid: valid(0.03, 0.2) },
      { epoch: 1, rewardMean: 0.3, hitRate: 0, invalidRate: 0.3, kl: 0, policyLoss: 0, loss: 0, gradNorm: 1, lr: 1e-5 },
    ] as unknown as GrpoEpochRecord[];
    const pts = grpoPointsFromRun({ validBefore: null, history, config: {} } as unknown as GrpoRunSummary);
    expect(pts.map((p) => [p.x, p.reward_mean, p['valid/ndcg@10']])).toEqual([[1, 0.2, 0.03], [2, 0.3, undefined]]);
  });
});
