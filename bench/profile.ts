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
 *
 * `--data <stages dir>` profiles a real dataset instead (the layout `etegrec pipeline` writes:
 * data/ = the prepared dataset, sasrec/*.npy = the semantic table, rqvae/tokenizer.safetensors) at
 * `--preset` (default quick there), with alignment on from epoch 0: one tokenizer epoch, one
 * recommender epoch, and the validation after it. Kernels are timed by a thin wrapper around every
 * registered kernel (tf.profile's bookkeeping would dominate at these small shapes), so the JSON also
 * says how much of each phase's wall time is outside kernels (op dispatch, gradient tape, host
 * work): per phase `wall_ms`, `kernel_ms`, `outside_kernel_ms`, `cpu_ms`, `kernel_calls`, and
 * `us_outside_per_call` (outside time / calls: the dispatch overhead per op, host work included).
 *   npx tsx bench/profile.ts --data /tmp/exp/pq3/stages [--top 25] [--backend wasm] [--micro N]
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { readTokenizerFile } from '../src/cli/tokenizerFile.ts';
import { loadPreparedDir } from '../src/cli/io.ts';
import { tableFromNpy } from '../src/core/embeddings/importTable.ts';
import { jointData } from '../src/core/train/jointData.ts';
import { wrapKernel, type KernelFn } from '../src/core/tfjs/wrapKernel.ts';
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
    preset: { type: 'string' },
    data: { type: 'string' },
    micro: { type: 'string' },
  },
});
const batch = Number(values.batch);
await startBackend(String(values.backend));
if (values.data) {
  await profileDataset(values.data, values.preset === 'paper' ? 'paper' : 'quick', Number(values.top), values.micro ? Number(values.micro) : undefined);
  process.exit(0);
}
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

interface KernelStat {
  ms: number;
  calls: number;
}

/**
 * Wraps every kernel registered for the active backend with a timer; nested kernel calls are
 * counted but timed only at the outermost level. PROFILE_SHAPES=1 adds one row per BatchMatMul
 * shape pair (ᵀ = transposed operand); those rows repeat time already in the BatchMatMul row.
 */
function timeAllKernels(): { stats: Map<string, KernelStat>; totals: { ms: number; calls: number } } {
  const stats = new Map<string, KernelStat>();
  const totals = { ms: 0, calls: 0 };
  let depth = 0;
  const shapes = Boolean(process.env.PROFILE_SHAPES);
  for (const k of tf.getKernelsForBackend(tf.getBackend())) {
    wrapKernel(k.kernelName, k.backendName, (original: KernelFn): KernelFn => (args) => {
      const t = performance.now();
      depth++;
      try {
        return original(args);
      } finally {
        depth--;
        const dt = performance.now() - t;
        const names = [k.kernelName];
        if (shapes && k.kernelName === 'BatchMatMul') {
          const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
          names.push(`BMM ${JSON.stringify(a.shape)}${args.attrs?.transposeA ? 'ᵀ' : ''} × ${JSON.stringify(b.shape)}${args.attrs?.transposeB ? 'ᵀ' : ''}`);
        }
        for (const name of names) {
          const e = stats.get(name) ?? { ms: 0, calls: 0 };
          e.calls++;
          if (depth === 0) e.ms += dt;
          stats.set(name, e);
        }
        if (depth === 0) {
          totals.ms += dt;
          totals.calls++;
        }
      }
    });
  }
  return { stats, totals };
}

/** One tokenizer epoch + one recommender epoch + validation of the real dataset under `stagesDir`. */
async function profileDataset(stagesDir: string, preset: 'quick' | 'paper', top: number, micro?: number): Promise<void> {
  const ctx = { signal: new AbortController().signal, stderr: (l: string) => log(l) };
  const dataset = await loadPreparedDir(join(stagesDir, 'data'), 50, ctx);
  const npy = (await readdir(join(stagesDir, 'sasrec'))).find((f) => f.endsWith('.npy'));
  if (!npy) throw new Error(`no .npy semantic table in ${join(stagesDir, 'sasrec')}`);
  const n = dataset.itemIds.length;
  const table = tableFromNpy(new Uint8Array(await readFile(join(stagesDir, 'sasrec', npy))), npy, n, 'collab');
  const tokFile = join(stagesDir, 'rqvae', 'tokenizer.safetensors');
  const tokenizer = readTokenizerFile(new Uint8Array(await readFile(tokFile)), 'tokenizer.safetensors');
  const data = jointData(dataset, table.data, table.cols);
  // alignment on from epoch 0 (the recommender epochs of a quick run are mostly past warm_epoch)
  const config = jointTrainConfig(preset, { warm_epoch: 0, eval_step: 2, finetune: { epochs: 0 } });
  config.micro_batch_size = Math.min(micro ?? config.micro_batch_size, config.batch_size);
  log(`${n} items, ${data.train.count} train samples, preset ${preset} (batch ${config.batch_size}, micro ${config.micro_batch_size}, eval_limit ${config.eval_limit})`);

  const { stats, totals } = timeAllKernels();
  interface Mark { name: string; t: number; cpu: number; kernelMs: number; calls: number; perKernel: Map<string, KernelStat> }
  const snap = (name: string): Mark => {
    const cpu = process.cpuUsage();
    return { name, t: performance.now(), cpu: (cpu.user + cpu.system) / 1000, kernelMs: totals.ms, calls: totals.calls, perKernel: new Map([...stats].map(([k, v]) => [k, { ...v }])) };
  };
  const marks: Mark[] = [snap('setup (initial code table)')];
  let lastPhase = '';
  const onEvent = (e: { type: string; phase?: string }) => {
    if (e.type !== 'phase' || !e.phase || e.phase === lastPhase) return;
    lastPhase = e.phase;
    marks.push(snap(e.phase));
  };
  const tensorsBefore = tf.memory().numTensors;
  await trainJoint(data, config, { tokenizer, maxEpochs: 2, onEvent });
  marks.push(snap('end'));
  const phases = marks.slice(0, -1).map((m, i) => {
    const next = marks[i + 1];
    const wall = next.t - m.t;
    const kernelMs = next.kernelMs - m.kernelMs;
    const calls = next.calls - m.calls;
    const kernels = [...next.perKernel]
      .map(([k, v]) => [k, { ms: v.ms - (m.perKernel.get(k)?.ms ?? 0), calls: v.calls - (m.perKernel.get(k)?.calls ?? 0) }] as const)
      .filter(([, v]) => v.calls > 0)
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top);
    return {
      phase: m.name,
      wall_ms: round(wall, 0),
      cpu_ms: round(next.cpu - m.cpu, 0),
      kernel_ms: round(kernelMs, 0),
      outside_kernel_ms: round(wall - kernelMs, 0),
      kernel_calls: calls,
      us_outside_per_call: calls ? round((1000 * (wall - kernelMs)) / calls, 1) : null,
      kernels: Object.fromEntries(kernels.map(([k, v]) => [k, { ms: round(v.ms, 1), calls: v.calls }])),
    };
  });
  for (const p of phases) {
    log(`${p.phase}: wall ${p.wall_ms} ms, kernels ${p.kernel_ms} ms (${p.kernel_calls} calls), outside ${p.outside_kernel_ms} ms = ${p.us_outside_per_call} µs/call`);
    for (const [k, v] of Object.entries(p.kernels).slice(0, 12)) log(`    ${k.padEnd(24)} ${v.ms.toFixed(0).padStart(7)} ms ${String(v.calls).padStart(8)} calls`);
  }
  emit({
    data: stagesDir,
    preset,
    items: n,
    train_samples: data.train.count,
    batch_size: config.batch_size,
    micro_batch_size: config.micro_batch_size,
    eval_limit: config.eval_limit,
    backend: tf.getBackend(),
    wall_ms: round(marks[marks.length - 1].t - marks[0].t, 0),
    kernel_ms: round(totals.ms, 0),
    kernel_calls: totals.calls,
    tensors_leaked: tf.memory().numTensors - tensorsBefore,
    loadavg_1m: round((await import('node:os')).loadavg()[0], 2),
    phases,
  });
}
