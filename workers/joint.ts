/**
 * Stage 4 (joint ETEGRec training, spec §5) of the studio worker: start a run on a dataset + an
 * embedding table (the semantic input) + a tokenizer pretrained on that table; after every
 * finished epoch the run record and its packed checkpoint are stored in one transaction
 * (src/storage/jointRuns.ts), so a reload or a crashed worker loses nothing of a finished epoch
 * and resumeJoint continues exactly. Also: the recommendations view of one user, the export
 * bundle (writeJointBundle) and its import (readJointBundle, "N of N tensors matched").
 *
 * The final model of a run is the core's: the best checkpoint (`best`), else the current weights.
 * tfjs-heavy modules (trainer, bundle IO, the recommender) are imported on first use.
 */
import * as Comlink from 'comlink';
import { unzipSync } from 'fflate';
import type { PreparedDataset } from '../src/core/data/types.ts';
import { StudioError, throwIfCancelled } from '../src/core/errors.ts';
import type { GenerativeResult } from '../src/core/eval/generative.ts';
import type { EtegrecRecommender } from '../src/core/models/recommender.ts';
import { safeName, uniqueName } from '../src/core/names.ts';
import { popularityTopK } from '../src/core/eval/diagnostics.ts';
import { jointData, jointSamples, trainCountsFromSamples } from '../src/core/train/jointData.ts';
import { resolveStage, type ConfigContext } from '../src/core/stages/fields.ts';
import { JOINT_STAGE } from '../src/core/stages/joint.ts';
import {
  ABLATIONS,
  JOINT_PRESETS,
  jointTrainConfig,
  type AblationName,
  type AblationSwitches,
  type JointPresetName,
  type JointTrainConfig,
} from '../src/core/train/jointSchedule.ts';
import type { JointCheckpoint, JointEpochRecord, JointSamples, JointStage, JointWeights } from '../src/core/train/jointTypes.ts';
import {
  DEFAULT_CHUNK_BYTES,
  deleteJointRun,
  getJointRun,
  listEmbeddingTables,
  listJointRuns,
  loadEmbeddingTable,
  loadJointCheckpointBytes,
  newJointRunId,
  saveJointRun,
  updateJointRun,
  type StoredArtifact,
  type StoredJointRun,
  type StudioDb,
} from '../src/storage/index.ts';
import type { PauseGate } from '../src/core/pause.ts';
import type { ExportedFile, ImportFile, ProgressCallback, Result } from './contract.ts';
import { adapterShort, asResult, forwardProgress, runInScope, type StageContext } from './jobs.ts';
import type {
  JointImportResult,
  JointInputs,
  JointOverrides,
  JointPresetInfo,
  JointRunSummary,
  JointStartRequest,
  JointTrainResult,
  JointWorkerApi,
  RecItem,
  RecommendationQuery,
  Recommendations,
} from './jointApi.ts';
import { loadStoredTokenizer } from './tokenizer.ts';

const PRESET_NAMES: JointPresetName[] = ['quick', 'converge', 'paper'];

/** The preset with the overrides applied and validated (field-named errors). */
export function resolveJointConfig(preset: JointPresetName, overrides: JointOverrides = {}, ctx: ConfigContext = {}): JointTrainConfig {
  const r = resolveStage(JOINT_STAGE, preset, overrides as Record<string, unknown>, ctx);
  if (r.ok) return r.config;
  const first = r.errors[0];
  throw new StudioError({ code: 'bad_option', field: first.field, message: `Joint training config: ${r.errors.map((e) => e.message).join('; ')}` });
}

/** The Table 4 variant name of a set of switches (or 'custom'). */
export function ablationName(a: AblationSwitches): AblationName | 'custom' {
  for (const [name, s] of Object.entries(ABLATIONS)) {
    if (s.sia === a.sia && s.psa === a.psa && s.alternation === a.alternation && s.endToEnd === a.endToEnd) return name as AblationName;
  }
  return 'custom';
}

/** The model of a run: the best checkpoint, else the current weights (also GRPO's SFT policy). */
export function finalWeights(c: JointCheckpoint): JointWeights {
  return c.best ?? c.current;
}

function metricsOf(r: GenerativeResult | null | undefined): Record<string, number> | null {
  return r ? { ...r.metrics, invalid_rate: r.invalidRate, count: r.count } : null;
}

/**
 * A joint training inside a job owned by someone else (an experiment sweep): its signal and pause
 * gate, and a hook called once the run record is stored (before the first epoch).
 */
export interface JointJobScope {
  jobId: string;
  signal: AbortSignal;
  pause: PauseGate;
  onRunStored?: (runId: string) => Promise<void> | void;
}

/** What other worker stages may drive: the joint stage's own start/resume, in their job. */
export interface JointTrainer {
  start(request: JointStartRequest, onEvent: ProgressCallback, scope: JointJobScope): Promise<Result<JointTrainResult>>;
  resume(runId: string, onEvent: ProgressCallback, scope: JointJobScope): Promise<Result<JointTrainResult>>;
  /** A joint training is running in this worker. */
  busy(): boolean;
}

export function createJointMethods(ctx: StageContext): JointWorkerApi {
  return createJointService(ctx).methods;
}

export function createJointService(ctx: StageContext): { methods: JointWorkerApi; trainer: JointTrainer } {
  const chunkBytes = ctx.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  /** Run ids being trained by a job of this worker. */
  const active = new Set<string>();
  let training: string | null = null;
  /** The last model used for recommendations (per run and stored version). */
  let recCache: { key: string; model: EtegrecRecommender; checkpoint: JointCheckpoint } | null = null;
  const samplesCache = new Map<string, JointSamples>();
  const popularCache = new Map<string, { ids: number[]; counts: Int32Array }>();

  function toSummary(r: StoredJointRun): JointRunSummary {
    const isActive = active.has(r.id);
    const status = r.status === 'running' && !isActive ? 'paused' : r.status;
    return {
      id: r.id, name: r.name, datasetId: r.datasetId, embeddingId: r.embeddingId, tokenizerId: r.tokenizerId,
      status, active: isActive,
      resumable: !isActive && r.status !== 'finished' && !!r.checkpoint && !!r.embeddingId,
      createdAt: r.createdAt, updatedAt: r.updatedAt, backend: r.backend, adapter: r.adapter ?? null, preset: r.preset,
      config: r.config as JointTrainConfig, history: r.history as JointEpochRecord[],
      progress: r.progress as JointRunSummary['progress'],
      test: (r.test as GenerativeResult | null) ?? null, testBeforeFinetune: (r.testBeforeFinetune as GenerativeResult | null) ?? null,
      error: r.error, source: r.source, checkpointBytes: r.checkpoint?.byteLength ?? 0, meta: r.meta ?? {},
    };
  }

  async function runName(db: StudioDb, datasetId: string, base: string): Promise<string> {
    return uniqueName(base, new Set((await listJointRuns(db, datasetId)).map((r) => r.name)), 'joint');
  }

  async function samplesOf(datasetId: string, ds: PreparedDataset, split: 'valid' | 'test'): Promise<JointSamples> {
    const key = `${datasetId}:${split}`;
    let s = samplesCache.get(key);
    if (!s) {
      s = jointSamples(ds, split);
      if (samplesCache.size > 8) samplesCache.clear();
      samplesCache.set(key, s);
    }
    return s;
  }

  /** Runs trainJoint (fresh or resumed), storing record + checkpoint after every finished epoch. */
  async function runTraining(
    jobId: string,
    onEvent: ProgressCallback,
    prepare: (signal: AbortSignal, sink: ReturnType<typeof forwardProgress>) => Promise<{
      record: StoredJointRun;
      data: ReturnType<typeof jointData>;
      config: JointTrainConfig;
      resume?: JointCheckpoint;
      tokenizer?: { state: JointWeights['tokenizer']; config: JointCheckpoint['tokenizerConfig'] };
    }>,
    scope?: JointJobScope,
  ): Promise<Result<JointTrainResult>> {
    if (training !== null) {
      return { ok: false, error: { code: 'bad_option', message: 'A joint training is already running; wait for it or cancel it first.' } };
    }
    training = jobId;
    const sink = forwardProgress(onEvent, ctx.progressIntervalMs);
    let runId: string | null = null;
    try {
      const body = async (signal: AbortSignal, pause: PauseGate): Promise<JointTrainResult> => {
        const t0 = Date.now();
        const db = await ctx.db();
        const p = await prepare(signal, sink);
        let rec = p.record;
        runId = rec.id;
        active.add(rec.id);
        await scope?.onRunStored?.(rec.id);
        const [train, bundle] = await Promise.all([import('../src/core/train/joint.ts'), import('../src/core/io/jointBundle.ts')]);
        throwIfCancelled(signal);
        try {
          const res = await train.trainJoint(p.data, p.config, {
            signal,
            pause,
            onEvent: sink,
            ...(p.resume ? { resume: p.resume } : {}),
            ...(p.tokenizer ? { tokenizer: p.tokenizer } : {}),
            onCheckpoint: async (c) => {
              const bytes = bundle.packJointCheckpoint(c);
              rec = await saveJointRun(db, {
                ...rec,
                status: 'running',
                updatedAt: Date.now(),
                history: c.history,
                progress: { stage: c.stage, nextEpoch: c.nextEpoch, finished: c.finished },
                test: c.test ?? null,
                testBeforeFinetune: c.testBeforeFinetune ?? null,
                error: null,
              }, bytes, chunkBytes);
              if (recCache?.key.startsWith(`${rec.id}@`)) { recCache.model.dispose(); recCache = null; }
            },
          });
          rec = await updateJointRun(db, rec.id, {
            status: 'finished',
            test: res.test ?? null,
            testBeforeFinetune: res.testBeforeFinetune ?? null,
          });
          active.delete(rec.id);
          const t = res.test?.metrics;
          return {
            run: toSummary(rec), cancelled: false, seconds: (Date.now() - t0) / 1000,
            note: `Finished on ${rec.backend}: ${rec.history.length} epoch(s)${t ? `, test recall@10 ${t['recall@10']}, ndcg@10 ${t['ndcg@10']}, invalid codes ${((res.test?.invalidRate ?? 0) * 100).toFixed(1)} %` : ''}.`,
          };
        } catch (err) {
          active.delete(rec.id);
          if (signal.aborted) {
            rec = await updateJointRun(db, rec.id, { status: 'cancelled' });
            return {
              run: toSummary(rec), cancelled: true, seconds: (Date.now() - t0) / 1000,
              note: `Cancelled: ${rec.history.length} finished epoch(s) are kept in the checkpoint; Resume continues from there.`,
            };
          }
          const message = err instanceof StudioError ? err.message : err instanceof Error ? err.message : String(err);
          await updateJointRun(db, rec.id, { status: 'failed', error: message }).catch(() => undefined);
          if (err instanceof StudioError) throw err;
          // A DOMException (e.g. a lost WebGPU device's AbortError) would otherwise read as a cancel.
          throw new StudioError({ code: 'internal', message: `Joint training failed on ${rec.backend} after ${rec.history.length} stored epoch(s): ${message.replace(/\.\s*$/, '')}. The stored epochs are kept; Resume continues from them.` });
        }
      };
      return scope ? await runInScope(scope.signal, () => body(scope.signal, scope.pause)) : await ctx.jobs.run(jobId, body);
    } finally {
      if (runId) active.delete(runId);
      sink.flush();
      training = null;
    }
  }

  async function inputsFor(db: StudioDb, ds: PreparedDataset, datasetId: string, embeddingId: string) {
    const { summary: emb, table } = await loadEmbeddingTable(db, embeddingId);
    if (emb.datasetId !== datasetId) throw new StudioError({ code: 'bad_option', field: 'embeddingId', message: `Embedding table "${emb.name}" belongs to another dataset` });
    if (table.rows !== ds.itemIds.length) {
      throw new StudioError({ code: 'embedding_row_mismatch', message: `Embedding table "${emb.name}" has ${table.rows} rows, the dataset ${ds.itemIds.length} items` });
    }
    return { emb, table, data: jointData(ds, table.data, table.cols) };
  }

  async function modelFor(runId: string): Promise<{ model: EtegrecRecommender; checkpoint: JointCheckpoint; record: StoredJointRun }> {
    const db = await ctx.db();
    const record = await getJointRun(db, runId);
    const key = `${runId}@${record.updatedAt}`;
    if (recCache?.key === key) return { model: recCache.model, checkpoint: recCache.checkpoint, record };
    const { bytes } = await loadJointCheckpointBytes(db, runId);
    const [{ unpackJointCheckpoint }, { EtegrecRecommender }] = await Promise.all([import('../src/core/io/jointBundle.ts'), import('../src/core/models/recommender.ts')]);
    const checkpoint = unpackJointCheckpoint(bytes, `${record.name}.checkpoint`);
    await ctx.ensureBackend();
    const model = new EtegrecRecommender(checkpoint.recommenderConfig, 0);
    try {
      model.loadStateDict(finalWeights(checkpoint).recommender);
    } catch (err) {
      model.dispose();
      throw err;
    }
    recCache?.model.dispose();
    recCache = { key, model, checkpoint };
    return { model, checkpoint, record };
  }

  /** The popularity top-10 of a dataset's training interactions (what trainJoint's overlap diagnostic compares with). */
  function popularOf(datasetId: string, ds: PreparedDataset): { ids: number[]; counts: Int32Array } {
    let p = popularCache.get(datasetId);
    if (!p) {
      const counts = trainCountsFromSamples(jointSamples(ds, 'train'), ds.itemIds.length);
      p = { ids: popularityTopK(counts, 10), counts };
      if (popularCache.size > 8) popularCache.clear();
      popularCache.set(datasetId, p);
    }
    return p;
  }

  type Prepare = Parameters<typeof runTraining>[2];

  /** Stores a new run of the request (inputs checked) and hands it to runTraining. */
  function prepareStart(request: JointStartRequest): Prepare {
    return async (signal, sink) => {
      sink({ type: 'phase', stage: 'joint', phase: 'load', message: 'loading the dataset, the embedding table and the tokenizer' });
      const config = resolveJointConfig(request.preset, request.overrides ?? {});
      const db = await ctx.db();
      const [ds, report] = await Promise.all([ctx.dataset(request.datasetId), ctx.ensureBackend()]);
      const { emb, table, data } = await inputsFor(db, ds, request.datasetId, request.embeddingId);
      const tok = await loadStoredTokenizer(db, request.tokenizerId);
      if (tok.summary.datasetId !== request.datasetId) throw new StudioError({ code: 'bad_option', field: 'tokenizerId', message: `Tokenizer "${tok.summary.name}" belongs to another dataset` });
      if (tok.config.in_dim !== table.cols) {
        throw new StudioError({
          code: 'bad_option', field: 'tokenizerId',
          message: `Tokenizer "${tok.summary.name}" reads ${tok.config.in_dim}-d vectors but table "${emb.name}" is ${table.cols}-d; pick the table it was trained on`,
          expected: `${table.cols}-d tokenizer`, found: `${tok.config.in_dim}-d`,
        });
      }
      const { readRqvaeSafetensors } = await import('../src/core/tokenizer/stateDict.ts');
      const { state } = readRqvaeSafetensors(tok.weights, `${tok.summary.name}.safetensors`);
      throwIfCancelled(signal);
      const now = Date.now();
      const name = await runName(db, request.datasetId, request.name?.trim() || `${ds.name}_joint_${request.preset}`);
      const record = await saveJointRun(db, {
        id: newJointRunId(), createdAt: now, updatedAt: now, name, datasetId: request.datasetId,
        embeddingId: emb.id, tokenizerId: tok.summary.id, status: 'running', backend: report.backend, adapter: adapterShort(report),
        preset: request.preset, config, history: [], progress: null, test: null, testBeforeFinetune: null,
        error: null, source: 'train',
        meta: {
          embeddingName: emb.name, tokenizerName: tok.summary.name, ablation: ablationName(config.ablation),
          overrides: JSON.parse(JSON.stringify(request.overrides ?? {})) as unknown, seed: config.seed,
          tokenizerTrainedOn: tok.summary.embeddingId,
        },
      });
      if (tok.summary.embeddingId && tok.summary.embeddingId !== emb.id) {
        sink({ type: 'log', stage: 'joint', level: 'warn', message: `Tokenizer "${tok.summary.name}" was trained on another table than "${emb.name}" (same width); its codes may not fit these vectors.` });
      }
      sink({ type: 'log', stage: 'joint', level: 'info', message: `joint training on ${report.backend}: ${data.numItems} items, ${data.train.count} train samples, semantic ${table.cols}-d` });
      return { record, data, config, tokenizer: { state, config: tok.config } };
    };
  }

  /** Loads a stored run's checkpoint for runTraining to continue. */
  function prepareResume(runId: string): Prepare {
    return async (signal, sink) => {
      sink({ type: 'phase', stage: 'joint', phase: 'load', message: 'loading the stored checkpoint' });
      if (active.has(runId)) throw new StudioError({ code: 'bad_option', message: 'This run is already training.' });
      const db = await ctx.db();
      const [{ record, bytes }, { unpackJointCheckpoint }, report] = await Promise.all([
        loadJointCheckpointBytes(db, runId), import('../src/core/io/jointBundle.ts'), ctx.ensureBackend(),
      ]);
      if (record.status === 'finished') throw new StudioError({ code: 'bad_option', message: `Run "${record.name}" has finished; nothing to resume.` });
      if (!record.embeddingId) throw new StudioError({ code: 'bad_option', message: `Run "${record.name}" was imported; it cannot be trained further.` });
      const resume = unpackJointCheckpoint(bytes, `${record.name}.checkpoint`);
      const ds = await ctx.dataset(record.datasetId);
      const { data } = await inputsFor(db, ds, record.datasetId, record.embeddingId);
      throwIfCancelled(signal);
      const rec = await updateJointRun(db, runId, { status: 'running', backend: report.backend, adapter: adapterShort(report), error: null });
      sink({ type: 'log', stage: 'joint', level: 'info', message: `resuming "${record.name}" at ${resume.stage} epoch ${resume.nextEpoch} on ${report.backend}` });
      return { record: rec, data, config: resume.config, resume };
    };
  }

  const methods: JointWorkerApi = {
    getJointPresets: () =>
      asResult((): JointPresetInfo[] =>
        PRESET_NAMES.map((name) => ({
          name,
          description: JOINT_PRESETS[name].description,
          config: jointTrainConfig(name),
          provenance: JOINT_PRESETS[name].provenance,
          ablations: ABLATIONS,
        })),
      ),

    listJointInputs: (datasetId) =>
      asResult(async (): Promise<JointInputs> => {
        const db = await ctx.db();
        const tables = await listEmbeddingTables(db, datasetId);
        let all: StoredArtifact[];
        try {
          all = await db.getAllFromIndex('artifacts', 'ownerId', datasetId);
        } catch {
          all = [];
        }
        const toks = all
          .filter((a) => a.type === 'tokenizer')
          .sort((a, b) => (b.createdAt as number) - (a.createdAt as number))
          .map((a) => {
            const c = a.config as { in_dim: number; num_emb_list: number[] };
            return {
              id: a.id, name: String(a.name), inDim: c.in_dim, numEmbList: [...c.num_emb_list],
              embeddingId: (a.embeddingId as string | null) ?? null, collisionRate: Number(a.collisionRate),
            };
          });
        return {
          embeddings: tables.map((t) => ({ id: t.id, name: t.name, rows: t.rows, cols: t.cols, kind: t.kind })),
          tokenizers: toks,
        };
      }),

    startJoint: (request: JointStartRequest, jobId, onEvent) => runTraining(jobId, onEvent, prepareStart(request)),

    resumeJoint: (runId, jobId, onEvent) => runTraining(jobId, onEvent, prepareResume(runId)),

    listJointRuns: (datasetId) => asResult(async () => (await listJointRuns(await ctx.db(), datasetId)).map(toSummary)),

    deleteJointRun: (id) =>
      asResult(async () => {
        if (active.has(id)) throw new StudioError({ code: 'bad_option', message: 'This run is training; cancel it before deleting it.' });
        if (recCache?.key.startsWith(`${id}@`)) { recCache.model.dispose(); recCache = null; }
        if (!(await deleteJointRun(await ctx.db(), id))) throw new StudioError({ code: 'not_found', message: `No stored joint-training run with id "${id}" (it may have been deleted).` });
      }),

    recommendations: (runId, query: RecommendationQuery) =>
      asResult(async (): Promise<Recommendations> => {
        const split = query.split;
        if (split !== 'valid' && split !== 'test') throw new StudioError({ code: 'bad_option', field: 'split', message: 'split must be valid or test', found: String(split) });
        const { model, checkpoint, record } = await modelFor(runId);
        const ds = await ctx.dataset(record.datasetId);
        const samples = await samplesOf(record.datasetId, ds, split);
        let row = query.sampleIndex ?? -1;
        if (query.userIndex !== undefined) row = samples.users ? samples.users.indexOf(query.userIndex) : -1;
        if (!(Number.isInteger(row) && row >= 0 && row < samples.count)) {
          throw new StudioError({ code: 'bad_option', field: query.userIndex !== undefined ? 'userIndex' : 'sampleIndex', message: `No ${split} sample ${query.userIndex !== undefined ? `for user ${query.userIndex}` : String(row)} (the split has ${samples.count})` });
        }
        const w = finalWeights(checkpoint);
        const codes = w.codes;
        const cfg = checkpoint.config;
        const len = samples.lens[row];
        const one: JointSamples = {
          count: 1, L: samples.L,
          histories: samples.histories.slice(row * samples.L, (row + 1) * samples.L),
          lens: Int32Array.of(len), targets: Int32Array.of(samples.targets[row]),
        };
        const R = Math.min(10, cfg.num_beams);
        let generated = new Int32Array(0);
        let rank = 0;
        const [{ evaluateGenerative }, { CodeIndex }] = await Promise.all([import('../src/core/eval/evaluateGenerative.ts'), import('../src/core/eval/generative.ts')]);
        await evaluateGenerative(model, codes, one, {
          beams: cfg.num_beams, returnCount: R, batchSize: 1, constrained: cfg.constrained, lengthBucket: cfg.length_bucket,
          onGenerated: (_rows, gen, ranks) => { generated = gen.slice(); rank = ranks[0]; },
        });
        const index = new CodeIndex(codes);
        const item = (id: number): RecItem => ({
          id, asin: ds.itemIds[id - 1] ?? '', title: ds.itemTitles?.[id - 1] ?? null, codes: Array.from(codes.subarray(id * 4, id * 4 + 4)),
        });
        const target = samples.targets[row];
        const userIndex = samples.users ? samples.users[row] : -1;
        const popular = popularOf(record.datasetId, ds);
        const popularSet = new Set(popular.ids);
        return {
          split, sampleIndex: row, sampleCount: samples.count, userIndex, userId: ds.userIds[userIndex] ?? '',
          history: Array.from(one.histories.subarray(0, len), (id) => item(id)),
          target: item(target),
          generated: Array.from({ length: R }, (_, r) => {
            const c = Array.from(generated.subarray(r * 4, r * 4 + 4));
            const id = index.lookup(c);
            return {
              rank: r + 1, codes: c, isTarget: rank === r + 1, popular: id > 0 && popularSet.has(id),
              item: id > 0 ? { id, asin: ds.itemIds[id - 1] ?? '', title: ds.itemTitles?.[id - 1] ?? null } : null,
            };
          }),
          popular: popular.ids.map((id) => ({ ...item(id), count: popular.counts[id - 1] })),
          hitRank: rank, beams: cfg.num_beams, constrained: cfg.constrained,
        };
      }),

    async exportJointBundle(runId): Promise<Result<ExportedFile>> {
      const r = await asResult(async (): Promise<ExportedFile> => {
        const db = await ctx.db();
        const { record, bytes } = await loadJointCheckpointBytes(db, runId);
        const { unpackJointCheckpoint, writeJointBundle } = await import('../src/core/io/jointBundle.ts');
        const c = unpackJointCheckpoint(bytes, `${record.name}.checkpoint`);
        const w = finalWeights(c);
        const zip = writeJointBundle({
          recommender: w.recommender, recommenderConfig: c.recommenderConfig, tokenizer: w.tokenizer, tokenizerConfig: c.tokenizerConfig,
          codes: w.codes, config: c.config, history: c.history,
          metrics: {
            etegrec: { test: metricsOf(c.test ?? (record.test as GenerativeResult | null)), test_before_finetune: metricsOf(c.testBeforeFinetune ?? (record.testBeforeFinetune as GenerativeResult | null)) },
            studio: {
              run: record.name, status: record.status, backend: record.backend, preset: record.preset, source: record.source,
              epochs_run: c.history.length, finished: c.finished,
              model: c.best ? { stage: c.best.stage, epoch: c.best.epoch, valid: metricsOf(c.best.valid) } : 'current weights (no validation improvement recorded)',
            },
          },
        });
        return { fileName: `${safeName(record.name, 'joint')}.bundle.zip`, bytes: zip };
      });
      return r.ok ? Comlink.transfer(r, [r.value.bytes.buffer]) : r;
    },

    importJointBundle: (datasetId, files: ImportFile[], name) =>
      asResult(async (): Promise<JointImportResult> => {
        if (!files.length) throw new StudioError({ code: 'bad_option', message: 'No files were given: choose a bundle .zip or its files' });
        const byName: Record<string, Uint8Array> = {};
        for (const f of files) {
          const bytes = new Uint8Array(await f.data.arrayBuffer());
          if (/\.zip$/i.test(f.name)) {
            let entries: Record<string, Uint8Array>;
            try {
              entries = unzipSync(bytes);
            } catch (err) {
              throw new StudioError({ code: 'malformed_input', file: f.name, message: `Not a readable zip (${(err as Error).message})` });
            }
            for (const [k, v] of Object.entries(entries)) if (!k.endsWith('/')) byName[k.replace(/^.*\//, '')] = v;
          } else byName[f.name] = bytes;
        }
        const where = files.length === 1 ? files[0].name : `${files.length} files`;
        const [{ readJointBundle, packJointCheckpoint }, ds] = await Promise.all([import('../src/core/io/jointBundle.ts'), ctx.dataset(datasetId)]);
        const b = readJointBundle(byName, { fileName: where });
        if (b.report.items !== ds.itemIds.length) {
          throw new StudioError({
            code: 'embedding_row_mismatch', file: where,
            message: `The bundle codes ${b.report.items} items but dataset "${ds.name}" has ${ds.itemIds.length}`,
            expected: `${ds.itemIds.length} items`, found: `${b.report.items} items`,
          });
        }
        let metrics: { etegrec?: { test?: Record<string, number> | null; test_before_finetune?: Record<string, number> | null } } = {};
        if (byName['metrics.json']) {
          try { metrics = JSON.parse(new TextDecoder().decode(byName['metrics.json'])) as typeof metrics; } catch { /* optional */ }
        }
        const asResultOf = (m: Record<string, number> | null | undefined): GenerativeResult | null => {
          if (!m) return null;
          const { invalid_rate, count, ...rest } = m;
          return { metrics: rest, invalidRate: invalid_rate ?? 0, count: count ?? 0, generated: 0 };
        };
        const config: JointTrainConfig = { ...(b.config ?? jointTrainConfig('paper')), t5: { ...b.recommenderConfig.t5 } };
        const emptyOpt = { step: 0, m: [], v: [] };
        const stage: JointStage = 'finetune';
        const checkpoint: JointCheckpoint = {
          format: 'etegrec-joint-checkpoint', version: 1, config, recommenderConfig: b.recommenderConfig, tokenizerConfig: b.tokenizerConfig,
          stage, nextEpoch: 0, finished: true, current: { recommender: b.recommender, tokenizer: b.tokenizer, codes: b.codes },
          optimizer: { recommender: emptyOpt, tokenizer: emptyOpt }, schedulerSteps: { recommender: 0, tokenizer: 0 },
          rngState: { shuffle: 0, dropout: 0 }, early: { best: 0, bad: 0, bestEpoch: -1 }, best: null, history: [],
        };
        const packed = packJointCheckpoint(checkpoint);
        const db = await ctx.db();
        const report = await ctx.ensureBackend().catch(() => null);
        const now = Date.now();
        const rec = await saveJointRun(db, {
          id: newJointRunId(), createdAt: now, updatedAt: now,
          name: await runName(db, datasetId, name?.trim() || where.replace(/\.zip$/i, '').replace(/\.bundle$/, '')),
          datasetId, embeddingId: null, tokenizerId: null, status: 'finished', backend: report?.backend ?? 'n/a', adapter: adapterShort(report), preset: b.config ? 'imported config.yaml' : 'paper (no config.yaml)',
          config, history: [], progress: { stage, nextEpoch: 0, finished: true },
          test: asResultOf(metrics.etegrec?.test), testBeforeFinetune: asResultOf(metrics.etegrec?.test_before_finetune),
          error: null, source: `import:${where}`,
          meta: { report: JSON.parse(JSON.stringify(b.report)) as unknown, files: Object.keys(byName) },
        }, packed, chunkBytes);
        const matched = b.report.matched + b.report.tokenizer.matched;
        const total = b.report.expected + b.report.tokenizer.total;
        return { run: toSummary(rec), message: `${matched} of ${total} tensors matched`, detail: b.report.message, matched, total, warnings: b.report.warnings };
      }),
  };

  const trainer: JointTrainer = {
    start: (request, onEvent, scope) => runTraining(scope.jobId, onEvent, prepareStart(request), scope),
    resume: (runId, onEvent, scope) => runTraining(scope.jobId, onEvent, prepareResume(runId), scope),
    busy: () => training !== null,
  };
  return { methods, trainer };
}
