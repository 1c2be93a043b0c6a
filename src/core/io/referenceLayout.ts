/**
 * "Continue on the reference trainer": a finished joint run laid out as the reference repository
 * expects it (spec §1.6, §4.4, §5.9, §7), and the reference's own run folder read back.
 * Pure: bytes in, bytes out (no DOM, fs or IndexedDB).
 *
 * Layout (paths relative to the reference repository's root, where main.py lies):
 * * `config/<name>.yaml` — only the reference's flat keys (REFERENCE_CONFIG_KEYS, one table for
 *   both directions); the studio's other settings as `#@studio key: value` comment lines, which
 *   PyYAML skips and readReferenceConfigYaml reads back;
 * * `RecBole/dataset/<name>/<name>.{train,valid,test}.jsonl`, `<name>.emb_map.json` (and the
 *   `.inter`), `<name>_emb_<D>.npy` (N × D float32: rows 1..N of the run's frozen semantic table);
 * * `RQVAE/rqvae_ckpt/<name>/<run>/best_collision_model.pth` — the tokenizer as the RQ-VAE
 *   pretraining saves it (a state dict), named by `rqvae_path`;
 * * `myckpt/<name>/<run>/<epoch>.pt`, `.pt.rqvae`, `.code.json` — Trainer.safe_save's files, which
 *   train_grpo.py (`--sft_ckpt`) and Trainer.test read;
 * * `accelerate_config_ddp.yaml` (N processes), `run.sh` (the `accelerate launch` commands) and
 *   `STUDIO_EXPORT.md` (what is and is not carried over).
 */
import { strFromU8, strToU8, zipSync, type Zippable } from 'fflate';
import { StudioError } from '../errors.ts';
import { recommenderStateDictShapes, SEMANTIC, SHARED, TIED_ALIASES, type RecommenderConfig } from '../models/recommender.ts';
import type { RqvaeConfig } from '../models/rqvae.ts';
import type { NamedArray } from '../nn/params.ts';
import { expectedText, fieldValue, findField, resolveStage, type FieldDecl, type StageDecl } from '../stages/fields.ts';
import { JOINT_STAGE } from '../stages/joint.ts';
import { exportRqvaePth } from '../tokenizer/stateDict.ts';
import { writeCodeJson } from '../tokenizer/codes.ts';
import type { JointTrainConfig } from '../train/jointSchedule.ts';
import { readJointBundle, type JointBundle, type JointBundleInput } from './jointBundle.ts';
import { writeNpy } from './npy.ts';
import { writePthStateDict, type PthTensorInput } from './pthWrite.ts';
import { readFlatYaml, yamlScalar, type YamlValue } from './yaml.ts';

// ───────────────────────────── the key table ─────────────────────────────

/** The model dims a reference config states (checked against the tensors on import). */
export interface ReferenceModelDims {
  recommender: RecommenderConfig;
  tokenizer: RqvaeConfig;
}

/** The paths of the layout that the config names. */
export interface ReferencePaths {
  dataset: string;
  data_path: string;
  semantic_emb_path: string;
  rqvae_path: string;
}

export type ReferenceKeySource =
  /** A field of the joint declaration (JOINT_STAGE), value as is. */
  | { kind: 'field'; field: string }
  /**
   * A model dim of the recommender / tokenizer; on import checked against the tensors, or, for a
   * value the tensors do not show (`set`), taken from the file.
   */
  | { kind: 'model'; get: (d: ReferenceModelDims) => YamlValue; set?: (d: ReferenceModelDims, v: YamlValue) => boolean }
  /** A path of the layout. */
  | { kind: 'path'; path: keyof ReferencePaths }
  /** A value the reference needs that the studio implements only this way. */
  | { kind: 'fixed'; value: YamlValue; why: string };

export interface ReferenceKey {
  key: string;
  section: 'data' | 'train' | 'model' | 'rqvae';
  src: ReferenceKeySource;
}

const field = (section: ReferenceKey['section'], key: string, f = key): ReferenceKey => ({ key, section, src: { kind: 'field', field: f } });
const model = (section: ReferenceKey['section'], key: string, get: (d: ReferenceModelDims) => YamlValue, set?: (d: ReferenceModelDims, v: YamlValue) => boolean): ReferenceKey => ({ key, section, src: { kind: 'model', get, ...(set ? { set } : {}) } });
const path = (section: ReferenceKey['section'], key: keyof ReferencePaths): ReferenceKey => ({ key, section, src: { kind: 'path', path: key } });
const fixed = (section: ReferenceKey['section'], key: string, value: YamlValue, why: string): ReferenceKey => ({ key, section, src: { kind: 'fixed', value, why } });

/**
 * Every key the reference's main.py / trainer.py / vq.py read from config/<name>.yaml (spec §7,
 * the order of its Instrument2014.yaml), and where the studio's value comes from. Export writes
 * them in this order; import maps them back through the same rows.
 */
export const REFERENCE_CONFIG_KEYS: readonly ReferenceKey[] = [
  path('data', 'dataset'),
  field('data', 'seed'),
  fixed('data', 'reproducibility', true, 'deterministic cuDNN'),
  fixed('data', 'log_dir', './logs', 'where the reference writes its logs'),
  fixed('data', 'map_path', '.emb_map.json', 'the id map beside the splits (<name>.emb_map.json)'),
  path('data', 'data_path'),
  path('data', 'semantic_emb_path'),
  model('data', 'semantic_hidden_size', (d) => d.recommender.semantic_hidden_size),
  model('data', 'code_num', (d) => d.recommender.code_num),
  model('data', 'code_length', (d) => d.recommender.code_length),

  field('train', 'epochs'),
  field('train', 'lr_rec'),
  field('train', 'lr_id'),
  field('train', 'weight_decay'),
  field('train', 'id_vq_loss'),
  field('train', 'id_code_loss'),
  field('train', 'id_kl_loss'),
  field('train', 'id_dec_cl_loss'),
  field('train', 'rec_vq_loss'),
  field('train', 'rec_code_loss'),
  field('train', 'rec_kl_loss'),
  field('train', 'rec_dec_cl_loss'),
  field('train', 'cycle'),
  fixed('train', 'sim', 'cos', 'the InfoNCE similarity is cosine'),
  field('train', 'warmup_steps'),
  field('train', 'batch_size'),
  field('train', 'eval_batch_size'),
  fixed('train', 'num_workers', 4, 'DataLoader worker processes (no effect on results)'),
  field('train', 'eval_step'),
  fixed('train', 'learner', 'AdamW', 'the optimizer is AdamW'),
  field('train', 'lr_scheduler_type'),
  fixed('train', 'gradient_accumulation_steps', 1, 'one optimizer step per batch'),
  field('train', 'max_his_len', 'max_history'),
  field('train', 'early_stop'),
  fixed('train', 'metrics', 'recall@1,recall@5,ndcg@5,recall@10,ndcg@10', 'the reported metrics'),
  field('train', 'valid_metric'),

  fixed('model', 'max_length', 210, 'the collator truncates only histories longer than this'),
  field('model', 'encoder_layers', 't5.num_layers'),
  field('model', 'decoder_layers', 't5.num_decoder_layers'),
  field('model', 'd_model', 't5.d_model'),
  field('model', 'd_ff', 't5.d_ff'),
  field('model', 'num_heads', 't5.num_heads'),
  field('model', 'd_kv', 't5.d_kv'),
  field('model', 'dropout_rate', 't5.dropout_rate'),
  fixed('model', 'activation_function', 'relu', 'the T5 feed-forward is ReLU'),
  fixed('model', 'feed_forward_proj', 'relu', 'the T5 feed-forward is non-gated'),
  field('model', 'num_beams'),
  field('model', 'alpha'),
  field('model', 'warm_epoch'),
  path('model', 'rqvae_path'),

  model('rqvae', 'num_emb_list', (d) => d.tokenizer.num_emb_list),
  model('rqvae', 'beta', (d) => d.tokenizer.beta, (d, v) => typeof v === 'number' && v >= 0 && Number.isFinite(v) && ((d.tokenizer.beta = v), true)),
  model('rqvae', 'e_dim', (d) => d.recommender.e_dim),
  model('rqvae', 'layers', (d) => d.tokenizer.layers),
  fixed('rqvae', 'vq_type', 'vq', 'plain residual VQ'),
  fixed('rqvae', 'dist', 'l2', 'squared L2 code distances'),
  field('rqvae', 'tau'),
  fixed('rqvae', 'kmeans_init', false, 'the exported tokenizer is trained: k-means would re-initialise its codebooks'),
  fixed('rqvae', 'kmeans_iters', 100, 'unused without kmeans_init'),
  fixed('rqvae', 'dropout_prob', 0, 'no dropout in the RQ-VAE'),
  fixed('rqvae', 'bn', false, 'no batch norm in the RQ-VAE'),
  fixed('rqvae', 'loss_type', 'mse', 'the reconstruction loss is MSE'),
];

/** Joint fields the reference reads through REFERENCE_CONFIG_KEYS. */
const MAPPED_FIELDS = new Set(REFERENCE_CONFIG_KEYS.flatMap((k) => (k.src.kind === 'field' ? [k.src.field] : [])));

/** What the reference does instead for the studio settings it has no key for (README lines). */
const REFERENCE_INSTEAD: Record<string, string> = {
  forge: "the fork's get_code applies FORGE always (use_forge=True); the official code never does",
  'finetune.freeze_semantic': 'the reference unfreezes the semantic table in the finetune on a single GPU (a name-prefix quirk; spec §5.10)',
  ablation: 'the reference has no Table 4 switches: it always trains the full model',
  max_history: 'the reference reads max_his_len but feeds whole histories (≤ 50 items)',
};

const EXTRA_PREFIX = '#@studio ';

function sameYaml(a: YamlValue | undefined, b: YamlValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const yamlLine = (k: string, v: YamlValue) => `${k}: ${Array.isArray(v) ? `[${v.map(yamlScalar).join(', ')}]` : yamlScalar(v)}`;

function toYaml(v: unknown): YamlValue {
  return v === undefined ? null : (v as YamlValue);
}

export interface ReferenceConfigInput extends ReferenceModelDims {
  config: JointTrainConfig;
  paths: ReferencePaths;
}

/** The reference keys with the studio's values, in table order. */
export function referenceConfigValues(input: ReferenceConfigInput): { key: string; value: YamlValue; section: ReferenceKey['section'] }[] {
  return REFERENCE_CONFIG_KEYS.map((k) => {
    const s = k.src;
    let value: YamlValue;
    if (s.kind === 'field') value = toYaml(fieldValue(findJointField(s.field), input.config));
    else if (s.kind === 'model') value = s.get(input);
    else if (s.kind === 'path') value = input.paths[s.path];
    else value = s.value;
    return { key: k.key, value, section: k.section };
  });
}

function findJointField(key: string): FieldDecl {
  const f = findField(JOINT_STAGE as StageDecl<object>, key);
  if (!f) throw new StudioError({ code: 'internal', message: `REFERENCE_CONFIG_KEYS names ${key}, which the joint declaration lacks` });
  return f;
}

/** The studio fields the reference has no key for, with their values (written as #@studio lines). */
export function studioExtras(config: JointTrainConfig): { key: string; value: YamlValue; paper: YamlValue }[] {
  const paper = JOINT_STAGE.presets.paper.values;
  const out: { key: string; value: YamlValue; paper: YamlValue }[] = [];
  for (const f of JOINT_STAGE.fields) {
    if (MAPPED_FIELDS.has(f.key)) continue;
    const v = fieldValue(f, config);
    if (v === undefined) continue;
    out.push({ key: f.key, value: toYaml(v), paper: toYaml(fieldValue(f, paper)) });
  }
  return out;
}

/** config/<name>.yaml: the reference keys (flat; PyYAML reads floats as floats), then the studio's extras as comments. */
export function writeReferenceConfigYaml(input: ReferenceConfigInput & { source?: string }): string {
  const titles = { data: 'data', train: 'train', model: 'model (T5 recommender)', rqvae: 'rqvae (tokenizer)' };
  const lines = [
    '# Written by ETEGRec Studio for the reference ETEGRec trainer (main.py, train_grpo.py).',
    ...(input.source ? [`# From: ${input.source}`] : []),
    '# Only the keys the reference reads; the studio\'s other settings follow as "#@studio" comments.',
  ];
  let section = '';
  for (const { key, value, section: s } of referenceConfigValues(input)) {
    if (s !== section) {
      lines.push('', `# ${titles[s]}`);
      section = s;
    }
    lines.push(yamlLine(key, value));
  }
  lines.push('', '# studio settings the reference has no key for (read back by the studio on import)');
  for (const e of studioExtras(input.config)) lines.push(`${EXTRA_PREFIX}${yamlLine(e.key, e.value)}`);
  return lines.join('\n') + '\n';
}

export interface ReferenceConfigRead {
  config: JointTrainConfig;
  /** The model dims the file states (only those present), by reference key. */
  model: Record<string, YamlValue>;
  paths: Partial<Record<keyof ReferencePaths, YamlValue>>;
  warnings: string[];
}

/**
 * Reads a reference config (config/<name>.yaml, or the copy beside a run) into a JointTrainConfig
 * through REFERENCE_CONFIG_KEYS: the paper preset with the file's value of every mapped key and
 * of the `#@studio` lines, each in its declared range and consistent (refused otherwise, naming the
 * key); a mapped key the file lacks keeps the paper value, a fixed key with another value, a GRPO
 * or an unknown key is reported as a warning.
 */
export function readReferenceConfigYaml(text: string, fileName = 'config.yaml'): ReferenceConfigRead {
  const values = readFlatYaml(text, fileName);
  const extraLines = text.split(/\r?\n/).filter((l) => l.startsWith(EXTRA_PREFIX)).map((l) => l.slice(EXTRA_PREFIX.length));
  const extras = readFlatYaml(extraLines.join('\n'), fileName);
  const warnings: string[] = [];
  const overrides: Record<string, unknown> = {};
  const refKeyOf: Record<string, string> = {};
  const modelDims: Record<string, YamlValue> = {};
  const paths: Partial<Record<keyof ReferencePaths, YamlValue>> = {};
  const paper = JOINT_STAGE.presets.paper.values;
  for (const k of REFERENCE_CONFIG_KEYS) {
    const has = Object.prototype.hasOwnProperty.call(values, k.key);
    const v = values[k.key];
    const s = k.src;
    if (s.kind === 'field') {
      if (!has) {
        warnings.push(`${fileName}: ${k.key} missing, using ${JSON.stringify(fieldValue(findJointField(s.field), paper))}`);
        continue;
      }
      overrides[s.field] = v;
      refKeyOf[s.field] = k.key;
    } else if (!has) continue;
    else if (s.kind === 'model') modelDims[k.key] = v;
    else if (s.kind === 'path') paths[s.path] = v;
    else if (!sameYaml(v, s.value)) {
      warnings.push(`${fileName}: ${k.key} is ${JSON.stringify(v)}; the studio trains with ${JSON.stringify(s.value)} only (${s.why})`);
    }
  }
  const known = new Set(REFERENCE_CONFIG_KEYS.map((k) => k.key));
  const unknown = Object.keys(values).filter((k) => !known.has(k));
  const grpo = unknown.filter((k) => k.startsWith('grpo_'));
  if (grpo.length) warnings.push(`${fileName}: GRPO settings ignored (${grpo.join(', ')}); set them on the GRPO stage`);
  for (const k of unknown) if (!k.startsWith('grpo_')) warnings.push(`${fileName}: unknown key ${k} ignored`);
  for (const [k, v] of Object.entries(extras)) {
    if (MAPPED_FIELDS.has(k) || !findField(JOINT_STAGE as StageDecl<object>, k)) {
      warnings.push(`${fileName}: #@studio ${k} ignored (not a studio setting the reference lacks)`);
      continue;
    }
    overrides[k] = v;
    refKeyOf[k] = `#@studio ${k}`;
  }
  const r = resolveStage(JOINT_STAGE, 'paper', overrides);
  if (!r.ok) {
    const e = r.errors[0];
    const key = refKeyOf[e.field] ?? e.field;
    const f = findField(JOINT_STAGE as StageDecl<object>, e.field);
    throw new StudioError({
      code: 'malformed_input', file: fileName, field: key,
      message: r.errors.map((x) => (refKeyOf[x.field] && refKeyOf[x.field] !== x.field ? x.message.replace(x.field, `${refKeyOf[x.field]} (${x.field})`) : x.message)).join('; '),
      ...(f ? { expected: expectedText(f) } : {}),
      found: JSON.stringify(overrides[e.field]),
    });
  }
  return { config: r.config, model: modelDims, paths, warnings };
}

// ───────────────────────────── export ─────────────────────────────

export interface LayoutFile {
  path: string;
  bytes: Uint8Array;
  /** Unix permissions (run.sh: 0o755). */
  mode?: number;
}

/** The weights, codes and config of the run (as a joint bundle holds them), and where they go. */
export interface ReferenceLayoutInput extends Pick<JointBundleInput, 'recommender' | 'recommenderConfig' | 'tokenizer' | 'tokenizerConfig' | 'codes' | 'config'> {
  /** The dataset name: config/<name>.yaml, RecBole/dataset/<name>/<name>.*, myckpt/<name>/. */
  name: string;
  /** The run folder under myckpt/<name>/ and RQVAE/rqvae_ckpt/<name>/. */
  run: string;
  /** <epoch>.pt: the epoch of the exported weights. */
  epoch: number;
  /** The prepared dataset's reference files (`<any>.train.jsonl`, …, `<any>.emb_map.json`, `.inter`). */
  datasetFiles: readonly { name: string; bytes: Uint8Array }[];
  /** Processes (GPUs) of accelerate's DDP. */
  gpus: number;
  /** The studio's test metrics of these weights (for the README). */
  test?: Record<string, number> | null;
  /** Where the run comes from, one line (README, config header). */
  source?: string;
}

/** A name that is safe as one path segment and in a shell command line. */
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const DATASET_SUFFIXES = ['.train.jsonl', '.valid.jsonl', '.test.jsonl', '.emb_map.json', '.inter', '.items.tsv'];
const REQUIRED_SUFFIXES = ['.train.jsonl', '.valid.jsonl', '.test.jsonl', '.emb_map.json'];

export const REFERENCE_RQVAE_FILE = 'best_collision_model.pth';

export interface ReferenceLayoutPaths {
  config: string;
  datasetDir: string;
  semantic: string;
  rqvae: string;
  runDir: string;
  recommender: string;
  tokenizer: string;
  codes: string;
  accelerate: string;
  runScript: string;
  readme: string;
}

/** Where each file of the layout goes (relative to the reference repository's root). */
export function referenceLayoutPaths(name: string, run: string, epoch: number, semanticDim: number): ReferenceLayoutPaths {
  const runDir = `myckpt/${name}/${run}`;
  return {
    config: `config/${name}.yaml`,
    datasetDir: `RecBole/dataset/${name}`,
    semantic: `RecBole/dataset/${name}/${name}_emb_${semanticDim}.npy`,
    rqvae: `RQVAE/rqvae_ckpt/${name}/${run}/${REFERENCE_RQVAE_FILE}`,
    runDir,
    recommender: `${runDir}/${epoch}.pt`,
    tokenizer: `${runDir}/${epoch}.pt.rqvae`,
    codes: `${runDir}/${epoch}.code.json`,
    accelerate: 'accelerate_config_ddp.yaml',
    runScript: 'run.sh',
    readme: 'STUDIO_EXPORT.md',
  };
}

const bad = (field: string, message: string, extra: { expected?: string; found?: string } = {}) => new StudioError({ code: 'bad_option', field, message, ...extra });

/** accelerate's config for `gpus` processes on one machine (DDP; plain single process for 1). */
export function accelerateConfigYaml(gpus: number): string {
  return [
    '# Written by ETEGRec Studio: accelerate launch on one machine with ' + `${gpus} process${gpus === 1 ? '' : 'es'} (one per GPU).`,
    '# Each process draws batch_size samples per step: the global batch is num_processes × batch_size (spec §5.12).',
    'compute_environment: LOCAL_MACHINE',
    'debug: false',
    `distributed_type: ${gpus > 1 ? 'MULTI_GPU' : "'NO'"}`,
    "downcast_bf16: 'no'",
    'gpu_ids: all',
    'machine_rank: 0',
    'main_process_port: 29500',
    'main_training_function: main',
    "mixed_precision: 'no'",
    'num_machines: 1',
    `num_processes: ${gpus}`,
    'rdzv_backend: static',
    'same_network: true',
    'tpu_env: []',
    'tpu_use_cluster: false',
    'tpu_use_sudo: false',
    'use_cpu: false',
    '',
  ].join('\n');
}

/** The exact commands, as run.sh (from the reference repository's root). */
export function referenceRunScript(p: ReferenceLayoutPaths): string {
  const launch = `accelerate launch --config_file ${p.accelerate}`;
  return `#!/usr/bin/env bash
# Written by ETEGRec Studio. Run from the root of the reference ETEGRec repository (where main.py is):
#   ./run.sh        joint training, finetune and test with main.py, the tokenizer initialised from
#                   the studio's (rqvae_path in ${p.config})
#   ./run.sh grpo   GRPO fine-tuning of the studio's recommender (${p.recommender}) with train_grpo.py
# What is and is not carried over: ${p.readme}
set -euo pipefail
cd "$(dirname "$0")"
case "\${1:-train}" in
  train) ${launch} main.py --config ./${p.config} ;;
  grpo) ${launch} train_grpo.py --config ./${p.config} --sft_ckpt ./${p.recommender} ;;
  *) echo "usage: $0 [train|grpo]" >&2; exit 2 ;;
esac
`;
}

function fmt(v: YamlValue): string {
  return Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

/** STUDIO_EXPORT.md: what was exported, what the reference does with it, what is not carried over. */
export function referenceReadme(input: ReferenceLayoutInput, p: ReferenceLayoutPaths): string {
  const n = input.recommenderConfig.n_items_plus_pad - 1;
  const differing = studioExtras(input.config).filter((e) => !sameYaml(e.value, e.paper) || REFERENCE_INSTEAD[e.key]);
  const diffLines = differing.map((e) => {
    const instead = REFERENCE_INSTEAD[e.key] ?? `the reference uses ${fmt(e.paper)}`;
    return `* \`${e.key}\` = ${fmt(e.value)} in the studio; ${instead}.`;
  });
  if (input.config.max_history < 50) diffLines.push(`* \`max_history\` = ${input.config.max_history}: ${REFERENCE_INSTEAD.max_history}.`);
  const metrics = input.test ? Object.entries(input.test).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ') : '';
  return `# Continue on the reference trainer

Written by ETEGRec Studio${input.source ? ` from ${input.source}` : ''}. Unpack this folder into the root of the
reference ETEGRec repository (where \`main.py\` is), install its requirements, then:

\`\`\`sh
./run.sh          # ${input.gpus} process(es): accelerate launch --config_file ${p.accelerate} main.py --config ./${p.config}
./run.sh grpo     # accelerate launch --config_file ${p.accelerate} train_grpo.py --config ./${p.config} --sft_ckpt ./${p.recommender}
\`\`\`

Edit \`num_processes\` in \`${p.accelerate}\` for another number of GPUs. Each process draws
\`batch_size\` = ${input.config.batch_size} samples per step, so the global batch is ${input.gpus} × ${input.config.batch_size}
(spec §5.12); the KL and InfoNCE terms use each process's own samples.

## What is here

| path | what |
|---|---|
| \`${p.config}\` | the run's configuration under the reference's flat keys; studio-only settings as \`#@studio\` comments |
| \`${p.datasetDir}/\` | the splits (\`${input.name}.train/valid/test.jsonl\`), \`${input.name}.emb_map.json\` (${n} items + [PAD]) and the semantic table \`${p.semantic.split('/').pop()}\` (${n} × ${input.recommenderConfig.semantic_hidden_size}, float32) |
| \`${p.rqvae}\` | the tokenizer as the RQ-VAE pretraining saves it (\`rqvae_path\`) |
| \`${p.recommender}\`, \`.pt.rqvae\`, \`.code.json\` | the recommender, tokenizer and code table of epoch ${input.epoch}, as \`Trainer.safe_save\` writes them |
| \`${p.accelerate}\`, \`${p.runScript}\` | accelerate's DDP config (${input.gpus} process${input.gpus === 1 ? '' : 'es'}) and the commands |
${metrics ? `\nThe studio's test metrics of these weights: ${metrics}.\n` : ''}
## What is carried over, and what is not

* Carried over: every weight (recommender with the reference's parameter names, tokenizer, code
  table), the data splits and id map, the semantic table, and every setting the reference has a key
  for. The \`.pt\` files load with \`torch.load(..., weights_only=True)\` and \`load_state_dict(strict=True)\`.
* **Not carried over:** the AdamW moments of both modules, the learning-rate schedulers' step
  counters, the RNG states (shuffling, dropout), the early-stopping counters and the epoch counter.
* \`main.py\` has no resume: it always starts at epoch 0 with a **freshly initialised recommender**
  and the tokenizer loaded from \`rqvae_path\` (here the studio's jointly trained tokenizer), i.e.
  a new run that continues from the studio's item codes, not from its recommender. The studio's
  recommender is used by \`train_grpo.py --sft_ckpt\` (\`./run.sh grpo\`) and can be evaluated with
  \`Trainer.test(model_file=...)\`.
* Hard-coded in the reference, not read from the config: the finetune stage (lr 5e-4, 100 epochs,
  early stop 10, eval every epoch), the gradient clip 1.0, 10 returned beams, the InfoNCE
  temperature 0.07 of the loss function.
${diffLines.length ? `\nStudio settings of this run that the reference will not follow:\n\n${diffLines.join('\n')}\n` : ''}
## Back into the studio

The reference writes \`myckpt/${input.name}/<run>/<epoch>.pt\`, \`.pt.rqvae\` and \`.code.json\`. Copy
\`${p.config}\` into that folder, then \`npx etegrec grpo --data <prepared dir> --checkpoint myckpt/${input.name}/<run> --out <dir>\`
(or drop the three files and the YAML on the studio's joint page, Import). An RQ-VAE
\`best_collision_*.pth\` / \`best_gini_*.pth\` goes to \`npx etegrec train --tokenizer <file.pth>\` or the
tokenizer page's Import.
`;
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The recommender as `<epoch>.pt`: the reference's state-dict order, tied aliases sharing one storage. */
export function writeRecommenderPt(state: Record<string, NamedArray>, rc: RecommenderConfig, archiveName?: string): Uint8Array {
  const shapes = recommenderStateDictShapes(rc);
  const tensors = new Map<string, PthTensorInput>();
  for (const [k, shape] of Object.entries(shapes)) {
    const src = TIED_ALIASES.includes(k) ? state[SHARED] : state[k];
    if (!src) throw new StudioError({ code: 'internal', message: `Cannot export the recommender: ${k} is missing` });
    if (src.data.length !== numel(shape)) throw new StudioError({ code: 'internal', message: `Cannot export the recommender: ${k} holds ${src.data.length} values, its shape ${JSON.stringify(shape)} needs ${numel(shape)}` });
    tensors.set(k, { dtype: 'float32', shape, data: src.data });
  }
  return writePthStateDict(tensors, archiveName ? { archiveName } : {});
}

function checkSegment(v: string, what: string): void {
  if (!SAFE_SEGMENT.test(v)) throw bad(what, `${what} "${v}" must be letters, digits, '_', '.' or '-' (it becomes a folder name and part of a shell command)`, { expected: SAFE_SEGMENT.source, found: v });
  // train_grpo.py finds the code table as sft_ckpt.replace('.pt', '.code.json'): every '.pt' of the path
  if (v.includes('.pt')) throw bad(what, `${what} "${v}" must not contain ".pt" (train_grpo.py derives the .code.json path by replacing every ".pt" in the checkpoint path)`, { found: v });
}

/** The layout as a list of files (see the module comment); throws before producing anything on bad input. */
export function referenceLayoutFiles(input: ReferenceLayoutInput): LayoutFile[] {
  checkSegment(input.name, 'name');
  checkSegment(input.run, 'run');
  if (!Number.isInteger(input.gpus) || input.gpus < 1 || input.gpus > 1024) throw bad('gpus', `gpus must be an integer from 1 to 1024, got ${input.gpus}`);
  if (!Number.isInteger(input.epoch) || input.epoch < 0) throw bad('epoch', `epoch must be an integer ≥ 0, got ${input.epoch}`);
  const rc = input.recommenderConfig;
  const N = rc.n_items_plus_pad - 1;
  const D = rc.semantic_hidden_size;
  if (input.codes.length !== rc.n_items_plus_pad * 4) {
    throw new StudioError({ code: 'internal', message: `Cannot export: the code table has ${input.codes.length / 4} rows, the semantic table ${rc.n_items_plus_pad} (N + 1)` });
  }
  const p = referenceLayoutPaths(input.name, input.run, input.epoch, D);
  const files: LayoutFile[] = [];

  // dataset files, renamed to <name>.<suffix> (main.py reads <data_path>/<dataset>/<dataset>.train.jsonl)
  const bySuffix = new Map<string, Uint8Array>();
  for (const f of input.datasetFiles) {
    const base = f.name.replace(/^.*[\\/]/, '');
    const suf = DATASET_SUFFIXES.find((s) => base.endsWith(s));
    if (suf) {
      if (bySuffix.has(suf)) throw new StudioError({ code: 'bad_bundle', file: base, message: `Two dataset files end in ${suf}; keep one` });
      bySuffix.set(suf, f.bytes);
    } else if (base === 'dataset_stats.json') bySuffix.set(base, f.bytes);
  }
  for (const s of REQUIRED_SUFFIXES) if (!bySuffix.has(s)) throw new StudioError({ code: 'bad_bundle', file: `<name>${s}`, message: `The dataset lacks its ${s} file` });
  let map: unknown;
  try {
    map = JSON.parse(strFromU8(bySuffix.get('.emb_map.json')!));
  } catch (e) {
    throw new StudioError({ code: 'malformed_input', file: `${input.name}.emb_map.json`, message: `Not valid JSON (${(e as Error).message})` });
  }
  const mapSize = map && typeof map === 'object' ? Object.keys(map).length : -1;
  if (mapSize !== rc.n_items_plus_pad) {
    throw new StudioError({
      code: 'embedding_row_mismatch', file: `${input.name}.emb_map.json`,
      message: `The id map has ${mapSize} entries, the run's semantic table ${rc.n_items_plus_pad} rows (N items + [PAD]): not the run's dataset`,
      expected: String(rc.n_items_plus_pad), found: String(mapSize),
    });
  }
  for (const [suf, bytes] of bySuffix) files.push({ path: `${p.datasetDir}/${suf === 'dataset_stats.json' ? suf : input.name + suf}`, bytes });

  // the semantic input: rows 1..N of the (frozen) semantic table, as get_collab_emb writes it (N rows, no PAD)
  const S = input.recommender[SEMANTIC];
  if (!S || S.data.length !== rc.n_items_plus_pad * D) throw new StudioError({ code: 'internal', message: `Cannot export: ${SEMANTIC} is missing or not ${rc.n_items_plus_pad} × ${D}` });
  files.push({ path: p.semantic, bytes: writeNpy(S.data.slice(D, (N + 1) * D), [N, D]) });

  const tokPth = exportRqvaePth(input.tokenizer, input.tokenizerConfig, { archiveName: 'best_collision_model' });
  files.push({ path: p.rqvae, bytes: tokPth });
  files.push({ path: p.recommender, bytes: writeRecommenderPt(input.recommender, rc, String(input.epoch)) });
  files.push({ path: p.tokenizer, bytes: exportRqvaePth(input.tokenizer, input.tokenizerConfig, { archiveName: `${input.epoch}.pt` }) });
  files.push({ path: p.codes, bytes: strToU8(writeCodeJson(input.codes)) });

  const paths: ReferencePaths = { dataset: input.name, data_path: './RecBole/dataset', semantic_emb_path: p.semantic.split('/').pop()!, rqvae_path: `./${p.rqvae}` };
  // the model keys describe the exported tensors: the T5 they were built with, whatever the config says
  const config: JointTrainConfig = { ...input.config, t5: { ...rc.t5 } };
  const yaml = writeReferenceConfigYaml({ config, recommender: rc, tokenizer: input.tokenizerConfig, paths, source: input.source });
  files.push({ path: p.config, bytes: strToU8(yaml) });
  files.push({ path: p.accelerate, bytes: strToU8(accelerateConfigYaml(input.gpus)) });
  files.push({ path: p.runScript, bytes: strToU8(referenceRunScript(p)), mode: 0o755 });
  files.push({ path: p.readme, bytes: strToU8(referenceReadme(input, p)) });
  return files;
}

/** The layout as one zip (unix permissions kept, so run.sh stays executable). */
export function referenceLayoutZip(files: readonly LayoutFile[]): Uint8Array {
  const z: Zippable = {};
  for (const f of files) {
    const compressed = /\.(jsonl|json|yaml|md|sh|inter|tsv)$/.test(f.path);
    z[f.path] = [f.bytes, { level: compressed ? 6 : 1, os: 3, attrs: ((f.mode ?? 0o644) | 0o100000) << 16 }];
  }
  return zipSync(z);
}

// ───────────────────────────── import ─────────────────────────────

export interface ReferenceRunOptions {
  /** The `<epoch>.pt` to read (default: the newest by `modified`, then the highest epoch). */
  epoch?: number;
  /** Modification times by file name (the newest `<epoch>.pt` is the reference's last save). */
  modified?: Record<string, number>;
  fileName?: string;
}

export interface ReferenceRun extends JointBundle {
  epoch: number;
  /** The YAML read (reference keys), when the folder had one. */
  configFile?: string;
}

const baseOf = (n: string) => n.replace(/^.*[\\/]/, '');

/** Whether a folder's files are a reference run (`<epoch>.pt` files, no studio recommender.safetensors). */
export function isReferenceRun(names: readonly string[]): boolean {
  const b = names.map(baseOf);
  return !b.includes('recommender.safetensors') && b.some((n) => /^\d+\.pt$/.test(n));
}

/** A YAML holding reference keys (encoder_layers, lr_rec …), not the studio's dotted config.yaml. */
function isReferenceYaml(text: string): boolean {
  return /^(encoder_layers|decoder_layers|lr_rec|code_num)\s*:/m.test(text) && !/^t5\.\w+\s*:/m.test(text);
}

function dimsMismatch(fileName: string, key: string, expected: YamlValue, found: YamlValue, what: string): StudioError {
  return new StudioError({
    code: 'malformed_input', file: fileName, field: key,
    message: `${key} is ${fmt(found)} in ${fileName}, but ${what} has ${fmt(expected)}: the config does not belong to these weights`,
    expected: JSON.stringify(expected), found: JSON.stringify(found),
  });
}

/**
 * Reads the reference's run folder: one `<epoch>.pt` (the chosen epoch) with its `.pt.rqvae` and
 * `.code.json`, validated like a bundle (readJointBundle: "N of M tensors matched", any mismatch
 * refused), and its config (a YAML with reference keys beside it) mapped onto the studio's config
 * through REFERENCE_CONFIG_KEYS; the YAML's model dims must equal the tensors'.
 */
export function readReferenceRun(input: Record<string, Uint8Array>, opts: ReferenceRunOptions = {}): ReferenceRun {
  const where = opts.fileName ?? 'reference run';
  const files: Record<string, Uint8Array> = {};
  const modified: Record<string, number> = {};
  for (const [k, v] of Object.entries(input)) {
    files[baseOf(k)] = v;
    if (opts.modified?.[k] !== undefined) modified[baseOf(k)] = opts.modified[k];
  }
  const epochs = Object.keys(files).flatMap((n) => {
    const m = /^(\d+)\.pt$/.exec(n);
    return m ? [Number(m[1])] : [];
  });
  if (!epochs.length) throw new StudioError({ code: 'bad_bundle', file: where, message: `No <epoch>.pt file (found ${Object.keys(files).join(', ') || 'no files'})` });
  let epoch: number;
  if (opts.epoch !== undefined) {
    if (!epochs.includes(opts.epoch)) throw new StudioError({ code: 'bad_option', field: 'epoch', file: where, message: `No ${opts.epoch}.pt (epochs here: ${epochs.sort((a, b) => a - b).join(', ')})` });
    epoch = opts.epoch;
  } else {
    // Trainer.safe_save's last file is the best checkpoint (the finetune restarts numbering at 0)
    epoch = [...epochs].sort((a, b) => (modified[`${b}.pt`] ?? 0) - (modified[`${a}.pt`] ?? 0) || b - a)[0];
  }
  const pt = `${epoch}.pt`;
  const need = [pt, `${pt}.rqvae`, `${epoch}.code.json`];
  const lacking = need.filter((n) => !(n in files));
  if (lacking.length) {
    throw new StudioError({ code: 'bad_bundle', file: where, message: `${pt} needs ${lacking.join(' and ')} beside it (Trainer.safe_save writes all three)`, expected: need.join(', '), found: Object.keys(files).join(', ') });
  }
  const yamls = Object.keys(files).filter((n) => /\.ya?ml$/.test(n) && !/^accelerate/.test(n) && isReferenceYaml(strFromU8(files[n])));
  if (yamls.length > 1) throw new StudioError({ code: 'bad_bundle', file: where, message: `Several reference configs (${yamls.join(', ')}); keep one` });

  const b = readJointBundle({ [pt]: files[pt], [`${pt}.rqvae`]: files[`${pt}.rqvae`], [`${epoch}.code.json`]: files[`${epoch}.code.json`] }, { fileName: where });
  const out: ReferenceRun = { ...b, epoch };
  if (!yamls.length) {
    out.report = { ...b.report, warnings: [...b.report.warnings, `${where}: no reference config (.yaml) beside ${pt}: the paper settings are assumed`] };
    return out;
  }
  const yamlFile = yamls[0];
  const r = readReferenceConfigYaml(strFromU8(files[yamlFile]), yamlFile);
  const rc = b.recommenderConfig;
  const tc = b.tokenizerConfig;
  const t5Checks: [string, number, number][] = [
    ['encoder_layers', rc.t5.num_layers, r.config.t5.num_layers],
    ['decoder_layers', rc.t5.num_decoder_layers, r.config.t5.num_decoder_layers],
    ['d_model', rc.t5.d_model, r.config.t5.d_model],
    ['d_ff', rc.t5.d_ff, r.config.t5.d_ff],
    ['num_heads', rc.t5.num_heads, r.config.t5.num_heads],
    ['d_kv', rc.t5.d_kv, r.config.t5.d_kv],
  ];
  const yamlValues = readFlatYaml(strFromU8(files[yamlFile]), yamlFile);
  for (const [key, want, got] of t5Checks) if (key in yamlValues && want !== got) throw dimsMismatch(yamlFile, key, want, got, pt);
  const dims: ReferenceModelDims = { recommender: rc, tokenizer: tc };
  for (const k of REFERENCE_CONFIG_KEYS) {
    if (k.src.kind !== 'model' || !(k.key in r.model)) continue;
    const got = r.model[k.key];
    if (k.src.set) {
      if (!k.src.set(dims, got)) throw new StudioError({ code: 'malformed_input', file: yamlFile, field: k.key, message: `${k.key} must be a number ≥ 0`, found: JSON.stringify(got) });
      continue;
    }
    const want = k.src.get(dims);
    if (!sameYaml(want, got)) throw dimsMismatch(yamlFile, k.key, want, got, k.section === 'rqvae' && k.key !== 'e_dim' ? `${pt}.rqvae` : pt);
  }
  // not visible in the tensors: taken from the config
  rc.t5 = { ...rc.t5, dropout_rate: r.config.t5.dropout_rate };
  tc.quant_loss_weight = r.config.alpha;
  const config: JointTrainConfig = { ...r.config, t5: { ...rc.t5 } };
  out.config = config;
  out.configFile = yamlFile;
  out.report = { ...b.report, files: { ...b.report.files, config: yamlFile }, warnings: [...b.report.warnings, ...r.warnings] };
  return out;
}

/** A checkpoint folder of either kind: the studio's bundle files or the reference's run folder. */
export function readCheckpointFiles(files: Record<string, Uint8Array>, opts: ReferenceRunOptions = {}): JointBundle & { epoch?: number } {
  return isReferenceRun(Object.keys(files)) ? readReferenceRun(files, opts) : readJointBundle(files, { fileName: opts.fileName });
}
