/**
 * The state of one joint-training run and its loop (see joint.ts): epochs of the alternating and
 * finetune stages (one batch step: jointBatch.ts), code-table rebuilds, validation and early
 * stopping, the tests, and the resumable checkpoint (build and restore).
 */
import * as tf from '@tensorflow/tfjs';
import { StudioError } from '../errors.ts';
import { collapseReasons } from '../eval/diagnostics.ts';
import { evaluateSplit } from '../eval/evaluateSplit.ts';
import type { GenerativeResult } from '../eval/generative.ts';
import { estimateEta, type ProgressSink } from '../events.ts';
import { pausePoint } from '../pause.ts';
import { EtegrecRecommender, type RecommenderConfig } from '../models/recommender.ts';
import { Rqvae, type RqvaeConfig } from '../models/rqvae.ts';
import type { NamedArray } from '../nn/params.ts';
import { AdamW, checkAdamWState, clipGradNorm } from '../optim/adam.ts';
import { LrScheduler, jointScheduleSpecs, stepsPerEpoch, type ScheduleSpec } from '../optim/schedules.ts';
import { permutation, Rng } from '../rng.ts';
import { buildCodeTable } from '../tokenizer/codes.ts';
import { importRqvaeStateDict } from '../tokenizer/stateDict.ts';
import { DeviceBatches } from './deviceBatches.ts';
import { EarlyStopper } from './earlyStop.ts';
import { DivergenceWatch } from './divergence.ts';
import { trainBatch, type BatchModels } from './jointBatch.ts';
import { codeTableStats, epochMetrics, LOSS_KEYS } from './jointMetrics.ts';
import { epochPlan, finetuneEpochPlan, tokenizerScheduleDivisor, type EpochPlan, type JointTrainConfig } from './jointSchedule.ts';
import type {
  CodeTableStats,
  JointCheckpoint,
  JointData,
  JointEpochRecord,
  JointResult,
  JointSamples,
  JointStage,
  JointTrainOptions,
  JointWeights,
  LossTerms,
} from './jointTypes.ts';

const zeroLoss = (): LossTerms => ({ total: 0, code: 0, kl: 0, decCl: 0, vq: 0, recon: 0, rq: 0 });
const yieldToLoop = () => new Promise<void>((r) => setTimeout(r, 0));

function cancelled(signal?: AbortSignal): boolean {
  return signal?.aborted ?? false;
}

function cancelError(): StudioError {
  return new StudioError({ code: 'cancelled', message: 'Joint training was cancelled; the last finished epoch is kept in the checkpoint.' });
}

/** A wasm heap overflow surfaces as "memory access out of bounds": say what to change. */
function outOfMemoryHint(e: unknown, cfg: JointTrainConfig): unknown {
  const msg = e instanceof Error ? e.message : String(e);
  if (!/memory access out of bounds|out of memory|Cannot allocate|Array buffer allocation failed|^Aborted\(/i.test(msg)) return e;
  return new StudioError({
    code: 'internal',
    message: `The ${tf.getBackend()} backend ran out of memory in a joint-training step (${msg}). Lower micro_batch_size (now ${cfg.micro_batch_size}); results stay exact.`,
    field: 'micro_batch_size',
  });
}

/** Float32 copy of a state dict (checkpoints must not alias live buffers). */
function copyState(d: Record<string, NamedArray>): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [k, v] of Object.entries(d)) out[k] = { shape: v.shape.slice(), data: v.data.slice() };
  return out;
}

function copyWeights(w: JointWeights): JointWeights {
  return { recommender: copyState(w.recommender), tokenizer: copyState(w.tokenizer), codes: w.codes.slice() };
}
/** One joint-training run: its modules, optimisers, schedules, RNGs, code table and history. */
export class JointRun {
  readonly rec: EtegrecRecommender;
  readonly tok: Rqvae;
  recOpt: AdamW;
  tokOpt: AdamW;
  recSched: LrScheduler;
  tokSched: LrScheduler;
  readonly shuffleRng: Rng;
  readonly dropoutRng: Rng;
  /** The code table on the host (checkpoints, evaluation); setCodes keeps the device copy in step. */
  codes: Int32Array;
  private readonly batches: DeviceBatches;
  stage: JointStage = 'alternating';
  nextEpoch = 0;
  early: EarlyStopper;
  best: JointCheckpoint['best'] = null;
  history: JointEpochRecord[] = [];
  testBeforeFinetune?: GenerativeResult;
  test?: GenerativeResult;
  finished = false;
  private readonly semanticIds: tf.Tensor1D;
  private readonly S: number;
  private semanticVar: tf.Variable;
  private readonly emit: ProgressSink;

  constructor(
    readonly cfg: JointTrainConfig,
    readonly data: JointData,
    readonly recConfig: RecommenderConfig,
    readonly tokConfig: RqvaeConfig,
    tokenizerState: Record<string, NamedArray>,
    readonly opts: JointTrainOptions,
    /** The popularity top-10 of the training interactions (the overlap diagnostic). */
    readonly popularTop: readonly number[] = [],
  ) {
    this.emit = opts.onEvent ?? (() => {});
    const master = new Rng(cfg.seed);
    this.rec = new EtegrecRecommender(recConfig, master.seed());
    this.tok = new Rqvae(tokConfig, master.seed());
    this.shuffleRng = new Rng(master.seed());
    this.dropoutRng = new Rng(master.seed());
    importRqvaeStateDict(this.tok, tokenizerState);
    // S rows 1..N = the semantic vectors; row 0 keeps its N(0, 0.02) init (§5.1).
    this.semanticVar = this.rec.semanticTable();
    tf.tidy(() => {
      const row0 = tf.slice(this.semanticVar, [0, 0], [1, data.semanticDim]);
      this.semanticVar.assign(tf.concat([row0, tf.tensor2d(data.semantic, [data.numItems, data.semanticDim])], 0));
    });
    this.semanticIds = tf.keep(tf.range(1, data.numItems + 1, 1, 'int32')) as tf.Tensor1D;
    this.S = stepsPerEpoch(data.train.count, cfg.batch_size);
    const specs = this.alternatingSpecs();
    this.recOpt = new AdamW(this.rec.trainableVariables().values(), { lr: cfg.lr_rec, weightDecay: cfg.weight_decay });
    this.tokOpt = new AdamW(this.tok.params.trainable().values(), { lr: cfg.lr_id, weightDecay: cfg.weight_decay });
    this.recSched = new LrScheduler(cfg.lr_rec, specs.recommender);
    this.tokSched = new LrScheduler(cfg.lr_id, specs.tokenizer);
    this.early = new EarlyStopper(cfg.early_stop);
    this.batches = new DeviceBatches(data.train, recConfig.code_length, cfg.length_bucket);
    this.codes = new Int32Array((data.numItems + 1) * 4);
  }

  private setCodes(codes: Int32Array): void {
    this.codes = codes;
    this.batches.setCodes(codes);
  }

  private alternatingSpecs(): { recommender: ScheduleSpec; tokenizer: ScheduleSpec } {
    const cfg = this.cfg;
    const s = jointScheduleSpecs({
      trainSamples: this.data.train.count,
      epochs: cfg.epochs,
      cycle: tokenizerScheduleDivisor(cfg),
      warmup: cfg.warmup_steps,
      batchSize: cfg.batch_size,
      kind: cfg.lr_scheduler_type,
    });
    return { recommender: s.recommender, tokenizer: s.tokenizer };
  }

  /** The finetune stage's fresh optimizer and schedule (§5.10). */
  private startFinetuneOptimizer(): void {
    const ft = this.cfg.finetune;
    this.recOpt.dispose();
    this.recOpt = new AdamW(this.finetuneParams(), { lr: ft.lr, weightDecay: ft.weight_decay });
    this.recSched = new LrScheduler(ft.lr, { kind: ft.lr_scheduler_type, warmup: ft.warmup_steps, total: ft.epochs * this.S });
  }

  /** What the finetune optimizer updates: the recommender, and S unless it is frozen. */
  private finetuneParams(): tf.Variable[] {
    const params = [...this.rec.trainableVariables().values()];
    if (!this.cfg.finetune.freeze_semantic) params.push(this.semanticVar);
    return params;
  }

  /** The initial code table from the loaded tokenizer (§5.2, "once before epoch 0"). */
  async init(): Promise<void> {
    this.setCodes((await this.rebuildCodes(null)).codes);
  }

  /** Item → code table from the current tokenizer (§5.2); reads back asynchronously (WebGPU forbids blocking reads in workers). */
  async rebuildCodes(previous: Int32Array | null): Promise<{ codes: Int32Array; stats: CodeTableStats }> {
    const n = this.data.numItems;
    const prefixT = tf.tidy(() => this.tok.codes(tf.gather(this.semanticVar, this.semanticIds) as tf.Tensor2D));
    const prefix = (await prefixT.data()) as Int32Array;
    prefixT.dispose();
    const K = this.tokConfig.num_emb_list[2];
    const table = buildCodeTable(Int32Array.from(prefix), n, { forge: this.cfg.forge, codebookSize: K });
    if (table.suffixOverflow) {
      this.emit({
        type: 'log',
        stage: 'joint',
        level: 'warn',
        message: `code table: ${table.maxSuffix + 1} items share one 3-token prefix, more than the ${this.recConfig.code_num} suffix codes; the reference raises here`,
      });
    }
    return { codes: table.codes, stats: codeTableStats(Int32Array.from(prefix), table.codes, previous, n, this.recConfig.code_num) };
  }

  async weights(): Promise<JointWeights> {
    return { recommender: await this.rec.stateDict(), tokenizer: await this.tok.params.stateDict(), codes: this.codes.slice() };
  }

  loadWeights(w: JointWeights): void {
    this.rec.loadStateDict(w.recommender);
    importRqvaeStateDict(this.tok, w.tokenizer);
    this.setCodes(w.codes.slice());
    this.semanticVar = this.rec.semanticTable();
  }

  async checkpoint(): Promise<JointCheckpoint> {
    return {
      format: 'etegrec-joint-checkpoint',
      version: 1,
      config: this.cfg,
      recommenderConfig: this.recConfig,
      tokenizerConfig: this.tokConfig,
      stage: this.stage,
      nextEpoch: this.nextEpoch,
      finished: this.finished,
      current: await this.weights(),
      optimizer: { recommender: await this.recOpt.state(), tokenizer: await this.tokOpt.state() },
      schedulerSteps: { recommender: this.recSched.stepCount, tokenizer: this.tokSched.stepCount },
      rngState: { shuffle: this.shuffleRng.getState(), dropout: this.dropoutRng.getState() },
      early: { best: this.early.best, bad: this.early.bad, bestEpoch: this.early.bestEpoch },
      best: this.best ? { ...copyWeights(this.best), epoch: this.best.epoch, stage: this.best.stage, valid: this.best.valid } : null,
      history: this.history.slice(),
      ...(this.testBeforeFinetune ? { testBeforeFinetune: this.testBeforeFinetune } : {}),
      ...(this.test ? { test: this.test } : {}),
    };
  }

  /**
   * Continues from a checkpoint. The optimizer moments are checked against the parameters of the
   * checkpoint's stage first, so a checkpoint whose moments do not fit is refused (naming the
   * tensor) before any weight, moment or optimizer of this run changes.
   */
  restore(c: JointCheckpoint): void {
    const recSlots = c.stage === 'finetune' ? this.finetuneParams().map((p) => ({ name: p.name, size: p.size })) : this.recOpt.slotSizes();
    checkAdamWState(c.optimizer.recommender, recSlots, 'optimizer.recommender');
    checkAdamWState(c.optimizer.tokenizer, this.tokOpt.slotSizes(), 'optimizer.tokenizer');
    this.loadWeights(c.current);
    this.stage = c.stage;
    this.nextEpoch = c.nextEpoch;
    this.finished = c.finished;
    if (c.stage === 'finetune') this.startFinetuneOptimizer();
    this.recOpt.loadState(c.optimizer.recommender, 'optimizer.recommender');
    this.tokOpt.loadState(c.optimizer.tokenizer, 'optimizer.tokenizer');
    this.recSched.setStepCount(c.schedulerSteps.recommender);
    this.tokSched.setStepCount(c.schedulerSteps.tokenizer);
    this.shuffleRng.setState(c.rngState.shuffle);
    this.dropoutRng.setState(c.rngState.dropout);
    this.early = new EarlyStopper(c.stage === 'finetune' ? this.cfg.finetune.early_stop : this.cfg.early_stop, c.early.best);
    this.early.bad = c.early.bad;
    this.early.bestEpoch = c.early.bestEpoch;
    this.best = c.best ? { ...copyWeights(c.best), epoch: c.best.epoch, stage: c.best.stage, valid: c.best.valid } : null;
    this.history = c.history.slice();
    this.testBeforeFinetune = c.testBeforeFinetune;
    this.test = c.test;
  }

  private async saveCheckpoint(): Promise<void> {
    if (this.opts.onCheckpoint) await this.opts.onCheckpoint(await this.checkpoint());
  }

  /** The run's modules and optimiser steps as one batch step needs them (jointBatch.ts). */
  private batchModels(): BatchModels {
    return {
      cfg: this.cfg, train: this.data.train, rec: this.rec, tok: this.tok, semanticVar: this.semanticVar,
      dropoutRng: this.dropoutRng, batches: this.batches, peers: this.opts.peers,
      applyRec: (g) => this.applyGrads(this.recOpt, this.recSched, g, this.semanticVar),
      applyTok: (g) => this.applyGrads(this.tokOpt, this.tokSched, g),
    };
  }

  /** Clip, step AdamW at the scheduler's lr, step the scheduler; disposes `grads`. Returns the pre-clip norm. */
  private applyGrads(opt: AdamW, sched: LrScheduler, grads: tf.NamedTensorMap, semantic?: tf.Variable): tf.Scalar {
    const norm = tf.tidy(() => {
      const { grads: clipped, norm } = clipGradNorm(grads, this.cfg.clip_norm);
      // finetune with freeze_semantic off (reference single-GPU quirk): S has no gradient but decays
      if (semantic && this.stage === 'finetune' && !this.cfg.finetune.freeze_semantic) clipped[semantic.name] = tf.zerosLike(semantic);
      opt.lr = sched.lr;
      opt.step(clipped);
      return norm;
    });
    sched.step();
    tf.dispose(grads);
    return norm;
  }

  private planOf(epoch: number): EpochPlan {
    return this.stage === 'finetune' ? finetuneEpochPlan(this.cfg, epoch) : epochPlan(this.cfg, epoch);
  }

  private epochsOfStage(): number {
    return this.stage === 'finetune' ? this.cfg.finetune.epochs : this.cfg.epochs;
  }

  async runEpoch(epoch: number): Promise<JointEpochRecord> {
    const cfg = this.cfg;
    const plan = this.planOf(epoch);
    const t0 = Date.now();
    const p0 = this.pausedMs();
    const train = this.data.train;
    const order = permutation(train.count, this.shuffleRng);
    const total = Math.ceil(train.count / cfg.batch_size);
    const phaseName = `${this.stage} epoch ${epoch + 1}/${this.epochsOfStage()} (${plan.phase})`;
    this.emit({ type: 'phase', stage: 'joint', phase: phaseName });
    const sums = Object.fromEntries(LOSS_KEYS.map((k) => [k, tf.keep(tf.scalar(0))])) as Record<keyof LossTerms, tf.Scalar>;
    let recNormSum: tf.Scalar | null = null;
    let tokNormSum: tf.Scalar | null = null;
    const accumulate = (cur: tf.Scalar | null, v: tf.Scalar | undefined): tf.Scalar | null => {
      if (!v) return cur;
      if (!cur) return tf.keep(v);
      const next = tf.keep(tf.add(cur, v) as tf.Scalar);
      tf.dispose([cur, v]);
      return next;
    };
    let batches = 0;
    const watch = new DivergenceWatch('Joint training');
    try {
      for (let start = 0; start < train.count; start += cfg.batch_size) {
        await this.pausePoint(phaseName);
        if (cancelled(this.opts.signal)) throw cancelError();
        watch.check();
        const rows = Array.from(order.subarray(start, Math.min(train.count, start + cfg.batch_size)));
        let res;
        try {
          res = trainBatch(this.batchModels(), plan, rows);
        } catch (e) {
          throw outOfMemoryHint(e, cfg);
        }
        watch.watch(res.terms.total, `${this.stage} epoch ${epoch + 1}, batch ${batches + 1} of ${total} (${plan.phase})`);
        for (const k of LOSS_KEYS) {
          const next = tf.keep(tf.add(sums[k], res.terms[k]) as tf.Scalar);
          sums[k].dispose();
          res.terms[k].dispose();
          sums[k] = next;
        }
        recNormSum = accumulate(recNormSum, res.recNorm);
        tokNormSum = accumulate(tokNormSum, res.tokNorm);
        batches++;
        this.emit({ type: 'progress', stage: 'joint', phase: phaseName, done: batches, total, unit: 'batches', etaSeconds: estimateEta(t0 + this.pausedMs() - p0, Date.now(), batches, total) });
        await yieldToLoop();
      }
      await watch.settle();
      const loss = zeroLoss();
      for (const k of LOSS_KEYS) loss[k] = (await sums[k].data())[0] / Math.max(1, batches);
      const record: JointEpochRecord = {
        stage: this.stage,
        epoch,
        phase: plan.phase,
        weights: plan.weights,
        loss,
        lrRecommender: this.recSched.lr,
        lrTokenizer: this.tokSched.lr,
        seconds: 0,
        samplesPerSecond: 0,
      };
      if (recNormSum) record.gradNormRecommender = (await recNormSum.data())[0] / batches;
      if (tokNormSum) record.gradNormTokenizer = (await tokNormSum.data())[0] / batches;
      // paused time is not training time
      const trainSeconds = (Date.now() - t0 - (this.pausedMs() - p0)) / 1000;
      record.samplesPerSecond = train.count / Math.max(1e-9, trainSeconds);
      if (plan.recomputeCodesAfter) {
        const rebuilt = await this.rebuildCodes(this.codes);
        this.setCodes(rebuilt.codes);
        record.codes = rebuilt.stats;
      }
      record.seconds = (Date.now() - t0 - (this.pausedMs() - p0)) / 1000;
      return record;
    } finally {
      tf.dispose(Object.values(sums));
      if (recNormSum) recNormSum.dispose();
      if (tokNormSum) tokNormSum.dispose();
    }
  }

  /** Waits while the run is paused, reporting the pause and then the phase it resumes. */
  private pausePoint(phase: string): Promise<void> {
    return pausePoint(this.opts.pause, this.opts.signal,
      () => this.emit({ type: 'phase', stage: 'joint', phase: 'paused', message: phase }),
      () => this.emit({ type: 'phase', stage: 'joint', phase }));
  }

  /** Total milliseconds paused so far (0 without a pause gate). */
  private pausedMs(): number {
    return this.opts.pause?.pausedMs() ?? 0;
  }

  async evaluate(samples: JointSamples, split: 'valid' | 'test', limit = 0): Promise<GenerativeResult> {
    const cfg = this.cfg;
    const t0 = Date.now();
    const p0 = this.pausedMs();
    const phase = `${this.stage}: ${split} beam search`;
    this.emit({ type: 'phase', stage: 'joint', phase });
    const result = await evaluateSplit(this.rec, this.codes, samples, {
      beams: cfg.num_beams,
      returnCount: cfg.return_beams,
      batchSize: cfg.eval_batch_size,
      constrained: cfg.constrained,
      lengthBucket: cfg.length_bucket,
      limit: limit > 0 ? limit : undefined,
      popularTop: this.popularTop,
      split,
      share: this.opts.peers,
      // on validation too: a cheap per-epoch view of whether the history is used (2 forward passes)
      shuffleSeed: cfg.seed,
      onShuffleTest: () => this.emit({ type: 'phase', stage: 'joint', phase: `${this.stage}: history-shuffle test` }),
      signal: this.opts.signal,
      beforeBatch: () => this.pausePoint(phase),
      onBatch: (done, total) =>
        this.emit({ type: 'progress', stage: 'joint', phase, done, total, unit: 'users', etaSeconds: estimateEta(t0 + this.pausedMs() - p0, Date.now(), done, total) }),
    });
    if (split === 'test') {
      for (const reason of collapseReasons(result.diagnostics)) {
        this.emit({ type: 'log', stage: 'joint', level: 'warn', message: `collapsed model? ${this.stage} test: ${reason}` });
      }
    }
    return result;
  }

  private emitRecord(r: JointEpochRecord): void {
    const step = this.history.length;
    for (const { name, value } of epochMetrics(r)) this.emit({ type: 'metric', stage: 'joint', name, step, value });
    this.opts.onEpoch?.(r);
  }

  /** Runs the current stage from nextEpoch to its end (or early stop / maxEpochs). Returns false when stopped by maxEpochs. */
  private async runStage(budget: { left: number }): Promise<boolean> {
    const epochs = this.epochsOfStage();
    while (this.nextEpoch < epochs && !this.early.stopped) {
      if (budget.left <= 0) return false;
      if (cancelled(this.opts.signal)) throw cancelError();
      const epoch = this.nextEpoch;
      const record = await this.runEpoch(epoch);
      const plan = this.planOf(epoch);
      if (plan.evaluateAfter) {
        // data-parallel: the replicas share the search and all get the same result
        const valid = await this.evaluate(this.data.valid, 'valid', this.cfg.eval_limit);
        record.valid = valid;
        const upd = this.early.update(valid.metrics['ndcg@10'] ?? 0, epoch);
        record.improved = upd.improved;
        if (upd.improved) this.best = { ...(await this.weights()), epoch, stage: this.stage, valid };
      }
      this.history.push(record);
      this.emitRecord(record);
      this.nextEpoch = epoch + 1;
      budget.left--;
      await this.saveCheckpoint();
    }
    return true;
  }

  /** The test split's beam search (shared by the replicas of a data-parallel run). */
  private async testResult(): Promise<GenerativeResult> {
    return this.evaluate(this.data.test, 'test');
  }

  /** Loads the best weights of the run so far (or keeps the current ones when nothing improved). */
  private loadBest(): void {
    if (this.best) this.loadWeights(this.best);
  }

  async run(): Promise<JointResult> {
    const t0 = Date.now();
    const budget = { left: this.opts.maxEpochs ?? Infinity };
    if (!this.finished) {
      if (this.stage === 'alternating') {
        if (!(await this.runStage(budget))) return this.result(t0);
        // §5.11 "Pre Test Results" on the best alternating checkpoint, then the finetune stage (§5.10)
        this.loadBest();
        this.testBeforeFinetune = await this.testResult();
        this.emit({ type: 'log', stage: 'joint', level: 'info', message: `test before finetune: ${JSON.stringify(this.testBeforeFinetune?.metrics)}` });
        this.stage = 'finetune';
        this.nextEpoch = 0;
        const rebuilt = await this.rebuildCodes(this.codes);
        this.setCodes(rebuilt.codes);
        this.startFinetuneOptimizer();
        this.early = new EarlyStopper(this.cfg.finetune.early_stop, 0);
        await this.saveCheckpoint();
      }
      if (this.cfg.finetune.epochs > 0) {
        if (!(await this.runStage(budget))) return this.result(t0);
        this.loadBest();
        this.test = await this.testResult();
      } else {
        this.test = this.testBeforeFinetune;
      }
      this.emit({ type: 'log', stage: 'joint', level: 'info', message: `test: ${JSON.stringify(this.test?.metrics)}` });
      this.finished = true;
      await this.saveCheckpoint();
    }
    return this.result(t0);
  }

  private async result(t0: number): Promise<JointResult> {
    return {
      checkpoint: await this.checkpoint(),
      ...(this.testBeforeFinetune ? { testBeforeFinetune: this.testBeforeFinetune } : {}),
      ...(this.test ? { test: this.test } : {}),
      final: this.best ? copyWeights(this.best) : await this.weights(),
      seconds: (Date.now() - t0) / 1000,
    };
  }

  dispose(): void {
    this.recOpt.dispose();
    this.tokOpt.dispose();
    this.rec.dispose();
    this.tok.dispose();
    this.semanticIds.dispose();
    this.batches.dispose();
  }
}
