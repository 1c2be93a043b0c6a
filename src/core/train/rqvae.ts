/**
 * RQ-VAE tokenizer pretraining (spec §4.3–§4.4): k-means codebook init on the first batch, AdamW
 * with HF linear warmup stepped per batch, global-norm clipping, evaluation on all items every
 * eval_step epochs, best-collision / best-Gini / best-loss snapshots, early stop on collision.
 *
 * Batches: shuffled each epoch; the last partial batch is kept at its own size (exact means; only
 * two batch shapes ever occur, so GPU backends compile each shape once).
 */
import * as tf from '@tensorflow/tfjs';
import { kmeans } from '../cluster/kmeans.ts';
import { StudioError } from '../errors.ts';
import { codebookStats, type CodebookStats } from '../eval/codebook.ts';
import { estimateEta, type ProgressSink } from '../events.ts';
import { pausePoint, type PauseGate } from '../pause.ts';
import { Rqvae, sqDistances } from '../models/rqvae.ts';
import { matMul2d, oneHotF32 } from '../nn/layers.ts';
import type { NamedArray } from '../nn/params.ts';
import { AdamW, clipGradNorm } from '../optim/adam.ts';
import { permutation, Rng } from '../rng.ts';

// The configuration and presets are declared in src/core/stages/tokenizer.ts.
export type { RqvaePreset, RqvaePresetName, RqvaeTrainConfig } from '../stages/tokenizer.ts';
export { RQVAE_PRESETS, rqvaeTrainConfig } from '../stages/tokenizer.ts';
import type { RqvaeTrainConfig } from '../stages/tokenizer.ts';
import { DivergenceWatch } from './divergence.ts';

/** HF get_linear_schedule_with_warmup: λ(s) = s/w for s < w, else max(0, (T−s)/(T−w)). */
export function linearWarmupLambda(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}

export interface RqvaeSnapshot {
  epoch: number;
  /** Epoch training loss (sum of the batch losses). */
  loss: number;
  collisionRate: number;
  giniMean: number;
  stats: CodebookStats;
  /** N × L level-wise argmin codes of every item (no suffix). */
  codes: Int32Array;
  /** PyTorch layout (linear weights [out, in]), reference names. */
  state: Record<string, NamedArray>;
}

export interface RqvaeEvalRecord {
  epoch: number;
  loss: number;
  stats: CodebookStats;
  lr: number;
}

export interface RqvaeTrainOptions {
  signal?: AbortSignal;
  /** Pauses between batches while paused (results are unchanged). */
  pause?: PauseGate;
  onEvent?: ProgressSink;
  /** Overrides config.seed. */
  seed?: number;
  onEval?: (rec: RqvaeEvalRecord) => void;
  /** Seed of the k-means runs (the reference's sklearn random_state = 42). */
  kmeansSeed?: number;
}

export interface RqvaeEpochRecord {
  epoch: number;
  loss: number;
  reconLoss: number;
  rqLoss: number;
  lr: number;
  seconds: number;
}

export interface RqvaeResult {
  config: RqvaeTrainConfig;
  seed: number;
  items: number;
  backend: string;
  epochsRun: number;
  stoppedEarly: boolean;
  cancelled: boolean;
  seconds: number;
  kmeansSeconds: number;
  best: { collision: RqvaeSnapshot; gini: RqvaeSnapshot; loss: RqvaeSnapshot };
  /** The model at the end of training, evaluated. */
  final: RqvaeSnapshot;
  epochs: RqvaeEpochRecord[];
  evals: RqvaeEvalRecord[];
}

/** Level-wise argmin codes of all rows (eval mode), in chunks. */
export async function computeCodes(model: Rqvae, data: Float32Array, n: number, chunk = 4096): Promise<Int32Array> {
  const { in_dim } = model.config;
  const L = model.levels;
  const out = new Int32Array(n * L);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const c = tf.tidy(() => model.codes(tf.tensor2d(data.subarray(s * in_dim, (s + m) * in_dim), [m, in_dim])));
    out.set((await c.data()) as Int32Array, s * L);
    c.dispose();
  }
  return out;
}

/**
 * Reference k-means init: level l's codebook is fit on the level-l residuals of `x` computed with
 * the already initialised earlier levels. Levels with fewer rows than codes keep their init.
 * Returns the quantisation error Σ‖r_{L+1}‖² / B after init.
 */
export async function kmeansInitCodebooks(
  model: Rqvae,
  x: tf.Tensor2D,
  opts: { iters: number; seed?: number; signal?: AbortSignal; onLevel?: (level: number, skipped: boolean) => void },
): Promise<number> {
  let r = tf.tidy(() => model.encode(x));
  const [B, e] = r.shape;
  try {
    for (let l = 0; l < model.levels; l++) {
      const E = model.codebook(l);
      const K = E.shape[0];
      const skipped = B < K;
      if (!skipped) {
        const res = await kmeans((await r.data()) as Float32Array, B, e, { k: K, maxIter: opts.iters, seed: opts.seed ?? 42, signal: opts.signal });
        tf.tidy(() => E.assign(tf.tensor2d(res.centroids, [K, e])));
      }
      opts.onLevel?.(l, skipped);
      const next = tf.tidy(() => tf.sub(r, matMul2d(oneHotF32(tf.argMin(sqDistances(r, E), 1), K), E))) as tf.Tensor2D;
      r.dispose();
      r = next;
    }
    return await quantizationError(model, x);
  } finally {
    r.dispose();
  }
}

/** Mean squared norm of the final residual, Σ_b ‖r_{L+1,b}‖² / B (how well the codebooks cover the latents). */
export async function quantizationError(model: Rqvae, x: tf.Tensor2D): Promise<number> {
  const err = tf.tidy(() => {
    let r = model.encode(x);
    for (let l = 0; l < model.levels; l++) {
      const E = model.codebook(l);
      r = tf.sub(r, matMul2d(oneHotF32(tf.argMin(sqDistances(r, E), 1), E.shape[0]), E));
    }
    return tf.div(tf.sum(tf.square(r)), x.shape[0]);
  });
  const v = (await err.data())[0];
  err.dispose();
  return v;
}

export async function trainRqvae(data: Float32Array, config: RqvaeTrainConfig, opts: RqvaeTrainOptions = {}): Promise<RqvaeResult> {
  const cfg = { ...config };
  const seed = opts.seed ?? cfg.seed;
  cfg.seed = seed;
  const D = cfg.in_dim;
  if (data.length === 0 || data.length % D !== 0) {
    throw new StudioError({ code: 'bad_option', message: `Item vectors do not form rows of ${D}`, expected: `N × ${D} values`, found: `${data.length} values` });
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new StudioError({ code: 'embedding_non_finite', message: `Non-finite value in item ${Math.floor(i / D) + 1}`, found: String(data[i]) });
    }
  }
  const N = data.length / D;
  const emit = opts.onEvent ?? (() => {});
  const t0 = Date.now();
  const model = new Rqvae(cfg, seed);
  const vars = [...model.params.trainable().values()];
  const opt = new AdamW(vars, { lr: cfg.lr, weightDecay: cfg.weight_decay });
  const rng = new Rng(seed);
  const bs = Math.min(cfg.batch_size, N);
  const bpe = Math.ceil(N / bs);
  const total = cfg.epochs * bpe;
  const warmup = cfg.warmup_epochs * bpe;
  const batch = new Float32Array(bs * D);
  const metric = (name: string, step: number, value: number) => emit({ type: 'metric', stage: 'rqvae', name, step, value });

  let step = 0;
  let kmeansSeconds = 0;
  let stoppedEarly = false;
  let cancelled = false;
  let bad = 0;
  const best: Partial<RqvaeResult['best']> = {};
  const epochs: RqvaeEpochRecord[] = [];
  const evals: RqvaeEvalRecord[] = [];
  let lastEpochLoss = NaN;
  let evaluatedEpoch = -1;
  let lastSnap: RqvaeSnapshot | null = null;

  const snapshot = async (epoch: number, loss: number): Promise<RqvaeSnapshot> => {
    const codes = await computeCodes(model, data, N);
    const stats = codebookStats(codes, N, cfg.num_emb_list);
    return { epoch, loss, collisionRate: stats.collisionRate, giniMean: stats.gini.mean, stats, codes, state: await model.params.stateDict() };
  };

  const evaluate = async (epoch: number, loss: number, lr: number) => {
    const snap = await snapshot(epoch, loss);
    const s = snap.stats;
    evaluatedEpoch = epoch;
    lastSnap = snap;
    const rec: RqvaeEvalRecord = { epoch, loss, stats: s, lr };
    evals.push(rec);
    metric('collision_rate', epoch, s.collisionRate);
    metric('gini_mean', epoch, s.gini.mean);
    metric('largest_collision_group', epoch, s.largestCollisionGroup);
    s.levels.forEach((lv, l) => {
      metric(`gini_l${l + 1}`, epoch, lv.gini);
      metric(`codes_used_l${l + 1}`, epoch, lv.codesUsed);
      metric(`dead_codes_l${l + 1}`, epoch, lv.deadCodes);
      metric(`entropy_l${l + 1}`, epoch, lv.entropy);
      metric(`perplexity_l${l + 1}`, epoch, lv.perplexity);
      if (lv.codesUsed <= Math.max(1, lv.codebookSize / 16)) {
        emit({ type: 'log', stage: 'rqvae', level: 'warn', message: `Level ${l + 1} uses only ${lv.codesUsed} of ${lv.codebookSize} codes (codebook collapse)` });
      }
    });
    // As the reference trainer: best-loss is only compared at evaluation epochs.
    if (!best.loss || loss < best.loss.loss) best.loss = snap;
    if (!best.collision || s.collisionRate < best.collision.collisionRate) {
      best.collision = snap;
      bad = 0;
    } else {
      bad++;
    }
    if (!best.gini || s.gini.mean < best.gini.giniMean) best.gini = snap;
    opts.onEval?.(rec);
    return snap;
  };

  const divergence = new DivergenceWatch('RQ-VAE training');
  try {
    emit({ type: 'phase', stage: 'rqvae', phase: 'train', message: `${N} items × ${D}, ${bpe} batches/epoch, ${cfg.epochs} epochs` });
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const te = Date.now();
      const perm = permutation(N, rng);
      const losses: tf.Tensor[] = [];
      let lr = 0;
      for (let b = 0; b < bpe; b++) {
        if (divergence.seen()) break;
        await pausePoint(opts.pause, opts.signal,
          () => emit({ type: 'phase', stage: 'rqvae', phase: 'paused', message: `epoch ${epoch + 1}, batch ${b + 1}` }),
          () => emit({ type: 'phase', stage: 'rqvae', phase: 'train' }));
        if (opts.signal?.aborted) {
          cancelled = true;
          break;
        }
        const start = b * bs;
        const m = Math.min(bs, N - start);
        for (let i = 0; i < m; i++) batch.set(data.subarray(perm[start + i] * D, perm[start + i] * D + D), i * D);
        const xb = tf.tensor2d(batch.subarray(0, m * D), [m, D]);
        if (step === 0 && cfg.kmeans_init) {
          emit({ type: 'phase', stage: 'rqvae', phase: 'kmeans', message: `k-means init on the first batch (${m} items)` });
          const tk = Date.now();
          await kmeansInitCodebooks(model, xb, {
            iters: cfg.kmeans_iters,
            seed: opts.kmeansSeed ?? 42,
            signal: opts.signal,
            onLevel: (l, skipped) => {
              if (skipped) emit({ type: 'log', stage: 'rqvae', level: 'warn', message: `k-means init skipped for level ${l + 1}: ${m} items < ${cfg.num_emb_list[l]} codes` });
              emit({ type: 'progress', stage: 'rqvae', phase: 'kmeans', done: l + 1, total: model.levels, unit: 'levels' });
            },
          });
          kmeansSeconds = (Date.now() - tk) / 1000;
          emit({ type: 'phase', stage: 'rqvae', phase: 'train' });
        }
        lr = cfg.lr * linearWarmupLambda(step, warmup, total);
        opt.lr = lr;
        const kept: tf.Tensor[] = [];
        const parts = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const out = model.forward(xb, { training: true });
            kept.push(tf.keep(out.reconLoss), tf.keep(out.rqLoss));
            return out.loss;
          }, vars);
          opt.step(clipGradNorm(grads, cfg.clip_norm).grads);
          return tf.stack([value, ...kept]);
        });
        tf.dispose(kept);
        xb.dispose();
        divergence.watch(parts, `epoch ${epoch + 1}, batch ${b + 1} of ${bpe}`);
        losses.push(parts);
        step++;
        // Let a Worker's message loop deliver a cancel between batches.
        if (bpe > 1) await new Promise<void>((res) => setTimeout(res, 0));
      }
      if (cancelled) {
        tf.dispose(losses);
        break;
      }
      await divergence.settle().catch((e: unknown) => {
        tf.dispose(losses);
        throw e;
      });
      const sums = tf.tidy(() => tf.sum(tf.stack(losses), 0));
      const [loss, reconSum, rqSum] = (await sums.data()) as Float32Array;
      tf.dispose([sums, ...losses]);
      lastEpochLoss = loss;
      const rec: RqvaeEpochRecord = { epoch, loss, reconLoss: reconSum / bpe, rqLoss: rqSum / bpe, lr, seconds: (Date.now() - te) / 1000 };
      epochs.push(rec);
      metric('loss', epoch, loss);
      metric('recon_loss', epoch, rec.reconLoss);
      metric('rq_loss', epoch, rec.rqLoss);
      metric('lr', epoch, lr);
      emit({ type: 'progress', stage: 'rqvae', phase: 'train', done: epoch + 1, total: cfg.epochs, unit: 'epochs', etaSeconds: estimateEta(t0 + (opts.pause?.pausedMs() ?? 0), Date.now(), epoch + 1, cfg.epochs) });
      if ((epoch + 1) % cfg.eval_step === 0) {
        await evaluate(epoch, loss, lr);
        if (cfg.patience > 0 && bad >= cfg.patience) {
          stoppedEarly = true;
          emit({ type: 'log', stage: 'rqvae', level: 'info', message: `Early stop at epoch ${epoch + 1}: no lower collision rate in ${cfg.patience} evaluations` });
          break;
        }
      }
    }
    const epochsRun = epochs.length;
    const lastEpoch = epochsRun - 1;
    // The final state always gets evaluated; it becomes every "best" only when no scheduled
    // evaluation happened (e.g. cancelled early), so the reference semantics hold otherwise.
    const final = evaluatedEpoch === lastEpoch && lastSnap ? lastSnap : await snapshot(lastEpoch, lastEpochLoss);
    if (!best.collision) {
      best.collision = best.gini = best.loss = final;
    }
    return {
      config: cfg,
      seed,
      items: N,
      backend: tf.getBackend(),
      epochsRun,
      stoppedEarly,
      cancelled,
      seconds: (Date.now() - t0) / 1000,
      kmeansSeconds,
      best: best as RqvaeResult['best'],
      final,
      epochs,
      evals,
    };
  } finally {
    opt.dispose();
    model.dispose();
  }
}
