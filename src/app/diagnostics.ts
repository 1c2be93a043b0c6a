/**
 * How the UI shows an evaluation beside Recall/NDCG (pure, no DOM): the invalid-code rate and the
 * diagnostics that tell a model that personalises from one that gives everyone the same list.
 */
import { COLLAPSE_THRESHOLDS, collapseReasons, type Diagnostics } from '../core/eval/diagnostics.ts';
import { formatPercent } from './format.ts';

/** The part of a GenerativeResult these helpers read (older stored results lack diagnostics). */
export interface EvalLike {
  metrics: Record<string, number>;
  invalidRate: number;
  count: number;
  diagnostics?: Diagnostics;
}

export const RESULT_METRICS = ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'] as const;

export const METRIC_LABELS: Record<string, string> = { 'recall@5': 'R@5', 'recall@10': 'R@10', 'ndcg@5': 'N@5', 'ndcg@10': 'N@10' };

export interface DiagnosticColumn {
  key: string;
  label: string;
  /** What the column means (header tooltip). */
  title: string;
  value(d: Diagnostics): string;
  /** The value crosses a collapse threshold (shown as a problem). */
  bad?(d: Diagnostics): boolean;
}

/** 0.1234 → "12.3 %": the studio's one rate formatter (format.ts), under its short name. */
export const pct = formatPercent;

export function fixed(x: number | undefined | null, digits = 4): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—';
}

/** The diagnostics columns, in the order every results table shows them. */
export const DIAGNOSTIC_COLUMNS: DiagnosticColumn[] = [
  { key: 'distinct_top1', label: 'distinct top‑1', title: 'Distinct first-ranked recommendations over the evaluated users (1 = everyone gets the same first item)', value: (d) => `${d.distinctTop1} / ${d.users}` },
  { key: 'distinct_topk', label: 'distinct lists', title: 'Distinct top-k lists (ordered) over the evaluated users', value: (d) => `${d.distinctTopK}` },
  { key: 'coverage', label: 'coverage', title: 'Share of the catalogue that appears in at least one top-k list', value: (d) => pct(d.coverageAtK) },
  {
    key: 'modal', label: 'same list', title: 'Share of users whose top-k list equals the most common one (collapse warning above 50 %)', value: (d) => pct(d.modalTopKShare),
    bad: (d) => d.users > 1 && d.modalTopKShare > COLLAPSE_THRESHOLDS.modalTopKShare,
  },
  { key: 'popularity', label: 'popularity overlap', title: 'Mean share of a user\'s top-k that is in the popularity top-k of the training data', value: (d) => pct(d.popularityOverlapAtK) },
  {
    key: 'shuffle', label: 'shuffle gap', title: 'History-shuffle test: mean code cross-entropy with histories permuted across users minus with the real ones, in nats (≈ 0: the history is not used; warning below 0.02)',
    value: (d) => (d.shuffle ? `${d.shuffle.gap.toFixed(4)} nats` : '—'),
    bad: (d) => !!d.shuffle && d.shuffle.gap < COLLAPSE_THRESHOLDS.shuffleGap,
  },
];

/** "CE 3.123 real → 3.123 shuffled" (the shuffle column's tooltip), or '' without a shuffle test. */
export function shuffleDetail(d: Diagnostics | undefined): string {
  const s = d?.shuffle;
  if (!s) return '';
  const levels = s.perLevelReal.length ? `; per level ${s.perLevelReal.map((r, i) => `${r.toFixed(2)}→${(s.perLevelShuffled[i] ?? NaN).toFixed(2)}`).join(', ')}` : '';
  return `CE ${s.ceReal.toFixed(4)} real → ${s.ceShuffled.toFixed(4)} shuffled (${s.users} ${s.split} users, seed ${s.seed})${levels}`;
}

/** The collapse reasons of a result's diagnostics ([] without them: older stored runs). */
export function collapseOf(r: EvalLike | null | undefined): string[] {
  return collapseReasons(r?.diagnostics);
}

/** "1 distinct top-1 item(s) · the same top-10 to 92 % of users · shuffle gap 0.0003 nats" (or '' without diagnostics). */
export function diagnosticsLine(d: Diagnostics | undefined): string {
  if (!d) return '';
  const parts = [`${d.distinctTop1} distinct top-1 item(s)`, `the same top-${d.k} to ${pct(d.modalTopKShare, 0)} of users`];
  if (d.shuffle) parts.push(`shuffle gap ${d.shuffle.gap.toFixed(4)} nats`);
  return parts.join(' · ');
}
