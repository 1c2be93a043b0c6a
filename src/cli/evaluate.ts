/**
 * `etegrec evaluate`: scores a trained recommender bundle on a split — Recall/NDCG by beam search,
 * the invalid-code rate, what the lists look like (distinct top-1 items and top-10 lists, coverage,
 * overlap with popularity) and the history-shuffle test — and warns when the model has collapsed.
 */
import { selectBackend, type BackendName } from '../core/backend.ts';
import { collapseReasons, popularityTopK } from '../core/eval/diagnostics.ts';
import { evaluateSplit } from '../core/eval/evaluateSplit.ts';
import type { ProgressSink } from '../core/events.ts';
import { readCheckpointFiles } from '../core/io/referenceLayout.ts';
import { EtegrecRecommender } from '../core/models/recommender.ts';
import { StudioError } from '../core/errors.ts';
import { jointSamples, trainCountsFromSamples } from '../core/train/jointData.ts';
import { UsageError, intOption, type Command, type CommandContext, type ParsedArgs } from './command.ts';
import { loadPreparedDir, modifiedTimes, readBundleDir } from './io.ts';
import { stderrProgress } from './progress.ts';

const USAGE = `Usage: etegrec evaluate --data <prepared dir> --checkpoint <bundle dir> [options]

Scores a trained recommender (an etegrec train / pipeline / grpo output directory, or the reference
<epoch>.pt + .pt.rqvae + .code.json files) on a split and prints one JSON object on stdout:
  metrics      recall@1/5/10, ndcg@5/10 (exact 4-token match, beam search)
  invalid_rate share of generated codes that match no item
  diagnostics  distinct top-1 items and top-10 lists, coverage@10, share of users with the most
               common top-10, overlap@10 with the popularity top-10, and the history-shuffle test
               (code cross-entropy with real vs permuted histories, per level, and the gap in nats)
A warning goes to stderr when the model looks collapsed (one list for most users, or a shuffle gap
below 0.02 nats).

Options:
  --data <dir>          prepared dataset directory (etegrec prepare)
  --checkpoint <dir>    bundle directory (etegrec train), or a reference run folder (<epoch>.pt + .pt.rqvae
                        + .code.json, the newest epoch, and its config YAML)
  --split <s>           test|valid (default test)
  --beams <n>           beam width (default: the bundle's num_beams, else 20)
  --batch <n>           users per beam-search batch (default 64)
  --limit <n>           only the first n users of the split (0 = all, default)
  --constrained         trie-constrained beam search (only codes of real items)
  --seed <s>            seed of the history permutation (default 2020)
  --backend <b>         wasm|cpu (default wasm)
  --quiet               only warnings and errors on stderr
  -h, --help            show this help
`;

const OPTIONS = {
  data: { type: 'string' },
  checkpoint: { type: 'string' },
  split: { type: 'string' },
  beams: { type: 'string' },
  batch: { type: 'string' },
  limit: { type: 'string' },
  constrained: { type: 'boolean' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

async function runEvaluate(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const v = args.values;
  const data = v.data as string | undefined;
  const ckpt = v.checkpoint as string | undefined;
  if (!data) throw new UsageError('--data <prepared dir> is required');
  if (!ckpt) throw new UsageError('--checkpoint <bundle dir> is required');
  const split = (v.split ?? 'test') as string;
  if (split !== 'test' && split !== 'valid') throw new UsageError(`--split must be test or valid, got "${split}"`);
  const backend = (v.backend ?? 'wasm') as string;
  if (backend !== 'wasm' && backend !== 'cpu') throw new UsageError(`--backend must be wasm or cpu, got "${backend}"`);
  const progress = stderrProgress(v.quiet === true);
  const sink: ProgressSink = (e) => {
    if (e.type !== 'metric') progress(e);
  };
  const bundle = readCheckpointFiles(await readBundleDir(ckpt), { fileName: ckpt, modified: await modifiedTimes(ckpt) });
  const dataset = await loadPreparedDir(data, 50, ctx, sink);
  const N = dataset.itemIds.length;
  const rc = bundle.recommenderConfig;
  if (rc.n_items_plus_pad !== N + 1) {
    throw new StudioError({ code: 'bad_option', file: ckpt, message: `the checkpoint was trained on ${rc.n_items_plus_pad - 1} items, the dataset in ${data} has ${N}` });
  }
  const beams = intOption(v.beams, 'beams', bundle.config?.num_beams ?? 20, 1);
  const returnCount = Math.min(beams, bundle.config?.return_beams ?? 10);
  const maxHistory = bundle.config?.max_history ?? 50;
  const samples = jointSamples(dataset, split, maxHistory);
  const popularTop = popularityTopK(trainCountsFromSamples(jointSamples(dataset, 'train'), N), 10);
  const report = await selectBackend([backend as BackendName]);
  const model = new EtegrecRecommender(rc, 0);
  try {
    model.loadStateDict(bundle.recommender);
    const limit = intOption(v.limit, 'limit', 0, 0);
    const t0 = Date.now();
    const res = await evaluateSplit(model, bundle.codes, samples, {
      beams,
      returnCount,
      batchSize: intOption(v.batch, 'batch', 64, 1),
      constrained: v.constrained === true,
      lengthBucket: bundle.config?.length_bucket ?? 10,
      limit: limit || undefined,
      popularTop,
      split,
      shuffleSeed: intOption(v.seed, 'seed', 2020, 0),
      signal: ctx.signal,
      onBatch: (done, total) => sink({ type: 'progress', stage: 'joint', phase: `${split} beam search`, done, total, unit: 'users' }),
      onShuffleTest: () => sink({ type: 'phase', stage: 'joint', phase: 'history-shuffle test' }),
    });
    progress.end();
    for (const reason of collapseReasons(res.diagnostics)) ctx.stderr(`warning: collapsed model? ${reason}`);
    const out = {
      split,
      users: res.count,
      beams,
      backend: report.backend,
      metrics: res.metrics,
      invalid_rate: res.invalidRate,
      diagnostics: res.diagnostics,
      popularity_top10: popularTop,
      seconds: (Date.now() - t0) / 1000,
    };
    ctx.stdout(JSON.stringify(out, null, 2));
  } finally {
    model.dispose();
  }
  return 0;
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'score a trained bundle: Recall/NDCG, invalid codes, list diagnostics, history-shuffle test (JSON)',
  usage: USAGE,
  options: OPTIONS,
  run: runEvaluate,
};
