/**
 * SASRec trainer (spec §2.2): Adam, CE over all items, shuffled every epoch with the seeded RNG,
 * valid NDCG@10 (full ranking) every `eval_step` epochs, RecBole early stopping, best-valid model
 * restored for the test evaluation and the exported item table.
 *
 * Evaluation (see eval/ranking.ts): all N items are candidates, PAD is excluded, history items are
 * not masked — RecBole's full-sort evaluation builds no history mask for sequential models, and the
 * spec (§2.2) names plain full-ranking NDCG@10.
 *
 * Shapes are fixed: every forward runs [micro_batch_size, MAX_ITEM_LIST_LENGTH] (the last batch is
 * padded with zero-weight rows) and evaluation runs [evalChunk, L], so webgpu compiles once.
 */
import * as tf from '@tensorflow/tfjs';
import type { PreparedDataset } from '../data/types.ts';
import type { SplitName } from '../data/samples.ts';
import { jointSamples } from './jointData.ts';
import { bucketedHistoryLength } from '../eval/evaluateGenerative.ts';
import { StudioError } from '../errors.ts';
import { estimateEta, type ProgressSink } from '../events.ts';
import { pausePoint, type PauseGate } from '../pause.ts';
import { SasrecModel, type SasrecConfig } from '../models/sasrec.ts';
import { AdamW } from '../optim/adam.ts';
import { DiagnosticsAccumulator, popularityTopK, type ListDiagnostics } from '../eval/diagnostics.ts';
import { popularityMetrics, RankingAccumulator, ranksOnDevice, type RankingMetrics } from '../eval/ranking.ts';
import { Rng, permutation } from '../rng.ts';
import { registerWasmUnsortedSegmentSum } from '../tfjs/wasmSegmentSum.ts';
import { DivergenceWatch } from './divergence.ts';

/** Samples of one split as flat arrays: histories right-padded to L. */
export interface SampleArrays {
  count: number;
  L: number;
  /** [count × L] item ids, right-padded with 0. */
  histories: Int32Array;
  /** History lengths (1..L). */
  lens: Int32Array;
  targets: Int32Array;
}

export interface EpochInfo {
  epoch: number;
  trainLoss: number;
  valid?: RankingMetrics;
  improved: boolean;
  bestEpoch: number;
  seconds: number;
}

export interface SasrecTrainOptions {
  signal?: AbortSignal;
  /** Pauses between steps while paused (results are unchanged). */
  pause?: PauseGate;
  onEvent?: ProgressSink;
  /** Overrides config.seed. */
  seed?: number;
  onEpochEnd?(info: EpochInfo): void | Promise<void>;
  /** Called after every optimisation step, once its tensors are released (tests, profiling). */
  onStep?(step: number): void;
  /** Users per evaluation chunk (logits are chunk × (N+1)). Default 256. */
  evalChunk?: number;
  /** Stop an epoch after this many steps (tests, smoke runs). */
  maxStepsPerEpoch?: number;
}

export interface SasrecResult {
  /** N × hidden, row r = item r+1 (PAD dropped), from the best-valid epoch. */
  itemTable: Float32Array;
  hidden: number;
  numItems: number;
  /** Best-valid epoch (1-based); 0 if no evaluation ran before a cancel. */
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
  cancelled: boolean;
  valid: RankingMetrics;
  test: RankingMetrics;
  /** What the full-ranking top-10 lists of the test users look like (as for the generative models). */
  testDiagnostics?: ListDiagnostics;
  baselines: { popularity: { valid: RankingMetrics; test: RankingMetrics } };
  curves: {
    epochs: { epoch: number; trainLoss: number; validNdcg10?: number; validRecall10?: number }[];
    steps: { step: number; loss: number }[];
  };
  config: SasrecConfig;
  seed: number;
  seconds: number;
  backend: string;
}

/** Samples of a split as flat right-padded arrays (most recent ≤ L items of each history). */
export function sampleArrays(ds: PreparedDataset, split: SplitName, L: number): SampleArrays {
  return jointSamples(ds, split, L);
}

/** Training interaction counts per item (index id−1): positions 0..n−3 of every sequence. */
export function trainItemCounts(ds: PreparedDataset): Float64Array {
  const counts = new Float64Array(ds.itemIds.length);
  const off = ds.seqOffsets;
  for (let u = 0; u + 1 < off.length; u++) {
    const n = off[u + 1] - off[u];
    if (n < 3) continue;
    for (let p = off[u]; p < off[u] + n - 2; p++) counts[ds.seqItems[p] - 1] += 1;
  }
  return counts;
}

/** Input tensors for rows `rows` (indices into `s`), padded to `size` rows with weight 0. */
function batchTensors(s: SampleArrays, rows: ArrayLike<number>, size: number, width = s.L) {
  const L = s.L;
  const ids = new Int32Array(size * width);
  const lens = new Int32Array(size).fill(1);
  const targets = new Int32Array(size);
  const weights = new Float32Array(size);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    ids.set(s.histories.subarray(r * L, r * L + width), i * width);
    lens[i] = s.lens[r];
    targets[i] = s.targets[r];
    weights[i] = 1;
  }
  return {
    ids: tf.tensor2d(ids, [size, width], 'int32'),
    lens: tf.tensor1d(lens, 'int32'),
    targets: tf.tensor1d(targets, 'int32'),
    weights: tf.tensor1d(weights, 'float32'),
  };
}

/**
 * Micro-batches of `rows` with the history width each runs to. length_bucket 0: batch order, full
 * width L. k > 0: rows sorted by history length (stable), each micro-batch cut to its longest
 * history rounded up to a multiple of k (≤ L); right padding is masked, so the loss is unchanged.
 */
export function microBatches(s: SampleArrays, rows: ArrayLike<number>, micro: number, lengthBucket = 0): { rows: number[]; width: number }[] {
  const all = Array.from(rows);
  if (lengthBucket > 0) all.sort((a, b) => s.lens[a] - s.lens[b]);
  const out: { rows: number[]; width: number }[] = [];
  for (let start = 0; start < all.length; start += micro) {
    const part = all.slice(start, start + micro);
    out.push({ rows: part, width: lengthBucket > 0 ? bucketedHistoryLength(s, part, lengthBucket) : s.L });
  }
  return out;
}

/**
 * One optimisation step over `rows` (≤ train_batch_size samples): micro-batches (see microBatches),
 * gradients accumulated, one Adam update. Synchronous; returns the batch-mean loss (caller disposes).
 */
export function trainStep(
  model: SasrecModel,
  opt: AdamW,
  s: SampleArrays,
  rows: ArrayLike<number>,
  dropoutRng: Rng,
): tf.Scalar {
  const micro = Math.min(model.cfg.micro_batch_size, model.cfg.train_batch_size);
  const vars = [...model.params.trainable().values()];
  const denom = rows.length;
  let acc: tf.NamedTensorMap | null = null;
  let loss: tf.Scalar | null = null;
  for (const { rows: part, width } of microBatches(s, rows, micro, model.cfg.length_bucket ?? 0)) {
    const { value, grads } = tf.tidy(() => {
      const b = batchTensors(s, part, micro, width);
      return tf.variableGrads(
        () => model.lossSum(b.ids as tf.Tensor2D, b.lens, b.targets, b.weights, denom, true, dropoutRng),
        vars,
      );
    });
    if (!acc || !loss) {
      acc = grads;
      loss = value;
    } else {
      const prevAcc: tf.NamedTensorMap = acc;
      const prevLoss: tf.Scalar = loss;
      const next = tf.tidy(() => {
        const out: tf.NamedTensorMap = {};
        for (const k of Object.keys(prevAcc)) out[k] = tf.add(prevAcc[k], grads[k]);
        return { out, l: tf.add(prevLoss, value) as tf.Scalar };
      });
      tf.dispose([prevAcc, prevLoss, grads, value]);
      acc = next.out;
      loss = next.l;
    }
  }
  if (!acc || !loss) return tf.scalar(0);
  opt.step(acc);
  tf.dispose(acc);
  return loss;
}

/**
 * Full-ranking metrics of a split (PAD excluded, nothing else masked), in chunks of fixed row count;
 * with length_bucket > 0 the rows go in history-length order and each chunk runs to its own
 * bucketed width (the metrics are per-row, so the order does not change them).
 */
export async function evaluateSasrec(
  model: SasrecModel,
  s: SampleArrays,
  chunk = 256,
  signal?: AbortSignal,
  /** When given, also fed each user's top-k item list (the list diagnostics). */
  lists?: DiagnosticsAccumulator,
): Promise<RankingMetrics> {
  const acc = new RankingAccumulator();
  const N = model.numItems;
  const order = Array.from({ length: s.count }, (_, i) => i);
  for (const { rows, width } of microBatches(s, order, chunk, model.cfg.length_bucket ?? 0)) {
    if (signal?.aborted && acc.count > 0) break;
    const n = rows.length;
    const [ranks, top] = tf.tidy(() => {
      const b = batchTensors(s, rows, chunk, width);
      const rep = model.encode(b.ids as tf.Tensor2D, b.lens, false);
      const scores = tf.slice(model.logits(rep), [0, 1], [chunk, N]);
      const cols = tf.maximum(tf.sub(b.targets, tf.scalar(1, 'int32')), tf.scalar(0, 'int32')) as tf.Tensor1D;
      return [ranksOnDevice(scores as tf.Tensor2D, cols), lists ? tf.topk(scores, lists.k).indices : tf.zeros([0], 'int32')];
    });
    const r = await ranks.data();
    const t = await top.data();
    tf.dispose([ranks, top]);
    acc.addAll(r.subarray(0, n));
    if (lists) {
      const k = lists.k;
      for (let i = 0; i < n; i++) {
        const items = Int32Array.from(t.subarray(i * k, (i + 1) * k), (c) => c + 1);
        lists.addUser(items, Array.from(items, String));
      }
    }
  }
  return acc.result();
}

function snapshot(model: SasrecModel): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const name of model.params.names()) out.set(name, tf.keep(tf.clone(model.params.get(name))));
  return out;
}

function restore(model: SasrecModel, snap: Map<string, tf.Tensor>): void {
  for (const [name, t] of snap) model.params.get(name).assign(t);
}

/** A wasm heap overflow surfaces as "memory access out of bounds": say what to change. */
function outOfMemoryHint(e: unknown, cfg: SasrecConfig): unknown {
  const msg = e instanceof Error ? e.message : String(e);
  if (!/memory access out of bounds|out of memory|Cannot allocate/i.test(msg)) return e;
  return new StudioError({
    code: 'internal',
    message:
      `The ${tf.getBackend()} backend ran out of memory in a training step (${msg}). ` +
      `Lower micro_batch_size (now ${cfg.micro_batch_size}) or the model size, then start again.`,
    field: 'micro_batch_size',
  });
}

const yieldToLoop = () => new Promise<void>((r) => setTimeout(r, 0));

export async function trainSasrec(
  ds: PreparedDataset,
  config: SasrecConfig,
  opts: SasrecTrainOptions = {},
): Promise<SasrecResult> {
  const t0 = Date.now();
  registerWasmUnsortedSegmentSum();
  const emit: ProgressSink = opts.onEvent ?? (() => {});
  const cfg = config;
  const seed = opts.seed ?? cfg.seed;
  const master = new Rng(seed);
  const initRng = new Rng(master.seed());
  const shuffleRng = new Rng(master.seed());
  const dropoutRng = new Rng(master.seed());
  const L = cfg.MAX_ITEM_LIST_LENGTH;
  const N = ds.itemIds.length;
  const evalChunk = opts.evalChunk ?? 256;

  emit({ type: 'phase', stage: 'sasrec', phase: 'prepare' });
  const train = sampleArrays(ds, 'train', L);
  const valid = sampleArrays(ds, 'valid', L);
  const test = sampleArrays(ds, 'test', L);
  const counts = trainItemCounts(ds);
  const popularity = {
    valid: popularityMetrics(counts, valid.targets),
    test: popularityMetrics(counts, test.targets),
  };
  emit({
    type: 'log',
    stage: 'sasrec',
    level: 'info',
    message: `${N} items, ${train.count}/${valid.count}/${test.count} train/valid/test samples, backend ${tf.getBackend()}`,
  });

  const model = new SasrecModel(N, cfg, initRng);
  const opt = new AdamW(model.params.trainable().values(), { lr: cfg.learning_rate, weightDecay: cfg.weight_decay });
  const B = cfg.train_batch_size;
  let stepsPerEpoch = Math.ceil(train.count / B);
  if (opts.maxStepsPerEpoch) stepsPerEpoch = Math.min(stepsPerEpoch, opts.maxStepsPerEpoch);
  const totalSteps = stepsPerEpoch * cfg.epochs;

  const curves: SasrecResult['curves'] = { epochs: [], steps: [] };
  let best: Map<string, tf.Tensor> | null = null;
  let bestScore = -Infinity;
  let bestEpoch = 0;
  let bestValid: RankingMetrics | null = null;
  let badEvals = 0;
  let stoppedEarly = false;
  let cancelled = false;
  let step = 0;
  const trainStart = Date.now();
  const divergence = new DivergenceWatch('SASRec training');

  try {
    emit({ type: 'phase', stage: 'sasrec', phase: 'train' });
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const epochStart = Date.now();
      const perm = permutation(train.count, shuffleRng);
      let lossSum: tf.Scalar = tf.keep(tf.scalar(0));
      let stepsThisEpoch = 0;
      for (let k = 0; k < stepsPerEpoch; k++) {
        if (divergence.seen()) break;
        const rows = perm.subarray(k * B, Math.min(train.count, (k + 1) * B));
        let loss: tf.Scalar;
        try {
          loss = trainStep(model, opt, train, rows, dropoutRng);
        } catch (e) {
          throw outOfMemoryHint(e, cfg);
        }
        divergence.watch(loss, `epoch ${epoch}, step ${k + 1} of ${stepsPerEpoch}`);
        const prev = lossSum;
        lossSum = tf.keep(tf.add(prev, loss));
        prev.dispose();
        step++;
        stepsThisEpoch++;
        if (step % cfg.log_every === 0 || k === stepsPerEpoch - 1) {
          const value = (await loss.data())[0];
          curves.steps.push({ step, loss: value });
          emit({ type: 'metric', stage: 'sasrec', name: 'loss', step, value });
          emit({
            type: 'progress',
            stage: 'sasrec',
            phase: 'train',
            done: step,
            total: totalSteps,
            unit: 'steps',
            etaSeconds: estimateEta(trainStart + (opts.pause?.pausedMs() ?? 0), Date.now(), step, totalSteps),
          });
        }
        loss.dispose();
        opts.onStep?.(step);
        await yieldToLoop();
        await pausePoint(opts.pause, opts.signal,
          () => emit({ type: 'phase', stage: 'sasrec', phase: 'paused', message: `step ${step}` }),
          () => emit({ type: 'phase', stage: 'sasrec', phase: 'train' }));
        if (opts.signal?.aborted) {
          cancelled = true;
          break;
        }
      }
      await divergence.settle().catch((e: unknown) => {
        lossSum.dispose();
        throw e;
      });
      const trainLoss = (await lossSum.data())[0] / Math.max(1, stepsThisEpoch);
      lossSum.dispose();
      emit({ type: 'metric', stage: 'sasrec', name: 'train_loss', step: epoch, value: trainLoss });
      if (cancelled) {
        curves.epochs.push({ epoch, trainLoss });
        break;
      }

      let validMetrics: RankingMetrics | undefined;
      let improved = false;
      if (epoch % cfg.eval_step === 0) {
        emit({ type: 'phase', stage: 'sasrec', phase: 'evaluate', message: `epoch ${epoch}` });
        validMetrics = await evaluateSasrec(model, valid, evalChunk);
        const score = validMetrics['ndcg@10'];
        for (const [name, value] of Object.entries(validMetrics)) {
          emit({ type: 'metric', stage: 'sasrec', name: `valid/${name}`, step: epoch, value });
        }
        // RecBole early_stopping: value >= best counts as an improvement (and saves the model).
        if (score >= bestScore) {
          improved = true;
          bestScore = score;
          bestEpoch = epoch;
          bestValid = validMetrics;
          badEvals = 0;
          if (best) tf.dispose([...best.values()]);
          best = snapshot(model);
        } else {
          badEvals++;
          if (badEvals > cfg.stopping_step) stoppedEarly = true;
        }
      }
      curves.epochs.push({
        epoch,
        trainLoss,
        validNdcg10: validMetrics?.['ndcg@10'],
        validRecall10: validMetrics?.['recall@10'],
      });
      await opts.onEpochEnd?.({
        epoch,
        trainLoss,
        valid: validMetrics,
        improved,
        bestEpoch,
        seconds: (Date.now() - epochStart) / 1000,
      });
      if (stoppedEarly) {
        emit({ type: 'log', stage: 'sasrec', level: 'info', message: `early stop after epoch ${epoch} (best ${bestEpoch})` });
        break;
      }
      if (opts.signal?.aborted) {
        cancelled = true;
        break;
      }
    }
    const epochsRun = curves.epochs.length;

    emit({ type: 'phase', stage: 'sasrec', phase: 'test' });
    if (best) restore(model, best);
    const validFinal = bestValid ?? (await evaluateSasrec(model, valid, evalChunk));
    const testLists = new DiagnosticsAccumulator(N, 10, popularityTopK(counts, 10));
    const testFinal = await evaluateSasrec(model, test, evalChunk, undefined, testLists);
    for (const [name, value] of Object.entries(testFinal)) {
      emit({ type: 'metric', stage: 'sasrec', name: `test/${name}`, step: bestEpoch, value });
    }
    const itemTable = await model.itemTable();
    return {
      itemTable,
      hidden: cfg.hidden_size,
      numItems: N,
      bestEpoch,
      epochsRun,
      stoppedEarly,
      cancelled,
      valid: validFinal,
      test: testFinal,
      testDiagnostics: testLists.result(),
      baselines: { popularity },
      curves,
      config: cfg,
      seed,
      seconds: (Date.now() - t0) / 1000,
      backend: tf.getBackend(),
    };
  } finally {
    if (best) tf.dispose([...best.values()]);
    opt.dispose();
    model.dispose();
  }
}
