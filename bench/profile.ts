/**
 * Per-kernel time profile (tf.profile) of a short joint ETEGRec run at the paper (or quick) model
 * configuration on Instrument-shaped synthetic data: one tokenizer epoch and one recommender epoch
 * of `--batches` batches, then the validation beam search over `--eval-users` users. Prints ONE
 * JSON object: per kernel name the total ms, share of the profiled time, and call count, sorted.
 *   npx tsx bench/profile.ts [--backend wasm|cpu|webgpu] [--batch 8] [--batches 2] [--eval-users 4]
 *     [--top 20] [--preset paper|quick]   (env ETEGREC_WASM_STOCK_MATMUL=1: stock tfjs batched matMul; PROFILE_SHAPES=1: also
 *     one row per BatchMatMul input-shape pair)
 * Nested custom-gradient scopes ("unnamed scope", "forward") include their inner kernels, so shares
 * overlap; the flat kernel rows are what to compare.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { RQVAE_SINGLE, Rqvae } from '../src/core/models/rqvae.ts';
import { Rng } from '../src/core/rng.ts';
import { trainJoint } from '../src/core/train/joint.ts';
import { jointTrainConfig } from '../src/core/train/jointSchedule.ts';
import type { JointData } from '../src/core/train/jointTypes.ts';
import { INSTRUMENT, emit, log, round, startBackend, syntheticSamples } from './common.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '8' },
    batches: { type: 'string', default: '2' },
    'eval-users': { type: 'string', default: '4' },
    top: { type: 'string', default: '20' },
    preset: { type: 'string', default: 'paper' },
  },
});
const batch = Number(values.batch);
await startBackend(String(values.backend));
const rng = new Rng(1);
const N = INSTRUMENT.items;
const SEM = 256;
const data: JointData = {
  numItems: N,
  semantic: rng.normalArray(N * SEM, 0.5),
  semanticDim: SEM,
  train: syntheticSamples(batch * Number(values.batches), N, rng, INSTRUMENT.maxHistory),
  valid: syntheticSamples(Number(values['eval-users']), N, rng, INSTRUMENT.maxHistory),
  test: syntheticSamples(1, N, rng, INSTRUMENT.maxHistory),
};
const tok = new Rqvae(RQVAE_SINGLE, 3);
const tokState = await tok.params.stateDict();
tok.dispose();
const preset = values.preset === 'quick' ? 'quick' : 'paper';
const config = jointTrainConfig(preset, {
  epochs: 2,
  batch_size: batch,
  micro_batch_size: batch,
  warm_epoch: 0,
  eval_step: 2,
  finetune: { epochs: 0 },
});

const t0 = performance.now();
const info = await tf.profile(async () => {
  await trainJoint(data, config, { tokenizer: { state: tokState, config: RQVAE_SINGLE }, maxEpochs: 2, onEvent: () => {} });
  return [] as tf.Tensor[];
});
const wallMs = performance.now() - t0;
const byKernel = new Map<string, { ms: number; calls: number }>();
let profiledMs = 0;
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  profiledMs += ms;
  if (process.env.PROFILE_SHAPES && k.name === 'BatchMatMul') {
    const key = `BMM ${JSON.stringify(k.inputShapes)}`;
    const s = byKernel.get(key) ?? { ms: 0, calls: 0 };
    s.ms += ms;
    s.calls++;
    byKernel.set(key, s);
  }
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += ms;
  e.calls++;
  byKernel.set(k.name, e);
}
const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top));
for (const [name, e] of rows) log(`${name.padEnd(24)} ${e.ms.toFixed(0).padStart(8)} ms  ${((100 * e.ms) / profiledMs).toFixed(1).padStart(5)} %  ${e.calls} calls`);
emit({
  wall_ms: round(wallMs, 0),
  profiled_kernel_ms: round(profiledMs, 0),
  kernels: Object.fromEntries(rows.map(([n, e]) => [n, { ms: round(e.ms, 1), share: round(e.ms / profiledMs, 4), calls: e.calls }])),
});
