/**
 * The one-download export bundle of joint training and the resumable joint checkpoint file
 * (spec §5.9, §7). Pure: bytes in, bytes out (no DOM, fs or IndexedDB).
 *
 * Bundle (a zip, or the same files in a directory):
 * * `recommender.safetensors` — exactly the reference keys and PyTorch shapes of
 *   recommenderStateDictShapes (tied aliases included), F32, metadata `config` = RecommenderConfig JSON;
 * * `tokenizer.safetensors` — the RQ-VAE state dict (exportRqvaeSafetensors);
 * * `code.json` — (N+1) × 4 code table as the reference writes it;
 * * `config.yaml` — flat `key: value` lines: one per field of the joint declaration (JOINT_STAGE),
 *   under its key — the reference names (lr_rec, lr_id, cycle, warm_epoch, id_vq_loss, …), nested
 *   groups as dotted keys (`ablation.sia`, `finetune.lr`, `finetune.weights.code`), `ablation` the
 *   Table 4 variant of the switches — then the recommender dims under the HF T5 /
 *   reference names (d_model, num_layers, …, code_num, code_length, e_dim, semantic_hidden_size,
 *   n_items) and the tokenizer layout as `rqvae.*`;
 * * `metrics.csv` — one row per epoch record; `metrics.json` when given; any extra files.
 *
 * readJointBundle also accepts the reference's own checkpoint files: `<epoch>.pt` (recommender
 * state dict, `module.` prefixes allowed), `<epoch>.pt.rqvae`, `<epoch>.code.json`.
 *
 * The joint checkpoint is one safetensors file: every array as a tensor (`current.recommender.<key>`,
 * `current.tokenizer.<key>`, `current.codes`, `best.*`, `optimizer.<module>.{m,v}.<slot>`), all other
 * fields as JSON in `__metadata__.state` (non-finite numbers and −0 encoded as {"$num": "NaN"}), and
 * `__metadata__.checksums`: the CRC-32 of every tensor's bytes (also in the bundle's two safetensors
 * files). Reading validates the whole metadata (jointCheckpointSchema.ts) and every checksum; files
 * written before checksums existed are accepted with a warning.
 */
import { strFromU8, strToU8, zipSync, type Zippable } from 'fflate';
import { unzipChecked } from './zip.ts';
import { StudioError } from '../errors.ts';
import { recommenderStateDictShapes, SHARED, TIED_ALIASES, type RecommenderConfig } from '../models/recommender.ts';
import { rqvaeStateDictShapes, RQVAE_SINGLE, type RqvaeConfig } from '../models/rqvae.ts';
import { T5_PAPER, type T5Config } from '../models/t5.ts';
import type { NamedArray } from '../nn/params.ts';
import type { AdamWState } from '../optim/adam.ts';
import { readCodeJson, writeCodeJson } from '../tokenizer/codes.ts';
import { compareStateDict, exportRqvaeSafetensors, readRqvaePth, readRqvaeSafetensors, stripModulePrefix, type StateDictReport } from '../tokenizer/stateDict.ts';
import type { JointTrainConfig } from '../train/jointSchedule.ts';
import type { JointCheckpoint, JointEpochRecord, JointWeights } from '../train/jointTypes.ts';
import { writeCsv, type CsvCell } from './csv.ts';
import { pthStateDict, readPth } from './pth.ts';
import { f32Tensor, i32Tensor, readSafetensors, toFloat32, writeSafetensors, type SafeTensor } from './safetensors.ts';
import { readFlatYaml, writeFlatYaml, type YamlValue } from './yaml.ts';
import { expectedText, fieldValue, resolveStage, type FieldDecl } from '../stages/fields.ts';
import { CHECKSUMS_KEY, tensorChecksums as checksumsOf, verifyTensorChecksums } from './checksum.ts';
import { validateCheckpointMetadata, type CheckpointWeightsIndex } from './jointCheckpointSchema.ts';
import { JOINT_STAGE } from '../stages/joint.ts';

/** Non-shape recommender fields used when inferring a config from shapes. */
export type RecommenderBase = Omit<Partial<RecommenderConfig>, 't5'> & { t5?: Partial<T5Config> };

/**
 * `__metadata__.checksums` of the checkpoint and of the bundle's safetensors files: tensor name →
 * CRC-32 (8 hex digits) of its bytes, for every tensor; checked on reading.
 */
export const CHECKPOINT_CHECKSUMS_KEY = CHECKSUMS_KEY;

export const BUNDLE_FILES = {
  recommender: 'recommender.safetensors',
  tokenizer: 'tokenizer.safetensors',
  codes: 'code.json',
  config: 'config.yaml',
  metricsCsv: 'metrics.csv',
  metricsJson: 'metrics.json',
} as const;

export interface JointBundleInput {
  recommender: Record<string, NamedArray>;
  recommenderConfig: RecommenderConfig;
  tokenizer: Record<string, NamedArray>;
  tokenizerConfig: RqvaeConfig;
  /** (N+1) × 4, row 0 = −1s. */
  codes: Int32Array;
  config: JointTrainConfig;
  history: JointEpochRecord[];
  /** Written as metrics.json. */
  metrics?: object;
  /** Further files (name → bytes or UTF-8 text); may not replace the bundle's own files. */
  extraFiles?: Record<string, Uint8Array | string>;
}

// ───────────────────────────── writing ─────────────────────────────

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** recommender.safetensors: every reference key in reference order, F32, config in the metadata. */
export function writeRecommenderSafetensors(state: Record<string, NamedArray>, config: RecommenderConfig, metadata: Record<string, string> = {}): Uint8Array {
  const shapes = recommenderStateDictShapes(config);
  const report = compareStateDict(shapes, state);
  if (report.matched !== report.total || report.unexpected.length) {
    throw new StudioError({ code: 'internal', message: `Cannot export the recommender: ${report.message.replace('tensors matched', 'matched')}`, details: report });
  }
  const tensors: Record<string, SafeTensor> = {};
  for (const k of Object.keys(shapes)) {
    const a = state[k];
    if (a.data.length !== numel(shapes[k])) throw new StudioError({ code: 'internal', message: `Cannot export the recommender: ${k} holds ${a.data.length} values, its shape needs ${numel(shapes[k])}` });
    tensors[k] = f32Tensor(a.data, shapes[k]);
  }
  return writeSafetensors(tensors, { format: 'pt', model: 'etegrec-recommender', config: JSON.stringify(config), [CHECKPOINT_CHECKSUMS_KEY]: checksumsOf(tensors), ...metadata });
}

/** The model dims written into config.yaml next to the training config (reference / HF names). */
function modelYaml(rc: RecommenderConfig, tc: RqvaeConfig): Record<string, YamlValue> {
  const t = rc.t5;
  return {
    d_model: t.d_model,
    num_layers: t.num_layers,
    num_decoder_layers: t.num_decoder_layers,
    d_ff: t.d_ff,
    num_heads: t.num_heads,
    d_kv: t.d_kv,
    relative_attention_num_buckets: t.relative_attention_num_buckets,
    relative_attention_max_distance: t.relative_attention_max_distance,
    layer_norm_epsilon: t.layer_norm_epsilon,
    dropout_rate: t.dropout_rate,
    code_num: rc.code_num,
    code_length: rc.code_length,
    e_dim: rc.e_dim,
    semantic_hidden_size: rc.semantic_hidden_size,
    n_items: rc.n_items_plus_pad - 1,
    initializer_range: rc.initializer_range,
    'rqvae.in_dim': tc.in_dim,
    'rqvae.layers': tc.layers,
    'rqvae.e_dim': tc.e_dim,
    'rqvae.num_emb_list': tc.num_emb_list,
    'rqvae.beta': tc.beta,
    'rqvae.quant_loss_weight': tc.quant_loss_weight,
    'rqvae.sk_epsilons': tc.sk_epsilons,
    'rqvae.sk_iters': tc.sk_iters,
  };
}

/** The training config's lines: one per JOINT_STAGE field, in declaration order (absent optional fields: none). */
function trainYaml(config: JointTrainConfig): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = {};
  for (const f of JOINT_STAGE.fields) {
    const v = fieldValue(f, config);
    if (v !== undefined) out[f.key] = v;
  }
  return out;
}

/** config.yaml text: the training config (one line per declared field, nested groups dotted), then the model dims. */
export function writeJointConfigYaml(config: JointTrainConfig, rc: RecommenderConfig, tc: RqvaeConfig): string {
  return writeFlatYaml({ ...trainYaml(config), ...modelYaml(rc, tc) }, [
    'ETEGRec Studio joint training configuration (reference key names; nested groups as dotted keys)',
  ]);
}

/** metrics.csv columns, in order. */
export const METRICS_CSV_COLUMNS = [
  'stage', 'epoch', 'phase',
  'w_vq', 'w_code', 'w_kl', 'w_dec_cl',
  'loss', 'code_loss', 'kl_loss', 'dec_cl_loss', 'vq_loss', 'recon_loss', 'rq_loss',
  'lr_rec', 'lr_id', 'grad_norm_rec', 'grad_norm_id',
  'collision_rate', 'churn', 'churn_rate', 'max_suffix', 'gini_mean',
  'valid_recall@1', 'valid_recall@5', 'valid_ndcg@5', 'valid_recall@10', 'valid_ndcg@10', 'valid_invalid_rate',
  'valid_distinct_top1', 'valid_distinct_top10', 'valid_coverage@10', 'valid_modal_top10_share', 'valid_popularity_overlap@10',
  'valid_ce_real', 'valid_ce_shuffled', 'valid_shuffle_gap', 'valid_ce1_real', 'valid_ce1_shuffled',
  'improved', 'seconds', 'samples_per_second',
];

export function writeMetricsCsv(history: JointEpochRecord[]): string {
  const rows: CsvCell[][] = history.map((r) => {
    const m = r.valid?.metrics;
    const d = r.valid?.diagnostics;
    return [
      r.stage, r.epoch, r.phase,
      r.weights.vq, r.weights.code, r.weights.kl, r.weights.decCl,
      r.loss.total, r.loss.code, r.loss.kl, r.loss.decCl, r.loss.vq, r.loss.recon, r.loss.rq,
      r.lrRecommender, r.lrTokenizer, r.gradNormRecommender, r.gradNormTokenizer,
      r.codes?.collisionRate, r.codes?.churn, r.codes?.churnRate, r.codes?.maxSuffix, r.codes?.giniMean,
      m?.['recall@1'], m?.['recall@5'], m?.['ndcg@5'], m?.['recall@10'], m?.['ndcg@10'], r.valid?.invalidRate,
      d?.distinctTop1, d?.distinctTopK, d?.coverageAtK, d?.modalTopKShare, d?.popularityOverlapAtK,
      d?.shuffle?.ceReal, d?.shuffle?.ceShuffled, d?.shuffle?.gap, d?.shuffle?.perLevelReal[0], d?.shuffle?.perLevelShuffled[0],
      r.improved, r.seconds, r.samplesPerSecond,
    ];
  });
  return writeCsv(METRICS_CSV_COLUMNS, rows);
}

/** The bundle's files by name (unzipped), e.g. for the CLI to write into a directory. */
export function writeBundleFiles(input: JointBundleInput): Record<string, Uint8Array> {
  const rc = input.recommenderConfig;
  if (input.codes.length !== rc.n_items_plus_pad * 4) {
    throw new StudioError({ code: 'internal', message: `Cannot export: the code table has ${input.codes.length / 4} rows, the semantic table ${rc.n_items_plus_pad} (N + 1)` });
  }
  const files: Record<string, Uint8Array> = {
    [BUNDLE_FILES.recommender]: writeRecommenderSafetensors(input.recommender, rc),
    [BUNDLE_FILES.tokenizer]: exportRqvaeSafetensors(input.tokenizer, input.tokenizerConfig),
    [BUNDLE_FILES.codes]: strToU8(writeCodeJson(input.codes)),
    [BUNDLE_FILES.config]: strToU8(writeJointConfigYaml(input.config, rc, input.tokenizerConfig)),
    [BUNDLE_FILES.metricsCsv]: strToU8(writeMetricsCsv(input.history)),
  };
  if (input.metrics !== undefined) files[BUNDLE_FILES.metricsJson] = strToU8(JSON.stringify(input.metrics, null, 2) + '\n');
  for (const [name, v] of Object.entries(input.extraFiles ?? {})) {
    if (name in files) throw new StudioError({ code: 'bad_option', field: name, message: `Extra file ${name} would replace a bundle file` });
    files[name] = typeof v === 'string' ? strToU8(v) : v;
  }
  return files;
}

/** The bundle as one zip. */
export function writeJointBundle(input: JointBundleInput): Uint8Array {
  const z: Zippable = {};
  for (const [name, bytes] of Object.entries(writeBundleFiles(input))) z[name] = [bytes, { level: name.endsWith('.safetensors') ? 1 : 6 }];
  return zipSync(z);
}

// ───────────────────────────── reading ─────────────────────────────

export interface BundleReport {
  files: { recommender: string; tokenizer: string; codes: string; config?: string };
  /** Recommender tensors matched / expected (recommenderStateDictShapes of the inferred config). */
  matched: number;
  expected: number;
  missing: string[];
  unexpected: string[];
  wrongShape: { name: string; expected: number[]; found: number[] }[];
  tokenizer: StateDictReport;
  /** N (items, without PAD). */
  items: number;
  /** Defaults filled in or keys ignored while reading config.yaml. */
  warnings: string[];
  message: string;
}

export interface JointBundle {
  recommender: Record<string, NamedArray>;
  recommenderConfig: RecommenderConfig;
  tokenizer: Record<string, NamedArray>;
  tokenizerConfig: RqvaeConfig;
  codes: Int32Array;
  /** From config.yaml, when present (missing keys filled from the paper preset, see report.warnings). */
  config?: JointTrainConfig;
  report: BundleReport;
}

const malformed = (file: string | undefined, message: string, extra: { field?: string; expected?: string; found?: string; details?: unknown } = {}): StudioError =>
  new StudioError({ code: 'malformed_input', message, ...(file ? { file } : {}), ...extra });

/** Infers the recommender layout from the shapes of a reference state dict (non-shape fields from `base`). */
export function inferRecommenderConfig(dict: Record<string, { shape: number[] }>, base: RecommenderBase = {}): RecommenderConfig {
  const s = (k: string, i: number): number | undefined => dict[k]?.shape[i];
  const count = (f: (i: number) => string): number => {
    let n = 0;
    while (dict[f(n)]) n++;
    return n;
  };
  const t5b = { ...T5_PAPER, ...base.t5 };
  const d = s(SHARED, 1) ?? s('token_embeddings.0.weight', 1) ?? t5b.d_model;
  const rel = 'model.encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight';
  const heads = s(rel, 1) ?? t5b.num_heads;
  const inner = s('model.encoder.block.0.layer.0.SelfAttention.q.weight', 0);
  const t5: T5Config = {
    ...t5b,
    d_model: d,
    num_layers: count((i) => `model.encoder.block.${i}.layer.0.SelfAttention.q.weight`),
    num_decoder_layers: count((i) => `model.decoder.block.${i}.layer.0.SelfAttention.q.weight`),
    d_ff: s('model.encoder.block.0.layer.1.DenseReluDense.wi.weight', 0) ?? t5b.d_ff,
    num_heads: heads,
    d_kv: inner !== undefined && heads > 0 && inner % heads === 0 ? inner / heads : t5b.d_kv,
    relative_attention_num_buckets: s(rel, 0) ?? t5b.relative_attention_num_buckets,
  };
  const semantic = dict['semantic_embedding.weight']?.shape;
  return {
    t5,
    code_length: count((i) => `token_embeddings.${i}.weight`) || (base.code_length ?? 4),
    code_num: s('token_embeddings.0.weight', 0) ?? base.code_num ?? 256,
    e_dim: s('enc_adapter.mlp_layers.1.weight', 0) ?? base.e_dim ?? 128,
    semantic_hidden_size: s('dec_adapter.mlp_layers.1.weight', 0) ?? semantic?.[1] ?? base.semantic_hidden_size ?? 256,
    n_items_plus_pad: semantic?.[0] ?? base.n_items_plus_pad ?? 1,
    initializer_range: base.initializer_range ?? 0.02,
  };
}

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

function unzipBundle(bytes: Uint8Array, fileName: string, maxInflatedBytes?: number): Record<string, Uint8Array> {
  // Bounded inflation with declared-size and CRC-32 checks (src/core/io/zip.ts).
  const entries = unzipChecked(bytes, {
    fileName, code: 'bad_bundle', prefix: 'Cannot read the zip archive: ', ...(maxInflatedBytes !== undefined ? { maxInflatedBytes } : {}),
    filter: (m) => !(m.name.endsWith('/') || m.name.startsWith('__MACOSX/')),
  });
  const out: Record<string, Uint8Array> = {};
  for (const [path, b] of Object.entries(entries)) {
    const name = baseName(path);
    if (name in out) throw new StudioError({ code: 'bad_bundle', file: fileName, message: `The archive holds two files named ${name}` });
    out[name] = b;
  }
  return out;
}

function pick(files: Record<string, Uint8Array>, what: string, exact: string, pattern: RegExp, where: string): string {
  if (exact in files) return exact;
  const found = Object.keys(files).filter((n) => pattern.test(n));
  if (found.length === 1) return found[0];
  const have = Object.keys(files).join(', ') || 'no files';
  if (found.length > 1) throw new StudioError({ code: 'bad_bundle', file: where, message: `Several ${what} files (${found.join(', ')}); keep one`, });
  throw new StudioError({ code: 'bad_bundle', file: where, message: `No ${what} file: expected ${exact} or ${pattern.source.replace(/\\/g, '').replace(/[\^$]/g, '')} (found ${have})` });
}

function tensorsToF32(tensors: Record<string, SafeTensor>, file: string): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [k, t] of Object.entries(tensors)) {
    try {
      out[k] = { shape: t.shape.slice(), data: toFloat32(t, k) };
    } catch (e) {
      throw malformed(file, `Tensor ${k}: ${(e as Error).message}`, { field: k });
    }
  }
  return out;
}

/** A YAML value of the type the field holds in a config (its range is checked after). */
function yamlTyped(f: FieldDecl, v: YamlValue): boolean {
  switch (f.kind) {
    case 'int':
    case 'float': return typeof v === 'number' || (v === null && Boolean(f.nullable));
    case 'bool': return typeof v === 'boolean';
    case 'enum': return typeof v === 'string';
    case 'ints':
    case 'floats':
    case 'enums': return Array.isArray(v);
  }
}

/**
 * Parses config.yaml into a JointTrainConfig through JOINT_STAGE: the paper preset with the file's
 * value of every declared field (the `ablation` variant first, then the file's own switches, as
 * resolveStage orders them), each of the field's type, in its range and consistent; a field the
 * file lacks keeps the paper value (a warning; not for the `ablation` line, which files written
 * before it lack), keys that are neither fields nor model dims are ignored (a warning).
 */
export function readJointConfigYaml(text: string, fileName = 'config.yaml'): { config: JointTrainConfig; values: Record<string, YamlValue>; warnings: string[] } {
  const values = readFlatYaml(text, fileName);
  const paper = JOINT_STAGE.presets.paper.values;
  const modelKeys = new Set(Object.keys(modelYaml(paperLikeRc(), RQVAE_SINGLE)));
  const fieldKeys = new Set(JOINT_STAGE.fields.map((f) => f.key));
  const warnings: string[] = [];
  const overrides: Record<string, YamlValue> = {};
  for (const f of JOINT_STAGE.fields) {
    if (!Object.prototype.hasOwnProperty.call(values, f.key)) {
      if (!f.get) warnings.push(`${fileName}: ${f.key} missing, using ${JSON.stringify(fieldValue(f, paper))}`);
      continue;
    }
    const v = values[f.key];
    if (!yamlTyped(f, v)) throw malformed(fileName, `${f.key} has the wrong type`, { field: f.key, expected: expectedText(f), found: JSON.stringify(v) });
    overrides[f.key] = v;
  }
  for (const k of Object.keys(values)) if (!fieldKeys.has(k) && !modelKeys.has(k)) warnings.push(`${fileName}: unknown key ${k} ignored`);
  // every value in its declared range (NaN, .inf, 0 beams refused), then the consistency checks
  const r = resolveStage(JOINT_STAGE, 'paper', overrides);
  if (!r.ok) throw malformed(fileName, r.errors.map((e) => e.message).join('; '), { field: r.errors[0].field });
  return { config: r.config, values, warnings };
}

function paperLikeRc(): RecommenderConfig {
  return { t5: { ...T5_PAPER }, code_length: 4, code_num: 256, e_dim: 128, semantic_hidden_size: 256, n_items_plus_pad: 1, initializer_range: 0.02 };
}

function refuse(file: string, what: string, r: StateDictReport): StudioError {
  const msg = r.message.replace('tensors matched', 'matched');
  return malformed(file, `${what} does not fit: ${msg}`, { details: { matched: r.matched, expected: r.total, missing: r.missing, unexpected: r.unexpected, wrongShape: r.mismatched } });
}

/**
 * Reads a bundle (our zip, or files by name: recommender.safetensors | <epoch>.pt,
 * tokenizer.safetensors | <epoch>.pt.rqvae, code.json | <epoch>.code.json, optional config.yaml)
 * and validates it completely; refuses with "N of M matched" on any state-dict mismatch.
 */
export function readJointBundle(input: Record<string, Uint8Array> | Uint8Array, opts: { fileName?: string; maxInflatedBytes?: number } = {}): JointBundle {
  const where = opts.fileName ?? (input instanceof Uint8Array ? 'bundle.zip' : 'bundle');
  const files = input instanceof Uint8Array ? unzipBundle(input, where, opts.maxInflatedBytes) : Object.fromEntries(Object.entries(input).map(([k, v]) => [baseName(k), v]));
  const recFile = pick(files, 'recommender', BUNDLE_FILES.recommender, /^.+\.pt$/, where);
  const tokFile = pick(files, 'tokenizer', BUNDLE_FILES.tokenizer, /^.+\.pt\.rqvae$/, where);
  const codeFile = pick(files, 'code table', BUNDLE_FILES.codes, /^.+\.code\.json$/, where);
  const warnings: string[] = [];

  // config.yaml first: its model keys are the fallback for the non-shape recommender fields.
  let config: JointTrainConfig | undefined;
  let yamlValues: Record<string, YamlValue> = {};
  if (BUNDLE_FILES.config in files) {
    const c = readJointConfigYaml(strFromU8(files[BUNDLE_FILES.config]), BUNDLE_FILES.config);
    config = c.config;
    yamlValues = c.values;
    warnings.push(...c.warnings);
  }

  // Recommender.
  let rec: Record<string, NamedArray>;
  const num = (k: string): number | undefined => (typeof yamlValues[k] === 'number' ? (yamlValues[k] as number) : undefined);
  const t5Extra: Partial<T5Config> = {};
  for (const k of ['relative_attention_max_distance', 'layer_norm_epsilon', 'dropout_rate'] as const) if (num(k) !== undefined) t5Extra[k] = num(k);
  let base: RecommenderBase = { t5: t5Extra, ...(num('initializer_range') !== undefined ? { initializer_range: num('initializer_range') } : {}) };
  if (recFile.endsWith('.safetensors')) {
    const f = readSafetensors(files[recFile], recFile);
    verifyTensorChecksums(f.tensors, f.metadata[CHECKPOINT_CHECKSUMS_KEY], recFile, (w) => warnings.push(w));
    rec = tensorsToF32(f.tensors, recFile);
    if (f.metadata.config) {
      try {
        const m = JSON.parse(f.metadata.config) as Partial<RecommenderConfig>;
        base = { ...base, ...(m.initializer_range !== undefined ? { initializer_range: m.initializer_range } : {}), t5: { ...base.t5, ...pickT5Extra(m.t5) } };
      } catch {
        warnings.push(`${recFile}: metadata config is not JSON; defaults used for dropout/eps/max distance`);
      }
    }
  } else {
    const sd = pthStateDict(readPth(files[recFile], recFile).root, recFile);
    rec = {};
    for (const [k, t] of Object.entries(sd)) {
      if (!(t.data instanceof Float32Array)) throw malformed(recFile, `Tensor ${k} is ${t.dtype}, expected floating point`, { field: k });
      rec[k] = { shape: t.shape.slice(), data: t.data };
    }
  }
  rec = stripModulePrefix(rec);
  if (!(SHARED in rec) && !Object.keys(rec).some((k) => k.startsWith('model.encoder.'))) {
    throw malformed(recFile, `Not an ETEGRec recommender state dict: no ${SHARED} and no model.encoder.* tensors (found ${Object.keys(rec).slice(0, 3).join(', ') || 'none'})`);
  }
  const recommenderConfig = inferRecommenderConfig(rec, base);
  const rr = compareStateDict(recommenderStateDictShapes(recommenderConfig), rec);
  if (rr.matched !== rr.total || rr.unexpected.length || rr.mismatched.length) throw refuse(recFile, 'Recommender state dict', rr);
  for (const a of TIED_ALIASES) {
    const x = rec[a].data;
    const y = rec[SHARED].data;
    if (x.some((v, i) => !Object.is(v, y[i]))) throw malformed(recFile, `${a} differs from ${SHARED} (they are tied in the reference)`, { field: a });
  }
  // Reference order (the file's order may differ).
  rec = Object.fromEntries(Object.keys(recommenderStateDictShapes(recommenderConfig)).map((k) => [k, rec[k]]));

  // Tokenizer.
  let tokenizer: Record<string, NamedArray>;
  let tokenizerConfig: RqvaeConfig;
  if (tokFile.endsWith('.safetensors')) {
    const t = readRqvaeSafetensors(files[tokFile], tokFile, { onWarning: (w) => warnings.push(w) });
    tokenizer = t.state;
    tokenizerConfig = t.config;
    if (t.metadata.config) {
      try {
        const m = JSON.parse(t.metadata.config) as Partial<RqvaeConfig>;
        if (typeof m.beta === 'number') tokenizerConfig.beta = m.beta;
        if (typeof m.quant_loss_weight === 'number') tokenizerConfig.quant_loss_weight = m.quant_loss_weight;
      } catch {
        warnings.push(`${tokFile}: metadata config is not JSON`);
      }
    }
  } else {
    const t = readRqvaePth(files[tokFile], tokFile);
    tokenizer = t.state;
    tokenizerConfig = t.config;
  }
  const yl = (k: string): YamlValue | undefined => yamlValues[`rqvae.${k}`];
  if (Array.isArray(yl('sk_epsilons')) && (yl('sk_epsilons') as unknown[]).every((x) => typeof x === 'number')) tokenizerConfig.sk_epsilons = yl('sk_epsilons') as number[];
  else tokenizerConfig.sk_epsilons = tokenizerConfig.num_emb_list.map(() => 0);
  if (typeof yl('sk_iters') === 'number') tokenizerConfig.sk_iters = yl('sk_iters') as number;
  if (typeof yl('beta') === 'number' && !tokFile.endsWith('.safetensors')) tokenizerConfig.beta = yl('beta') as number;
  const tr = compareStateDict(rqvaeStateDictShapes(tokenizerConfig), tokenizer);
  if (tr.matched !== tr.total || tr.unexpected.length || tr.mismatched.length) throw refuse(tokFile, 'Tokenizer state dict', tr);
  const levels = recommenderConfig.code_length - 1;
  if (tokenizerConfig.num_emb_list.length !== levels) {
    throw malformed(tokFile, `The tokenizer has ${tokenizerConfig.num_emb_list.length} codebooks, the recommender's code_length ${recommenderConfig.code_length} needs ${levels}`, { expected: String(levels), found: String(tokenizerConfig.num_emb_list.length) });
  }
  if (tokenizerConfig.e_dim !== recommenderConfig.e_dim) {
    throw malformed(tokFile, `Tokenizer latent width e_dim ${tokenizerConfig.e_dim} differs from the recommender's enc_adapter output ${recommenderConfig.e_dim}`);
  }
  if (tokenizerConfig.in_dim !== recommenderConfig.semantic_hidden_size) {
    throw malformed(tokFile, `Tokenizer input width ${tokenizerConfig.in_dim} differs from the recommender's semantic table width ${recommenderConfig.semantic_hidden_size}`);
  }
  const big = tokenizerConfig.num_emb_list.findIndex((k) => k > recommenderConfig.code_num);
  if (big >= 0) throw malformed(tokFile, `Codebook ${big} has ${tokenizerConfig.num_emb_list[big]} codes, more than the recommender's code_num ${recommenderConfig.code_num}`);

  // Codes.
  const { codes, items } = readCodeJson(strFromU8(files[codeFile]), codeFile);
  if (items + 1 !== recommenderConfig.n_items_plus_pad) {
    throw malformed(codeFile, `${items + 1} code rows, but ${recFile} has ${recommenderConfig.n_items_plus_pad} semantic rows (N + 1)`, { expected: String(recommenderConfig.n_items_plus_pad), found: String(items + 1) });
  }
  for (let r = 1; r <= items; r++) {
    for (let c = 0; c < 4; c++) {
      const v = codes[r * 4 + c];
      const limit = c < levels ? tokenizerConfig.num_emb_list[c] : recommenderConfig.code_num;
      if (v >= limit) throw malformed(codeFile, `Row ${r} (item ${r}) position ${c} has code ${v}, must be < ${limit}`, { found: String(v), expected: `< ${limit}` });
    }
  }

  const message = `${rr.matched} of ${rr.total} recommender tensors matched; ${tr.matched} of ${tr.total} tokenizer tensors matched; ${items} items`;
  return {
    recommender: rec,
    recommenderConfig,
    tokenizer,
    tokenizerConfig,
    codes,
    ...(config ? { config } : {}),
    report: {
      files: { recommender: recFile, tokenizer: tokFile, codes: codeFile, ...(config ? { config: BUNDLE_FILES.config } : {}) },
      matched: rr.matched,
      expected: rr.total,
      missing: rr.missing,
      unexpected: rr.unexpected,
      wrongShape: rr.mismatched,
      tokenizer: tr,
      items,
      warnings,
      message,
    },
  };
}

function pickT5Extra(t?: Partial<T5Config>): Partial<T5Config> {
  const out: Partial<T5Config> = {};
  if (!t) return out;
  for (const k of ['relative_attention_max_distance', 'layer_norm_epsilon', 'dropout_rate'] as const) if (typeof t[k] === 'number') out[k] = t[k];
  return out;
}

// ───────────────────────────── joint checkpoint ─────────────────────────────

export const JOINT_CHECKPOINT_FORMAT = 'etegrec-joint-checkpoint';
export const JOINT_CHECKPOINT_VERSION = 1;

function encodeJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && (!Number.isFinite(x) || Object.is(x, -0)) ? { $num: Object.is(x, -0) ? '-0' : String(x) } : x));
}

function decodeJson(s: string): unknown {
  return JSON.parse(s, (_k, x: unknown) => {
    if (x && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 1 && typeof (x as { $num?: unknown }).$num === 'string') return Number((x as { $num: string }).$num);
    return x;
  });
}

type WeightsIndex = CheckpointWeightsIndex;

/** The checkpoint as one safetensors file (see the module comment for the tensor names). */
export function packJointCheckpoint(c: JointCheckpoint): Uint8Array {
  const tensors: Record<string, SafeTensor> = {};
  const addF32 = (name: string, a: NamedArray) => {
    if (a.data.length !== numel(a.shape)) throw new StudioError({ code: 'internal', message: `Checkpoint tensor ${name} holds ${a.data.length} values, shape ${JSON.stringify(a.shape)} needs ${numel(a.shape)}` });
    tensors[name] = f32Tensor(a.data, a.shape);
  };
  const addWeights = (prefix: string, w: JointWeights): WeightsIndex => {
    for (const [k, a] of Object.entries(w.recommender)) addF32(`${prefix}.recommender.${k}`, a);
    for (const [k, a] of Object.entries(w.tokenizer)) addF32(`${prefix}.tokenizer.${k}`, a);
    if (w.codes.length % 4 !== 0) throw new StudioError({ code: 'internal', message: `Checkpoint ${prefix}.codes has ${w.codes.length} entries, not a multiple of 4` });
    tensors[`${prefix}.codes`] = i32Tensor(w.codes, [w.codes.length / 4, 4]);
    return { recommender: Object.keys(w.recommender), tokenizer: Object.keys(w.tokenizer), codesRows: w.codes.length / 4 };
  };
  const addOpt = (prefix: string, s: AdamWState): { step: number; slots: number } => {
    if (s.m.length !== s.v.length) throw new StudioError({ code: 'internal', message: `${prefix}: ${s.m.length} first moments but ${s.v.length} second moments` });
    s.m.forEach((m, i) => (tensors[`${prefix}.m.${i}`] = f32Tensor(m, [m.length])));
    s.v.forEach((v, i) => (tensors[`${prefix}.v.${i}`] = f32Tensor(v, [v.length])));
    return { step: s.step, slots: s.m.length };
  };
  const { current, best, optimizer, format: _f, version: _v, ...rest } = c;
  const index = {
    current: addWeights('current', current),
    best: best ? { ...addWeights('best', best), epoch: best.epoch, stage: best.stage, valid: best.valid } : null,
    optimizer: { recommender: addOpt('optimizer.recommender', optimizer.recommender), tokenizer: addOpt('optimizer.tokenizer', optimizer.tokenizer) },
  };
  return writeSafetensors(tensors, {
    format: JOINT_CHECKPOINT_FORMAT,
    version: String(JOINT_CHECKPOINT_VERSION),
    state: encodeJson(rest),
    index: encodeJson(index),
    [CHECKPOINT_CHECKSUMS_KEY]: checksumsOf(tensors),
  });
}

export interface UnpackOptions {
  /** Told about what was accepted with a caveat (an older checkpoint without checksums). */
  onWarning?: (message: string) => void;
}

/**
 * Reads a packed checkpoint back (bitwise identical arrays) after validating all of it: the
 * metadata's schema (validateCheckpointMetadata), every tensor's CRC-32 against the stored
 * checksums (checkpoints written before checksums existed are accepted with a warning), the tensor
 * names and shapes against the recommender / tokenizer configs, and the code table's values.
 */
export function unpackJointCheckpoint(bytes: Uint8Array, fileName = 'checkpoint.safetensors', opts: UnpackOptions = {}): JointCheckpoint {
  const f = readSafetensors(bytes, fileName);
  const md = f.metadata;
  if (md.format !== JOINT_CHECKPOINT_FORMAT) {
    throw malformed(fileName, `Not an ETEGRec joint checkpoint`, { field: '__metadata__.format', expected: JOINT_CHECKPOINT_FORMAT, found: md.format ?? 'none' });
  }
  if (md.version !== String(JOINT_CHECKPOINT_VERSION)) {
    throw malformed(fileName, `Unsupported joint checkpoint version`, { field: '__metadata__.version', expected: String(JOINT_CHECKPOINT_VERSION), found: md.version ?? 'none' });
  }
  let stateJson: unknown;
  let indexJson: unknown;
  for (const k of ['state', 'index'] as const) {
    if (typeof md[k] !== 'string') throw malformed(fileName, `Checkpoint metadata lacks ${k}`, { field: `__metadata__.${k}` });
    try {
      const v = decodeJson(md[k]);
      if (k === 'state') stateJson = v;
      else indexJson = v;
    } catch (e) {
      throw malformed(fileName, `Checkpoint metadata is not valid JSON (${(e as Error).message})`, { field: `__metadata__.${k}` });
    }
  }
  const { state: rest, index } = validateCheckpointMetadata(stateJson, indexJson, fileName);
  verifyTensorChecksums(f.tensors, md[CHECKPOINT_CHECKSUMS_KEY], fileName, opts.onWarning, 'checkpoint');
  const get = (name: string, dtype: 'F32' | 'I32'): SafeTensor => {
    const t = f.tensors[name];
    if (!t) throw malformed(fileName, `Checkpoint tensor ${name} is missing`, { field: name });
    if (t.dtype !== dtype) throw malformed(fileName, `Checkpoint tensor ${name} is ${t.dtype}`, { field: name, expected: dtype, found: t.dtype });
    return t;
  };
  const f32 = (name: string): NamedArray => {
    const t = get(name, 'F32');
    return { shape: t.shape.slice(), data: new Float32Array(t.bytes.slice().buffer) };
  };
  const recShapes = recommenderStateDictShapes(rest.recommenderConfig);
  const tokShapes = rqvaeStateDictShapes(rest.tokenizerConfig);
  const weights = (prefix: string, ix: WeightsIndex): JointWeights => {
    checkNamesAndShapes(f.tensors, `${prefix}.recommender`, ix.recommender, recShapes, fileName);
    checkNamesAndShapes(f.tensors, `${prefix}.tokenizer`, ix.tokenizer, tokShapes, fileName);
    const rec: Record<string, NamedArray> = {};
    for (const k of ix.recommender) rec[k] = f32(`${prefix}.recommender.${k}`);
    const tok: Record<string, NamedArray> = {};
    for (const k of ix.tokenizer) tok[k] = f32(`${prefix}.tokenizer.${k}`);
    const codes = new Int32Array(get(`${prefix}.codes`, 'I32').bytes.slice().buffer);
    if (codes.length !== ix.codesRows * 4) throw malformed(fileName, `${prefix}.codes has ${codes.length / 4} rows, the index says ${ix.codesRows}`, { field: `${prefix}.codes` });
    checkCodeValues(codes, rest.recommenderConfig, rest.tokenizerConfig, `${prefix}.codes`, fileName);
    return { recommender: rec, tokenizer: tok, codes };
  };
  const opt = (prefix: string, s: { step: number; slots: number }): AdamWState => {
    const m: Float32Array[] = [];
    const v: Float32Array[] = [];
    for (let i = 0; i < s.slots; i++) {
      const mi = f32(`${prefix}.m.${i}`);
      const vi = f32(`${prefix}.v.${i}`);
      if (mi.shape.length !== 1 || vi.shape.length !== 1 || mi.data.length !== vi.data.length) {
        throw malformed(fileName, `Optimizer slot ${prefix}.m.${i} / .v.${i} are not two vectors of one length`, { field: `${prefix}.v.${i}`, expected: `[${mi.data.length}]`, found: JSON.stringify(vi.shape) });
      }
      m.push(mi.data);
      v.push(vi.data);
    }
    return { step: s.step, m, v };
  };
  const current = weights('current', index.current);
  const best = index.best ? { ...weights('best', index.best), epoch: index.best.epoch, stage: index.best.stage, valid: index.best.valid } : null;
  const optimizer = { recommender: opt('optimizer.recommender', index.optimizer.recommender), tokenizer: opt('optimizer.tokenizer', index.optimizer.tokenizer) };
  const count = (w: WeightsIndex) => w.recommender.length + w.tokenizer.length + 1;
  const n = count(index.current) + (index.best ? count(index.best) : 0) + 2 * (index.optimizer.recommender.slots + index.optimizer.tokenizer.slots);
  if (Object.keys(f.tensors).length !== n) {
    throw malformed(fileName, `Checkpoint holds ${Object.keys(f.tensors).length} tensors, its index names ${n}`);
  }
  return { format: JOINT_CHECKPOINT_FORMAT, version: JOINT_CHECKPOINT_VERSION, ...rest, current, optimizer, best } as JointCheckpoint;
}

/** The index's names under `prefix` must be exactly the model's state-dict keys, with its shapes. */
function checkNamesAndShapes(tensors: Record<string, SafeTensor>, prefix: string, names: string[], shapes: Record<string, number[]>, fileName: string): void {
  const want = Object.keys(shapes);
  const have = new Set(names);
  const missing = want.filter((k) => !have.has(k));
  const extra = names.filter((k) => !Object.prototype.hasOwnProperty.call(shapes, k));
  if (missing.length || extra.length) {
    throw malformed(fileName, `Checkpoint ${prefix} tensors do not fit the config: ${missing.length} missing${missing.length ? ` (${missing.slice(0, 3).join(', ')})` : ''}, ${extra.length} unexpected${extra.length ? ` (${extra.slice(0, 3).join(', ')})` : ''}`, { field: `${prefix}.${missing[0] ?? extra[0]}` });
  }
  for (const k of names) {
    const t = tensors[`${prefix}.${k}`];
    if (!t) continue; // reported as missing by the reader, with its name
    const s = shapes[k];
    if (t.shape.length !== s.length || t.shape.some((d, i) => d !== s[i])) {
      throw malformed(fileName, `Checkpoint tensor ${prefix}.${k} has the wrong shape for the config`, { field: `${prefix}.${k}`, expected: JSON.stringify(s), found: JSON.stringify(t.shape) });
    }
  }
}

/** Row 0 all −1, every other code within its level's codebook (suffix below code_num). */
function checkCodeValues(codes: Int32Array, rc: RecommenderConfig, tc: RqvaeConfig, field: string, fileName: string): void {
  for (let c = 0; c < 4; c++) {
    if (codes[c] !== -1) throw malformed(fileName, `${field} row 0 (PAD) must be −1s`, { field, expected: '-1', found: String(codes[c]) });
  }
  for (let r = 1; r * 4 < codes.length; r++) {
    for (let c = 0; c < 4; c++) {
      const v = codes[r * 4 + c];
      const limit = c < tc.num_emb_list.length ? tc.num_emb_list[c] : rc.code_num;
      if (v < 0 || v >= limit) throw malformed(fileName, `${field} row ${r} position ${c} has code ${v}`, { field, expected: `0 ≤ code < ${limit}`, found: String(v) });
    }
  }
}
