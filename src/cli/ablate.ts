/**
 * `etegrec ablate`: the paper's Table 4 on one dataset — the six ablation variants × seeds, each a
 * full joint run (alternating stage, finetune, test with diagnostics) on the same split, tables
 * and pretrained tokenizer; writes ablation.json / ablation.csv after every run (mean ± sd per
 * variant, paired comparison with full) and resumes an interrupted sweep where it stopped.
 */
import { fieldsHelp, type StageDecl } from '../core/stages/fields.ts';
import { JOINT_STAGE } from '../core/stages/joint.ts';
import { SWEEP_DECL, sweepSeeds } from '../core/stages/experiments.ts';
import { stageConfigFromArgs, stageFlagsHelp, stageOptions } from './stageFlags.ts';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendName } from '../core/backend.ts';
import {
  ABLATION_METRICS,
  ablationCsv,
  ablationPlan,
  ablationOrdering,
  summarizeAblation,
  type AblationRunResult,
  type AblationSummary,
} from '../core/experiments/ablation.ts';
import type { Diagnostics } from '../core/eval/diagnostics.ts';
import { ABLATIONS } from '../core/train/jointSchedule.ts';
import { UsageError, type Command, type CommandContext, type ParsedArgs } from './command.ts';
import { runJointTraining, trainConfigFromArgs } from './train.ts';
import { checkOutputDir } from './io.ts';

const USAGE = `Usage: etegrec ablate --data <prepared dir> --emb <npy> --tokenizer <safetensors> --out <dir> [options]

The paper's Table 4 on a dataset: each ablation variant (full, no_sia, no_psa, no_both,
no_alternation, no_end_to_end = the two-stage TIGER-style run on the frozen pretrained tokenizer)
× each seed is a whole joint run (etegrec train) on the same split, tables and tokenizer. Writes
into <dir>:
  runs/<variant>-seed<s>/  each run's bundle files and metrics.json (with the diagnostics)
  ablation.json            per run: test metrics and diagnostics; per variant: mean ± sd of
                           recall@5/10, ndcg@5/10 and the diagnostics, the paired difference to
                           full over seeds; the ranking and whether the paper's ordering holds
  ablation.csv             one row per variant (the same summary)
ablation.json/csv are rewritten after every run; running the same command again skips finished
runs and resumes an interrupted one from its checkpoint.

Options:
  --data, --emb, --text-emb, --tokenizer, --out   as for etegrec train
  --preset <p>           the joint preset of every run: quick|converge|paper (default converge)
  --variants, --seeds, --first_seed   the sweep (below; default all six variants × 3 seeds
                         from 2020)
  --<field> <value>      any joint config field flag of etegrec train (--lr_rec, --epochs,
                         --t5.dropout_rate, …; see etegrec train --help), applied to every run
  --set <key=value>      the same fields as key=value, repeatable
  --backend <b>          wasm|cpu (default wasm)
  --quiet                only warnings and errors on stderr
  -h, --help             show this help

Sweep fields (every value shown with the converge preset's):
${fieldsHelp(SWEEP_DECL as StageDecl<object>, 'converge')}

${stageFlagsHelp(JOINT_STAGE as StageDecl<object>, 'converge')}
`;

const OWN_OPTIONS = {
  data: { type: 'string' },
  emb: { type: 'string' },
  'text-emb': { type: 'string' },
  tokenizer: { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  backend: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;
// every joint config field has its flag, as for etegrec train
const { set: _set, ...SWEEP_OPTIONS } = stageOptions(SWEEP_DECL as StageDecl<object>, Object.keys(OWN_OPTIONS));
const OPTIONS = { ...stageOptions(JOINT_STAGE as StageDecl<object>, Object.keys(OWN_OPTIONS)), ...SWEEP_OPTIONS, ...OWN_OPTIONS };

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null)) !== null;
}

/** A human-readable table of the summary (mean ± sd), for the terminal. */
export function ablationTable(s: AblationSummary): string {
  const pm = (m: { mean: number; sd: number }) => `${m.mean.toFixed(4)} ± ${m.sd.toFixed(4)}`;
  const lines = [`variant           n  ${ABLATION_METRICS.map((k) => k.padEnd(17)).join(' ')} top-1  shuffle gap`];
  for (const v of s.variants) {
    lines.push(
      `${v.variant.padEnd(16)} ${String(v.seeds.length).padStart(2)}  ${ABLATION_METRICS.map((k) => pm(v.metrics[k]).padEnd(17)).join(' ')} ${v.diagnostics.distinctTop1.mean.toFixed(0).padStart(5)}  ${Number.isFinite(v.diagnostics.shuffleGap.mean) ? v.diagnostics.shuffleGap.mean.toFixed(3) : 'n/a'}`,
    );
  }
  return lines.join('\n');
}

async function runAblate(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const v = args.values;
  const need = (k: string, what: string) => {
    const x = v[k];
    if (typeof x !== 'string' || !x) throw new UsageError(`--${k} ${what} is required`);
    return x;
  };
  const data = need('data', '<prepared dir>');
  const emb = need('emb', '<npy>');
  const tokenizer = need('tokenizer', '<safetensors>');
  const out = await checkOutputDir(need('out', '<dir>'));
  const backend = (v.backend ?? 'wasm') as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new UsageError(`--backend must be wasm or cpu, got "${backend}"`);
  // one config per run: the preset and options, then the variant's switches and the seed
  const base = trainConfigFromArgs({ ...v, preset: v.preset ?? SWEEP_DECL.defaultPreset });
  // --set is for the joint fields; the sweep's own are flags only
  const sweep = stageConfigFromArgs(SWEEP_DECL, base.preset, { ...v, set: undefined });
  const variants = sweep.variants;
  const seeds = sweepSeeds(sweep);
  const plan = ablationPlan(variants, seeds);
  const results: AblationRunResult[] = [];
  const write = async () => {
    const summary = summarizeAblation(results, variants);
    const json = { preset: base.preset, variants, seeds, runs: results, summary, paper_ordering: ablationOrdering(summary), config: base.config };
    await writeFile(join(out, 'ablation.json'), JSON.stringify(json, null, 2) + '\n');
    await writeFile(join(out, 'ablation.csv'), ablationCsv(summary));
    return summary;
  };
  await mkdir(join(out, 'runs'), { recursive: true });
  for (const [i, spec] of plan.entries()) {
    const dir = join(out, 'runs', spec.key);
    const metricsPath = join(dir, 'metrics.json');
    const t = Date.now();
    if (!(await exists(metricsPath))) {
      const checkpoint = join(out, 'runs', `${spec.key}.checkpoint.safetensors`);
      ctx.stderr(`== ${i + 1}/${plan.length} ${spec.key}`);
      const config = { ...base.config, seed: spec.seed, ablation: { ...ABLATIONS[spec.variant] } };
      await runJointTraining(
        { data, emb, textEmb: v['text-emb'] as string | undefined, tokenizer, out: dir, checkpoint, resume: await exists(checkpoint), config, preset: base.preset, backend: backend as BackendName, quiet: v.quiet === true },
        ctx,
      );
      await rm(checkpoint, { force: true });
    } else {
      ctx.stderr(`== ${i + 1}/${plan.length} ${spec.key}: finished before, kept`);
    }
    const m = JSON.parse(await readFile(metricsPath, 'utf8')) as { etegrec: { test: Record<string, number>; diagnostics?: Diagnostics }; seconds?: number };
    results.push({ variant: spec.variant, seed: spec.seed, test: m.etegrec.test, diagnostics: m.etegrec.diagnostics, seconds: m.seconds ?? (Date.now() - t) / 1000 });
    await write();
  }
  const summary = await write();
  ctx.stderr(ablationTable(summary));
  const order = ablationOrdering(summary);
  const yesNo = (b: boolean | null) => (b === null ? 'n/a' : b ? 'yes' : 'no');
  ctx.stderr(`ranking by ndcg@10: ${order.text}; full ahead of every ablation: ${yesNo(order.fullBest)}; w/o AT worst: ${yesNo(order.noAlternationWorst)}`);
  ctx.stderr(`wrote ablation.json, ablation.csv and runs/ to ${out}`);
  return 0;
}

export const ablateCommand: Command = {
  name: 'ablate',
  summary: "the paper's Table 4: ablation variants × seeds, mean ± sd and paired comparison (ablation.json/csv)",
  usage: USAGE,
  options: OPTIONS,
  run: runAblate,
};
