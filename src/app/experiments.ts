/**
 * The Experiments view's pure part (no DOM): a stored sweep's finished runs as ablation results,
 * their per-variant summary (mean ± sd and the paired comparison with full, from core), and how
 * its cells read.
 */
import type { ExperimentSummary } from '../../workers/experimentsApi.ts';
import {
  ABLATION_VARIANTS,
  summarizeAblation,
  type AblationRunResult,
  type AblationSummary,
  type MeanSd,
  type PairedComparison,
} from '../core/experiments/ablation.ts';

/** The joint fields a sweep sets per run (the variant's switches and the seed): not in its form. */
export const EXPERIMENT_HIDDEN: readonly string[] = ['ablation', 'ablation.sia', 'ablation.psa', 'ablation.alternation', 'ablation.endToEnd', 'seed'];

/** The edited joint values every run of a sweep gets (what the sweep sets per run left out). */
export function experimentOverrides(edited: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(edited).filter(([k]) => !EXPERIMENT_HIDDEN.includes(k)));
}

/** The finished runs of a sweep (a run counts once it has its test result). */
export function experimentResults(e: Pick<ExperimentSummary, 'runs'>): AblationRunResult[] {
  return e.runs
    .filter((r) => r.status === 'finished' && r.test)
    .map((r) => ({
      variant: r.variant, seed: r.seed, test: r.test!.metrics,
      ...(r.test!.diagnostics ? { diagnostics: r.test!.diagnostics } : {}),
      ...(r.seconds !== null ? { seconds: r.seconds } : {}),
    }));
}

/** The live table of a sweep: variants in the sweep's order, only those with a finished run. */
export function experimentSummary(e: Pick<ExperimentSummary, 'runs' | 'variants'>): AblationSummary {
  return summarizeAblation(experimentResults(e), e.variants.length ? e.variants : ABLATION_VARIANTS);
}

/** "0.0481 ± 0.0012" (n ≥ 2), "0.0481" (one seed), "—" (none). */
export function fmtMeanSd(m: MeanSd | undefined, digits = 4): string {
  if (!m || m.n === 0 || !Number.isFinite(m.mean)) return '—';
  return m.n > 1 ? `${m.mean.toFixed(digits)} ± ${m.sd.toFixed(digits)}` : m.mean.toFixed(digits);
}

/** ["−0.0040 ± 0.0010", "full ahead 2/2"]: variant − full, signed so a worse variant reads negative. */
export function pairedParts(p: PairedComparison | undefined, digits = 4): [string, string] | null {
  if (!p || p.n === 0) return null;
  const rounded = Number(p.mean.toFixed(digits));
  const mean = `${rounded > 0 ? '+' : rounded < 0 ? '−' : ''}${Math.abs(p.mean).toFixed(digits)}`;
  return [p.n > 1 ? `${mean} ± ${p.sd.toFixed(digits)}` : mean, `full ahead ${p.fullAhead}/${p.n}`];
}

/** "−0.0040 ± 0.0010 (full ahead 2/2)". */
export function fmtPaired(p: PairedComparison | undefined, digits = 4): string {
  const parts = pairedParts(p, digits);
  return parts ? `${parts[0]} (${parts[1]})` : '—';
}
