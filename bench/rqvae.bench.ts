/**
 * Stage `rqvae_epoch`: RQ-VAE tokenizer training on the paper's Instrument shapes (24,587 items ×
 * 256-d synthetic clustered embeddings; `--layouts single,dual` adds the 1024-d dual layout) at the
 * paper configuration (256→512→256→128, 3 × 256 codes, batch 1024 / 2048 dual). Per run: two epochs
 * with trainRqvae; the first holds the k-means codebook init and kernel warm-up and is reported as
 * first_step_ms (per batch), the second is the steady-state epoch. Medians over --runs. Prints ONE
 * JSON object on stdout. Usage:
 *   npx tsx bench/rqvae.bench.ts [--backend wasm|cpu|webgpu] [--items 24587] [--batch 1024] [--runs 3]
 *     [--layouts single]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/core/rng.ts';
import { rqvaeTrainConfig, trainRqvae } from '../src/core/train/rqvae.ts';
import { INSTRUMENT, MemoryPeak, emit, log, median, round, startBackend, stepSummary } from './common.ts';
import { rqvaeTrainStepFlops } from './flops.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    items: { type: 'string', default: String(INSTRUMENT.items) },
    batch: { type: 'string' },
    runs: { type: 'string', default: '3' },
    layouts: { type: 'string', default: 'single' },
  },
});

const report = await startBackend(String(values.backend));
const N = Number(values.items);
const runs = Math.max(1, Number(values.runs));
const mem = new MemoryPeak();
const layouts: Record<string, unknown> = {};
let main: Record<string, unknown> = {};
const tensors: number[] = [];

for (const layout of String(values.layouts).split(',')) {
  const dim = layout === 'dual' ? 1024 : 256;
  const rng = new Rng(7);
  // clustered synthetic embeddings so k-means does real work
  const centres = rng.normalArray(500 * dim, 1);
  const data = new Float32Array(N * dim);
  for (let i = 0; i < N; i++) {
    const c = rng.int(500);
    for (let t = 0; t < dim; t++) data[i * dim + t] = centres[c * dim + t] + 0.3 * rng.normal();
  }
  const kms: number[] = [];
  const epochs: number[] = [];
  const firsts: number[] = [];
  let cfg = rqvaeTrainConfig('paper', dim);
  const batch = values.batch ? Number(values.batch) : cfg.batch_size;
  for (let r = 0; r < runs; r++) {
    cfg = rqvaeTrainConfig('paper', dim, { epochs: 2, batch_size: batch, eval_step: 1_000_000, seed: 1 + r });
    const res = await trainRqvae(data, cfg, {});
    mem.sample();
    tensors.push(tf.memory().numTensors);
    kms.push(res.kmeansSeconds);
    firsts.push(res.epochs[0].seconds);
    epochs.push(res.epochs[1].seconds);
    log(`rqvae ${layout} run ${r + 1}/${runs}: epoch ${res.epochs[1].seconds.toFixed(2)} s (first ${res.epochs[0].seconds.toFixed(2)} s, k-means ${res.kmeansSeconds.toFixed(2)} s)`);
  }
  const steps = Math.ceil(N / batch);
  const widths = [dim, ...cfg.layers, cfg.e_dim];
  // one step = one batch; the epoch's per-step median is epoch / steps (the last batch may be short)
  const stepMs = epochs.map((e) => (e / steps) * 1000);
  const summary = stepSummary(median(firsts) * 1000 / steps, stepMs, batch, rqvaeTrainStepFlops(batch, widths, cfg.num_emb_list.length, cfg.num_emb_list[0]));
  const entry = {
    ...summary,
    samples_per_s: round(N / median(epochs)),
    epoch_seconds: round(median(epochs), 3),
    first_epoch_seconds: round(median(firsts), 3),
    kmeans_init_seconds: round(median(kms), 3),
    kmeans_iters: cfg.kmeans_iters,
    steps_per_epoch: steps,
    epoch_seconds_runs: epochs.map((e) => round(e, 3)),
    in_dim: dim,
    widths,
    codebooks: `${cfg.num_emb_list.length} x ${cfg.num_emb_list[0]}`,
    batch,
  };
  layouts[layout] = entry;
  if (!Object.keys(main).length) main = entry;
}

emit({
  backend: report.backend,
  ...(report.adapter ? { adapter: report.adapter } : {}),
  ...main,
  ...mem.result(),
  tensors_per_run: tensors,
  tensors_flat: tensors.every((n) => n === tensors[0]),
  shapes: { items: N, synthetic: true },
  note: 'step = one AdamW batch; median_step_ms = steady epoch / batches; first_step_ms = first epoch (k-means init + warm-up) / batches; samples_per_s = items per steady epoch second',
  ...(Object.keys(layouts).length > 1 ? { layouts } : {}),
});
