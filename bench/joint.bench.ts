/**
 * Joint ETEGRec throughput on Beauty-sized shapes (12,101 items, semantic 256, histories 1..50
 * items = up to 200 encoder tokens) at the paper model configuration (T5 6+6 layers, d_model 128,
 * RQ-VAE 256→512→256→128, 3 × 256 codes): training samples/s of a tokenizer epoch and of a
 * recommender epoch (one batch each is one step), and beam-search evaluation users/s (beam 20,
 * return 10). Prints ONE JSON object. Usage:
 *   npx tsx bench/joint.bench.ts [--backend wasm|cpu] [--batch 32] [--micro 16] [--steps 3]
 *     [--eval-users 32] [--items 12101] [--max-history 50]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../src/core/backend.ts';
import { RQVAE_SINGLE, Rqvae } from '../src/core/models/rqvae.ts';
import { Rng } from '../src/core/rng.ts';
import { trainJoint } from '../src/core/train/joint.ts';
import { jointTrainConfig } from '../src/core/train/jointSchedule.ts';
import type { JointData, JointSamples } from '../src/core/train/jointTypes.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '32' },
    micro: { type: 'string', default: '16' },
    steps: { type: 'string', default: '3' },
    'eval-users': { type: 'string', default: '32' },
    items: { type: 'string', default: '12101' },
    'max-history': { type: 'string', default: '50' },
  },
});

const backend = values.backend as BackendName;
const batch = Number(values.batch);
const steps = Math.max(1, Number(values.steps));
const N = Number(values.items);
const evalUsers = Number(values['eval-users']);
const report = await selectBackend([backend]);
const rng = new Rng(1);
const L = 50;

function samples(count: number): JointSamples {
  const s: JointSamples = { count, L, histories: new Int32Array(count * L), lens: new Int32Array(count), targets: new Int32Array(count) };
  for (let i = 0; i < count; i++) {
    const len = 1 + rng.int(L);
    s.lens[i] = len;
    for (let j = 0; j < len; j++) s.histories[i * L + j] = 1 + rng.int(N);
    s.targets[i] = 1 + rng.int(N);
  }
  return s;
}

// One warm-up batch + `steps` timed batches per epoch.
const data: JointData = {
  numItems: N,
  semantic: rng.normalArray(N * 256, 0.5),
  semanticDim: 256,
  train: samples(batch * (steps + 1)),
  valid: samples(evalUsers),
  test: samples(evalUsers),
};
const tok = new Rqvae(RQVAE_SINGLE, 3);
const tokState = await tok.params.stateDict();
tok.dispose();

const config = jointTrainConfig('paper', {
  epochs: 2,
  batch_size: batch,
  micro_batch_size: Math.min(batch, Number(values.micro)),
  warm_epoch: 0,
  eval_step: 2,
  max_history: Number(values['max-history']),
  finetune: { epochs: 0 },
});

interface PhaseTimes {
  stamps: number[];
  tensors: number[];
}
const phases = new Map<string, PhaseTimes>();
let evalStart = 0;
let evalEnd = 0;
const t0 = performance.now();
await trainJoint(data, config, {
  tokenizer: { state: tokState, config: RQVAE_SINGLE },
  maxEpochs: 2,
  onEvent: (e) => {
    if (e.type === 'progress' && e.unit === 'batches') {
      const key = e.phase.includes('(tokenizer)') ? 'tokenizer' : 'recommender';
      const p = phases.get(key) ?? { stamps: [], tensors: [] };
      p.stamps.push(performance.now());
      p.tensors.push(tf.memory().numTensors);
      phases.set(key, p);
    }
    if (e.type === 'phase' && e.phase.includes('valid beam search')) evalStart = performance.now();
    if (e.type === 'progress' && e.unit === 'users' && e.done === e.total) evalEnd = performance.now();
  },
});
const total = (performance.now() - t0) / 1000;

function summary(p: PhaseTimes | undefined) {
  if (!p || p.stamps.length < 2) return null;
  const d = p.stamps.slice(1).map((t, i) => t - p.stamps[i]);
  const sorted = [...d].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return {
    median_step_ms: Math.round(median),
    step_ms: d.map(Math.round),
    samples_per_s: Number(((batch * 1000) / median).toFixed(2)),
    tensors_per_step: p.tensors,
    tensors_flat: p.tensors.slice(1).every((n) => n === p.tensors[1]),
  };
}

console.log(
  JSON.stringify({
    bench: 'joint',
    backend: report.backend,
    items: N,
    max_history: config.max_history,
    t5: config.t5,
    batch,
    micro_batch: config.micro_batch_size,
    tokenizer_epoch_step: summary(phases.get('tokenizer')),
    recommender_epoch_step: summary(phases.get('recommender')),
    eval: {
      users: evalUsers,
      beams: config.num_beams,
      seconds: Number(((evalEnd - evalStart) / 1000).toFixed(2)),
      users_per_s: Number(((evalUsers * 1000) / Math.max(1, evalEnd - evalStart)).toFixed(2)),
    },
    total_seconds: Number(total.toFixed(1)),
  }),
);
