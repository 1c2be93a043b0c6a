/**
 * `etegrec train`: joint ETEGRec training (spec §5) on a prepared dataset, its semantic embeddings
 * and a pretrained tokenizer; writes the export bundle files and metrics.json. A resumable
 * checkpoint is written after every finished epoch (`--checkpoint`, default <out>.checkpoint.safetensors);
 * `--resume` continues from it.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { selectBackend, type BackendName } from '../core/backend.ts';
import { buildDualInput } from '../core/embeddings/dual.ts';
import { tableFromNpy } from '../core/embeddings/importTable.ts';
import { StudioError } from '../core/errors.ts';
import { collapseReasons, type Diagnostics } from '../core/eval/diagnostics.ts';
import type { GenerativeResult } from '../core/eval/generative.ts';
import type { ProgressSink } from '../core/events.ts';
import { packJointCheckpoint, unpackJointCheckpoint, writeBundleFiles } from '../core/io/jointBundle.ts';
import { readTokenizerFile } from './tokenizerFile.ts';
import { trainJoint } from '../core/train/joint.ts';
import { jointData } from '../core/train/jointData.ts';
import { JOINT_PRESETS, type JointPresetName, type JointTrainConfig } from '../core/train/jointSchedule.ts';
import type { StageDecl } from '../core/stages/fields.ts';
import { JOINT_STAGE } from '../core/stages/joint.ts';
import { stageConfigFromArgs, stageFlagsHelp, stageOptions } from './stageFlags.ts';
import type { JointCheckpoint, JointResult, JointTrainOptions } from '../core/train/jointTypes.ts';
import { UsageError, intOption, type Command, type CommandContext, type ParsedArgs } from './command.ts';
import { checkOutputDir, StagedOutput, loadPreparedDir } from './io.ts';
import { stderrProgress } from './progress.ts';
import { trainJointParallel } from './parallel/trainJointParallel.ts';

/** The most worker threads --workers accepts (each holds a backend and a replica of the models). */
export const MAX_WORKERS = 64;

/** --workers: 1 (train on this thread) … MAX_WORKERS. */
export function workersOption(v: unknown): number {
  const k = intOption(v, 'workers', 1, 1);
  if (k > MAX_WORKERS) throw new UsageError(`--workers must be at most ${MAX_WORKERS}, got "${String(v)}"`);
  return k;
}

const USAGE = `Usage: etegrec train --data <prepared dir> --emb <npy> --tokenizer <safetensors> --out <dir> [options]

Joint ETEGRec training (spec §5): alternating tokenizer / recommender epochs with the SIA and PSA
alignment losses, beam-search validation and early stopping, the finetune stage, and the test of
the best checkpoints before and after finetuning. Writes into <dir>:
  recommender.safetensors  reference keys and shapes (PyTorch layout; tied aliases included)
  tokenizer.safetensors    the jointly trained RQ-VAE
  code.json                N+1 rows [c1, c2, c3, suffix], row 0 = [-1, -1, -1, -1]
  config.yaml              the run's configuration, reference-style keys
  metrics.csv              one row per epoch (losses, learning rates, code churn, validation)
  metrics.json             {"etegrec": {"test": {…}, "test_before_finetune": {…}}, …}

Options:
  --data <dir>             prepared dataset directory (etegrec prepare)
  --emb <file.npy>         semantic (collaborative) embeddings, N or N+1 rows
  --text-emb <file.npy>    text embeddings: the semantic input becomes [collab ‖ text]
  --tokenizer <file>       pretrained tokenizer (tokenizer.safetensors or a reference .pth)
  --out <dir>              output directory
  --preset <p>             quick|converge|paper (default quick)
  --checkpoint <file>      resumable checkpoint (default <out>.checkpoint.safetensors)
  --resume                 continue from --checkpoint
  --backend <b>            wasm|cpu (default wasm)
  --workers <k>            data-parallel joint training over k worker threads, each with its own
                           backend and a replica of the models (default 1: this thread); the
                           result equals one thread's up to float summation order. A batch that
                           is one micro-batch is split into k shares of about equal cost; one of
                           several micro-batches has them dealt across the workers. Use k ≤ cores
  --quiet                  only warnings and errors on stderr
  -h, --help               show this help

${stageFlagsHelp(JOINT_STAGE as StageDecl<object>, 'quick')}
`;

/** The command's own flags; every config field has its flag too (stageOptions). */
const OWN_OPTIONS = {
  data: { type: 'string' },
  emb: { type: 'string' },
  'text-emb': { type: 'string' },
  tokenizer: { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  checkpoint: { type: 'string' },
  resume: { type: 'boolean' },
  backend: { type: 'string' },
  workers: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;
const OWN = Object.keys(OWN_OPTIONS);
const OPTIONS = { ...stageOptions(JOINT_STAGE as StageDecl<object>, OWN), ...OWN_OPTIONS };

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    throw new StudioError({ code: 'not_found', file: path, message: 'No such file' });
  }
}

/** The JointTrainConfig of the command line (preset + field flags + --set). */
export function trainConfigFromArgs(v: ParsedArgs['values']): { preset: JointPresetName; config: JointTrainConfig } {
  const preset = (v.preset ?? 'quick') as string;
  if (!(preset in JOINT_PRESETS)) throw new UsageError(`--preset must be one of ${Object.keys(JOINT_PRESETS).join('|')}, got "${preset}"`);
  const config = stageConfigFromArgs(JOINT_STAGE, preset, v, {}, OWN);
  // a micro-batch larger than the batch is the batch (same arithmetic)
  config.micro_batch_size = Math.min(config.micro_batch_size, config.batch_size);
  return { preset: preset as JointPresetName, config };
}

/** metrics.json's ETEGRec block: the reference metric keys, rounded as reported. */
export function etegrecMetrics(res: JointResult): {
  test?: Record<string, number>;
  test_before_finetune?: Record<string, number>;
  diagnostics?: Diagnostics;
  diagnostics_before_finetune?: Diagnostics;
} {
  const pick = (r?: GenerativeResult) => (r ? { ...r.metrics } : undefined);
  return {
    test: pick(res.test),
    test_before_finetune: pick(res.testBeforeFinetune),
    diagnostics: res.test?.diagnostics,
    diagnostics_before_finetune: res.testBeforeFinetune?.diagnostics,
  };
}

/** One line of what the lists look like, for the terminal. */
export function diagnosticsLine(d?: Diagnostics): string {
  if (!d) return 'n/a';
  const parts = [
    `${d.distinctTop1} distinct top-1`,
    `${d.distinctTopK} distinct top-${d.k} lists`,
    `coverage@${d.k} ${(d.coverageAtK * 100).toFixed(1)} %`,
    `most common list ${(d.modalTopKShare * 100).toFixed(1)} % of users`,
    `popularity overlap@${d.k} ${d.popularityOverlapAtK.toFixed(3)}`,
    `invalid codes ${(d.invalidRate * 100).toFixed(1)} %`,
  ];
  if (d.shuffle) parts.push(`shuffle gap ${d.shuffle.gap.toFixed(4)} nats (CE ${d.shuffle.ceReal.toFixed(4)} real / ${d.shuffle.ceShuffled.toFixed(4)} shuffled)`);
  return parts.join(', ');
}

export interface JointRunInputs {
  data: string;
  emb: string;
  textEmb?: string;
  tokenizer: string;
  out: string;
  checkpoint: string;
  resume: boolean;
  config: JointTrainConfig;
  preset: JointPresetName;
  backend: BackendName;
  /** Data-parallel worker threads (1: train on this thread). */
  workers?: number;
  quiet: boolean;
  /** Extra top-level blocks of metrics.json (the pipeline adds sasrec / popularity). */
  extraMetrics?: Record<string, unknown>;
}

/** Runs joint training and writes the bundle files + metrics.json; shared by `train` and `pipeline`. */
export async function runJointTraining(p: JointRunInputs, ctx: CommandContext): Promise<{ result: JointResult; metrics: Record<string, unknown> }> {
  const progress = stderrProgress(p.quiet);
  // Per-step metric events would flood a terminal; one line per epoch instead.
  const sink: ProgressSink = (e) => {
    if (e.type !== 'metric') progress(e);
  };
  const dataset = await loadPreparedDir(p.data, 50, ctx, sink);
  const n = dataset.itemIds.length;
  let table = tableFromNpy(await readInput(p.emb), basename(p.emb), n, 'collab');
  if (p.textEmb) table = buildDualInput(table, tableFromNpy(await readInput(p.textEmb), basename(p.textEmb), n, 'text'), { normalize: false });
  const tok = readTokenizerFile(await readInput(p.tokenizer), basename(p.tokenizer), {
    onWarning: (message) => sink({ type: 'log', stage: 'joint', level: 'warn', message }),
  });
  const data = jointData(dataset, table.data, table.cols);

  let resume: JointCheckpoint | undefined;
  if (p.resume) {
    resume = unpackJointCheckpoint(await readInput(p.checkpoint), basename(p.checkpoint), {
      onWarning: (message) => sink({ type: 'log', stage: 'joint', level: 'warn', message }),
    });
    sink({ type: 'log', stage: 'joint', level: 'info', message: `resuming ${resume.stage} at epoch ${resume.nextEpoch + 1} from ${p.checkpoint}` });
  }
  const report = await selectBackend([p.backend]);
  sink({
    type: 'log',
    stage: 'joint',
    level: 'info',
    message: `backend ${report.backend}, preset ${p.preset}: ${n} items × ${table.cols}, ${data.train.count} train / ${data.valid.count} valid / ${data.test.count} test samples`,
  });
  const ckptPath = resolve(p.checkpoint);
  const workers = p.workers ?? 1;
  if (workers > 1) sink({ type: 'log', stage: 'joint', level: 'info', message: `data-parallel over ${workers} worker threads (${report.backend} in each)` });
  // a batch is shared by rows: with fewer rows than workers some only follow
  if (workers > p.config.batch_size) {
    sink({ type: 'log', stage: 'joint', level: 'warn', message: `--workers ${workers}: a batch has only ${p.config.batch_size} rows, so only ${p.config.batch_size} workers can share it` });
  }
  const train = (opts: JointTrainOptions) => (workers > 1 ? trainJointParallel(data, p.config, opts, { workers, backend: report.backend }) : trainJoint(data, p.config, opts));
  const result = await train({
    signal: ctx.signal,
    onEvent: sink,
    tokenizer: { state: tok.state, config: tok.config },
    resume,
    onEpoch: (r) => {
      const f = (x: number) => x.toFixed(4);
      const parts = [`${r.stage} epoch ${r.epoch + 1} (${r.phase}): loss ${f(r.loss.total)} code ${f(r.loss.code)} kl ${f(r.loss.kl)} cl ${f(r.loss.decCl)}`];
      if (r.phase !== 'recommender') parts.push(`vq ${f(r.loss.vq)}`);
      if (r.codes) parts.push(`collision ${f(r.codes.collisionRate)} churn ${r.codes.churn}`);
      if (r.valid) {
        const d = r.valid.diagnostics;
        const lists = d ? ` (top-1 ${d.distinctTop1}, lists ${d.distinctTopK}${d.shuffle ? `, shuffle gap ${f(d.shuffle.gap)}` : ''})` : '';
        parts.push(`valid ndcg@10 ${f(r.valid.metrics['ndcg@10'])} recall@10 ${f(r.valid.metrics['recall@10'])}${lists}${r.improved ? ' *' : ''}`);
      }
      if (r.gradNormRecommender !== undefined) parts.push(`|g| rec ${r.gradNormRecommender.toFixed(3)}`);
      if (r.gradNormTokenizer !== undefined) parts.push(`|g| tok ${r.gradNormTokenizer.toFixed(3)}`);
      parts.push(`${r.seconds.toFixed(1)}s`);
      sink({ type: 'log', stage: 'joint', level: 'info', message: parts.join(', ') });
    },
    // written beside, then renamed: a crash mid-write keeps the previous checkpoint
    onCheckpoint: async (c) => {
      const tmp = join(dirname(ckptPath), `.${basename(ckptPath)}.tmp`);
      await writeFile(tmp, packJointCheckpoint(c));
      await rename(tmp, ckptPath);
    },
  });
  progress.end();

  const metrics: Record<string, unknown> = {
    etegrec: { ...etegrecMetrics(result), invalid_rate: result.test?.invalidRate, best_epoch: result.checkpoint.best?.epoch, best_stage: result.checkpoint.best?.stage },
    ...(p.extraMetrics ?? {}),
    preset: p.preset,
    backend: report.backend,
    seconds: result.seconds,
    epochs_run: result.checkpoint.history.length,
    config: result.checkpoint.config,
    provenance: JOINT_PRESETS[p.preset].provenance,
  };
  const files = writeBundleFiles({
    recommender: result.final.recommender,
    recommenderConfig: result.checkpoint.recommenderConfig,
    tokenizer: result.final.tokenizer,
    tokenizerConfig: result.checkpoint.tokenizerConfig,
    codes: result.final.codes,
    config: result.checkpoint.config,
    history: result.checkpoint.history,
    metrics,
  });
  const staged = await StagedOutput.create(p.out);
  try {
    for (const [name, bytes] of Object.entries(files)) await staged.writeBytes(name, bytes);
    await staged.commit();
  } catch (e) {
    await staged.abort();
    throw e;
  }
  return { result, metrics };
}

async function runTrain(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const v = args.values;
  const need = (k: string, what: string) => {
    const x = v[k];
    if (typeof x !== 'string' || !x) throw new UsageError(`--${k} ${what} is required`);
    return x;
  };
  const data = need('data', '<prepared dir>');
  const emb = need('emb', '<npy>');
  const tokenizer = need('tokenizer', '<safetensors>');
  const out = need('out', '<dir>');
  await checkOutputDir(out);
  const backend = (v.backend ?? 'wasm') as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new UsageError(`--backend must be wasm or cpu, got "${backend}"`);
  const workers = workersOption(v.workers);
  const { preset, config } = trainConfigFromArgs(v);
  const checkpoint = (v.checkpoint as string | undefined) ?? `${resolve(out)}.checkpoint.safetensors`;
  const { result } = await runJointTraining(
    {
      data,
      emb,
      textEmb: v['text-emb'] as string | undefined,
      tokenizer,
      out,
      checkpoint,
      resume: v.resume === true,
      config,
      preset,
      backend: backend as BackendName,
      workers,
      quiet: v.quiet === true,
    },
    ctx,
  );
  const fmt = (m?: Record<string, number>) => (m ? Object.entries(m).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ') : 'n/a');
  ctx.stderr(`ETEGRec test before finetune: ${fmt(result.testBeforeFinetune?.metrics)}`);
  ctx.stderr(`ETEGRec test: ${fmt(result.test?.metrics)}`);
  ctx.stderr(`ETEGRec test lists: ${diagnosticsLine(result.test?.diagnostics)}`);
  for (const reason of collapseReasons(result.test?.diagnostics)) ctx.stderr(`warning: collapsed model? ${reason}`);
  ctx.stderr(`wrote recommender.safetensors, tokenizer.safetensors, code.json, config.yaml, metrics.csv, metrics.json to ${out}`);
  if (result.checkpoint.finished) await rm(checkpoint, { force: true });
  return 0;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'joint ETEGRec training: tokenizer + generative recommender (bundle, metrics.json)',
  usage: USAGE,
  options: OPTIONS,
  run: runTrain,
};
