/**
 * The paper's Table 4 as an experiment: the six ablation variants × seeds on one dataset, tables
 * and tokenizer, summarised per variant as mean ± sd (sample sd, n − 1) and compared with *full*
 * pairwise over the seeds both finished. No tfjs here: the CLI (`etegrec ablate`) and the studio's
 * Experiments view both run the plan and feed these functions.
 */
import type { Diagnostics } from '../eval/diagnostics.ts';
import { writeCsv } from '../io/csv.ts';
import { ABLATIONS, type AblationName } from '../train/jointSchedule.ts';

import { ABLATION_VARIANT_NAMES } from '../stages/experiments.ts';

export const ABLATION_VARIANTS = ABLATION_VARIANT_NAMES;

/** Paper Table 4 row labels. */
export const ABLATION_LABELS: Record<AblationName, string> = {
  full: 'ETEGRec (full)',
  no_sia: 'w/o L_SIA',
  no_psa: 'w/o L_PSA',
  no_both: 'w/o L_SIA & L_PSA',
  no_alternation: 'w/o AT',
  no_end_to_end: 'w/o ETE (two-stage, TIGER-style)',
};

/** The test metrics the table reports, in its column order. */
export const ABLATION_METRICS = ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'] as const;

/** The diagnostics the table reports beside the metrics. */
export const ABLATION_DIAGNOSTICS = ['distinctTop1', 'distinctTopK', 'coverageAtK', 'modalTopKShare', 'invalidRate', 'shuffleGap'] as const;
export type AblationDiagnostic = (typeof ABLATION_DIAGNOSTICS)[number];

export interface AblationRunSpec {
  variant: AblationName;
  seed: number;
  /** Stable key of the run in the sweep: "<variant>-seed<seed>". */
  key: string;
}

/** One finished run of the sweep. */
export interface AblationRunResult {
  variant: AblationName;
  seed: number;
  test: Record<string, number>;
  diagnostics?: Diagnostics;
  seconds?: number;
}

/** Runs of the sweep in order: every variant for the first seed, then the next seed (a partial sweep still compares variants). */
export function ablationPlan(variants: readonly AblationName[], seeds: readonly number[]): AblationRunSpec[] {
  const bad = variants.filter((v) => !(v in ABLATIONS));
  if (bad.length) throw new Error(`unknown ablation variant(s) ${bad.join(', ')}; known: ${Object.keys(ABLATIONS).join(', ')}`);
  if (new Set(variants).size !== variants.length) throw new Error('variants repeat');
  if (new Set(seeds).size !== seeds.length) throw new Error('seeds repeat');
  const out: AblationRunSpec[] = [];
  for (const seed of seeds) for (const variant of variants) out.push({ variant, seed, key: `${variant}-seed${seed}` });
  return out;
}

export interface MeanSd {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one value. */
  sd: number;
  n: number;
}

export function meanSd(xs: readonly number[]): MeanSd {
  const n = xs.length;
  if (n === 0) return { mean: NaN, sd: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** variant − full over the seeds both have: mean ± sd of the differences and how often full is ahead. */
export interface PairedComparison extends MeanSd {
  /** Seeds on which full scored strictly higher. */
  fullAhead: number;
  /** Paired t statistic (mean / (sd / √n)); NaN when n < 2 or sd = 0. */
  t: number;
}

export interface AblationVariantSummary {
  variant: AblationName;
  label: string;
  seeds: number[];
  metrics: Record<string, MeanSd>;
  diagnostics: Record<AblationDiagnostic, MeanSd>;
  /** Against full, per metric (absent for full itself or when no seed is shared). */
  vsFull?: Record<string, PairedComparison>;
}

export interface AblationSummary {
  variants: AblationVariantSummary[];
  /** Variants ordered by mean test ndcg@10, best first. */
  ranking: AblationName[];
}

function diagnosticValue(d: Diagnostics | undefined, k: AblationDiagnostic): number | undefined {
  if (!d) return undefined;
  if (k === 'shuffleGap') return d.shuffle?.gap;
  return d[k];
}

function paired(full: Map<number, number>, other: Map<number, number>): PairedComparison | undefined {
  const diffs: number[] = [];
  let fullAhead = 0;
  for (const [seed, v] of other) {
    const f = full.get(seed);
    if (f === undefined) continue;
    diffs.push(v - f);
    if (f > v) fullAhead++;
  }
  if (!diffs.length) return undefined;
  const s = meanSd(diffs);
  const t = s.n > 1 && s.sd > 0 ? s.mean / (s.sd / Math.sqrt(s.n)) : NaN;
  return { ...s, fullAhead, t };
}

/** Per-variant mean ± sd and the paired comparison with full, in the plan's variant order. */
export function summarizeAblation(results: readonly AblationRunResult[], variants: readonly AblationName[] = ABLATION_VARIANTS): AblationSummary {
  const byVariant = (v: AblationName) => results.filter((r) => r.variant === v);
  const perSeed = (rs: readonly AblationRunResult[], k: string) => new Map(rs.filter((r) => Number.isFinite(r.test[k])).map((r) => [r.seed, r.test[k]]));
  const fullRuns = byVariant('full');
  const out: AblationVariantSummary[] = [];
  for (const variant of variants) {
    const rs = byVariant(variant);
    if (!rs.length) continue;
    const metrics: Record<string, MeanSd> = {};
    for (const k of ABLATION_METRICS) metrics[k] = meanSd(rs.map((r) => r.test[k]).filter(Number.isFinite));
    const diagnostics = {} as Record<AblationDiagnostic, MeanSd>;
    for (const k of ABLATION_DIAGNOSTICS) diagnostics[k] = meanSd(rs.map((r) => diagnosticValue(r.diagnostics, k)).filter((x): x is number => x !== undefined && Number.isFinite(x)));
    const summary: AblationVariantSummary = { variant, label: ABLATION_LABELS[variant], seeds: rs.map((r) => r.seed).sort((a, b) => a - b), metrics, diagnostics };
    if (variant !== 'full' && fullRuns.length) {
      const vs: Record<string, PairedComparison> = {};
      for (const k of ABLATION_METRICS) {
        const p = paired(perSeed(fullRuns, k), perSeed(rs, k));
        if (p) vs[k] = p;
      }
      if (Object.keys(vs).length) summary.vsFull = vs;
    }
    out.push(summary);
  }
  const ranking = out.slice().sort((a, b) => (b.metrics['ndcg@10'].mean || 0) - (a.metrics['ndcg@10'].mean || 0)).map((s) => s.variant);
  return { variants: out, ranking };
}

/**
 * The variants by mean test N@10, best first, with "=" between means equal to `digits` decimals,
 * and whether the paper's ordering holds strictly at that precision: full ahead of every other
 * variant, w/o AT behind every other (null when the variant is missing or alone).
 */
export function ablationOrdering(s: AblationSummary, digits = 4): { text: string; fullBest: boolean | null; noAlternationWorst: boolean | null } {
  const mean = (v: AblationName) => Number((s.variants.find((x) => x.variant === v)?.metrics['ndcg@10'].mean ?? NaN).toFixed(digits));
  const r = s.ranking;
  const text = r.map((v, i) => (i === 0 ? '' : mean(r[i - 1]) === mean(v) ? ' = ' : ' > ') + ABLATION_LABELS[v]).join('');
  const others = (v: AblationName) => r.filter((x) => x !== v);
  const fullBest = r.length > 1 && r.includes('full') ? others('full').every((v) => mean('full') > mean(v)) : null;
  const noAlternationWorst = r.length > 1 && r.includes('no_alternation') ? others('no_alternation').every((v) => mean('no_alternation') < mean(v)) : null;
  return { text, fullBest, noAlternationWorst };
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(6) : '');

/** ablation.csv: one row per variant; each metric and diagnostic as mean and sd columns, then the paired differences. */
export function ablationCsv(s: AblationSummary): string {
  const { header, rows } = ablationCsvRows(s);
  return writeCsv(header, rows);
}

export function ablationCsvRows(s: AblationSummary): { header: string[]; rows: string[][] } {
  const header = ['variant', 'label', 'seeds'];
  for (const k of ABLATION_METRICS) header.push(`${k}_mean`, `${k}_sd`);
  for (const k of ABLATION_DIAGNOSTICS) header.push(`${k}_mean`, `${k}_sd`);
  for (const k of ABLATION_METRICS) header.push(`${k}_diff_vs_full_mean`, `${k}_diff_vs_full_sd`, `${k}_full_ahead`);
  const rows = s.variants.map((v) => {
    const row = [v.variant, v.label, String(v.seeds.length)];
    for (const k of ABLATION_METRICS) row.push(fmt(v.metrics[k].mean), fmt(v.metrics[k].sd));
    for (const k of ABLATION_DIAGNOSTICS) row.push(fmt(v.diagnostics[k].mean), fmt(v.diagnostics[k].sd));
    for (const k of ABLATION_METRICS) {
      const p = v.vsFull?.[k];
      row.push(p ? fmt(p.mean) : '', p ? fmt(p.sd) : '', p ? `${p.fullAhead}/${p.n}` : '');
    }
    return row;
  });
  return { header, rows };
}
