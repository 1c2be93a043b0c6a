/**
 * `etegrec pipeline`: the whole reference pipeline in one command — prepare → SASRec → RQ-VAE →
 * joint training → test — each stage through its own command, its outputs kept under
 * <out>/stages/, the final bundle files and a top-level metrics.json in <out>.
 */
import type { StageDecl } from '../core/stages/fields.ts';
import { JOINT_STAGE } from '../core/stages/joint.ts';
import { stageFlagsHelp, stageOptions } from './stageFlags.ts';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BackendName } from '../core/backend.ts';
import { StudioError } from '../core/errors.ts';
import type { JointPresetName } from '../core/train/jointSchedule.ts';
import { UsageError, intOption, type Command, type CommandContext, type ParsedArgs } from './command.ts';
import { prepareCommand } from './commands/prepare.ts';
import { rqvaeCommand } from './rqvae.ts';
import { sasrecCommand } from './sasrec.ts';
import { collapseReasons, type Diagnostics } from '../core/eval/diagnostics.ts';
import { diagnosticsLine, runJointTraining, trainConfigFromArgs, workersOption } from './train.ts';
import { checkOutputDir } from './io.ts';

const USAGE = `Usage: etegrec pipeline <input file> --out <dir> [--preset quick|converge|paper] [options]

Runs the whole pipeline on an interaction file (or a reference bundle directory):
prepare (5-core, leave-one-out) → SASRec embeddings → RQ-VAE tokenizer → joint ETEGRec training
(alternating stage, finetune) → test. Writes into <dir>:
  recommender.safetensors, tokenizer.safetensors, code.json, config.yaml, metrics.csv
  metrics.json   {"etegrec": {"test": {…}, "test_before_finetune": {…}},
                  "sasrec": {"test": {…}}, "popularity": {"test": {…}}}
  stages/        data/, sasrec/, rqvae/ (each stage's own outputs and metrics)

Options:
  --out <dir>            output directory
  --preset <p>           quick|converge|paper (default quick): the preset of every stage
                         (converge: SASRec and RQ-VAE use their quick presets)
  --sasrec-epochs <n>    SASRec epochs (default: the preset's)
  --rqvae-epochs <n>     RQ-VAE epochs (default: the preset's)
  --<field> <value>      any joint config field flag of etegrec train (--epochs, --finetune.epochs,
                         --seed, --lr_rec, …; see etegrec train --help); the seed is the joint
                         stage's (the other stages keep their presets' seeds)
  --set <key=value>      the same fields as key=value, repeatable
  --backend <b>          wasm|cpu (default wasm)
  --workers <k>          joint stage: data-parallel over k worker threads (default 1; see etegrec
                         train --help)
  --quiet                only warnings and errors on stderr
  -h, --help             show this help

${stageFlagsHelp(JOINT_STAGE as StageDecl<object>, 'quick')}
`;

const OWN_OPTIONS = {
  out: { type: 'string' },
  preset: { type: 'string' },
  'sasrec-epochs': { type: 'string' },
  'rqvae-epochs': { type: 'string' },
  backend: { type: 'string' },
  workers: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;
// every joint config field has its flag, as for etegrec train
const OPTIONS = { ...stageOptions(JOINT_STAGE as StageDecl<object>, Object.keys(OWN_OPTIONS)), ...OWN_OPTIONS };

const METRIC_KEYS = ['recall@1', 'recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'];

function pick(m: Record<string, number> | undefined): Record<string, number> | undefined {
  if (!m) return undefined;
  const out: Record<string, number> = {};
  for (const k of METRIC_KEYS) if (k in m) out[k] = m[k];
  return out;
}

async function runStage(cmd: Command, values: ParsedArgs['values'], positionals: string[], ctx: CommandContext): Promise<void> {
  const code = await cmd.run({ values, positionals }, ctx);
  if (code !== 0) throw new StudioError({ code: code === 130 ? 'cancelled' : 'internal', message: `pipeline stage "${cmd.name}" ended with exit code ${code}` });
}

async function runPipeline(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const v = args.values;
  if (args.positionals.length === 0) throw new UsageError('missing <input file>');
  const out = v.out as string | undefined;
  if (!out) throw new UsageError('--out <dir> is required');
  await checkOutputDir(out);
  const backend = (v.backend ?? 'wasm') as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new UsageError(`--backend must be wasm or cpu, got "${backend}"`);
  const workers = workersOption(v.workers);
  const { preset, config } = trainConfigFromArgs(v);
  // SASRec and RQ-VAE have quick and paper presets; converge only changes the joint stage
  const stagePreset = preset === 'paper' ? 'paper' : 'quick';
  const quiet = v.quiet === true;
  const dir = resolve(out);
  const stages = { data: join(dir, 'stages', 'data'), sasrec: join(dir, 'stages', 'sasrec'), rqvae: join(dir, 'stages', 'rqvae') };
  const t0 = Date.now();
  const seconds: Record<string, number> = {};
  const timed = async (name: string, f: () => Promise<void>) => {
    const t = Date.now();
    ctx.stderr(`== ${name}`);
    await f();
    seconds[name] = (Date.now() - t) / 1000;
  };

  await timed('prepare', () => runStage(prepareCommand, { out: stages.data, format: 'auto', 'meta-format': 'auto', quiet, force: true }, args.positionals, ctx));
  await timed('sasrec', () =>
    runStage(sasrecCommand, { data: stages.data, out: stages.sasrec, preset: stagePreset, backend, quiet, ...(v['sasrec-epochs'] ? { epochs: String(intOption(v['sasrec-epochs'], 'sasrec-epochs', 1, 1)) } : {}) }, [], ctx),
  );
  const npy = (await readdir(stages.sasrec)).find((n) => n.endsWith('.npy'));
  if (!npy) throw new StudioError({ code: 'internal', file: stages.sasrec, message: 'SASRec wrote no embedding table' });
  await timed('rqvae', () =>
    runStage(rqvaeCommand, { data: stages.data, emb: join(stages.sasrec, npy), out: stages.rqvae, preset: stagePreset, backend, quiet, ...(v['rqvae-epochs'] ? { epochs: String(intOption(v['rqvae-epochs'], 'rqvae-epochs', 1, 1)) } : {}) }, [], ctx),
  );
  const sasrecMetrics = JSON.parse(await readFile(join(stages.sasrec, 'metrics.json'), 'utf8')) as {
    test: Record<string, number>;
    valid: Record<string, number>;
    test_diagnostics?: unknown;
    baselines: { popularity: Record<string, number> };
  };
  let jointSeconds = 0;
  await timed('joint', async () => {
    const t = Date.now();
    await runJointTraining(
      {
        data: stages.data,
        emb: join(stages.sasrec, npy),
        tokenizer: join(stages.rqvae, 'tokenizer.safetensors'),
        out: dir,
        checkpoint: join(dir, 'stages', 'joint.checkpoint.safetensors'),
        resume: false,
        config,
        preset: preset as JointPresetName,
        backend: backend as BackendName,
        workers,
        quiet,
        extraMetrics: {
          sasrec: { test: pick(sasrecMetrics.test), valid: pick(sasrecMetrics.valid), test_diagnostics: sasrecMetrics.test_diagnostics },
          popularity: { test: pick(sasrecMetrics.baselines.popularity) },
        },
      },
      ctx,
    );
    jointSeconds = (Date.now() - t) / 1000;
  });
  const metricsPath = join(dir, 'metrics.json');
  const m = JSON.parse(await readFile(metricsPath, 'utf8')) as Record<string, unknown> & Record<'etegrec' | 'sasrec' | 'popularity', { test?: Record<string, number> }>;
  m.pipeline = { preset, stage_seconds: seconds, total_seconds: (Date.now() - t0) / 1000 };
  await writeFile(metricsPath, JSON.stringify(m, null, 2) + '\n');
  const fmt = (x?: Record<string, number>) => (x ? METRIC_KEYS.map((k) => `${k} ${(x[k] ?? NaN).toFixed(4)}`).join(', ') : 'n/a');
  ctx.stderr(`ETEGRec test:    ${fmt(m.etegrec?.test)}`);
  const diag = (m.etegrec as { diagnostics?: Diagnostics }).diagnostics;
  ctx.stderr(`ETEGRec lists:   ${diagnosticsLine(diag)}`);
  for (const reason of collapseReasons(diag)) ctx.stderr(`warning: collapsed model? ${reason}`);
  ctx.stderr(`SASRec test:     ${fmt(m.sasrec?.test)}`);
  ctx.stderr(`popularity test: ${fmt(m.popularity?.test)}`);
  ctx.stderr(`pipeline finished in ${((Date.now() - t0) / 1000).toFixed(0)} s (joint ${jointSeconds.toFixed(0)} s) → ${dir}`);
  return 0;
}

export const pipelineCommand: Command = {
  name: 'pipeline',
  summary: 'the whole pipeline: prepare → SASRec → RQ-VAE → joint training → test (bundle, metrics.json)',
  usage: USAGE,
  options: OPTIONS,
  run: runPipeline,
};
