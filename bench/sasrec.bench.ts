/**
 * SASRec training throughput on Beauty-sized shapes (12,101 items, L = 50) at the paper model
 * configuration (hidden 256, 4 layers, 4 heads, batch 2048 accumulated in micro-batches).
 * Prints ONE JSON object. Usage:
 *   npx tsx bench/sasrec.bench.ts [--backend wasm|cpu] [--batch 2048] [--micro 256] [--steps 3]
 *     [--warmup 1] [--items 12101] [--no-last-position]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../src/core/backend.ts';
import { SasrecModel, sasrecConfig } from '../src/core/models/sasrec.ts';
import { AdamW } from '../src/core/optim/adam.ts';
import { Rng } from '../src/core/rng.ts';
import { registerWasmUnsortedSegmentSum } from '../src/core/tfjs/wasmSegmentSum.ts';
import { trainStep, type SampleArrays } from '../src/core/train/sasrec.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '2048' },
    micro: { type: 'string' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    items: { type: 'string', default: '12101' },
    'no-last-position': { type: 'boolean', default: false },
  },
});

const backend = values.backend as BackendName;
const batch = Number(values.batch);
const steps = Number(values.steps);
const warmup = Math.max(1, Number(values.warmup));
const N = Number(values.items);
const paper = sasrecConfig('paper');
const cfg = sasrecConfig('paper', {
  train_batch_size: batch,
  micro_batch_size: values.micro ? Number(values.micro) : Math.min(paper.micro_batch_size, batch),
  last_position_only: !values['no-last-position'],
});

const report = await selectBackend([backend]);
registerWasmUnsortedSegmentSum();
const L = cfg.MAX_ITEM_LIST_LENGTH;
const rng = new Rng(1);

// Synthetic samples: random items, lengths 1..L (every batch is padded to L anyway).
const count = batch;
const s: SampleArrays = { count, L, histories: new Int32Array(count * L), lens: new Int32Array(count), targets: new Int32Array(count) };
for (let i = 0; i < count; i++) {
  const len = 1 + rng.int(L);
  s.lens[i] = len;
  for (let j = 0; j < len; j++) s.histories[i * L + j] = 1 + rng.int(N);
  s.targets[i] = 1 + rng.int(N);
}
const rows = Int32Array.from({ length: count }, (_, i) => i);

const model = new SasrecModel(N, cfg, new Rng(2));
const opt = new AdamW(model.params.trainable().values(), { lr: cfg.learning_rate });
const dropoutRng = new Rng(3);

async function timedStep(): Promise<{ ms: number; loss: number }> {
  const t = performance.now();
  const loss = trainStep(model, opt, s, rows, dropoutRng);
  const v = (await loss.data())[0];
  loss.dispose();
  return { ms: performance.now() - t, loss: v };
}

const first = await timedStep();
for (let i = 1; i < warmup; i++) await timedStep();
const tensorsBefore = tf.memory().numTensors;
const times: number[] = [];
let lastLoss = first.loss;
for (let i = 0; i < steps; i++) {
  const r = await timedStep();
  times.push(r.ms);
  lastLoss = r.loss;
}
const tensorsAfter = tf.memory().numTensors;
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];

console.log(
  JSON.stringify({
    bench: 'sasrec_train',
    backend: report.backend,
    items: N,
    max_len: L,
    hidden: cfg.hidden_size,
    layers: cfg.n_layers,
    heads: cfg.n_heads,
    batch,
    micro_batch: cfg.micro_batch_size,
    last_position_only: cfg.last_position_only,
    params: model.params.numParams(),
    first_step_ms: Math.round(first.ms),
    median_step_ms: Math.round(median),
    step_ms: times.map(Math.round),
    sequences_per_s: Number(((batch * 1000) / median).toFixed(1)),
    loss_first: first.loss,
    loss_last: lastLoss,
    tensors_before: tensorsBefore,
    tensors_after: tensorsAfter,
  }),
);
opt.dispose();
model.dispose();
