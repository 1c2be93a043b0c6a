/**
 * What joint training reports besides its checkpoints: the loss terms, the statistics of a rebuilt
 * code table, and the live metric events of an epoch record (the names the UI charts). No tfjs.
 */
import { codebookStats } from '../eval/codebook.ts';
import type { CodeTableStats, JointEpochRecord, LossTerms } from './jointTypes.ts';

export const LOSS_KEYS: (keyof LossTerms)[] = ['total', 'code', 'kl', 'decCl', 'vq', 'recon', 'rq'];

/** Statistics of a rebuilt code table against the previous one. */
export function codeTableStats(prefix: Int32Array, codes: Int32Array, previous: Int32Array | null, n: number, K: number): CodeTableStats {
  const stats = codebookStats(prefix, n, [K, K, K]);
  let churn = 0;
  let maxSuffix = 0;
  for (let i = 1; i <= n; i++) {
    maxSuffix = Math.max(maxSuffix, codes[i * 4 + 3]);
    if (previous) {
      for (let c = 0; c < 4; c++) {
        if (previous[i * 4 + c] !== codes[i * 4 + c]) {
          churn++;
          break;
        }
      }
    }
  }
  return { collisionRate: stats.collisionRate, churn, churnRate: churn / Math.max(1, n), maxSuffix, giniMean: stats.gini.mean };
}

/** The metric events of one epoch record, in emission order; missing and non-finite values are left out. */
export function epochMetrics(r: JointEpochRecord): { name: string; value: number }[] {
  const out: { name: string; value: number }[] = [];
  const m = (name: string, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) out.push({ name, value });
  };
  const p = r.stage === 'finetune' ? 'finetune' : r.phase;
  for (const k of LOSS_KEYS) m(`loss/${p}/${k}`, r.loss[k]);
  m('lr/recommender', r.lrRecommender);
  m('lr/tokenizer', r.lrTokenizer);
  if (r.codes) {
    m('codes/collision_rate', r.codes.collisionRate);
    m('codes/churn', r.codes.churn);
    m('codes/gini', r.codes.giniMean);
  }
  if (r.valid) {
    for (const [k, v] of Object.entries(r.valid.metrics)) m(`valid/${k}`, v);
    m('valid/invalid_rate', r.valid.invalidRate);
    const d = r.valid.diagnostics;
    if (d) {
      m('valid/distinct_top1', d.distinctTop1);
      m('valid/distinct_top10', d.distinctTopK);
      m('valid/coverage@10', d.coverageAtK);
      m('valid/modal_top10_share', d.modalTopKShare);
      m('valid/shuffle_gap', d.shuffle?.gap);
    }
  }
  return out;
}
