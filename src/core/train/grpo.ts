/**
 * GRPO fine-tuning of the recommender (spec §6, fork-only): per training batch
 * 1. sample G codes per history from the policy in TRAIN mode (dropout on, no gradient): 4 steps of
 *    last-position logits / temperature → top-k (keep logits ≥ k-th largest) → softmax → one
 *    multinomial draw (seeded Rng on the CPU after one readback per step);
 * 2. reward = rule + α·cos(S[g], S[target]) (rule 1 hit, −0.1 invalid code, 0 otherwise; soft 0 if invalid);
 * 3. advantage = (r − mean_G) / (std_G unbiased + 1e-8) within each group;
 * 4. logp = Σ_t log_softmax(logits_t)[code_t] by teacher forcing, current policy (train mode, on
 *    the tape) and the frozen reference (eval mode, off the tape);
 * 5. ratio = exp(logp_cur − logp_ref); policy = −mean(min(ratio·A, clip(ratio, 1−ε, 1+ε)·A));
 *    kl = mean(logp_cur − logp_ref) (k1); loss = policy + β·kl;
 * 6. gradient of the trainable variables (the semantic table stays frozen), clip ‖g‖ at 1.0, AdamW
 *    (wd 0.05) with a cosine schedule (0 warmup, total = batches × epochs // grad_accum, not clamped).
 * Validation each eval_step epochs (§5.8 beam search, the fixed SFT code table), early stop on
 * strict improvement of ndcg@10, test of the best state.
 *
 * Pure core: tfjs only, no DOM / fs / IndexedDB.
 */
import * as tf from '@tensorflow/tfjs';
import { historyCodes } from '../eval/evaluateGenerative.ts';
import { collapseReasons, popularityTopK } from '../eval/diagnostics.ts';
import { evaluateSplit } from '../eval/evaluateSplit.ts';
import { trainCountsFromSamples } from './jointData.ts';
import { CodeIndex, VALID_METRIC, type GenerativeResult } from '../eval/generative.ts';
import { estimateEta, type ProgressSink } from '../events.ts';
import { pausePoint, type PauseGate } from '../pause.ts';
import { EtegrecRecommender, type RecommenderConfig } from '../models/recommender.ts';
import type { RunOptions } from '../models/t5.ts';
import { oneHotF32 } from '../nn/layers.ts';
import type { NamedArray } from '../nn/params.ts';
import { AdamW, clipGradNorm } from '../optim/adam.ts';
import { LrScheduler } from '../optim/schedules.ts';
import { Rng, permutation } from '../rng.ts';
import { EarlyStopper } from './earlyStop.ts';
import type { JointData } from './jointTypes.ts';

// The configuration, presets and validation are declared in src/core/stages/grpo.ts.
export type { GrpoConfig, GrpoPreset, GrpoPresetName } from '../stages/grpo.ts';
export { GRPO_PRESETS, grpoConfig, validateGrpoConfig } from '../stages/grpo.ts';
import { validateGrpoConfig, type GrpoConfig } from '../stages/grpo.ts';

// ---------------------------------------------------------------------------------------------
// Pure pieces: rewards, advantages, loss, sampling
// ---------------------------------------------------------------------------------------------

export const INVALID_REWARD = -0.1;

/**
 * Reward per generated row: rule + α·cos(S[g], S[target]); rule = 1 on a hit, −0.1 when the code is
 * invalid (g = −1), else 0; cos = 0 when invalid. `generatedItem` has B·G rows; `targets` has B
 * (row i uses targets[⌊i / G⌋], G = rows / B) or B·G entries. `semantic` is [N × dim], row i−1 = item i.
 * Cosine as torch: x·y / max(‖x‖·‖y‖, 1e-8).
 */
export function groupRewards(
  generatedItem: Int32Array,
  targets: Int32Array,
  semantic: Float32Array,
  semanticDim: number,
  alpha: number,
): Float32Array {
  const rows = generatedItem.length;
  if (targets.length === 0 || rows % targets.length !== 0) throw new Error(`groupRewards: ${rows} rows for ${targets.length} targets`);
  const G = rows / targets.length;
  const D = semanticDim;
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const g = generatedItem[i];
    const t = targets[Math.floor(i / G)];
    if (g < 0) {
      out[i] = INVALID_REWARD;
      continue;
    }
    const rule = g === t ? 1 : 0;
    const a = (g - 1) * D;
    const b = (t - 1) * D;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let k = 0; k < D; k++) {
      const x = semantic[a + k];
      const y = semantic[b + k];
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    const cos = dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-8);
    out[i] = rule + alpha * cos;
  }
  return out;
}

/**
 * Group-normalised advantages: (r − mean_G) / (std_G + 1e-8), unbiased (G − 1) std, groups of G
 * consecutive rows. G = 1 has no std; its advantages are 0 (torch would give NaN).
 */
export function groupAdvantages(rewards: Float32Array, G: number): Float32Array {
  if (rewards.length % G !== 0) throw new Error(`groupAdvantages: ${rewards.length} rewards are not groups of ${G}`);
  const out = new Float32Array(rewards.length);
  if (G < 2) return out;
  for (let s = 0; s < rewards.length; s += G) {
    let mean = 0;
    for (let j = 0; j < G; j++) mean += rewards[s + j];
    mean /= G;
    let ss = 0;
    for (let j = 0; j < G; j++) ss += (rewards[s + j] - mean) ** 2;
    const std = Math.sqrt(ss / (G - 1));
    for (let j = 0; j < G; j++) out[s + j] = (rewards[s + j] - mean) / (std + 1e-8);
  }
  return out;
}

export interface GrpoLossParts {
  loss: tf.Scalar;
  policy: tf.Scalar;
  kl: tf.Scalar;
}

/**
 * §6 step 5: ratio = exp(logp_cur − logp_ref); policy = −mean(min(ratio·A, clip(ratio, 1−ε, 1+ε)·A));
 * kl = mean(logp_cur − logp_ref); loss = policy + β·kl. logpRef and adv are constants.
 */
export function grpoLoss(logpCur: tf.Tensor1D, logpRef: tf.Tensor1D, adv: tf.Tensor1D, clipRange: number, beta: number): GrpoLossParts {
  return tf.tidy(() => {
    const logRatio = tf.sub(logpCur, logpRef);
    const ratio = tf.exp(logRatio);
    const s1 = tf.mul(ratio, adv);
    const s2 = tf.mul(tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange), adv);
    const policy = tf.neg(tf.mean(tf.minimum(s1, s2))) as tf.Scalar;
    const kl = tf.mean(logRatio) as tf.Scalar;
    const loss = tf.add(policy, tf.mul(kl, beta)) as tf.Scalar;
    return { loss, policy, kl };
  });
}

/**
 * Top-k filter of row-major logits [rows × K]: per row, values below the k-th largest become −∞
 * (ties with the k-th are kept, as `logits < topk.values[..., -1]` in torch). k ≥ K keeps all.
 */
export function topKFilter(logits: Float32Array, numClasses: number, k: number): Float32Array {
  const K = numClasses;
  const out = Float32Array.from(logits);
  if (k >= K) return out;
  if (k < 1) throw new Error(`topKFilter: k must be ≥ 1, got ${k}`);
  const rows = logits.length / K;
  const tmp = new Float32Array(K);
  for (let r = 0; r < rows; r++) {
    tmp.set(logits.subarray(r * K, r * K + K));
    tmp.sort();
    const kth = tmp[K - k];
    for (let j = 0; j < K; j++) if (out[r * K + j] < kth) out[r * K + j] = -Infinity;
  }
  return out;
}

export interface SamplingOptions {
  temperature: number;
  topK: number;
}

/**
 * One multinomial draw per row of logits [rows × K]: logits / temperature → top-k → softmax →
 * inverse CDF with one rng.next() per row. Deterministic for a given rng state.
 */
export function sampleFromLogits(logits: Float32Array, numClasses: number, o: SamplingOptions, rng: Rng): Int32Array {
  const K = numClasses;
  const rows = logits.length / K;
  const scaled = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) scaled[i] = logits[i] / o.temperature;
  const f = topKFilter(scaled, K, o.topK);
  const out = new Int32Array(rows);
  const p = new Float64Array(K);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < K; j++) max = Math.max(max, f[r * K + j]);
    let total = 0;
    for (let j = 0; j < K; j++) {
      const v = f[r * K + j];
      p[j] = v === -Infinity ? 0 : Math.exp(v - max);
      total += p[j];
    }
    const u = rng.next() * total;
    let acc = 0;
    let pick = -1;
    for (let j = 0; j < K; j++) {
      if (p[j] <= 0) continue;
      acc += p[j];
      pick = j;
      if (u < acc) break;
    }
    out[r] = pick < 0 ? 0 : pick;
  }
  return out;
}

/** Row indices [0…0, 1…1, …] (each of `batch` repeated `times`). */
function repeatIndex(batch: number, times: number): tf.Tensor1D {
  const idx = new Int32Array(batch * times);
  for (let i = 0; i < idx.length; i++) idx[i] = Math.floor(i / times);
  return tf.tensor1d(idx, 'int32');
}

/** codes [B, W] repeated per row to [B·times, W] (repeat_interleave). */
function repeatRows(codes: tf.Tensor2D, times: number): tf.Tensor2D {
  if (times === 1) return codes.clone();
  return tf.tidy(() => tf.gather(codes, repeatIndex(codes.shape[0], times)) as tf.Tensor2D);
}

export interface SampleGroupOptions extends SamplingOptions {
  /** Uniform draws of the multinomial sampler. */
  rng: Rng;
  /** Train mode (dropout on) as in the fork; default true. */
  training?: boolean;
  /** Dropout masks (seeded); without it tf.dropout is used in train mode. */
  dropoutRng?: Rng;
}

/**
 * G sampled codes per history: flat history codes [B, 4·L] → Int32Array [B, G, 4]. The inputs are
 * repeated G times and encoded (each row its own dropout mask, as the reference); 4 decoding steps
 * with full recompute; no gradient. Rows b·G … b·G+G−1 belong to sample b.
 */
export async function sampleGroup(model: EtegrecRecommender, codes: tf.Tensor2D, G: number, o: SampleGroupOptions): Promise<Int32Array> {
  const C = model.config.code_length;
  const K = model.config.code_num;
  const B = codes.shape[0];
  const N = B * G;
  const run: RunOptions = { training: o.training ?? true, rng: o.dropoutRng };
  const { hidden, mask } = tf.tidy(() => {
    const rep = repeatRows(codes, G);
    return model.encode(rep, run);
  });
  let tokens = new Int32Array(0);
  try {
    for (let t = 0; t < C; t++) {
      const lgT = tf.tidy(() => {
        const prefix = tf.tensor2d(tokens, [N, t], 'int32');
        const H = model.decode(prefix, hidden, mask, run);
        const d = H.shape[2];
        const h = tf.reshape(tf.slice(H, [0, t, 0], [N, 1, d]), [N, d]) as tf.Tensor2D;
        return model.positionLogits(h, t);
      });
      const lg = (await lgT.data()) as Float32Array;
      lgT.dispose();
      const tok = sampleFromLogits(lg, K, o, o.rng);
      const next = new Int32Array(N * (t + 1));
      for (let r = 0; r < N; r++) {
        next.set(tokens.subarray(r * t, r * t + t), r * (t + 1));
        next[r * (t + 1) + t] = tok[r];
      }
      tokens = next;
    }
  } finally {
    hidden.dispose();
    mask.dispose();
  }
  return tokens;
}

/**
 * Σ_t log_softmax(logits_t)[code_t] for each sampled row, by teacher forcing (no temperature, no
 * top-k). codes: [R, 4·L] or [B, 4·L] with R = B·G (then repeated per row); sampled: [R, 4] int32.
 * Differentiable (call under tf.variableGrads for the policy).
 */
export function sequenceLogProb(model: EtegrecRecommender, codes: tf.Tensor2D, sampled: tf.Tensor2D, o: RunOptions = {}): tf.Tensor1D {
  return tf.tidy(() => {
    const R = sampled.shape[0];
    const B = codes.shape[0];
    if (R % B !== 0) throw new Error(`sequenceLogProb: ${R} sampled rows for ${B} histories`);
    const C = model.config.code_length;
    const K = model.config.code_num;
    const rep = R === B ? codes : repeatRows(codes, R / B);
    const { hidden, mask } = model.encode(rep, o);
    const prefix = tf.slice(sampled, [0, 0], [R, C - 1]) as tf.Tensor2D;
    const logits = model.logits(model.decode(prefix, hidden, mask, o));
    const lp = tf.logSoftmax(tf.reshape(logits, [R * C, K]));
    const oh = oneHotF32(tf.reshape(sampled, [-1]), K);
    return tf.sum(tf.reshape(tf.sum(tf.mul(lp, oh), 1), [R, C]), 1) as tf.Tensor1D;
  });
}

// ---------------------------------------------------------------------------------------------
// Trainer
// ---------------------------------------------------------------------------------------------

export interface GrpoEpochRecord {
  epoch: number;
  /** Means over the epoch's batches. */
  rewardMean: number;
  /** Share of sampled codes equal to the target's code. */
  hitRate: number;
  /** Share of sampled codes that match no item. */
  invalidRate: number;
  kl: number;
  policyLoss: number;
  loss: number;
  /** Pre-clip global gradient norm, mean over batches. */
  gradNorm: number;
  /** lr of the next update (after the scheduler step). */
  lr: number;
  valid?: GenerativeResult;
  improved?: boolean;
  seconds: number;
  samplesPerSecond: number;
}

export interface GrpoInput {
  data: JointData;
  /** SFT recommender state dict (reference names, PyTorch layout). */
  recommenderState: Record<string, NamedArray>;
  recommenderConfig: RecommenderConfig;
  /** (N+1) × 4 code table, row 0 = −1s (the fixed SFT table). */
  codes: Int32Array;
}

export interface GrpoOptions {
  signal?: AbortSignal;
  /** Pauses between batches (training and evaluation) while paused (results are unchanged). */
  pause?: PauseGate;
  onEvent?: ProgressSink;
  onEpoch?: (record: GrpoEpochRecord) => void;
}

export interface GrpoResult {
  /** Validation of the SFT model (before any update). */
  validBefore: GenerativeResult;
  /** Validation of the best state (the SFT state when no epoch improved on 0). */
  validAfter: GenerativeResult;
  /** Test of the best state. */
  test: GenerativeResult;
  history: GrpoEpochRecord[];
  /** Best recommender state on valid ndcg@10 (the SFT state when none improved). */
  bestState: Record<string, NamedArray>;
  /** Epoch of the best state (−1 = the SFT state). */
  bestEpoch: number;
  seconds: number;
}

function cancelled(signal?: AbortSignal): never {
  throw signal?.reason ?? new Error('cancelled');
}

/** GRPO fine-tuning (spec §6) from an SFT recommender; see the module comment. */
export async function trainGrpo(input: GrpoInput, config: GrpoConfig, opts: GrpoOptions = {}): Promise<GrpoResult> {
  const errs = validateGrpoConfig(config);
  if (errs.length) throw new Error(`GRPO config: ${errs.join('; ')}`);
  const { data, codes: codeTable } = input;
  const rc = input.recommenderConfig;
  const C = rc.code_length;
  if (codeTable.length !== (data.numItems + 1) * C) throw new Error(`code table has ${codeTable.length / C} rows, expected ${data.numItems + 1}`);
  const emit = opts.onEvent ?? (() => {});
  const metric = (name: string, step: number, value: number) => emit({ type: 'metric', stage: 'grpo', name, step, value });
  const t0 = Date.now();
  const G = config.group_size;

  const policy = new EtegrecRecommender(rc, config.seed);
  const reference = new EtegrecRecommender(rc, config.seed);
  let optimizer: AdamW | null = null;
  try {
    policy.loadStateDict(input.recommenderState);
    reference.loadStateDict(input.recommenderState);
    const vars = [...policy.trainableVariables().values()];
    optimizer = new AdamW(vars, { lr: config.lr, weightDecay: config.weight_decay });
    const index = new CodeIndex(codeTable);
    const popularTop = popularityTopK(trainCountsFromSamples(data.train, data.numItems), 10);

    const pausedMs = () => opts.pause?.pausedMs() ?? 0;
    const pauseAt = (phase: string) => pausePoint(opts.pause, opts.signal,
      () => emit({ type: 'phase', stage: 'grpo', phase: 'paused', message: phase }),
      () => emit({ type: 'phase', stage: 'grpo', phase }));
    const evalSplit = async (split: 'valid' | 'test', phase: string) => {
      const samples = data[split];
      const limit = split === 'valid' ? config.valid_limit : config.test_limit;
      const total = Math.min(samples.count, limit ?? samples.count);
      emit({ type: 'phase', stage: 'grpo', phase, message: `${total} ${split} samples, ${config.num_beams} beams` });
      const te = Date.now();
      const p0 = pausedMs();
      const result = await evaluateSplit(policy, codeTable, samples, {
        beams: config.num_beams,
        returnCount: config.return_beams,
        batchSize: config.eval_batch_size,
        limit: limit ?? undefined,
        popularTop,
        split,
        shuffleSeed: split === 'test' ? config.seed : undefined,
        onShuffleTest: () => emit({ type: 'phase', stage: 'grpo', phase: `${phase}: history-shuffle test` }),
        signal: opts.signal,
        beforeBatch: () => pauseAt(phase),
        onBatch: (done, tot) => emit({ type: 'progress', stage: 'grpo', phase, done, total: tot, unit: 'samples', etaSeconds: estimateEta(te + pausedMs() - p0, Date.now(), done, tot) }),
      });
      if (split === 'test') for (const reason of collapseReasons(result.diagnostics)) emit({ type: 'log', stage: 'grpo', level: 'warn', message: `collapsed model? GRPO test: ${reason}` });
      return result;
    };

    const validBefore = await evalSplit('valid', 'valid-before');
    metric(`valid_before/${VALID_METRIC}`, 0, validBefore.metrics[VALID_METRIC] ?? 0);

    const train = data.train;
    const S = Math.ceil(train.count / config.batch_size);
    const totalSteps = Math.floor((S * config.epochs) / config.grad_accum);
    const sched = new LrScheduler(config.lr, { kind: 'cosine', warmup: 0, total: totalSteps });
    const shuffleRng = new Rng(config.seed);
    const dropoutRng = new Rng(config.seed + 1);
    const sampleRng = new Rng(config.seed + 2);
    const stopper = new EarlyStopper(config.early_stop);
    let bestState: Record<string, NamedArray> | null = null;
    let bestValid: GenerativeResult | null = null;
    const history: GrpoEpochRecord[] = [];
    const trainStart = Date.now();
    const trainPaused0 = pausedMs();
    let step = 0;
    const plannedBatches = S * config.epochs;
    const microSamples = Math.max(1, Math.floor(config.micro_batch_size / G));

    emit({ type: 'phase', stage: 'grpo', phase: 'train', message: `${train.count} histories, ${S} batches/epoch × G ${G}, ${config.epochs} epochs` });
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const te = Date.now();
      const perm = permutation(train.count, shuffleRng);
      const sums = { reward: 0, hit: 0, invalid: 0, kl: 0, policy: 0, loss: 0, norm: 0, rows: 0 };
      const epochPaused0 = pausedMs();
      for (let b = 0; b < S; b++) {
        await pauseAt('train');
        if (opts.signal?.aborted) cancelled(opts.signal);
        const rows = perm.subarray(b * config.batch_size, Math.min(train.count, (b + 1) * config.batch_size));
        const Bn = rows.length;
        optimizer.lr = sched.lr;
        let gradSum: tf.NamedTensorMap | null = null;
        for (let m0 = 0; m0 < Bn; m0 += microSamples) {
          const mRows = rows.subarray(m0, Math.min(Bn, m0 + microSamples));
          const mB = mRows.length;
          const weight = (mB * G) / (Bn * G);
          const hist = historyCodes(train, mRows, codeTable, C, config.length_bucket);
          const histT = tf.tensor2d(hist.codes, [mB, hist.width], 'int32');
          try {
            // 1. sampling (train mode, no tape)
            const sampled = await sampleGroup(policy, histT, G, { temperature: config.temperature, topK: config.top_k, rng: sampleRng, training: true, dropoutRng });
            // 2–3. rewards and advantages
            const items = new Int32Array(mB * G);
            const targets = new Int32Array(mB);
            for (let i = 0; i < mB; i++) targets[i] = train.targets[mRows[i]];
            for (let r = 0; r < mB * G; r++) {
              items[r] = index.lookup(sampled, r * C);
              if (items[r] === targets[Math.floor(r / G)]) sums.hit += 1;
              if (items[r] < 0) sums.invalid += 1;
            }
            const rewards = groupRewards(items, targets, data.semantic, data.semanticDim, config.reward_alpha);
            for (const r of rewards) sums.reward += r;
            const adv = groupAdvantages(rewards, G);
            // 4. log-probabilities: reference off the tape, policy on it
            const sampledT = tf.tensor2d(sampled, [mB * G, C], 'int32');
            const advT = tf.tensor1d(adv);
            const refT = tf.tidy(() => sequenceLogProb(reference, histT, sampledT, { training: false }));
            const kept: tf.Tensor[] = [];
            try {
              const { value, grads } = tf.variableGrads(() => {
                const cur = sequenceLogProb(policy, histT, sampledT, { training: true, rng: dropoutRng });
                const parts = grpoLoss(cur, refT, advT, config.clip_range, config.kl_coeff);
                kept.push(tf.keep(parts.policy), tf.keep(parts.kl));
                return tf.mul(parts.loss, weight) as tf.Scalar;
              }, vars);
              const vals = await Promise.all([value.data(), kept[0].data(), kept[1].data()]);
              sums.loss += vals[0][0];
              sums.policy += vals[1][0] * weight;
              sums.kl += vals[2][0] * weight;
              value.dispose();
              if (gradSum === null) gradSum = grads;
              else {
                const prev: tf.NamedTensorMap = gradSum;
                const next: tf.NamedTensorMap = {};
                for (const k of Object.keys(prev)) next[k] = tf.add(prev[k], grads[k]);
                tf.dispose(Object.values(prev));
                tf.dispose(Object.values(grads));
                gradSum = next;
              }
            } finally {
              tf.dispose([sampledT, advT, refT, ...kept]);
            }
          } finally {
            histT.dispose();
          }
          sums.rows += mB * G;
        }
        // 6. clip, AdamW, scheduler
        const gs = gradSum as tf.NamedTensorMap | null;
        if (gs) {
          const normT = tf.tidy(() => {
            const { grads, norm } = clipGradNorm(gs, config.clip_norm);
            optimizer?.step(grads);
            return norm;
          });
          sums.norm += (await normT.data())[0];
          normT.dispose();
          tf.dispose(Object.values(gs));
        }
        sched.step();
        step++;
        metric('loss', step, sums.loss / (b + 1));
        emit({
          type: 'progress',
          stage: 'grpo',
          phase: 'train',
          done: step,
          total: plannedBatches,
          unit: 'batches',
          etaSeconds: estimateEta(trainStart + pausedMs() - trainPaused0, Date.now(), step, plannedBatches),
        });
        // Let a Worker's message loop deliver a cancel between batches.
        await new Promise<void>((res) => setTimeout(res, 0));
      }
      const seconds = (Date.now() - te - (pausedMs() - epochPaused0)) / 1000; // paused time is not training time
      const rec: GrpoEpochRecord = {
        epoch,
        rewardMean: sums.reward / Math.max(1, sums.rows),
        hitRate: sums.hit / Math.max(1, sums.rows),
        invalidRate: sums.invalid / Math.max(1, sums.rows),
        kl: sums.kl / S,
        policyLoss: sums.policy / S,
        loss: sums.loss / S,
        gradNorm: sums.norm / S,
        lr: sched.lr,
        seconds,
        samplesPerSecond: train.count / Math.max(1e-9, seconds),
      };
      metric('reward_mean', epoch, rec.rewardMean);
      metric('hit_rate', epoch, rec.hitRate);
      metric('invalid_rate', epoch, rec.invalidRate);
      metric('kl', epoch, rec.kl);
      metric('policy_loss', epoch, rec.policyLoss);
      metric('lr', epoch, rec.lr);
      let stop = false;
      if ((epoch + 1) % config.eval_step === 0) {
        const valid = await evalSplit('valid', 'valid');
        const score = valid.metrics[VALID_METRIC] ?? 0;
        const up = stopper.update(score, epoch);
        rec.valid = valid;
        rec.improved = up.improved;
        metric(`valid/${VALID_METRIC}`, epoch, score);
        if (up.improved) {
          bestState = await policy.stateDict();
          bestValid = valid;
        }
        stop = up.stop;
      }
      history.push(rec);
      opts.onEpoch?.(rec);
      if (stop) {
        emit({ type: 'log', stage: 'grpo', level: 'info', message: `early stop after epoch ${epoch + 1} (best ${VALID_METRIC} ${stopper.best} at epoch ${stopper.bestEpoch + 1})` });
        break;
      }
    }

    // Final test of the best state (the SFT state when nothing improved on 0).
    const finalState = bestState ?? input.recommenderState;
    policy.loadStateDict(finalState);
    const validAfter = bestValid ?? validBefore;
    const test = await evalSplit('test', 'test');
    metric(`test/${VALID_METRIC}`, 0, test.metrics[VALID_METRIC] ?? 0);
    return {
      validBefore,
      validAfter,
      test,
      history,
      bestState: bestState ?? (await policy.stateDict()),
      bestEpoch: bestState ? stopper.bestEpoch : -1,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    optimizer?.dispose();
    policy.dispose();
    reference.dispose();
  }
}
