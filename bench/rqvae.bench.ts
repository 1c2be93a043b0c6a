/**
 * RQ-VAE tokenizer training speed: epoch time on 25,000 items × 256-d (single layout) and × 1024-d
 * (dual layout), batch 1024, plus the k-means codebook init on the first batch. Prints ONE JSON
 * object with medians over runs. Usage:
 *   npx tsx bench/rqvae.bench.ts [--backend wasm|cpu] [--items 25000] [--batch 1024] [--runs 3]
 *     [--layouts single,dual]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../src/core/backend.ts';
import { Rng } from '../src/core/rng.ts';
import { rqvaeTrainConfig, trainRqvae } from '../src/core/train/rqvae.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    items: { type: 'string', default: '25000' },
    batch: { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    layouts: { type: 'string', default: 'single,dual' },
  },
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;

const report = await selectBackend([values.backend as BackendName]);
const N = Number(values.items);
const batch = Number(values.batch);
const runs = Math.max(1, Number(values.runs));
const out: Record<string, unknown> = {
  bench: 'rqvae',
  backend: report.backend,
  items: N,
  batch,
  runs,
  note: 'epoch = one shuffled pass with AdamW steps (first epoch excluded: it holds k-means init and kernel warm-up); kmeans = init of all 3 levels on the first batch; eval = codes + stats for all items',
};

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
  const evals: number[] = [];
  let iters = 0;
  for (let r = 0; r < runs; r++) {
    const cfg = rqvaeTrainConfig('paper', dim, { epochs: 2, batch_size: batch, eval_step: 1_000_000, seed: 1 + r });
    iters = cfg.kmeans_iters;
    const t0 = Date.now();
    const res = await trainRqvae(data, cfg, {});
    const total = (Date.now() - t0) / 1000;
    kms.push(res.kmeansSeconds);
    epochs.push(res.epochs[1].seconds);
    evals.push(total - res.epochs[0].seconds - res.epochs[1].seconds);
  }
  out[layout] = {
    in_dim: dim,
    kmeans_iters: iters,
    epoch_seconds: r3(median(epochs)),
    step_ms: r3((median(epochs) / Math.ceil(N / batch)) * 1000),
    kmeans_init_seconds: r3(median(kms)),
    eval_seconds: r3(median(evals)),
    epoch_seconds_runs: epochs.map(r3),
  };
}
out.tensors_after = tf.memory().numTensors;
console.log(JSON.stringify(out));
