/**
 * `etegrec rqvae`: pretrains the RQ-VAE tokenizer (spec §4) on item embeddings and writes the
 * best-collision tokenizer (reference keys, safetensors), the item → code table and metrics.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { selectBackend, type BackendName } from '../core/backend.ts';
import { buildDualInput } from '../core/embeddings/dual.ts';
import { tableFromNpy } from '../core/embeddings/importTable.ts';
import { StudioError } from '../core/errors.ts';
import type { ProgressSink } from '../core/events.ts';
import { parseNpy } from '../core/io/npy.ts';
import { buildCodeTable, writeCodeJson } from '../core/tokenizer/codes.ts';
import { exportRqvaeSafetensors } from '../core/tokenizer/stateDict.ts';
import { RQVAE_PRESETS, trainRqvae, type RqvaePresetName, type RqvaeSnapshot } from '../core/train/rqvae.ts';
import type { StageDecl } from '../core/stages/fields.ts';
import { tokenizerStage } from '../core/stages/tokenizer.ts';
import { stageConfigFromArgs, stageFlagsHelp, stageOptions } from './stageFlags.ts';
import { UsageError, type Command, type CommandContext, type ParsedArgs } from './command.ts';
import { checkOutputDir, StagedOutput } from './io.ts';
import { stderrProgress } from './progress.ts';

const USAGE = `Usage: etegrec rqvae --data <prepared dir> --emb <collab.npy> --out <dir> [options]

Pretrains the RQ-VAE item tokenizer (spec §4) and writes, from the best-collision evaluation:
  tokenizer.safetensors  reference state-dict keys and shapes (PyTorch [out, in] linear layout)
  code.json              N+1 rows [c1, c2, c3, suffix], row 0 = [-1, -1, -1, -1]
  metrics.json           collision_rate (before the suffix), gini {per_level, mean}, usage, curves

Options:
  --data <dir>           prepared dataset directory (its <name>.emb_map.json gives N)
  --emb <file.npy>       collaborative embeddings, N or N+1 (PAD) rows
  --text-emb <file.npy>  text embeddings: the input becomes [collab ‖ text] (dual layout at 1024-d)
  --out <dir>            output directory
  --preset <p>           quick|paper (default quick)
  --forge                apply the fork's FORGE rewrite of level 3 in code.json (off: official algorithm)
  --backend <b>          wasm|cpu (default wasm)
  --quiet                only warnings and errors on stderr
  -h, --help             show this help

${stageFlagsHelp(tokenizerStage(256) as StageDecl<object>, 'quick')}
(the layout values shown are the 256-d single layout's; a 1024-d [collab ‖ text] input uses the
dual layout: layers 1024,512,256, batch 2048, 500 k-means iterations)
`;

const OWN_OPTIONS = {
  data: { type: 'string' },
  emb: { type: 'string' },
  'text-emb': { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  forge: { type: 'boolean' },
  backend: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;
const OWN = Object.keys(OWN_OPTIONS);
const OPTIONS = { ...stageOptions(tokenizerStage(256) as StageDecl<object>, OWN), ...OWN_OPTIONS };

async function readItemCount(dir: string): Promise<{ n: number | null; name: string | null }> {
  const names = await readdir(dir).catch(() => {
    throw new StudioError({ code: 'not_found', file: dir, message: 'No such directory' });
  });
  const map = names.filter((n) => n.endsWith('.emb_map.json')).sort();
  if (!map.length) return { n: null, name: null };
  const file = join(dir, map[0]);
  let obj: unknown;
  try {
    obj = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new StudioError({ code: 'malformed_input', file, message: `Not valid JSON: ${(e as Error).message}` });
  }
  if (!obj || typeof obj !== 'object' || (obj as Record<string, unknown>)['[PAD]'] !== 0) {
    throw new StudioError({ code: 'malformed_input', file, message: 'Expected {"[PAD]": 0, "<item>": id, …}' });
  }
  return { n: Object.keys(obj).length - 1, name: map[0].replace(/\.emb_map\.json$/, '') };
}

function snapSummary(s: RqvaeSnapshot) {
  return { epoch: s.epoch + 1, loss: s.loss, collision_rate: s.collisionRate, gini_mean: s.giniMean };
}

async function runRqvae(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const v = args.values;
  const data = v.data as string | undefined;
  const emb = v.emb as string | undefined;
  const textEmb = v['text-emb'] as string | undefined;
  const out = v.out as string | undefined;
  if (out) await checkOutputDir(out);
  if (!data) throw new UsageError('--data <prepared dir> is required');
  if (!emb) throw new UsageError('--emb <collab.npy> is required');
  if (!out) throw new UsageError('--out <dir> is required');
  const preset = (v.preset ?? 'quick') as string;
  if (preset !== 'quick' && preset !== 'paper') throw new UsageError(`--preset must be quick or paper, got "${preset}"`);
  const backend = (v.backend ?? 'wasm') as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new UsageError(`--backend must be wasm or cpu, got "${backend}"`);

  const { n: mapN, name } = await readItemCount(data);
  const readNpy = async (p: string) => {
    try {
      return new Uint8Array(await readFile(p));
    } catch {
      throw new StudioError({ code: 'not_found', file: p, message: 'No such file' });
    }
  };
  const embBytes = await readNpy(emb);
  let n = mapN;
  if (n === null) {
    n = parseNpy(embBytes, basename(emb)).shape[0];
    ctx.stderr(`warning: no .emb_map.json in ${data}; taking N = ${n} from ${basename(emb)}`);
  }
  let table = tableFromNpy(embBytes, basename(emb), n, 'collab');
  if (textEmb) {
    const text = tableFromNpy(await readNpy(textEmb), basename(textEmb), n, 'text');
    table = buildDualInput(table, text, { normalize: false });
  }
  const config = stageConfigFromArgs(tokenizerStage(table.cols), preset, v, {}, OWN);
  if (config.in_dim !== table.cols) throw new UsageError(`--in_dim ${config.in_dim} does not match the ${table.cols}-d input table`);
  if (table.cols !== 256 && table.cols !== 1024) {
    ctx.stderr(`warning: ${table.cols}-d input: using the single layout with in_dim ${table.cols} (reference widths are 256 or 1024)`);
  }

  const progress = stderrProgress(v.quiet === true);
  // Per-epoch metrics would flood a terminal; evaluations get one summary line each.
  const sink: ProgressSink = (e) => {
    if (e.type !== 'metric') progress(e);
  };
  const report = await selectBackend([backend as BackendName]);
  sink({ type: 'log', stage: 'rqvae', level: 'info', message: `backend ${report.backend}, preset ${preset}, ${n} items × ${table.cols}` });
  const res = await trainRqvae(table.data, config, {
    signal: ctx.signal,
    onEvent: sink,
    onEval: (r) => {
      if (v.quiet !== true) {
        sink({ type: 'log', stage: 'rqvae', level: 'info', message: `epoch ${r.epoch + 1}: loss ${r.loss.toFixed(4)}, collision ${r.stats.collisionRate.toFixed(4)}, gini ${r.stats.gini.mean.toFixed(4)}, codes used ${r.stats.levels.map((l) => l.codesUsed).join('/')}` });
      }
    },
  });
  progress.end();

  const chosen = res.best.collision;
  const table4 = buildCodeTable(chosen.codes, n, { forge: v.forge === true });
  if (table4.suffixOverflow) ctx.stderr(`warning: the de-dup suffix reaches ${table4.maxSuffix} (≥ 256 codes): the reference would fail at lookup`);
  const s = chosen.stats;
  const metrics = {
    collision_rate: s.collisionRate,
    gini: s.gini,
    checkpoint: 'best_collision',
    epoch: chosen.epoch + 1,
    loss: chosen.loss,
    distinct_tuples: s.distinctTuples,
    largest_collision_group: s.largestCollisionGroup,
    max_suffix: table4.maxSuffix,
    forge: v.forge === true,
    levels: s.levels.map((l) => ({ codes_used: l.codesUsed, dead_codes: l.deadCodes, entropy_bits: l.entropy, perplexity: l.perplexity, gini: l.gini, max_count: l.maxCount })),
    best: { collision: snapSummary(res.best.collision), gini: snapSummary(res.best.gini), loss: snapSummary(res.best.loss) },
    final: { ...snapSummary(res.final), gini: res.final.stats.gini },
    items: n,
    in_dim: table.cols,
    epochs_run: res.epochsRun,
    stopped_early: res.stoppedEarly,
    cancelled: res.cancelled,
    preset,
    provenance: RQVAE_PRESETS[preset as RqvaePresetName].provenance,
    seed: res.seed,
    backend: res.backend,
    seconds: res.seconds,
    kmeans_seconds: res.kmeansSeconds,
    config: res.config,
    curves: res.epochs,
    evals: res.evals.map((e) => ({ epoch: e.epoch + 1, loss: e.loss, lr: e.lr, collision_rate: e.stats.collisionRate, gini: e.stats.gini, codes_used: e.stats.levels.map((l) => l.codesUsed) })),
  };
  const staged = await StagedOutput.create(out);
  try {
    await staged.writeBytes('tokenizer.safetensors', exportRqvaeSafetensors(chosen.state, res.config, {
      dataset: name ?? '',
      checkpoint: 'best_collision',
      epoch: String(chosen.epoch + 1),
      collision_rate: chosen.collisionRate.toFixed(6),
      gini_mean: chosen.giniMean.toFixed(6),
      seed: String(res.seed),
    }));
    await staged.writeText('code.json', [writeCodeJson(table4.codes)]);
    await staged.writeText('metrics.json', [JSON.stringify(metrics, null, 2) + '\n']);
    await staged.commit();
  } catch (e) {
    await staged.abort();
    throw e;
  }
  ctx.stderr(`best collision ${s.collisionRate.toFixed(4)} at epoch ${chosen.epoch + 1}, gini ${s.gini.mean.toFixed(4)} (${s.gini.per_level.map((g) => g.toFixed(3)).join(', ')})`);
  ctx.stderr(`wrote tokenizer.safetensors, code.json (${n + 1} rows) and metrics.json to ${out}`);
  if (res.cancelled) {
    ctx.stderr('interrupted: wrote the best snapshot so far');
    return 130;
  }
  return 0;
}


/** Entry in the CLI command table (src/cli/main.ts). */
export const rqvaeCommand: Command = {
  name: 'rqvae',
  summary: 'pretrain the RQ-VAE item tokenizer on an embedding table (tokenizer.safetensors, code.json)',
  usage: USAGE,
  options: OPTIONS,
  run: runRqvae,
};
