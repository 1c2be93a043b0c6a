/**
 * `etegrec export-reference`: a trained joint run (a bundle folder of `etegrec train` or
 * `pipeline`) laid out for the reference PyTorch trainer (referenceLayoutFiles): the reference's
 * config keys, its dataset folder, the tokenizer `.pth`, the `myckpt` checkpoint files, accelerate's
 * DDP config and run.sh. Written as a folder tree, or with --zip as one zip.
 */
import { chmod, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { StudioError } from '../core/errors.ts';
import { readJointBundle } from '../core/io/jointBundle.ts';
import { referenceLayoutFiles, referenceLayoutZip, type LayoutFile } from '../core/io/referenceLayout.ts';
import { jointTrainConfig } from '../core/train/jointSchedule.ts';
import { UsageError, intOption, type Command, type CommandContext, type ParsedArgs } from './command.ts';
import { checkOutputDir, PREPARED_FILE, readBundleDir, StagedOutput } from './io.ts';

const USAGE = `Usage: etegrec export-reference --run <bundle dir> --out <dir> [--data <prepared dir>] [--gpus N] [--zip]

Lays out a trained joint run for the reference ETEGRec trainer (PyTorch + accelerate, multi-GPU):
unpack <dir> into the root of the reference repository and run ./run.sh there. Writes:
  config/<name>.yaml                 the reference's flat config keys (studio-only settings as comments)
  RecBole/dataset/<name>/            <name>.train/valid/test.jsonl, <name>.emb_map.json, <name>.inter,
                                     <name>_emb_<D>.npy (the run's semantic table, N rows)
  RQVAE/rqvae_ckpt/<name>/<run>/best_collision_model.pth   the tokenizer (rqvae_path)
  myckpt/<name>/<run>/<epoch>.pt, <epoch>.pt.rqvae, <epoch>.code.json   recommender, tokenizer, codes
  accelerate_config_ddp.yaml         accelerate's DDP config for N processes
  run.sh                             ./run.sh (main.py) or ./run.sh grpo (train_grpo.py --sft_ckpt …)
  STUDIO_EXPORT.md                   what is and is not carried over (optimizer state, RNG, …)

Options:
  --run <dir>           bundle directory (recommender.safetensors, tokenizer.safetensors, code.json,
                        config.yaml; etegrec train / pipeline output)
  --data <dir>          prepared dataset directory of the run (default <run>/stages/data, as pipeline
                        writes it)
  --out <dir>           output directory
  --name <name>         dataset name in the layout (default: the prepared files' name)
  --run-name <name>     run folder under myckpt/<name>/ (default studio-<run dir name>)
  --epoch <n>           the <epoch>.pt number (default: the best epoch in metrics.json, else 0)
  --gpus <n>            processes (GPUs) for accelerate (default 1)
  --zip                 write one <out>/<name>_reference.zip instead of the folder tree
  -h, --help            show this help
`;

const OPTIONS = {
  run: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  'run-name': { type: 'string' },
  epoch: { type: 'string' },
  gpus: { type: 'string' },
  zip: { type: 'boolean' },
} as const;

const isDir = async (p: string) => (await stat(p).catch(() => null))?.isDirectory() === true;

/** The best epoch a bundle's metrics.json records (etegrec train: etegrec.best_epoch; the studio: studio.model.epoch). */
function bestEpoch(metricsJson: Uint8Array | undefined): number | undefined {
  if (!metricsJson) return undefined;
  try {
    const m = JSON.parse(new TextDecoder().decode(metricsJson)) as { etegrec?: { best_epoch?: unknown }; studio?: { model?: { epoch?: unknown } } };
    const e = m.etegrec?.best_epoch ?? m.studio?.model?.epoch;
    return typeof e === 'number' && Number.isInteger(e) && e >= 0 ? e : undefined;
  } catch {
    return undefined;
  }
}

function testMetrics(metricsJson: Uint8Array | undefined): Record<string, number> | null {
  if (!metricsJson) return null;
  try {
    const t = (JSON.parse(new TextDecoder().decode(metricsJson)) as { etegrec?: { test?: unknown } }).etegrec?.test;
    return t && typeof t === 'object' ? (t as Record<string, number>) : null;
  } catch {
    return null;
  }
}

const segment = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'run';

async function runExportReference(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const v = args.values;
  const run = v.run as string | undefined;
  const out = v.out as string | undefined;
  if (!run) throw new UsageError('--run <bundle dir> is required');
  if (!out) throw new UsageError('--out <dir> is required');
  await checkOutputDir(out);
  const gpus = intOption(v.gpus, 'gpus', 1, 1);
  const data = (v.data as string | undefined) ?? join(run, 'stages', 'data');
  if (!(await isDir(data))) {
    throw new StudioError({ code: 'not_found', file: data, field: 'data', message: v.data ? 'No such prepared dataset directory' : `No prepared dataset at ${data}: pass --data <prepared dir> (the folder etegrec prepare wrote)` });
  }

  const files = await readBundleDir(run);
  const bundle = readJointBundle(files, { fileName: run });
  ctx.stderr(bundle.report.message);
  for (const w of bundle.report.warnings) ctx.stderr(`warning: ${w}`);
  if (!bundle.config) ctx.stderr(`warning: ${run} has no config.yaml: the paper settings are written`);

  const datasetFiles: { name: string; bytes: Uint8Array }[] = [];
  for (const n of (await readdir(data)).sort()) {
    if (PREPARED_FILE.test(n) || n === 'dataset_stats.json') datasetFiles.push({ name: n, bytes: new Uint8Array(await readFile(join(data, n))) });
  }
  const train = datasetFiles.find((f) => f.name.endsWith('.train.jsonl'));
  if (!train) throw new StudioError({ code: 'not_found', file: data, message: 'No <name>.train.jsonl: not a prepared dataset directory' });
  const name = (v.name as string | undefined) ?? segment(train.name.slice(0, -'.train.jsonl'.length));
  const runName = (v['run-name'] as string | undefined) ?? `studio-${segment(basename(resolve(run)))}`;
  const epoch = v.epoch !== undefined ? intOption(v.epoch, 'epoch', 0, 0) : bestEpoch(files['metrics.json']) ?? 0;

  const layout: LayoutFile[] = referenceLayoutFiles({
    name, run: runName, epoch, datasetFiles,
    recommender: bundle.recommender, recommenderConfig: bundle.recommenderConfig,
    tokenizer: bundle.tokenizer, tokenizerConfig: bundle.tokenizerConfig, codes: bundle.codes,
    config: bundle.config ? { ...bundle.config, t5: { ...bundle.recommenderConfig.t5 } } : jointTrainConfig('paper', { t5: bundle.recommenderConfig.t5 }),
    gpus, test: testMetrics(files['metrics.json']), source: `etegrec bundle ${resolve(run)}`,
  });

  const staged = await StagedOutput.create(out);
  try {
    if (v.zip === true) {
      await staged.writeBytes(`${name}_reference.zip`, referenceLayoutZip(layout));
    } else {
      for (const f of layout) {
        await staged.writeBytes(f.path, f.bytes);
        if (f.mode !== undefined) await chmod(join(staged.tmpDir, f.path), f.mode);
      }
    }
    await staged.commit();
  } catch (e) {
    await staged.abort();
    throw e;
  }
  const bytes = layout.reduce((s, f) => s + f.bytes.length, 0);
  ctx.stderr(`wrote ${v.zip === true ? `${name}_reference.zip (${layout.length} files)` : `${layout.length} files`} (${(bytes / 2 ** 20).toFixed(1)} MiB) to ${out}: unpack into the reference repository and run ./run.sh (${gpus} GPU${gpus === 1 ? '' : 's'})`);
  return 0;
}

export const exportReferenceCommand: Command = {
  name: 'export-reference',
  summary: 'a trained joint run laid out for the reference PyTorch trainer (config, dataset, .pt checkpoints, accelerate, run.sh)',
  usage: USAGE,
  options: OPTIONS,
  run: runExportReference,
};
