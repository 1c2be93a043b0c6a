/**
 * `etegrec sasrec`: trains SASRec on a prepared directory (written by `etegrec prepare`, i.e. a
 * reference bundle) and writes `<name>_emb_<hidden>.npy` (float32 N × hidden, row r = item id r+1)
 * and `metrics.json`. Progress goes to stderr.
 */
import { join } from 'node:path';
import { selectBackend, type BackendName } from '../core/backend.ts';
import { writeNpy } from '../core/io/npy.ts';
import type { StageDecl } from '../core/stages/fields.ts';
import { EMBEDDINGS_STAGE } from '../core/stages/embeddings.ts';
import { stageConfigFromArgs, stageFlagsHelp, stageOptions } from './stageFlags.ts';
import { trainSasrec } from '../core/train/sasrec.ts';
import { UsageError, intOption, type Command, type CommandContext, type ParsedArgs } from './command.ts';
import { checkOutputDir, StagedOutput, loadPreparedDir } from './io.ts';
import { stderrProgress } from './progress.ts';

const USAGE = `Usage: etegrec sasrec --data <prepared dir> --out <dir> [options]

Trains SASRec (RecBole configuration, spec §2.2) on a prepared dataset and writes the collaborative
item embeddings of the best-validation epoch.

Writes into <dir>: <name>_emb_<hidden>.npy (float32, N × hidden, row r = item id r+1) and
metrics.json ({"test", "valid", "baselines": {"popularity"}} with recall@5/10, ndcg@5/10).

Options:
  --data <dir>           directory with <name>.train/.valid/.test.jsonl and <name>.emb_map.json
  --out <dir>            output directory
  --preset <p>           quick|paper (default quick)
  --backend <b>          wasm|cpu (default wasm)
  --max-steps <n>        at most n steps per epoch (smoke runs)
  --quiet                only warnings and errors on stderr
  -h, --help             show this help

${stageFlagsHelp(EMBEDDINGS_STAGE as StageDecl<object>, 'quick')}
`;

const OWN_OPTIONS = {
  data: { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  backend: { type: 'string' },
  'max-steps': { type: 'string' },
  quiet: { type: 'boolean' },
} as const;
const OWN = Object.keys(OWN_OPTIONS);

export const sasrecCommand: Command = {
  name: 'sasrec',
  summary: 'train SASRec collaborative item embeddings on a prepared dataset',
  usage: USAGE,
  options: { ...stageOptions(EMBEDDINGS_STAGE as StageDecl<object>, OWN), ...OWN_OPTIONS },
  run: runSasrec,
};

async function runSasrec(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const v = args.values;
  const data = v.data as string | undefined;
  const out = v.out as string | undefined;
  if (out) await checkOutputDir(out);
  if (!data) throw new UsageError('--data <prepared dir> is required');
  if (!out) throw new UsageError('--out <dir> is required');
  const preset = (v.preset ?? 'quick') as string;
  if (preset !== 'quick' && preset !== 'paper') throw new UsageError(`--preset must be quick or paper, got "${preset}"`);
  const backend = (v.backend ?? 'wasm') as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new UsageError(`--backend must be wasm or cpu, got "${backend}"`);
  const config = stageConfigFromArgs(EMBEDDINGS_STAGE, preset, v, {}, OWN);
  const maxSteps = v['max-steps'] === undefined ? undefined : intOption(v['max-steps'], 'max-steps', 0, 1);

  const progress = stderrProgress(v.quiet === true);
  const dataset = await loadPreparedDir(data, config.MAX_ITEM_LIST_LENGTH, ctx, progress);

  const report = await selectBackend([backend as BackendName]);
  progress({ type: 'log', stage: 'sasrec', level: 'info', message: `backend ${report.backend}, preset ${preset}` });
  const res = await trainSasrec(dataset, config, { signal: ctx.signal, onEvent: progress, maxStepsPerEpoch: maxSteps });
  progress.end();

  const metrics = {
    test: res.test,
    test_diagnostics: res.testDiagnostics,
    valid: res.valid,
    baselines: { popularity: res.baselines.popularity.test },
    baselines_valid: { popularity: res.baselines.popularity.valid },
    best_epoch: res.bestEpoch,
    epochs_run: res.epochsRun,
    stopped_early: res.stoppedEarly,
    cancelled: res.cancelled,
    preset,
    seed: res.seed,
    backend: res.backend,
    seconds: res.seconds,
    config: res.config,
    curves: res.curves.epochs,
  };
  const staged = await StagedOutput.create(out);
  const npyName = `${dataset.name}_emb_${res.hidden}.npy`;
  try {
    await staged.writeBytes(npyName, writeNpy(res.itemTable, [res.numItems, res.hidden]));
    await staged.writeText('metrics.json', [JSON.stringify(metrics, null, 2) + '\n']);
    await staged.commit();
  } catch (e) {
    await staged.abort();
    throw e;
  }
  const fmt = (m: Record<string, number>) => Object.entries(m).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ');
  ctx.stderr(`SASRec test (best epoch ${res.bestEpoch}): ${fmt(res.test)}`);
  ctx.stderr(`popularity test: ${fmt(res.baselines.popularity.test)}`);
  ctx.stderr(`wrote ${join(out, npyName)} (${res.numItems} × ${res.hidden}) and metrics.json`);
  if (res.cancelled) {
    ctx.stderr('interrupted: wrote the best table so far');
    return 130;
  }
  return 0;
}

