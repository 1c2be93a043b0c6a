/**
 * The embeddings stage (SASRec collaborative embeddings, spec §2.2) declared once: the config type,
 * every field with its range and help, the presets with provenance, and the consistency checks.
 * No tfjs here.
 */
import { noteFromText, type FieldDecl, type FieldError, type PresetDecl, type StageDecl } from './fields.ts';

/** Keys follow RecBole's config keys where one exists; the rest are marked "ours". */
export interface SasrecConfig {
  hidden_size: number;
  inner_size: number;
  n_layers: number;
  n_heads: number;
  hidden_dropout_prob: number;
  attn_dropout_prob: number;
  hidden_act: 'gelu';
  layer_norm_eps: number;
  initializer_range: number;
  /** Maximum history length (RecBole MAX_ITEM_LIST_LENGTH). */
  MAX_ITEM_LIST_LENGTH: number;
  loss_type: 'CE';
  epochs: number;
  train_batch_size: number;
  eval_batch_size: number;
  learning_rate: number;
  weight_decay: number;
  /** Early stop once this many consecutive evaluations failed to improve valid NDCG@10 is exceeded. */
  stopping_step: number;
  /** Evaluate every this many epochs. */
  eval_step: number;
  seed: number;
  /** ours: rows per forward/backward pass; gradients of a batch are accumulated (same mean-loss gradient). */
  micro_batch_size: number;
  /** ours: read the loss back every this many steps. */
  log_every: number;
  /** ours: run the last layer only at position len−1 (same result, ~1/n_layers less work). */
  last_position_only: boolean;
  /**
   * ours: 0 = every forward runs the full MAX_ITEM_LIST_LENGTH (one shape: WebGPU compiles once);
   * k > 0 = a batch's rows are sorted by history length into micro-batches and each runs only to
   * its longest history rounded up to a multiple of k. Right padding under causal + padding masks
   * never reaches a real position, so the loss is the same; only the dropout draws differ.
   * Optional: configs stored before it existed mean 0.
   */
  length_bucket?: number;
}

export type SasrecPresetName = 'paper' | 'quick';

export interface SasrecPreset {
  config: SasrecConfig;
  /** Where each value comes from: paper / official code / fork / ours (+ why). */
  provenance: Record<keyof SasrecConfig, string>;
}

const REF = 'official code (get_collab_emb.py → RecBole SASRec, spec §2.2)';
const RECBOLE_DEFAULT = 'official code (RecBole SASRec default, not overridden; spec §2.2)';

const PAPER: SasrecConfig = {
  hidden_size: 256,
  inner_size: 256,
  n_layers: 4,
  n_heads: 4,
  hidden_dropout_prob: 0.5,
  attn_dropout_prob: 0.5,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-12,
  initializer_range: 0.02,
  MAX_ITEM_LIST_LENGTH: 50,
  loss_type: 'CE',
  epochs: 50,
  train_batch_size: 2048,
  eval_batch_size: 2048,
  learning_rate: 1e-3,
  weight_decay: 0,
  stopping_step: 10,
  eval_step: 1,
  seed: 2020,
  micro_batch_size: 64,
  log_every: 10,
  last_position_only: true,
  length_bucket: 0,
};

const PAPER_PROVENANCE: Record<keyof SasrecConfig, string> = {
  hidden_size: `${REF}; the paper's 256-d collaborative embeddings`,
  inner_size: REF,
  n_layers: REF,
  n_heads: REF,
  hidden_dropout_prob: REF,
  attn_dropout_prob: REF,
  hidden_act: REF,
  layer_norm_eps: RECBOLE_DEFAULT,
  initializer_range: RECBOLE_DEFAULT,
  MAX_ITEM_LIST_LENGTH: `${REF}; also MAX_SEQ_LENGTH of data preparation (§1.5)`,
  loss_type: `${REF}: full softmax CE, no negative sampling`,
  epochs: `${REF} (maximum; early stopping usually ends sooner)`,
  train_batch_size: REF,
  eval_batch_size: REF,
  learning_rate: `${REF} (Adam)`,
  weight_decay: `${RECBOLE_DEFAULT} (RecBole default 0)`,
  stopping_step: REF,
  eval_step: REF,
  seed: REF,
  micro_batch_size:
    'ours: the tfjs tape keeps every forward intermediate (~20 MB per sequence at the paper size: 128 ' +
    'rows peak at 2.9 GiB of wasm heap, 256 rows overflow its 4 GiB); accumulating 32 micro-batches of ' +
    '64 gives the same mean-loss gradient as one 2048 batch (dropout masks differ)',
  log_every: 'ours: async loss readback every N steps keeps GPU pipelines full',
  last_position_only:
    'ours: only the output at len−1 is used, so the last layer runs there only (identical output)',
  length_bucket: 'ours: 0 = fixed full-length shapes (WebGPU compiles each kernel once); the reference pads every batch to 50',
};

const QUICK: SasrecConfig = {
  ...PAPER,
  hidden_size: 64,
  inner_size: 64,
  n_layers: 2,
  n_heads: 2,
  hidden_dropout_prob: 0.2,
  attn_dropout_prob: 0.2,
  epochs: 10,
  train_batch_size: 256,
  eval_batch_size: 256,
  learning_rate: 2e-3,
  stopping_step: 3,
  micro_batch_size: 64,
  log_every: 5,
  length_bucket: 10,
};

const QUICK_NOTE = 'ours (quick preset): trains on the bundled 1,429-user sample in 48–55 s measured in Node/wasm on a quiet 2-core machine (docs/measurements.md)';

export const SASREC_PRESETS: Record<SasrecPresetName, SasrecPreset> = {
  paper: { config: PAPER, provenance: PAPER_PROVENANCE },
  quick: {
    config: QUICK,
    provenance: {
      ...PAPER_PROVENANCE,
      hidden_size: QUICK_NOTE,
      inner_size: `${QUICK_NOTE}; inner = hidden as in the paper setting`,
      n_layers: QUICK_NOTE,
      n_heads: QUICK_NOTE,
      hidden_dropout_prob: `${QUICK_NOTE}; less regularisation for a smaller model`,
      attn_dropout_prob: `${QUICK_NOTE}; less regularisation for a smaller model`,
      epochs: `${QUICK_NOTE}; ~10 epochs`,
      train_batch_size: `${QUICK_NOTE}; ~24 steps per epoch on 6k samples`,
      eval_batch_size: QUICK_NOTE,
      learning_rate: `${QUICK_NOTE}; larger step for the few updates of a short run`,
      stopping_step: `${QUICK_NOTE}; scaled with the epoch budget`,
      micro_batch_size: 'ours: 64, so that length-sorted micro-batches of short histories stay short (length_bucket)',
      length_bucket:
        'ours: 10 — the sample\'s histories average 4 items, so a length-sorted micro-batch of 64 mostly runs to 10 ' +
        'positions instead of 50 (same loss, different dropout draws; ~2× faster on wasm)',
      log_every: 'ours: few steps per epoch',
    },
  },
};

export function sasrecConfig(preset: SasrecPresetName = 'paper', overrides: Partial<SasrecConfig> = {}): SasrecConfig {
  return { ...SASREC_PRESETS[preset].config, ...overrides };
}

// ---- fields ------------------------------------------------------------------------------------

const int = (key: keyof SasrecConfig, label: string, help: string, min: number, max: number, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'int', label, help, min, max, ...extra });
const num = (key: keyof SasrecConfig, label: string, help: string, min: number, max: number, extra: Partial<FieldDecl> = {}): FieldDecl => ({ key, kind: 'float', label, help, min, max, ...extra });

export const SASREC_FIELDS: readonly FieldDecl[] = [
  int('hidden_size', 'hidden size', 'embedding and Transformer width (the exported table\'s width)', 1, 4096, { main: true }),
  int('inner_size', 'inner size', 'feed-forward width', 1, 16_384, { main: true }),
  int('n_layers', 'layers', 'Transformer blocks', 1, 48, { main: true }),
  int('n_heads', 'heads', 'attention heads (must divide hidden_size)', 1, 64, { main: true }),
  num('hidden_dropout_prob', 'hidden dropout', 'dropout probability after embeddings and sub-layers', 0, 1, { main: true, exclusiveMax: true }),
  num('attn_dropout_prob', 'attention dropout', 'dropout probability of the attention weights', 0, 1, { main: true, exclusiveMax: true }),
  int('MAX_ITEM_LIST_LENGTH', 'max history', 'most recent items of a history', 1, 1024, { main: true, unit: 'items' }),
  int('epochs', 'epochs', 'training epochs at most (early stopping ends sooner)', 1, 10_000, { main: true, unit: 'epochs' }),
  int('train_batch_size', 'batch size', 'training sequences per update', 1, 1 << 20, { main: true, unit: 'sequences', aliases: ['batch'] }),
  int('eval_batch_size', 'eval batch size', 'users per evaluation batch', 1, 1 << 20, { main: true, unit: 'users' }),
  num('learning_rate', 'learning rate', 'Adam learning rate', 0, 10, { main: true, exclusiveMin: true }),
  num('weight_decay', 'weight decay', 'L2 weight decay (RecBole default 0)', 0, 10),
  int('stopping_step', 'stopping step', 'evaluations without a better valid NDCG@10 before stopping', 0, 10_000, { main: true, unit: 'evaluations' }),
  int('eval_step', 'eval step', 'evaluate every this many epochs', 1, 10_000, { unit: 'epochs' }),
  int('seed', 'seed', 'random seed', 0, 2 ** 32 - 1, { main: true }),
  int('micro_batch_size', 'micro-batch size', 'rows per forward/backward pass (same mean-loss gradient)', 1, 1 << 20, { main: true, unit: 'rows' }),
  int('log_every', 'log every', 'read the loss back every this many steps', 1, 1 << 20, { main: true, unit: 'steps' }),
  { key: 'last_position_only', kind: 'bool', label: 'last layer at len−1 only', help: 'run the last layer only where its output is used (identical result)' },
  int('length_bucket', 'length bucket', '0 = full-length shapes; k = run each micro-batch to its longest history rounded up to k', 0, 1024, { optional: true, unit: 'items' }),
  num('layer_norm_eps', 'LayerNorm ε', 'LayerNorm epsilon', 0, 1, { exclusiveMin: true }),
  num('initializer_range', 'init std', 'standard deviation of the weight initialisation', 0, 10, { exclusiveMin: true }),
  { key: 'hidden_act', kind: 'enum', label: 'activation', help: 'feed-forward activation (only gelu is implemented)', options: ['gelu'] },
  { key: 'loss_type', kind: 'enum', label: 'loss', help: 'full-softmax cross-entropy (the only one implemented)', options: ['CE'] },
];

function checkSasrec(c: SasrecConfig): FieldError[] {
  if (c.hidden_size % c.n_heads !== 0) return [{ field: 'n_heads', message: `hidden_size (${c.hidden_size}) must be a multiple of n_heads (${c.n_heads})` }];
  return [];
}

/** Peak bytes of a step: parameters with gradients and Adam moments plus one micro-batch's tape. */
export function sasrecMemoryEstimate(c: SasrecConfig, ctx: { numItems?: number }): number {
  const items = ctx.numItems ?? 10_000;
  const h = c.hidden_size;
  const params = (items + 1 + c.MAX_ITEM_LIST_LENGTH) * h + c.n_layers * (4 * h * h + 2 * h * c.inner_size);
  const rows = Math.min(c.micro_batch_size, c.train_batch_size);
  const L = c.MAX_ITEM_LIST_LENGTH;
  const tape = rows * c.n_layers * L * (12 * h + 3 * c.inner_size + 3 * c.n_heads * L) + rows * items;
  return 4 * (4 * params + tape);
}

export const EMBEDDINGS_STAGE: StageDecl<SasrecConfig> = {
  stage: 'embeddings',
  title: 'embeddings (SASRec)',
  fields: SASREC_FIELDS,
  presets: {
    paper: { name: 'paper', description: 'Reference SASRec (get_collab_emb.py → RecBole, spec §2.2)', values: SASREC_PRESETS.paper.config, provenance: notesOf(SASREC_PRESETS.paper.provenance) },
    quick: { name: 'quick', description: 'A small SASRec for the bundled sample: 48–55 s measured in Node/wasm on a quiet 2-core machine (changed by us)', values: SASREC_PRESETS.quick.config, provenance: notesOf(SASREC_PRESETS.quick.provenance) },
  } satisfies Record<SasrecPresetName, PresetDecl<SasrecConfig>>,
  defaultPreset: 'quick',
  check: checkSasrec,
  memoryEstimate: sasrecMemoryEstimate,
};

function notesOf(p: Record<string, string>) {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, noteFromText(v)]));
}
