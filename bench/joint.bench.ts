/**
 * Stages `joint_tok_step`, `joint_rec_step`, `beam_eval`: joint ETEGRec training through trainJoint
 * on the paper's Instrument shapes (24,587 items, semantic 256, synthetic histories of 1..50 items
 * = up to 200 encoder tokens, lengths distributed like Instrument's 339,519 training samples) at the
 * paper model configuration (T5 6+6 layers, d_model 128, 4 heads × d_kv 64, d_ff 512; RQ-VAE
 * 256→512→256→128, 3 × 256 codes; batch 512). Two epochs run: one tokenizer epoch and one
 * recommender epoch of `--runs + 1` batches each (the first batch = compile/warm-up, reported as
 * first_step_ms), then the validation beam search (beam 20, return 10) over `--eval-users` users.
 * One step = one batch of `--batch` samples, accumulated in micro-batches of `--micro` (default: the
 * paper preset's 64, which keeps wasm inside its 4 GiB heap; exact, see jointSchedule).
 * Prints ONE JSON object {joint_tok_step, joint_rec_step, beam_eval} on stdout. Usage:
 *   npx tsx bench/joint.bench.ts [--backend wasm|cpu|webgpu] [--batch 512] [--micro 64] [--runs 3]
 *     [--eval-users 200] [--items 24587] [--max-history 50]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { RQVAE_SINGLE, Rqvae } from '../src/core/models/rqvae.ts';
import { Rng } from '../src/core/rng.ts';
import { jointRecommenderConfig, trainJoint } from '../src/core/train/joint.ts';
import { jointTrainConfig } from '../src/core/train/jointSchedule.ts';
import type { JointData } from '../src/core/train/jointTypes.ts';
import { INSTRUMENT, MemoryPeak, emit, log, median, round, startBackend, stepSummary, syntheticSamples } from './common.ts';
import { t5TrainStepFlops } from './flops.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '512' },
    micro: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'eval-users': { type: 'string', default: '200' },
    items: { type: 'string', default: String(INSTRUMENT.items) },
    'max-history': { type: 'string', default: String(INSTRUMENT.maxHistory) },
  },
});

const batch = Number(values.batch);
const runs = Math.max(1, Number(values.runs));
const N = Number(values.items);
const evalUsers = Math.max(1, Number(values['eval-users']));
const report = await startBackend(String(values.backend));
const rng = new Rng(1);
const L = Number(values['max-history']);
const SEM = 256;

const train = syntheticSamples(batch * (runs + 1), N, rng, L);
const data: JointData = {
  numItems: N,
  semantic: rng.normalArray(N * SEM, 0.5),
  semanticDim: SEM,
  train,
  valid: syntheticSamples(evalUsers, N, rng, L),
  test: syntheticSamples(1, N, rng, L),
};
const tok = new Rqvae(RQVAE_SINGLE, 3);
const tokState = await tok.params.stateDict();
tok.dispose();

const paperMicro = jointTrainConfig('paper').micro_batch_size;
const config = jointTrainConfig('paper', {
  epochs: 2,
  batch_size: batch,
  micro_batch_size: Math.min(batch, values.micro ? Number(values.micro) : paperMicro),
  warm_epoch: 0,
  eval_step: 2,
  max_history: L,
  finetune: { epochs: 0 },
});
const rec = jointRecommenderConfig(config, N, SEM, RQVAE_SINGLE);

interface Phase {
  start: number;
  stamps: number[];
  /** process CPU seconds (user + system, all threads) at each stamp: steps compare on a loaded machine */
  cpu: number[];
  tensors: number[];
}
const phases = new Map<string, Phase>();
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const mem = new MemoryPeak();
let evalStart = 0;
let evalEnd = 0;
const t0 = performance.now();
process.on('uncaughtException', fail);
await trainJoint(data, config, {
  tokenizer: { state: tokState, config: RQVAE_SINGLE },
  maxEpochs: 2,
  onEvent: (e) => {
    const key = 'phase' in e && e.phase.includes('(tokenizer)') ? 'tokenizer' : 'recommender';
    if (e.type === 'phase' && /epoch/.test(e.phase) && !/beam/.test(e.phase)) {
      phases.set(key, { start: performance.now(), stamps: [], cpu: [], tensors: [] });
      log(e.phase);
    }
    if (e.type === 'progress' && e.unit === 'batches') {
      const p = phases.get(key);
      if (p) {
        p.stamps.push(performance.now());
        p.cpu.push(cpuSeconds());
        p.tensors.push(tf.memory().numTensors);
      }
      mem.sample();
      log(`${key} batch ${e.done}/${e.total}`);
    }
    if (e.type === 'phase' && e.phase.includes('valid beam search')) {
      evalStart = performance.now();
      log(e.phase);
    }
    if (e.type === 'progress' && e.unit === 'users') {
      mem.sample();
      if (e.done === e.total) evalEnd = performance.now();
    }
  },
}).catch(fail);
const total = (performance.now() - t0) / 1000;

/** A clear message for the known webgpu-in-Node failure: tfjs's synchronous readback needs OffscreenCanvas. */
function fail(e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  if (/OffscreenCanvas/.test(msg)) {
    const why =
      'trainJoint failed on webgpu in Node: a synchronous read (tensor.dataSync(), e.g. in JointRun.rebuildCodes) ' +
      'makes tfjs-backend-webgpu 4.22 use OffscreenCanvas, which Node lacks. The joint stages need async reads ' +
      '(await tensor.data()) in src/core/train/joint.ts to run on webgpu in Node; they do run in the browser.';
    log(why);
    emit({ error: why });
    process.exit(3);
  }
  log(`trainJoint failed: ${e instanceof Error ? (e.stack ?? msg) : msg}`);
  process.exit(1);
}

// useful FLOPs of an average recommender step (all train samples / number of batches)
const recFlops = t5TrainStepFlops(config.t5, train.lens, rec.code_length, rec.code_num, SEM) / (runs + 1);
const meanLen = train.lens.reduce((a, b) => a + b, 0) / train.count;

function summary(p: Phase | undefined, flops?: number) {
  if (!p || p.stamps.length < 2) return { error: 'phase did not run' };
  const steps = p.stamps.slice(1).map((t, i) => t - p.stamps[i]);
  const cpuMs = p.cpu.slice(1).map((c, i) => (c - p.cpu[i]) * 1000);
  const medCpu = median(cpuMs);
  return {
    ...stepSummary(p.stamps[0] - p.start, steps, batch, flops),
    median_step_cpu_ms: round(medCpu, 1),
    samples_per_cpu_s: round((batch * 1000) / medCpu),
    tensors_per_step: p.tensors,
    tensors_flat: p.tensors.slice(1).every((n) => n === p.tensors[1]),
  };
}

const memory = mem.result();
const common = {
  backend: report.backend,
  ...(report.adapter ? { adapter: report.adapter } : {}),
  batch,
  micro_batch: config.micro_batch_size,
  micro_batch_note: `paper batch 512 accumulated in micro-batches of ${config.micro_batch_size} (exact; bounds peak memory, wasm heap ≤ 4 GiB)`,
  shapes: { items: N, semantic_dim: SEM, max_history: L, mean_history: round(meanLen), synthetic: true, instrument: INSTRUMENT },
  t5: config.t5,
  ...memory,
  memory_note: 'peak over the whole joint run (both epochs and the beam search share one process)',
  total_seconds: round(total, 1),
};
const evalSeconds = (evalEnd - evalStart) / 1000;
emit({
  joint_tok_step: { ...summary(phases.get('tokenizer')), ...common, flops_note: 'tokenizer step FLOPs not counted' },
  joint_rec_step: {
    ...summary(phases.get('recommender'), recFlops),
    ...common,
    flops_note: 'useful FLOPs (unpadded): 3 × T5 forward (2·m·n·k per matmul), see bench/flops.ts',
  },
  beam_eval: {
    users: evalUsers,
    beams: config.num_beams,
    eval_batch: config.eval_batch_size,
    seconds: round(evalSeconds, 3),
    seconds_per_1000_users: round((evalSeconds * 1000) / evalUsers, 2),
    users_per_s: round(evalUsers / Math.max(1e-9, evalSeconds), 3),
    ...common,
  },
});
