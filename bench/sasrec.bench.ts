/**
 * Stage `sasrec_step`: SASRec training-step throughput on the paper's Instrument shapes (24,587
 * items, L = 50, synthetic histories) at the paper model configuration (hidden 256, inner 256,
 * 4 layers, 4 heads, batch 2048 accumulated in micro-batches of the config's micro_batch_size, which
 * keeps wasm inside its 4 GiB heap). Prints ONE JSON object on stdout. Usage:
 *   npx tsx bench/sasrec.bench.ts [--backend wasm|cpu|webgpu] [--batch 2048] [--micro 256] [--runs 3]
 *     [--items 24587] [--no-last-position]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { SasrecModel, sasrecConfig } from '../src/core/models/sasrec.ts';
import { AdamW } from '../src/core/optim/adam.ts';
import { Rng } from '../src/core/rng.ts';
import { trainStep } from '../src/core/train/sasrec.ts';
import { INSTRUMENT, MemoryPeak, emit, log, startBackend, stepSummary, syntheticSamples } from './common.ts';
import { sasrecTrainStepFlops } from './flops.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '2048' },
    micro: { type: 'string' },
    runs: { type: 'string', default: '3' },
    items: { type: 'string', default: String(INSTRUMENT.items) },
    'no-last-position': { type: 'boolean', default: false },
  },
});

const batch = Number(values.batch);
const runs = Math.max(1, Number(values.runs));
const N = Number(values.items);
const paper = sasrecConfig('paper');
const cfg = sasrecConfig('paper', {
  train_batch_size: batch,
  micro_batch_size: values.micro ? Number(values.micro) : Math.min(paper.micro_batch_size, batch),
  last_position_only: !values['no-last-position'],
});

const report = await startBackend(String(values.backend));
const L = cfg.MAX_ITEM_LIST_LENGTH;
const s = syntheticSamples(batch, N, new Rng(1), L);
const rows = Int32Array.from({ length: batch }, (_, i) => i);
const model = new SasrecModel(N, cfg, new Rng(2));
const opt = new AdamW(model.params.trainable().values(), { lr: cfg.learning_rate });
const dropoutRng = new Rng(3);
const mem = new MemoryPeak();

async function timedStep(): Promise<{ ms: number; loss: number }> {
  const t = performance.now();
  const loss = trainStep(model, opt, s, rows, dropoutRng);
  const v = (await loss.data())[0];
  loss.dispose();
  mem.sample();
  return { ms: performance.now() - t, loss: v };
}

const first = await timedStep();
log(`sasrec first step ${first.ms.toFixed(0)} ms`);
const tensors: number[] = [tf.memory().numTensors];
const times: number[] = [];
let lastLoss = first.loss;
for (let i = 0; i < runs; i++) {
  const r = await timedStep();
  times.push(r.ms);
  tensors.push(tf.memory().numTensors);
  lastLoss = r.loss;
  log(`sasrec step ${i + 1}/${runs} ${r.ms.toFixed(0)} ms`);
}

emit({
  backend: report.backend,
  ...(report.adapter ? { adapter: report.adapter } : {}),
  ...stepSummary(first.ms, times, batch, sasrecTrainStepFlops(batch, L, cfg.hidden_size, cfg.inner_size, cfg.n_layers, N)),
  ...mem.result(),
  tensors_per_step: tensors,
  tensors_flat: tensors.every((n) => n === tensors[0]),
  shapes: { items: N, max_len: L, synthetic: true },
  model: { hidden: cfg.hidden_size, inner: cfg.inner_size, layers: cfg.n_layers, heads: cfg.n_heads, params: model.params.numParams() },
  batch,
  micro_batch: cfg.micro_batch_size,
  micro_batch_note: 'gradients accumulated over micro-batches (exact); the micro-batch bounds peak memory (wasm heap ≤ 4 GiB)',
  last_position_only: cfg.last_position_only,
  loss_first: first.loss,
  loss_last: lastLoss,
});
opt.dispose();
model.dispose();
