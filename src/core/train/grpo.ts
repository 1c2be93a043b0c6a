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
 * strict improvement of ndcg@10, test of the best state. A cancel after the pre-GRPO validation
 * ends training and returns the best state so far (untested), as the fork keeps its best
 * `grpo_<epoch>.pt` on disk when stopped.
 *
 * Pure core: tfjs only, no DOM / fs / IndexedDB. This file: the trainer; steps 2–3 and the sampler's
 * draw: grpoRewards.ts; steps 1, 4, 5 on the model: grpoPolicy.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { historyCodes } from '../eval/evaluateGenerative.ts';
import { collapseReasons, popularityTopK } from '../eval/diagnostics.ts';
import { evaluateSplit } from '../eval/evaluateSplit.ts';
import { subsampleEvenly, trainCountsFromSamples } from './jointData.ts';
import { CodeTrie } from '../eval/beam.ts';
import { CodeIndex, VALID_METRIC, type GenerativeResult } from '../eval/generative.ts';
import { estimateEta, type ProgressSink } from '../events.ts';
import { pausePoint, type PauseGate } from '../pause.ts';
import { EtegrecRecommender, type RecommenderConfig } from '../models/recommender.ts';
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

// The pure pieces (rewards, advantages, sampling) and the policy's (loss, sampling, log-probs).
export * from './grpoRewards.ts';
export * from './grpoPolicy.ts';
import { groupAdvantages, groupRewards } from './grpoRewards.ts';
import { grpoLoss, sampleGroup, sequenceLogProb } from './grpoPolicy.ts';
import { divergedError } from './divergence.ts';

/** What an update measures: per update the means over its B·G sampled rows, per epoch the means over its updates. */
export interface GrpoUpdateMeans {
  rewardMean: number;
  /** Share of sampled codes equal to the target's code. */
  hitRate: number;
  /** Share of sampled codes that match no item. */
  invalidRate: number;
  kl: number;
  policyLoss: number;
  loss: number;
  /** Pre-clip global gradient norm. */
  gradNorm: number;
}

/** One update's numbers. */
export interface GrpoStepRecord extends GrpoUpdateMeans {
  /** 1-based update count over the whole run (the charts' x). */
  step: number;
  /** lr this update used. */
  lr: number;
}

export interface GrpoEpochRecord extends GrpoUpdateMeans {
  epoch: number;
  /** lr of the next update (after the scheduler step). */
  lr: number;
  valid?: GenerativeResult;
  improved?: boolean;
  seconds: number;
  samplesPerSecond: number;
  /** Update count at the end of the epoch (x of its validation); absent in older records. */
  endStep?: number;
  /** Every update of the epoch; absent in older records. */
  steps?: GrpoStepRecord[];
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
  /** After each update (the per-step curves). */
  onStep?: (record: GrpoStepRecord) => void;
  /** The validation of the SFT model, once known (before the first update). */
  onValidBefore?: (result: GenerativeResult) => void;
}

export interface GrpoResult {
  /** Validation of the SFT model (before any update). */
  validBefore: GenerativeResult;
  /** Validation of the best state (the SFT state when no epoch improved on 0). */
  validAfter: GenerativeResult;
  /** Test of the best state; null when cancelled (training stopped, nothing tested). */
  test: GenerativeResult | null;
  /** Stopped by the signal after the pre-GRPO validation: the best state so far, untested. */
  cancelled: boolean;
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
    metric('valid_before/invalid_rate', 0, validBefore.invalidRate);
    opts.onValidBefore?.(validBefore);

    const train = subsampleEvenly(data.train, config.train_limit ?? 0);
    const S = Math.ceil(train.count / config.batch_size);
    const trie = config.constrained_sampling ? new CodeTrie(codeTable, C, rc.code_num) : undefined;
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

    const subset = train.count < data.train.count ? ` (${train.count} of ${data.train.count}, evenly spaced)` : '';
    emit({ type: 'phase', stage: 'grpo', phase: 'train', message: `${train.count} histories${subset}, ${S} batches/epoch × G ${G}, ${config.epochs} epochs${trie ? ', constrained sampling' : ''}` });
    let cancelledRun = false;
    try {
      for (let epoch = 0; epoch < config.epochs; epoch++) {
        const te = Date.now();
        const perm = permutation(train.count, shuffleRng);
        const sums = { reward: 0, hit: 0, invalid: 0, kl: 0, policy: 0, loss: 0, norm: 0, rows: 0 };
        const steps: GrpoStepRecord[] = [];
        const epochPaused0 = pausedMs();
        for (let b = 0; b < S; b++) {
          await pauseAt('train');
          if (opts.signal?.aborted) cancelled(opts.signal);
          const rows = perm.subarray(b * config.batch_size, Math.min(train.count, (b + 1) * config.batch_size));
          const Bn = rows.length;
          optimizer.lr = sched.lr;
          const stepLr = sched.lr;
          const before = { ...sums };
          let gradSum: tf.NamedTensorMap | null = null;
          for (let m0 = 0; m0 < Bn; m0 += microSamples) {
            const mRows = rows.subarray(m0, Math.min(Bn, m0 + microSamples));
            const mB = mRows.length;
            const weight = (mB * G) / (Bn * G);
            const hist = historyCodes(train, mRows, codeTable, C, config.length_bucket);
            const histT = tf.tensor2d(hist.codes, [mB, hist.width], 'int32');
            try {
              // 1. sampling (train mode, no tape)
              const sampled = await sampleGroup(policy, histT, G, { temperature: config.temperature, topK: config.top_k, rng: sampleRng, training: true, dropoutRng, constraint: trie });
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
                if (!Number.isFinite(vals[0][0])) {
                  value.dispose();
                  tf.dispose(Object.values(grads));
                  if (gradSum) tf.dispose(Object.values(gradSum as tf.NamedTensorMap));
                  throw divergedError('GRPO training', `epoch ${epoch + 1}, batch ${b + 1} of ${S}`, vals[0][0]);
                }
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
          const rowsB = Math.max(1, sums.rows - before.rows);
          const sr: GrpoStepRecord = {
            step,
            rewardMean: (sums.reward - before.reward) / rowsB,
            hitRate: (sums.hit - before.hit) / rowsB,
            invalidRate: (sums.invalid - before.invalid) / rowsB,
            kl: sums.kl - before.kl,
            policyLoss: sums.policy - before.policy,
            loss: sums.loss - before.loss,
            gradNorm: sums.norm - before.norm,
            lr: stepLr,
          };
          steps.push(sr);
          metric('reward_mean', step, sr.rewardMean);
          metric('hit_rate', step, sr.hitRate);
          metric('invalid_rate', step, sr.invalidRate);
          metric('kl', step, sr.kl);
          metric('policy_loss', step, sr.policyLoss);
          metric('loss', step, sr.loss);
          metric('grad_norm', step, sr.gradNorm);
          metric('lr', step, sr.lr);
          opts.onStep?.(sr);
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
          endStep: step,
          steps,
        };
        let stop = false;
        if ((epoch + 1) % config.eval_step === 0) {
          const valid = await evalSplit('valid', 'valid');
          const score = valid.metrics[VALID_METRIC] ?? 0;
          const up = stopper.update(score, epoch);
          rec.valid = valid;
          rec.improved = up.improved;
          metric(`valid/${VALID_METRIC}`, step, score);
          metric('valid/invalid_rate', step, valid.invalidRate);
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
    } catch (err) {
      // A cancel keeps what was validated so far; any other error (or a cancel before
      // any validation) propagates.
      if (!opts.signal?.aborted) throw err;
      cancelledRun = true;
      emit({ type: 'log', stage: 'grpo', level: 'info', message: `cancelled after ${step} update(s); keeping ${bestState ? `the best state (epoch ${stopper.bestEpoch + 1})` : 'the SFT state (no validation improved on it)'}, not tested` });
    }

    // Final test of the best state (the SFT state when nothing improved on 0).
    const finalState = bestState ?? input.recommenderState;
    policy.loadStateDict(finalState);
    const validAfter = bestValid ?? validBefore;
    const test = cancelledRun ? null : await evalSplit('test', 'test');
    if (test) metric(`test/${VALID_METRIC}`, step, test.metrics[VALID_METRIC] ?? 0);
    return {
      validBefore,
      validAfter,
      test,
      cancelled: cancelledRun,
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
