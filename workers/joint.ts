/**
 * Stage 4 (joint ETEGRec training, spec §5) of the studio worker: start a run on a dataset + an
 * embedding table (the semantic input) + a tokenizer pretrained on that table; after every
 * finished epoch the run record and its packed checkpoint are stored in one transaction
 * (src/storage/jointRuns.ts), so a reload or a crashed worker loses nothing of a finished epoch
 * and resumeJoint continues exactly. Also: the recommendations view of one user
 * (jointRecommendations.ts), the export bundle and its import (jointBundle.ts).
 *
 * The final model of a run is the core's: the best checkpoint (`best`), else the current weights.
 * tfjs-heavy modules (trainer, bundle IO, the recommender) are imported on first use.
 */
import type { PreparedDataset } from '../src/core/data/types.ts';
import { isWasmMemoryFault, StudioError, throwIfCancelled } from '../src/core/errors.ts';
import type { GenerativeResult } from '../src/core/eval/generative.ts';
import { uniqueName } from '../src/core/names.ts';
import { jointData } from '../src/core/train/jointData.ts';
import { backendMemoryLimit, resolveStage, validateStageConfig, type ConfigContext } from '../src/core/stages/fields.ts';
import { JOINT_STAGE, ablationNameOf } from '../src/core/stages/joint.ts';
import {
  ABLATIONS,
  JOINT_PRESETS,
  jointTrainConfig,
  type JointPresetName,
  type JointTrainConfig,
} from '../src/core/train/jointSchedule.ts';
import type { JointCheckpoint, JointEpochRecord, JointWeights } from '../src/core/train/jointTypes.ts';
import {
  DEFAULT_CHUNK_BYTES,
  deleteJointRun,
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
import type { NamedArray } from '../src/core/nn/params.ts';
import type { RqvaeConfig } from '../src/core/models/rqvae.ts';
import type { ProgressCallback, Result } from './contract.ts';
import { adapterShort, asResult, forwardProgress, runInScope, type StageContext } from './jobs.ts';
import type {
  JointInputs,
  JointOverrides,
  JointPresetInfo,
  JointRunSummary,
  JointStartRequest,
  JointTrainResult,
  JointWorkerApi,
} from './jointApi.ts';
import { createJointBundleMethods } from './jointBundle.ts';
import { createJointRecommendations } from './jointRecommendations.ts';
import { loadStoredTokenizer } from './tokenizer.ts';

const PRESET_NAMES: JointPresetName[] = ['quick', 'converge', 'paper'];

/** The preset with the overrides applied and validated (field-named errors). */
export function resolveJointConfig(preset: JointPresetName, overrides: JointOverrides = {}, ctx: ConfigContext = {}): JointTrainConfig {
  const r = resolveStage(JOINT_STAGE, preset, overrides as Record<string, unknown>, ctx);
  if (r.ok) return r.config;
  const first = r.errors[0];
  throw new StudioError({ code: 'bad_option', field: first.field, message: `Joint training config: ${r.errors.map((e) => e.message).join('; ')}` });
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

/** The test hook's poisoned tokenizer: a copy whose first weight holds one NaN (the losses then really become NaN). */
function withNanWeight(t: { state: Record<string, NamedArray>; config: RqvaeConfig }): { state: Record<string, NamedArray>; config: RqvaeConfig } {
  const [key] = Object.keys(t.state);
  const first = t.state[key];
  const data = Float32Array.from(first.data);
  data[0] = Number.NaN;
  return { ...t, state: { ...t.state, [key]: { ...first, data } } };
}

export function createJointMethods(ctx: StageContext): JointWorkerApi {
  return createJointService(ctx).methods;
}

export function createJointService(ctx: StageContext): { methods: JointWorkerApi; trainer: JointTrainer } {
  const chunkBytes = ctx.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  /** Run ids being trained by a job of this worker. */
  const active = new Set<string>();
  let training: string | null = null;
  const views = createJointRecommendations(ctx);

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
      error: r.error, errorCode: r.errorCode ?? null, source: r.source, checkpointBytes: r.checkpoint?.byteLength ?? 0, meta: r.meta ?? {},
    };
  }

  async function runName(db: StudioDb, datasetId: string, base: string): Promise<string> {
    return uniqueName(base, new Set((await listJointRuns(db, datasetId)).map((r) => r.name)), 'joint');
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
            ...(p.tokenizer ? { tokenizer: !p.resume && ctx.jobs.takeNanWeights() ? withNanWeight(p.tokenizer) : p.tokenizer } : {}),
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
              views.forget(rec.id);
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
          const code = err instanceof StudioError ? err.info.code : isWasmMemoryFault(err) ? 'worker_memory' : 'internal';
          await updateJointRun(db, rec.id, { status: 'failed', error: message, errorCode: code }).catch(() => undefined);
          if (err instanceof StudioError) throw err;
          // A DOMException (e.g. a lost WebGPU device's AbortError) would otherwise read as a cancel.
          const kept = rec.history.length > 0
            ? 'The stored epochs are kept; Resume continues from them.'
            : 'No epoch had finished, so nothing is kept: start the run again.';
          throw new StudioError({ code, message: `Joint training failed on ${rec.backend} after ${rec.history.length} stored epoch${rec.history.length === 1 ? '' : 's'}: ${message.replace(/\.\s*$/, '')}. ${kept}` });
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

  type Prepare = Parameters<typeof runTraining>[2];

  /** Stores a new run of the request (inputs checked) and hands it to runTraining. */
  function prepareStart(request: JointStartRequest): Prepare {
    return async (signal, sink) => {
      sink({ type: 'phase', stage: 'joint', phase: 'load', message: 'loading the dataset, the embedding table and the tokenizer' });
      const config = resolveJointConfig(request.preset, request.overrides ?? {});
      const db = await ctx.db();
      const [ds, report] = await Promise.all([ctx.dataset(request.datasetId), ctx.ensureBackend()]);
      const { emb, table, data } = await inputsFor(db, ds, request.datasetId, request.embeddingId);
      // the dataset and the backend are known now: beams against items, memory against the heap
      const fits = validateStageConfig(JOINT_STAGE, config, { numItems: data.numItems, memoryLimitBytes: backendMemoryLimit(report.backend) });
      if (fits.length) throw new StudioError({ code: 'bad_option', field: fits[0].field, message: `Joint training config: ${fits.map((e) => e.message).join('; ')}` });
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
      // a tokenizer stored before checksums existed is used, and the log says it is unverified
      const { state } = readRqvaeSafetensors(tok.weights, `${tok.summary.name}.safetensors`, {
        onWarning: (message) => sink({ type: 'log', stage: 'joint', level: 'warn', message }),
      });
      throwIfCancelled(signal);
      const now = Date.now();
      const name = await runName(db, request.datasetId, request.name?.trim() || `${ds.name}_joint_${request.preset}`);
      const record = await saveJointRun(db, {
        id: newJointRunId(), createdAt: now, updatedAt: now, name, datasetId: request.datasetId,
        embeddingId: emb.id, tokenizerId: tok.summary.id, status: 'running', backend: report.backend, adapter: adapterShort(report),
        preset: request.preset, config, history: [], progress: null, test: null, testBeforeFinetune: null,
        error: null, source: 'train',
        meta: {
          embeddingName: emb.name, tokenizerName: tok.summary.name, ablation: ablationNameOf(config.ablation),
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
      const resume = unpackJointCheckpoint(bytes, `${record.name}.checkpoint`, {
        onWarning: (message) => sink({ type: 'log', stage: 'joint', level: 'warn', message }),
      });
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
        views.forget(id);
        if (!(await deleteJointRun(await ctx.db(), id))) throw new StudioError({ code: 'not_found', message: `No stored joint-training run with id "${id}" (it may have been deleted).` });
      }),

    recommendations: views.recommendations,

    ...createJointBundleMethods(ctx, { toSummary, runName }),

  };

  const trainer: JointTrainer = {
    start: (request, onEvent, scope) => runTraining(scope.jobId, onEvent, prepareStart(request), scope),
    resume: (runId, onEvent, scope) => runTraining(scope.jobId, onEvent, prepareResume(runId), scope),
    busy: () => training !== null,
  };
  return { methods, trainer };
}
