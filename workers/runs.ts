/**
 * The runs page (issue 6): every recorded run of every stage as one uniform RunRow — joint runs
 * (and GRPO runs when present) from the `runs` store; SASRec embedding tables and RQ-VAE tokenizers
 * from `artifacts`, presented as runs of their stage from their stored config/metrics/curves —
 * with the config diff against the run's preset (the nearest one where the preset is not stored).
 */
import { StudioError } from '../src/core/errors.ts';
import type { Diagnostics } from '../src/core/eval/diagnostics.ts';
import { diagnosticMetrics, nearestStagePreset, runStatusLabel, runWarnings, stageConfigDiff, type RunCurvePoint, type RunRow, type RunStage } from '../src/core/runs/runTable.ts';
import { EMBEDDINGS_STAGE } from '../src/core/stages/embeddings.ts';
import { GRPO_STAGE } from '../src/core/stages/grpo.ts';
import { JOINT_STAGE } from '../src/core/stages/joint.ts';
import { tokenizerStage } from '../src/core/stages/tokenizer.ts';
import { chunkRange, listDatasets, toStorageError, type StoredArtifact, type StoredRun, type StudioDb } from '../src/storage/index.ts';
import type { DatasetSummary, Result } from './api.ts';
import { asResult } from './jobs.ts';
import type { JointRunSummary } from './jointApi.ts';
import type { GrpoRunSummary } from './grpoApi.ts';
import type { RunsWorkerApi } from './runsApi.ts';

export interface RunsContext {
  db: () => Promise<StudioDb>;
  /** The stages' own methods (they know which runs are live and what to delete). */
  listJointRuns: () => Promise<Result<JointRunSummary[]>>;
  /** GRPO runs with their live status (a stored 'running' with no job is interrupted). */
  listGrpoRuns?: () => Promise<Result<GrpoRunSummary[]>>;
  deleteJointRun: (id: string) => Promise<Result<void>>;
  deleteTokenizer: (id: string) => Promise<Result<void>>;
  deleteEmbedding: (id: string) => Promise<Result<void>>;
  /** Deletes a prepared dataset with its artifacts (and runs): the datasets page's own delete. */
  deleteDataset: (id: string) => Promise<Result<void>>;
}

type Rec = Record<string, unknown>;

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function obj(v: unknown): Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : {};
}

function flatMetrics(prefix: string, m: unknown, out: Record<string, number>): void {
  for (const [k, v] of Object.entries(obj(m))) {
    const n = num(v);
    if (n !== null) out[`${prefix}${k}`] = n;
  }
}

/** Curve points merged by epoch. */
function mergePoints(points: RunCurvePoint[]): RunCurvePoint[] {
  const by = new Map<number, RunCurvePoint>();
  for (const p of points) by.set(p.epoch, { ...(by.get(p.epoch) ?? {}), ...p });
  return [...by.values()].sort((a, b) => a.epoch - b.epoch);
}

function jointRow(r: JointRunSummary, names: Map<string, string>): RunRow {
  const metrics: Record<string, number> = {};
  if (r.test) {
    flatMetrics('test_', r.test.metrics, metrics);
    metrics.test_invalid_rate = r.test.invalidRate;
    Object.assign(metrics, diagnosticMetrics('test_', r.test.diagnostics));
  }
  if (r.testBeforeFinetune) {
    flatMetrics('test_before_finetune_', r.testBeforeFinetune.metrics, metrics);
    metrics.test_before_finetune_invalid_rate = r.testBeforeFinetune.invalidRate;
    Object.assign(metrics, diagnosticMetrics('test_before_finetune_', r.testBeforeFinetune.diagnostics));
  }
  let bestValid: number | null = null;
  const curves: RunCurvePoint[] = r.history.map((h, i) => {
    const p: RunCurvePoint = { epoch: i + 1 };
    if (num(h.loss?.total) !== null) p.loss = h.loss.total;
    if (num(h.loss?.code) !== null) p.loss_code = h.loss.code;
    const v = num(h.valid?.metrics?.['ndcg@10']);
    if (v !== null) { p['valid_ndcg@10'] = v; bestValid = Math.max(bestValid ?? -Infinity, v); }
    const rc = num(h.valid?.metrics?.['recall@10']);
    if (rc !== null) p['valid_recall@10'] = rc;
    if (h.codes) p.collision_rate = h.codes.collisionRate;
    if (h.valid) {
      p.valid_invalid_rate = h.valid.invalidRate;
      if (h.valid.diagnostics) {
        p.valid_distinct_top1 = h.valid.diagnostics.distinctTop1;
        p.valid_modal_top10_share = h.valid.diagnostics.modalTopKShare;
      }
    }
    return p;
  });
  if (bestValid !== null) metrics['best_valid_ndcg@10'] = bestValid;
  const t = num(r.test?.metrics?.['ndcg@10']);
  const seconds = r.history.reduce((s, h) => s + (num(h.seconds) ?? 0), 0);
  const diff = stageConfigDiff(JOINT_STAGE, r.preset, r.config);
  return {
    stage: 'joint', id: r.id, name: r.name, datasetId: r.datasetId, datasetName: names.get(r.datasetId) ?? r.datasetId,
    createdAt: r.createdAt, status: runStatusLabel(r.status, { active: r.active, errorCode: r.errorCode }), backend: r.backend, adapter: r.adapter ?? null, seed: num(r.config?.seed),
    durationSeconds: r.history.length ? seconds : null,
    headline: t !== null ? { name: 'test ndcg@10', value: t } : bestValid !== null ? { name: 'valid ndcg@10', value: bestValid } : null,
    preset: r.preset || null, presetInferred: false,
    config: r.config as unknown as Rec,
    configDiff: diff ?? [],
    metrics, curves, warnings: runWarnings(r.test),
  };
}

function sasrecRow(a: StoredArtifact, names: Map<string, string>): RunRow {
  const meta = obj(a.meta);
  const metrics: Record<string, number> = {};
  const m = obj(meta.metrics);
  flatMetrics('valid_', m.valid, metrics);
  flatMetrics('test_', m.test, metrics);
  const curves = mergePoints((Array.isArray(meta.curves) ? meta.curves : []).map((e: Rec) => {
    const p: RunCurvePoint = { epoch: num(e.epoch) ?? 0 };
    if (num(e.trainLoss) !== null) p.loss = e.trainLoss as number;
    if (num(e.validNdcg10) !== null) p['valid_ndcg@10'] = e.validNdcg10 as number;
    if (num(e.validRecall10) !== null) p['valid_recall@10'] = e.validRecall10 as number;
    return p;
  }));
  const config = obj(meta.config);
  const near = nearestStagePreset(EMBEDDINGS_STAGE, config);
  const t = metrics['test_ndcg@10'] ?? null;
  const v = metrics['valid_ndcg@10'] ?? null;
  return {
    stage: 'sasrec', id: a.id, name: str(a.name, a.id), datasetId: a.ownerId, datasetName: names.get(a.ownerId) ?? a.ownerId,
    createdAt: num(a.createdAt) ?? 0, status: meta.cancelled ? 'cancelled' : 'finished', backend: str(meta.backend, '—'), adapter: str(meta.adapter) || null,
    seed: num(meta.seed), durationSeconds: num(meta.seconds),
    headline: t !== null ? { name: 'test ndcg@10', value: t } : v !== null ? { name: 'valid ndcg@10', value: v } : null,
    preset: near?.name ?? null, presetInferred: true, config, configDiff: near?.diff ?? [], metrics, curves,
  };
}

function rqvaeRow(a: StoredArtifact, names: Map<string, string>): RunRow {
  const meta = obj(a.meta);
  const curvesRec = obj(meta.curves);
  const pts: RunCurvePoint[] = [];
  for (const e of (Array.isArray(curvesRec.epochs) ? curvesRec.epochs : []) as Rec[]) {
    const p: RunCurvePoint = { epoch: (num(e.epoch) ?? 0) + 1 };
    if (num(e.loss) !== null) p.loss = e.loss as number;
    if (num(e.reconLoss) !== null) p.loss_recon = e.reconLoss as number;
    pts.push(p);
  }
  for (const e of (Array.isArray(curvesRec.evals) ? curvesRec.evals : []) as Rec[]) {
    const p: RunCurvePoint = { epoch: (num(e.epoch) ?? 0) + 1 };
    if (num(e.collisionRate) !== null) p.collision_rate = e.collisionRate as number;
    if (num(e.giniMean) !== null) p.gini = e.giniMean as number;
    pts.push(p);
  }
  const config = Object.keys(obj(meta.config)).length ? obj(meta.config) : obj(a.config);
  const inDim = num(config.in_dim) ?? num(obj(a.config).in_dim) ?? 0;
  const near = meta.config ? nearestStagePreset(tokenizerStage(inDim), config) : null;
  const metrics: Record<string, number> = {};
  for (const k of ['collisionRate', 'giniMean', 'maxSuffix'] as const) {
    const v = num(a[k]);
    if (v !== null) metrics[k === 'collisionRate' ? 'collision_rate' : k === 'giniMean' ? 'gini_mean' : 'max_suffix'] = v;
  }
  const cr = num(a.collisionRate);
  return {
    stage: 'rqvae', id: a.id, name: str(a.name, a.id), datasetId: a.ownerId, datasetName: names.get(a.ownerId) ?? a.ownerId,
    createdAt: num(a.createdAt) ?? 0, status: meta.cancelled ? 'cancelled' : str(a.source).startsWith('import') ? 'imported' : 'finished',
    backend: str(meta.backend, '—'), adapter: str(meta.adapter) || null, seed: num(meta.seed), durationSeconds: num(meta.seconds),
    headline: cr !== null ? { name: 'collision rate', value: cr } : null,
    preset: near?.name ?? null, presetInferred: true, config, configDiff: near?.diff ?? [], metrics, curves: mergePoints(pts),
  };
}

/** A prepared dataset as a run of the data stage: its PrepareConfig, counts, no curves. */
function dataRow(d: DatasetSummary): RunRow {
  const stats = obj(d.stats);
  const metrics: Record<string, number> = {};
  for (const k of ['num_users', 'num_items', 'num_interactions', 'train_interactions', 'valid_interactions', 'test_interactions', 'sparsity'] as const) {
    const v = num(stats[k]);
    if (v !== null) metrics[k] = v;
  }
  const source = obj(d.source);
  const rowsBefore = num(source.rowsBeforeFilter);
  if (rowsBefore !== null) metrics.rows_before_filter = rowsBefore;
  const inter = metrics.num_interactions ?? null;
  const timing = obj((d as unknown as Rec).timing);
  const seconds = Object.values(timing).reduce<number | null>((s, v) => (num(v) !== null ? (s ?? 0) + (v as number) : s), null);
  return {
    stage: 'data', id: d.id, name: d.name, datasetId: d.id, datasetName: d.name, createdAt: num(d.createdAt) ?? 0,
    status: 'prepared', backend: '—', adapter: null, seed: null, durationSeconds: num((d as unknown as Rec).seconds) ?? seconds,
    headline: inter !== null ? { name: 'interactions', value: inter } : null,
    preset: null, presetInferred: false, config: obj(d.config), configDiff: [], metrics, curves: [],
  };
}

/** A stored text-embedding table as a run of the text stage (imported or computed). */
function textRow(a: StoredArtifact, names: Map<string, string>): RunRow {
  const meta = obj(a.meta);
  const rows = num(a.rows);
  const cols = num(a.cols);
  const metrics: Record<string, number> = {};
  if (rows !== null) metrics.items = rows;
  if (cols !== null) metrics.dim = cols;
  return {
    stage: 'text', id: a.id, name: str(a.name, a.id), datasetId: a.ownerId, datasetName: names.get(a.ownerId) ?? a.ownerId,
    createdAt: num(a.createdAt) ?? 0, status: str(a.source).startsWith('import') ? 'imported' : 'finished',
    backend: str(meta.backend, '—'), adapter: str(meta.adapter) || null, seed: num(meta.seed), durationSeconds: num(meta.seconds),
    headline: cols !== null ? { name: 'dim', value: cols } : null,
    preset: null, presetInferred: false, config: Object.keys(obj(meta.config)).length ? obj(meta.config) : null, configDiff: [], metrics, curves: [],
  };
}

/** A GRPO run record (issue 7's shape is not fixed here: read what is there, tolerate the rest). */
function grpoRow(r: StoredRun, names: Map<string, string>, live?: GrpoRunSummary): RunRow {
  const rec = r as Rec;
  const datasetId = str(rec.datasetId);
  const metrics: Record<string, number> = {};
  flatMetrics('test_', obj(rec.test).metrics ?? rec.test, metrics);
  flatMetrics('valid_before_', obj(rec.validBefore).metrics, metrics);
  flatMetrics('valid_after_', obj(rec.validAfter).metrics, metrics);
  const test = obj(rec.test) as { invalidRate?: unknown; diagnostics?: Diagnostics };
  if (num(test.invalidRate) !== null) metrics.test_invalid_rate = test.invalidRate as number;
  Object.assign(metrics, diagnosticMetrics('test_', test.diagnostics));
  for (const [prefix, v] of [['valid_before_', rec.validBefore], ['valid_after_', rec.validAfter]] as const) {
    const ir = num(obj(v).invalidRate);
    if (ir !== null) metrics[`${prefix}invalid_rate`] = ir;
  }
  const history = (Array.isArray(rec.history) ? rec.history : []) as Rec[];
  const curves: RunCurvePoint[] = history.map((h, i) => {
    const p: RunCurvePoint = { epoch: num(h.epoch) !== null ? (h.epoch as number) + 1 : i + 1 };
    const loss = num(h.loss) ?? num(obj(h.loss).total);
    if (loss !== null) p.loss = loss;
    const v = num(obj(obj(h.valid).metrics)['ndcg@10']) ?? num(obj(h.valid)['ndcg@10']);
    if (v !== null) p['valid_ndcg@10'] = v;
    const vir = num(obj(h.valid).invalidRate);
    if (vir !== null) p.valid_invalid_rate = vir;
    const rw = num(h.rewardMean) ?? num(h.reward);
    if (rw !== null) p.reward = rw;
    const kl = num(h.kl);
    if (kl !== null) p.kl = kl;
    return p;
  });
  const presetName = str(rec.preset);
  const t = metrics['test_ndcg@10'] ?? null;
  const seconds = history.reduce((s, h) => s + (num(h.seconds) ?? 0), 0);
  return {
    stage: 'grpo', id: r.id, name: str(rec.name, r.id), datasetId, datasetName: names.get(datasetId) ?? datasetId,
    createdAt: r.createdAt, status: runStatusLabel(live?.status ?? str(rec.status, 'unknown'), { active: live?.active }), backend: str(rec.backend, '—'), adapter: str(rec.adapter) || null, seed: num(rec.seed) ?? num(obj(rec.config).seed),
    durationSeconds: history.length ? seconds : Object.values(obj(rec.timings)).reduce<number | null>((s, v) => (num(v) !== null ? (s ?? 0) + (v as number) : s), null),
    headline: t !== null ? { name: 'test ndcg@10', value: t } : null,
    preset: presetName || null, presetInferred: false, config: obj(rec.config),
    configDiff: stageConfigDiff(GRPO_STAGE, presetName, rec.config) ?? [], metrics, curves,
    warnings: runWarnings(test),
  };
}

export function createRunsMethods(ctx: RunsContext): RunsWorkerApi {
  return {
    listAllRuns: () =>
      asResult(async () => {
        const db = await ctx.db();
        const datasets = await listDatasets(db);
        const names = new Map(datasets.map((d) => [d.id, d.name]));
        let artifacts: StoredArtifact[];
        let runs: StoredRun[];
        try {
          [artifacts, runs] = await Promise.all([db.getAll('artifacts'), db.getAll('runs')]);
        } catch (err) {
          throw toStorageError(err, undefined, 'list the runs', false);
        }
        const joint = await ctx.listJointRuns();
        if (!joint.ok) throw new StudioError(joint.error);
        const rows: RunRow[] = joint.value.map((r) => jointRow(r, names));
        for (const d of datasets) rows.push(dataRow(d));
        for (const a of artifacts) {
          if (a.type === 'tokenizer') rows.push(rqvaeRow(a, names));
          else if (a.type === 'embedding' && a.kind === 'text') rows.push(textRow(a, names));
          else if (a.type === 'embedding' && a.source === 'sasrec') rows.push(sasrecRow(a, names));
        }
        const grpo = ctx.listGrpoRuns ? await ctx.listGrpoRuns() : null;
        const grpoLive = new Map(grpo?.ok ? grpo.value.map((g) => [g.id, g]) : []);
        for (const r of runs) if (r.type === 'grpo' || r.stage === 'grpo') rows.push(grpoRow(r, names, grpoLive.get(r.id)));
        return rows.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
      }),

    async deleteRun(stage: RunStage, id: string): Promise<Result<void>> {
      if (stage === 'joint') return ctx.deleteJointRun(id);
      if (stage === 'rqvae') return ctx.deleteTokenizer(id);
      if (stage === 'sasrec' || stage === 'text') return ctx.deleteEmbedding(id);
      if (stage === 'data') return ctx.deleteDataset(id);
      if (stage === 'grpo') {
        return asResult(async () => {
          const db = await ctx.db();
          const tx = db.transaction(['runs', 'chunks'], 'readwrite');
          const done = tx.done;
          done.catch(() => undefined);
          let found: boolean;
          try {
            const rec = await tx.objectStore('runs').get(id);
            found = !!rec && (rec.type === 'grpo' || rec.stage === 'grpo');
            if (found) {
              await tx.objectStore('runs').delete(id);
              await tx.objectStore('chunks').delete(chunkRange(id));
            }
            await done;
          } catch (err) {
            try { tx.abort(); } catch { /* finished */ }
            await done.catch(() => undefined);
            throw toStorageError(err, tx.error, 'delete the GRPO run');
          }
          if (!found) throw new StudioError({ code: 'not_found', message: `No stored GRPO run with id "${id}" (it may have been deleted).` });
        });
      }
      return { ok: false, error: { code: 'bad_option', field: 'stage', message: `Unknown run stage "${String(stage)}"`, expected: 'data | text | sasrec | rqvae | joint | grpo', found: String(stage) } };
    },
  };
}
