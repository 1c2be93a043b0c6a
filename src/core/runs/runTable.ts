/**
 * The studio's run table (issue 6), pure and tfjs-free so the UI, the worker and tests share it:
 * the uniform summary of a recorded run of any stage, the config diff against a preset (with the
 * preset's provenance note), filtering and sorting, and the all-metrics CSV/JSON export.
 */
import { csvField, type CsvCell } from '../io/csv.ts';
import { collapseReasons, type Diagnostics } from '../eval/diagnostics.ts';
import { diffStageConfigs, provenanceOf, type StageDecl } from '../stages/fields.ts';

export type RunStage = 'data' | 'text' | 'sasrec' | 'rqvae' | 'joint' | 'grpo';

export const RUN_STAGE_LABELS: Record<RunStage, string> = {
  data: 'Data preparation',
  text: 'Text embeddings',
  sasrec: 'SASRec embeddings',
  rqvae: 'RQ-VAE tokenizer',
  joint: 'Joint training',
  grpo: 'GRPO fine-tuning',
};

/** One point per epoch; metric name → value (e.g. 'valid_ndcg@10', 'loss', 'collision_rate'). */
export interface RunCurvePoint {
  epoch: number;
  [metric: string]: number;
}

export interface ConfigDiffEntry {
  /** The field key of the stage's declaration ('t5.d_model', 'ablation'). */
  key: string;
  value: unknown;
  presetValue: unknown;
  /** Where the preset's value comes from (the preset's provenance note), '' when unknown. */
  provenance: string;
}

export interface RunRow {
  stage: RunStage;
  id: string;
  name: string;
  datasetId: string;
  datasetName: string;
  createdAt: number;
  status: string;
  backend: string;
  /** The WebGPU adapter ('google/swiftshader'); null on wasm/cpu and in records older than it. */
  adapter: string | null;
  seed: number | null;
  durationSeconds: number | null;
  /**
   * The stage's headline metric: ndcg@10 (sasrec/joint/grpo), the collision rate (rqvae), the
   * interactions (data) or the vector width (text).
   */
  headline: { name: string; value: number } | null;
  /** The preset compared against ('quick', 'paper'; for stages that do not store it: the nearest). */
  preset: string | null;
  presetInferred: boolean;
  config: Record<string, unknown> | null;
  configDiff: ConfigDiffEntry[];
  /** Final metrics, flat (name → value). */
  metrics: Record<string, number>;
  curves: RunCurvePoint[];
  /** Why the run's test model looks collapsed to one list (collapseReasons); absent or empty = no warning. */
  warnings?: string[];
}

// ---- diagnostics ------------------------------------------------------------------------------

/**
 * The diagnostics of one evaluation as flat metrics, e.g. prefix 'test_' → test_distinct_top1,
 * test_distinct_top10, test_coverage@10, test_modal_top10_share, test_popularity_overlap@10,
 * test_invalid_rate, test_shuffle_gap, test_ce_real, test_ce_shuffled. The names keep "10" (the
 * reference list length) so runs compare in one column; `<prefix>diagnostics_k` says when a run
 * returned fewer beams and its lists were shorter.
 */
export function diagnosticMetrics(prefix: string, d: Diagnostics | undefined | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (!d) return out;
  const put = (k: string, v: number | undefined) => { if (typeof v === 'number' && Number.isFinite(v)) out[`${prefix}${k}`] = v; };
  put('distinct_top1', d.distinctTop1);
  put('distinct_top10', d.distinctTopK);
  put('coverage@10', d.coverageAtK);
  put('modal_top10_share', d.modalTopKShare);
  put('popularity_overlap@10', d.popularityOverlapAtK);
  put('invalid_rate', d.invalidRate);
  if (d.k !== 10) put('diagnostics_k', d.k);
  if (d.shuffle) {
    put('shuffle_gap', d.shuffle.gap);
    put('ce_real', d.shuffle.ceReal);
    put('ce_shuffled', d.shuffle.ceShuffled);
  }
  return out;
}

/** The collapse warnings of a run from its test diagnostics (none without them: older records). */
export function runWarnings(test: { diagnostics?: Diagnostics } | null | undefined): string[] {
  return collapseReasons(test?.diagnostics);
}

// ---- config diff -----------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** A provenance note as a line: a string as is, a { sources, note } as "[paper, official] note". */
export function provenanceText(p: unknown): string {
  if (typeof p === 'string') return p;
  if (isPlainObject(p) && typeof p.note === 'string') {
    const sources = Array.isArray(p.sources) ? p.sources.join(', ') : '';
    return sources ? `[${sources}] ${p.note}` : p.note;
  }
  return '';
}

/**
 * A run's config against a preset of its stage's declaration: one entry per declared field whose
 * value differs (diffStageConfigs, in declaration order), named by the field key, with the preset's
 * value and where it comes from (provenanceOf). Fields the stored config does not have (records
 * written before the field existed, or with no config) are no entries. null when the declaration has
 * no such preset.
 */
export function stageConfigDiff<C extends object>(stage: StageDecl<C>, preset: string, config: unknown): ConfigDiffEntry[] | null {
  const decl = stage as StageDecl<object>;
  const p = Object.prototype.hasOwnProperty.call(decl.presets, preset) ? decl.presets[preset] : undefined;
  if (!p) return null;
  const run = isPlainObject(config) ? config : {};
  return diffStageConfigs(decl, p.values, run)
    .filter((c) => c.to !== undefined)
    .map((c) => ({ key: c.key, value: c.to, presetValue: c.from, provenance: provenanceText(provenanceOf(p, c.key)) }));
}

/** The preset of a declaration the config differs least from (first on ties), and that diff. */
export function nearestStagePreset<C extends object>(stage: StageDecl<C>, config: unknown): { name: string; diff: ConfigDiffEntry[] } | null {
  let best: { name: string; diff: ConfigDiffEntry[] } | null = null;
  for (const name of Object.keys(stage.presets)) {
    const diff = stageConfigDiff(stage, name, config) ?? [];
    if (!best || diff.length < best.diff.length) best = { name, diff };
  }
  return best;
}

// ---- filter / sort ---------------------------------------------------------------------------

export interface RunFilter {
  stage?: RunStage | '';
  datasetId?: string;
  text?: string;
}

export function filterRuns(rows: RunRow[], f: RunFilter): RunRow[] {
  const text = (f.text ?? '').trim().toLowerCase();
  return rows.filter((r) =>
    (!f.stage || r.stage === f.stage) &&
    (!f.datasetId || r.datasetId === f.datasetId) &&
    (!text || [r.name, r.datasetName, r.stage, r.status, r.backend, r.adapter ?? '', r.preset ?? '', r.id].some((s) => s.toLowerCase().includes(text))));
}

export type RunSortKey = 'stage' | 'name' | 'dataset' | 'created' | 'status' | 'backend' | 'seed' | 'duration' | 'metric';

export const RUN_SORT_KEYS: RunSortKey[] = ['stage', 'name', 'dataset', 'created', 'status', 'backend', 'seed', 'duration', 'metric'];

function sortValue(r: RunRow, key: RunSortKey): string | number | null {
  switch (key) {
    case 'stage': return r.stage;
    case 'name': return r.name.toLowerCase();
    case 'dataset': return r.datasetName.toLowerCase();
    case 'created': return r.createdAt;
    case 'status': return r.status;
    case 'backend': return r.backend;
    case 'seed': return r.seed;
    case 'duration': return r.durationSeconds;
    case 'metric': return r.headline?.value ?? null;
  }
}

/** A stable sort; missing values (null) always go last. */
export function sortRuns(rows: RunRow[], key: RunSortKey, dir: 'asc' | 'desc' = 'asc'): RunRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  return rows
    .map((r, i) => ({ r, i, v: sortValue(r, key) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
      const c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
      return c ? c * sign : a.i - b.i;
    })
    .map((x) => x.r);
}

// ---- export ----------------------------------------------------------------------------------

function csvCell(v: unknown): string {
  return csvField(typeof v === 'number' && !Number.isFinite(v) ? '' : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as CsvCell));
}

export const CSV_COLUMNS = ['stage', 'run_id', 'run_name', 'dataset', 'created', 'status', 'backend', 'adapter', 'seed', 'preset', 'kind', 'epoch', 'metric', 'value'] as const;

/**
 * Every metric of every run in long form: one line per final metric (kind 'final', no epoch) and
 * per curve point (kind 'curve').
 */
export function buildMetricsCsv(rows: RunRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const head = [r.stage, r.id, r.name, r.datasetName, new Date(r.createdAt).toISOString(), r.status, r.backend, r.adapter, r.seed, r.preset];
    for (const [m, v] of Object.entries(r.metrics)) lines.push([...head, 'final', '', m, v].map(csvCell).join(','));
    for (const p of r.curves) {
      for (const [m, v] of Object.entries(p)) if (m !== 'epoch') lines.push([...head, 'curve', p.epoch, m, v].map(csvCell).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** Parses what buildMetricsCsv writes (quoted cells, doubled quotes) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\n') { row.push(cell); out.push(row); row = []; cell = ''; }
    else if (ch !== '\r') cell += ch;
  }
  if (cell || row.length) { row.push(cell); out.push(row); }
  return out;
}

/** All runs with their config, diff, final metrics and curves, as one JSON text. */
export function buildMetricsJson(rows: RunRow[], exportedAt = Date.now()): string {
  return JSON.stringify({ exportedAt: new Date(exportedAt).toISOString(), runs: rows }, null, 2);
}

/** The metric names a set of runs has curves of (for the compare chart's picker), sorted. */
export function curveMetrics(rows: RunRow[]): string[] {
  const s = new Set<string>();
  for (const r of rows) for (const p of r.curves) for (const k of Object.keys(p)) if (k !== 'epoch') s.add(k);
  return [...s].sort((a, b) => (a === 'valid_ndcg@10' ? -1 : b === 'valid_ndcg@10' ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

/**
 * How a run's state reads everywhere it is shown (the stage's run list, the Runs table and its
 * CSV): a run training now is 'training'; a stored 'paused' run (it was training when its worker
 * died: a reload or a closed tab) is 'interrupted'; a run stopped by a NaN/Inf loss is
 * 'failed (NaN loss)'; one stopped by a WebAssembly heap fault is 'failed (out of memory)'.
 */
export function runStatusLabel(status: string, o: { active?: boolean; errorCode?: string | null } = {}): string {
  if (o.active) return 'training';
  if (status === 'paused') return 'interrupted';
  if (status === 'failed' && o.errorCode === 'diverged') return 'failed (NaN loss)';
  if (status === 'failed' && o.errorCode === 'worker_memory') return 'failed (out of memory)';
  return status;
}
