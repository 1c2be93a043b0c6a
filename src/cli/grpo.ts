/**
 * `etegrec grpo`: GRPO fine-tuning (spec §6, a fork addition) of a trained ETEGRec recommender.
 * Reads a bundle directory (`etegrec train` / `pipeline` output, or reference `.pt` + `.pt.rqvae`
 * + `.code.json` files), fine-tunes the recommender against the frozen SFT reference policy with
 * the fixed SFT code table, and writes the best recommender + the unchanged tokenizer and codes.
 */
import { selectBackend, type BackendName } from '../core/backend.ts';
import { StudioError } from '../core/errors.ts';
import type { GenerativeResult } from '../core/eval/generative.ts';
import type { ProgressSink } from '../core/events.ts';
import { writeBundleFiles } from '../core/io/jointBundle.ts';
import { readCheckpointFiles } from '../core/io/referenceLayout.ts';
import { SEMANTIC } from '../core/models/recommender.ts';
import { GRPO_PRESETS, trainGrpo, type GrpoPresetName } from '../core/train/grpo.ts';
import { jointSamples } from '../core/train/jointData.ts';
import { jointTrainConfig } from '../core/train/jointSchedule.ts';
import type { JointData } from '../core/train/jointTypes.ts';
import type { StageDecl } from '../core/stages/fields.ts';
import { GRPO_STAGE } from '../core/stages/grpo.ts';
import { stageConfigFromArgs, stageFlagsHelp, stageOptions } from './stageFlags.ts';
import { UsageError, intOption, type Command, type CommandContext, type ParsedArgs } from './command.ts';
import { checkOutputDir, StagedOutput, loadPreparedDir, modifiedTimes, readBundleDir } from './io.ts';
import { stderrProgress } from './progress.ts';
import { diagnosticsLine } from './train.ts';
import { collapseReasons } from '../core/eval/diagnostics.ts';

const USAGE = `Usage: etegrec grpo --data <prepared dir> --checkpoint <bundle dir> --out <dir> [--preset quick|paper]

GRPO fine-tuning (spec §6): group sampling (temperature, top-k), reward = hit (−0.1 for an invalid
code) + α·cosine of semantic vectors, group-normalised advantages, clipped ratio against the frozen
SFT policy, k1 KL penalty, AdamW + cosine; validation each epoch, early stop on NDCG@10, test of the
best state. Writes into <dir> the bundle files (recommender = best GRPO state) and metrics.json
{"valid_before": {…}, "valid_after": {…}, "test": {…}, "history": […]}.

Options:
  --data <dir>          prepared dataset directory (etegrec prepare)
  --checkpoint <dir>    bundle directory: recommender.safetensors, tokenizer.safetensors, code.json
                        (etegrec train), or the reference's run folder myckpt/<dataset>/<run>/:
                        <epoch>.pt + <epoch>.pt.rqvae + <epoch>.code.json and its config YAML
                        (reference keys, mapped onto the studio's; copy config/<name>.yaml there)
  --epoch <n>           which <epoch>.pt of a reference run folder (default: the newest file)
  --out <dir>           output directory
  --preset <p>          quick|paper (default quick)
  --backend <b>         wasm|cpu (default wasm)
  --quiet               only warnings and errors on stderr
  -h, --help            show this help

${stageFlagsHelp(GRPO_STAGE as StageDecl<object>, 'quick')}
`;

const OWN_OPTIONS = {
  data: { type: 'string' },
  checkpoint: { type: 'string' },
  epoch: { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  backend: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;
const OWN = Object.keys(OWN_OPTIONS);
const OPTIONS = { ...stageOptions(GRPO_STAGE as StageDecl<object>, OWN), ...OWN_OPTIONS };

const pick = (r: GenerativeResult) => ({ ...r.metrics, invalid_rate: r.invalidRate, count: r.count, diagnostics: r.diagnostics });

async function runGrpo(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const v = args.values;
  const data = v.data as string | undefined;
  const ckpt = v.checkpoint as string | undefined;
  const out = v.out as string | undefined;
  if (out) await checkOutputDir(out);
  if (!data) throw new UsageError('--data <prepared dir> is required');
  if (!ckpt) throw new UsageError('--checkpoint <bundle dir> is required');
  if (!out) throw new UsageError('--out <dir> is required');
  const preset = (v.preset ?? 'quick') as string;
  if (preset !== 'quick' && preset !== 'paper') throw new UsageError(`--preset must be quick or paper, got "${preset}"`);
  const backend = (v.backend ?? 'wasm') as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new UsageError(`--backend must be wasm or cpu, got "${backend}"`);
  const config = stageConfigFromArgs(GRPO_STAGE, preset, v, {}, OWN);

  const progress = stderrProgress(v.quiet === true);
  const sink: ProgressSink = (e) => {
    if (e.type !== 'metric') progress(e);
  };
  const epoch = v.epoch !== undefined ? intOption(v.epoch, 'epoch', 0, 0) : undefined;
  const bundle = readCheckpointFiles(await readBundleDir(ckpt), { fileName: ckpt, modified: await modifiedTimes(ckpt), ...(epoch !== undefined ? { epoch } : {}) });
  sink({ type: 'log', stage: 'grpo', level: 'info', message: `${bundle.report.message}${bundle.epoch !== undefined ? ` (${bundle.epoch}.pt${bundle.report.files.config ? ` + ${bundle.report.files.config}` : ''})` : ''}` });
  for (const w of bundle.report.warnings) sink({ type: 'log', stage: 'grpo', level: 'warn', message: w });
  const dataset = await loadPreparedDir(data, 50, ctx, sink);
  const N = dataset.itemIds.length;
  const rc = bundle.recommenderConfig;
  if (rc.n_items_plus_pad !== N + 1) {
    throw new StudioError({ code: 'bad_option', file: ckpt, message: `the checkpoint was trained on ${rc.n_items_plus_pad - 1} items, the dataset in ${data} has ${N}` });
  }
  // the reward's semantic vectors: rows 1..N of the checkpoint's (frozen) semantic table
  const S = bundle.recommender[SEMANTIC];
  const D = rc.semantic_hidden_size;
  const jd: JointData = {
    numItems: N,
    semantic: S.data.slice(D, (N + 1) * D),
    semanticDim: D,
    train: jointSamples(dataset, 'train'),
    valid: jointSamples(dataset, 'valid'),
    test: jointSamples(dataset, 'test'),
  };
  const report = await selectBackend([backend as BackendName]);
  sink({ type: 'log', stage: 'grpo', level: 'info', message: `backend ${report.backend}, preset ${preset}: G ${config.group_size}, β ${config.kl_coeff}, batch ${config.batch_size}` });
  const res = await trainGrpo({ data: jd, recommenderState: bundle.recommender, recommenderConfig: rc, codes: bundle.codes }, config, {
    signal: ctx.signal,
    onEvent: sink,
    onEpoch: (r) =>
      sink({
        type: 'log',
        stage: 'grpo',
        level: 'info',
        message: `epoch ${r.epoch + 1}: reward ${r.rewardMean.toFixed(4)} hit ${r.hitRate.toFixed(4)} invalid ${r.invalidRate.toFixed(4)} kl ${r.kl.toFixed(5)} policy ${r.policyLoss.toFixed(5)}${r.valid ? `, valid ndcg@10 ${r.valid.metrics['ndcg@10'].toFixed(4)}${r.improved ? ' *' : ''}` : ''}`,
      }),
  });
  progress.end();
  // Interrupted: nothing is written (the output directory is all or nothing).
  if (res.cancelled || !res.test) throw ctx.signal?.reason ?? new Error('cancelled');
  const test = res.test;
  const metrics = {
    valid_before: pick(res.validBefore),
    valid_after: pick(res.validAfter),
    test: pick(test),
    best_epoch: res.bestEpoch,
    preset,
    backend: report.backend,
    seconds: res.seconds,
    config,
    provenance: GRPO_PRESETS[preset as GrpoPresetName].provenance,
    history: res.history.map((r) => ({ ...r, valid: r.valid ? pick(r.valid) : undefined })),
  };
  const files = writeBundleFiles({
    recommender: res.bestState,
    recommenderConfig: rc,
    tokenizer: bundle.tokenizer,
    tokenizerConfig: bundle.tokenizerConfig,
    codes: bundle.codes,
    config: bundle.config ?? jointTrainConfig('paper'),
    history: [],
    metrics,
  });
  delete files['metrics.csv'];
  const staged = await StagedOutput.create(out);
  try {
    for (const [name, bytes] of Object.entries(files)) await staged.writeBytes(name, bytes);
    await staged.commit();
  } catch (e) {
    await staged.abort();
    throw e;
  }
  const fmt = (m: Record<string, number>) => ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'].map((k) => `${k} ${m[k].toFixed(4)}`).join(', ');
  ctx.stderr(`valid before GRPO: ${fmt(res.validBefore.metrics)}`);
  ctx.stderr(`valid after GRPO:  ${fmt(res.validAfter.metrics)}`);
  ctx.stderr(`test (best state): ${fmt(test.metrics)}`);
  ctx.stderr(`test lists: ${diagnosticsLine(test.diagnostics)}`);
  for (const reason of collapseReasons(test.diagnostics)) ctx.stderr(`warning: collapsed model? ${reason}`);
  ctx.stderr(`wrote recommender.safetensors, tokenizer.safetensors, code.json, config.yaml, metrics.json to ${out}`);
  return 0;
}

export const grpoCommand: Command = {
  name: 'grpo',
  summary: 'GRPO fine-tuning of a trained recommender (spec §6; metrics.json with valid_before/after, test)',
  usage: USAGE,
  options: OPTIONS,
  run: runGrpo,
};
