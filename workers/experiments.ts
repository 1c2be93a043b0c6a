/**
 * Experiment sweeps of the studio worker: the paper's Table 4 (ablation variants × seeds) queued
 * as ordinary joint runs, trained one after the other through the joint stage's own start/resume
 * (workers/joint.ts), so every run is stored after each epoch, resumable, and listed on the Runs
 * page. The sweep record (src/storage/experiments.ts) holds the plan and, per entry, the joint run
 * that trains it; it is updated as soon as a run is stored, so after a reload Resume continues the
 * interrupted run from its checkpoint and then the remaining ones.
 */
import { StudioError } from '../src/core/errors.ts';
import { ablationPlan } from '../src/core/experiments/ablation.ts';
import { resolveSweep, sweepSeeds } from '../src/core/stages/experiments.ts';
import { uniqueName } from '../src/core/names.ts';
import type { AblationName, JointPresetName } from '../src/core/train/jointSchedule.ts';
import {
  deleteExperiment,
  getExperiment,
  listExperiments,
  newExperimentId,
  saveExperiment,
  updateExperiment,
  type StoredExperiment,
} from '../src/storage/index.ts';
import type { ProgressCallback, Result } from './contract.ts';
import type { ExperimentResult, ExperimentRunView, ExperimentStartRequest, ExperimentSummary, ExperimentsWorkerApi } from './experimentsApi.ts';
import { asResult, forwardProgress, type StageContext } from './jobs.ts';
import { resolveJointConfig, type JointTrainer } from './joint.ts';
import type { JointOverrides, JointRunSummary, JointWorkerApi } from './jointApi.ts';

export interface ExperimentsContext extends StageContext {
  trainer: JointTrainer;
  joint: Pick<JointWorkerApi, 'listJointRuns' | 'listJointInputs' | 'deleteJointRun'>;
}

/** The run name of a sweep entry. */
export function ablationRunName(datasetName: string, variant: string, seed: number): string {
  return `${datasetName}_ablate_${variant}_seed${seed}`;
}

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new StudioError(r.error);
  return r.value;
}

export function createExperimentMethods(ctx: ExperimentsContext): ExperimentsWorkerApi {
  /** The sweep a job of this worker is running. */
  let running: string | null = null;

  function summaryOf(e: StoredExperiment, runs: Map<string, JointRunSummary>): ExperimentSummary {
    const isActive = running === e.id;
    const plan = ablationPlan(e.variants as AblationName[], e.seeds);
    const views: ExperimentRunView[] = plan.map((p) => {
      const id = e.runIds[p.key];
      const r = id ? runs.get(id) : undefined;
      return {
        key: p.key, variant: p.variant, seed: p.seed,
        runId: r ? r.id : null, runName: r ? r.name : null, status: r ? r.status : 'pending', active: !!r?.active,
        epochs: r ? r.history.length : 0, test: r?.status === 'finished' ? r.test : null,
        seconds: r?.history.length ? r.history.reduce((s, h) => s + (Number.isFinite(h.seconds) ? h.seconds : 0), 0) : null,
      };
    });
    const status = e.status === 'running' && !isActive ? 'paused' : e.status;
    return {
      id: e.id, name: e.name, kind: 'ablation', datasetId: e.datasetId, embeddingId: e.embeddingId, tokenizerId: e.tokenizerId,
      embeddingName: String(e.meta?.embeddingName ?? ''), tokenizerName: String(e.meta?.tokenizerName ?? ''),
      preset: e.preset, overrides: (e.overrides ?? {}) as JointOverrides, variants: e.variants as AblationName[], seeds: [...e.seeds],
      status, active: isActive, resumable: !isActive && status !== 'finished',
      createdAt: e.createdAt, updatedAt: e.updatedAt, error: e.error, runs: views,
      finished: views.filter((v) => v.status === 'finished' && v.test).length,
    };
  }

  async function jointRunsOf(datasetId: string): Promise<Map<string, JointRunSummary>> {
    return new Map(unwrap(await ctx.joint.listJointRuns(datasetId)).map((r) => [r.id, r]));
  }

  /** Trains the sweep's unfinished entries in plan order inside the job `jobId`. */
  function runSweep(id: string, jobId: string, onEvent: ProgressCallback): Promise<Result<ExperimentResult>> {
    if (running !== null) return Promise.resolve({ ok: false, error: { code: 'bad_option', message: 'An experiment is already running; wait for it or cancel it first.' } });
    if (ctx.trainer.busy()) return Promise.resolve({ ok: false, error: { code: 'bad_option', message: 'A joint training is running; wait for it or cancel it before starting the experiment.' } });
    running = id;
    const sink = forwardProgress(onEvent, ctx.progressIntervalMs);
    return ctx.jobs.run(jobId, async (signal, pause) => {
      const t0 = Date.now();
      const db = await ctx.db();
      let exp = await updateExperiment(db, id, () => ({ status: 'running', error: null }));
      const ds = await ctx.dataset(exp.datasetId);
      const plan = ablationPlan(exp.variants as AblationName[], exp.seeds);
      const finish = async (cancelled: boolean): Promise<ExperimentResult> => {
        exp = await updateExperiment(db, id, () => ({ status: cancelled ? 'cancelled' : 'finished' }));
        running = null;
        const s = summaryOf(exp, await jointRunsOf(exp.datasetId));
        return {
          experiment: s, cancelled, seconds: (Date.now() - t0) / 1000,
          note: cancelled
            ? `Cancelled after ${s.finished} of ${plan.length} run(s); the interrupted run keeps its finished epochs and Resume continues the sweep.`
            : `Finished: ${s.finished} of ${plan.length} run(s).`,
        };
      };
      try {
        for (let i = 0; i < plan.length; i++) {
          const spec = plan[i];
          if (signal.aborted) return await finish(true);
          const runs = await jointRunsOf(exp.datasetId);
          const prev = exp.runIds[spec.key] ? runs.get(exp.runIds[spec.key]) : undefined;
          if (prev?.status === 'finished') continue;
          sink({ type: 'log', stage: 'joint', level: 'info', message: `experiment run ${i + 1} of ${plan.length}: ${spec.variant}, seed ${spec.seed}${prev?.resumable ? ' (resumed)' : ''}` });
          const scope = {
            jobId: `${jobId}/${spec.key}`, signal, pause,
            onRunStored: async (runId: string) => {
              exp = await updateExperiment(db, id, (e) => ({ runIds: { ...e.runIds, [spec.key]: runId } }));
            },
          };
          let res;
          if (prev?.resumable) res = await ctx.trainer.resume(prev.id, onEvent, scope);
          else {
            // A run stored before its first epoch (or an imported one) has nothing to continue from.
            if (prev && !prev.active) await ctx.joint.deleteJointRun(prev.id);
            res = await ctx.trainer.start({
              datasetId: exp.datasetId, embeddingId: exp.embeddingId, tokenizerId: exp.tokenizerId, preset: exp.preset as JointPresetName,
              overrides: { ...(exp.overrides as JointOverrides), ablation: spec.variant, seed: spec.seed },
              name: ablationRunName(ds.name, spec.variant, spec.seed),
            }, onEvent, scope);
          }
          if (!res.ok) {
            if (res.error.code === 'cancelled' || signal.aborted) return await finish(true);
            throw new StudioError({ ...res.error, message: `Run ${spec.key} of experiment "${exp.name}" failed: ${res.error.message}` });
          }
          if (res.value.cancelled) return await finish(true);
        }
        return await finish(false);
      } catch (err) {
        if (signal.aborted) return await finish(true);
        const message = err instanceof Error ? err.message : String(err);
        await updateExperiment(db, id, () => ({ status: 'failed', error: message })).catch(() => undefined);
        throw err;
      } finally {
        running = null;
      }
    }).finally(() => {
      running = null;
      sink.flush();
    });
  }

  return {
    async startExperiment(request: ExperimentStartRequest, jobId, onEvent) {
      const created = await asResult(async () => {
        const sweep = resolveSweep(request.preset, request.sweep ?? {});
        if (!sweep.ok) {
          const e = sweep.errors[0];
          throw new StudioError({ code: 'bad_option', field: e.field, message: sweep.errors.map((x) => x.message).join('; ') });
        }
        const variants = sweep.config.variants;
        const seeds = sweepSeeds(sweep.config);
        const overrides: JointOverrides = { ...(request.overrides ?? {}) };
        delete overrides.ablation;
        delete overrides.seed;
        // Every run's config is checked before anything is stored (field-named errors).
        for (const v of variants) resolveJointConfig(request.preset as JointPresetName, { ...overrides, ablation: v, seed: seeds[0] });
        const inputs = unwrap(await ctx.joint.listJointInputs(request.datasetId));
        const emb = inputs.embeddings.find((e) => e.id === request.embeddingId);
        const tok = inputs.tokenizers.find((t) => t.id === request.tokenizerId);
        if (!emb) throw new StudioError({ code: 'not_found', field: 'embeddingId', message: 'The chosen embedding table is not stored for this dataset' });
        if (!tok) throw new StudioError({ code: 'not_found', field: 'tokenizerId', message: 'The chosen tokenizer is not stored for this dataset' });
        if (tok.inDim !== emb.cols) {
          throw new StudioError({ code: 'bad_option', field: 'tokenizerId', message: `Tokenizer "${tok.name}" reads ${tok.inDim}-d vectors but table "${emb.name}" is ${emb.cols}-d`, expected: `${emb.cols}-d tokenizer`, found: `${tok.inDim}-d` });
        }
        const db = await ctx.db();
        const ds = await ctx.dataset(request.datasetId);
        const now = Date.now();
        return saveExperiment(db, {
          id: newExperimentId(), createdAt: now, updatedAt: now,
          name: uniqueName(request.name?.trim() || `${ds.name}_ablate_${request.preset}`, new Set((await listExperiments(db, request.datasetId)).map((e) => e.name))),
          datasetId: request.datasetId, embeddingId: emb.id, tokenizerId: tok.id, kind: 'ablation', preset: request.preset,
          overrides: JSON.parse(JSON.stringify(overrides)) as unknown, variants: [...variants], seeds: [...seeds], runIds: {},
          status: 'running', error: null, meta: { embeddingName: emb.name, tokenizerName: tok.name },
        });
      });
      if (!created.ok) return created;
      return runSweep(created.value.id, jobId, onEvent);
    },

    async resumeExperiment(id, jobId, onEvent) {
      const found = await asResult(async () => {
        const e = await getExperiment(await ctx.db(), id);
        if (e.status === 'finished') throw new StudioError({ code: 'bad_option', message: `Experiment "${e.name}" has finished; nothing to resume.` });
        return e;
      });
      if (!found.ok) return found;
      return runSweep(id, jobId, onEvent);
    },

    listExperiments: (datasetId) =>
      asResult(async () => {
        const db = await ctx.db();
        const all = await listExperiments(db, datasetId);
        const runs = new Map(unwrap(await ctx.joint.listJointRuns(datasetId)).map((r) => [r.id, r]));
        return all.map((e) => summaryOf(e, runs));
      }),

    deleteExperiment: (id, withRuns) =>
      asResult(async () => {
        if (running === id) throw new StudioError({ code: 'bad_option', message: 'This experiment is running; cancel it before deleting it.' });
        const db = await ctx.db();
        const e = await getExperiment(db, id);
        if (withRuns) {
          const runs = await jointRunsOf(e.datasetId);
          for (const runId of Object.values(e.runIds)) {
            const r = runs.get(runId);
            if (r && !r.active) unwrap(await ctx.joint.deleteJointRun(runId));
          }
        }
        await deleteExperiment(db, id);
      }),
  };
}
