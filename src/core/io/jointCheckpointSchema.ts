/**
 * Schema check of a joint checkpoint's metadata (`__metadata__.state` and `__metadata__.index`)
 * before any of it is used: every field's type and range, the training config through the joint
 * stage declaration, the model configs, and the consistency of stage / epoch / code-table rows.
 * Every refusal is a StudioError naming the file and the field. Pure (no DOM, fs or IndexedDB).
 */
import { StudioError } from '../errors.ts';
import type { RecommenderConfig } from '../models/recommender.ts';
import type { RqvaeConfig } from '../models/rqvae.ts';
import type { T5Config } from '../models/t5.ts';
import { validateStageConfig } from '../stages/fields.ts';
import { JOINT_STAGE } from '../stages/joint.ts';
import type { JointTrainConfig } from '../train/jointSchedule.ts';
import type { JointCheckpoint, JointStage } from '../train/jointTypes.ts';

export interface CheckpointWeightsIndex {
  recommender: string[];
  tokenizer: string[];
  codesRows: number;
}

export interface CheckpointIndex {
  current: CheckpointWeightsIndex;
  best: (CheckpointWeightsIndex & { epoch: number; stage: JointStage; valid: NonNullable<JointCheckpoint['best']>['valid'] }) | null;
  optimizer: Record<'recommender' | 'tokenizer', { step: number; slots: number }>;
}

export type CheckpointState = Omit<JointCheckpoint, 'current' | 'best' | 'optimizer' | 'format' | 'version'>;

/** Largest count/size accepted anywhere in the metadata (far above any real model, below 2^53). */
const MAX_COUNT = 2 ** 40;
const UINT32_MAX = 0xffffffff;

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly file: string) {}

  fail(field: string, message: string, expected?: string, found?: unknown): never {
    throw new StudioError({
      code: 'malformed_input',
      file: this.file,
      field,
      message: `Checkpoint metadata: ${message}`,
      ...(expected !== undefined ? { expected, found: describe(found) } : {}),
    });
  }

  obj(v: unknown, field: string): Obj {
    if (!v || typeof v !== 'object' || Array.isArray(v)) this.fail(field, `${field} is not an object`, 'an object', v);
    return v as Obj;
  }

  int(v: unknown, field: string, min: number, max = MAX_COUNT): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `${field} is not an integer in range`, `an integer in [${min}, ${max}]`, v);
    }
    return v;
  }

  num(v: unknown, field: string, opts: { min?: number; finite?: boolean } = {}): number {
    const finite = opts.finite ?? true;
    if (typeof v !== 'number' || (finite && !Number.isFinite(v)) || Number.isNaN(v) || (opts.min !== undefined && v < opts.min)) {
      this.fail(field, `${field} is not a ${finite ? 'finite ' : ''}number${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}`, `a ${finite ? 'finite ' : ''}number`, v);
    }
    return v;
  }

  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, `${field} is not a boolean`, 'true or false', v);
    return v;
  }

  stage(v: unknown, field: string): JointStage {
    if (v !== 'alternating' && v !== 'finetune') this.fail(field, `${field} is not a joint stage`, '"alternating" or "finetune"', v);
    return v;
  }

  strings(v: unknown, field: string): string[] {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) this.fail(field, `${field} is not a list of names`, 'an array of strings', v);
    if (new Set(v).size !== v.length) this.fail(field, `${field} names a tensor twice`);
    return v as string[];
  }

  ints(v: unknown, field: string, min: number, opts: { minLength?: number } = {}): number[] {
    if (!Array.isArray(v) || v.length < (opts.minLength ?? 0)) this.fail(field, `${field} is not a list of integers`, `an array of integers ≥ ${min}`, v);
    v.forEach((x, i) => this.int(x, `${field}[${i}]`, min));
    return v as number[];
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 60) + '…' : s;
}

function checkT5(c: Checker, v: unknown, field: string): T5Config {
  const t = c.obj(v, field);
  for (const k of ['num_layers', 'num_decoder_layers', 'd_model', 'd_ff', 'num_heads', 'd_kv', 'relative_attention_num_buckets', 'relative_attention_max_distance'] as const) {
    c.int(t[k], `${field}.${k}`, k === 'num_layers' || k === 'num_decoder_layers' ? 0 : 1, 1 << 20);
  }
  c.num(t.layer_norm_epsilon, `${field}.layer_norm_epsilon`, { min: 0 });
  const p = c.num(t.dropout_rate, `${field}.dropout_rate`, { min: 0 });
  if (p >= 1) c.fail(`${field}.dropout_rate`, `${field}.dropout_rate is not below 1`, 'a number in [0, 1)', p);
  return t as unknown as T5Config;
}

function checkRecommenderConfig(c: Checker, v: unknown): RecommenderConfig {
  const f = 'state.recommenderConfig';
  const r = c.obj(v, f);
  checkT5(c, r.t5, `${f}.t5`);
  c.int(r.code_length, `${f}.code_length`, 4, 4);
  c.int(r.code_num, `${f}.code_num`, 1, 1 << 20);
  c.int(r.e_dim, `${f}.e_dim`, 1, 1 << 20);
  c.int(r.semantic_hidden_size, `${f}.semantic_hidden_size`, 1, 1 << 20);
  c.int(r.n_items_plus_pad, `${f}.n_items_plus_pad`, 2, 1 << 30);
  c.num(r.initializer_range, `${f}.initializer_range`, { min: 0 });
  return r as unknown as RecommenderConfig;
}

function checkTokenizerConfig(c: Checker, v: unknown, rc: RecommenderConfig): RqvaeConfig {
  const f = 'state.tokenizerConfig';
  const t = c.obj(v, f);
  const inDim = c.int(t.in_dim, `${f}.in_dim`, 1, 1 << 20);
  c.ints(t.layers, `${f}.layers`, 1);
  const eDim = c.int(t.e_dim, `${f}.e_dim`, 1, 1 << 20);
  const books = c.ints(t.num_emb_list, `${f}.num_emb_list`, 1, { minLength: 1 });
  c.num(t.beta, `${f}.beta`);
  c.num(t.quant_loss_weight, `${f}.quant_loss_weight`);
  if (!Array.isArray(t.sk_epsilons) || t.sk_epsilons.length !== books.length) c.fail(`${f}.sk_epsilons`, `${f}.sk_epsilons is not one number per codebook`, `${books.length} numbers`, t.sk_epsilons);
  (t.sk_epsilons as unknown[]).forEach((x, i) => c.num(x, `${f}.sk_epsilons[${i}]`, { min: 0 }));
  c.int(t.sk_iters, `${f}.sk_iters`, 0, 1 << 20);
  if (books.length !== rc.code_length - 1) c.fail(`${f}.num_emb_list`, `the tokenizer has ${books.length} codebooks, code_length ${rc.code_length} needs ${rc.code_length - 1}`, String(rc.code_length - 1), books.length);
  if (eDim !== rc.e_dim) c.fail(`${f}.e_dim`, `the tokenizer latent width differs from the recommender's e_dim`, String(rc.e_dim), eDim);
  if (inDim !== rc.semantic_hidden_size) c.fail(`${f}.in_dim`, `the tokenizer input width differs from the recommender's semantic_hidden_size`, String(rc.semantic_hidden_size), inDim);
  const big = books.findIndex((k) => k > rc.code_num);
  if (big >= 0) c.fail(`${f}.num_emb_list[${big}]`, `codebook ${big} has more codes than the recommender's code_num`, `≤ ${rc.code_num}`, books[big]);
  return t as unknown as RqvaeConfig;
}

function checkJointConfig(c: Checker, v: unknown): JointTrainConfig {
  const cfg = c.obj(v, 'state.config');
  // the nested groups must exist before the declaration reads dotted keys out of them
  for (const k of ['t5', 'finetune', 'ablation'] as const) if (k in cfg || k === 't5') c.obj(cfg[k], `state.config.${k}`);
  let errs;
  try {
    errs = validateStageConfig(JOINT_STAGE, cfg as unknown as JointTrainConfig);
  } catch (e) {
    c.fail('state.config', `the training config cannot be read (${(e as Error).message})`);
  }
  if (errs.length) c.fail(`state.config.${errs[0].field}`, `training config: ${errs.map((e) => e.message).join('; ')}`);
  return cfg as unknown as JointTrainConfig;
}

/** Epochs of `stage` under `cfg` (the range of nextEpoch is [0, epochs]). */
function stageEpochs(cfg: JointTrainConfig, stage: JointStage): number {
  return stage === 'finetune' ? cfg.finetune.epochs : cfg.epochs;
}

function checkWeightsIndex(c: Checker, v: unknown, field: string, rows: number): CheckpointWeightsIndex {
  const w = c.obj(v, field);
  c.strings(w.recommender, `${field}.recommender`);
  c.strings(w.tokenizer, `${field}.tokenizer`);
  c.int(w.codesRows, `${field}.codesRows`, rows, rows);
  return w as unknown as CheckpointWeightsIndex;
}

function checkResult(c: Checker, v: unknown, field: string): void {
  const r = c.obj(v, field);
  if ('metrics' in r) c.obj(r.metrics, `${field}.metrics`);
}

/**
 * Validates the decoded `state` and `index` of a checkpoint; returns them typed. `file` names the
 * checkpoint in the errors.
 */
export function validateCheckpointMetadata(stateIn: unknown, indexIn: unknown, file: string): { state: CheckpointState; index: CheckpointIndex } {
  const c = new Checker(file);
  const s = c.obj(stateIn, 'state');
  const config = checkJointConfig(c, s.config);
  const rc = checkRecommenderConfig(c, s.recommenderConfig);
  checkTokenizerConfig(c, s.tokenizerConfig, rc);
  const stage = c.stage(s.stage, 'state.stage');
  const epochs = stageEpochs(config, stage);
  c.int(s.nextEpoch, 'state.nextEpoch', 0, epochs);
  c.bool(s.finished, 'state.finished');
  const sched = c.obj(s.schedulerSteps, 'state.schedulerSteps');
  c.int(sched.recommender, 'state.schedulerSteps.recommender', 0);
  c.int(sched.tokenizer, 'state.schedulerSteps.tokenizer', 0);
  const rng = c.obj(s.rngState, 'state.rngState');
  c.int(rng.shuffle, 'state.rngState.shuffle', 0, UINT32_MAX);
  c.int(rng.dropout, 'state.rngState.dropout', 0, UINT32_MAX);
  const early = c.obj(s.early, 'state.early');
  c.num(early.best, 'state.early.best', { finite: false });
  c.int(early.bad, 'state.early.bad', 0);
  c.int(early.bestEpoch, 'state.early.bestEpoch', -1, Math.max(epochs, config.epochs));
  if (!Array.isArray(s.history)) c.fail('state.history', 'state.history is not a list of epoch records', 'an array', s.history);
  (s.history as unknown[]).forEach((r, i) => {
    const rec = c.obj(r, `state.history[${i}]`);
    c.stage(rec.stage, `state.history[${i}].stage`);
    c.int(rec.epoch, `state.history[${i}].epoch`, 0);
  });
  if (s.testBeforeFinetune !== undefined) checkResult(c, s.testBeforeFinetune, 'state.testBeforeFinetune');
  if (s.test !== undefined) checkResult(c, s.test, 'state.test');

  const ix = c.obj(indexIn, 'index');
  const rows = rc.n_items_plus_pad;
  checkWeightsIndex(c, ix.current, 'index.current', rows);
  if (ix.best !== null) {
    checkWeightsIndex(c, ix.best, 'index.best', rows);
    const b = ix.best as Obj;
    c.int(b.epoch, 'index.best.epoch', 0);
    c.stage(b.stage, 'index.best.stage');
    checkResult(c, b.valid, 'index.best.valid');
  }
  const opt = c.obj(ix.optimizer, 'index.optimizer');
  for (const k of ['recommender', 'tokenizer'] as const) {
    const o = c.obj(opt[k], `index.optimizer.${k}`);
    c.int(o.step, `index.optimizer.${k}.step`, 0);
    c.int(o.slots, `index.optimizer.${k}.slots`, 0, 1 << 20);
  }
  return { state: s as unknown as CheckpointState, index: ix as unknown as CheckpointIndex };
}
