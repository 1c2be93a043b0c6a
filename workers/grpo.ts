/**
 * GRPO fine-tuning (spec §6) of the studio worker: start from a finished joint run (its model =
 * the best checkpoint, else the current weights: finalWeights in src/core/train/jointTypes.ts),
 * with the fixed SFT code table and, for the reward, rows 1..N of the recommender's frozen semantic table
 * (as src/cli/grpo.ts). The run is a record in `runs` (type/stage 'grpo'); when it finishes the
 * bundle zip (best GRPO recommender + SFT tokenizer + code.json + metrics.json) is stored with it
 * (src/storage/grpoRuns.ts) and is what exportGrpoBundle hands out. A cancelled run keeps its best
 * state so far (validated, not tested) as its bundle. The pre-GRPO validation and every finished
 * epoch are written to the record as they come, so an interrupted run still shows its curves.
 * tfjs-heavy modules (trainer, bundle IO) are imported on first use.
 */
import * as Comlink from 'comlink';
import { zipSync, type Zippable } from 'fflate';
import { StudioError, throwIfCancelled } from '../src/core/errors.ts';
import { flatMetrics, type GenerativeResult } from '../src/core/eval/generative.ts';
import { safeName, uniqueName } from '../src/core/names.ts';
import type { GrpoConfig, GrpoEpochRecord, GrpoPresetName } from '../src/core/train/grpo.ts';
import { jointSamples } from '../src/core/train/jointData.ts';
import { finalWeights, type JointData } from '../src/core/train/jointTypes.ts';
import type { NamedArray } from '../src/core/nn/params.ts';
import {
  DEFAULT_CHUNK_BYTES,
  deleteGrpoRun,
  listGrpoRuns,
  loadGrpoBundleBytes,
  loadJointCheckpointBytes,
  newGrpoRunId,
  saveGrpoRun,
  type StoredGrpoRun,
} from '../src/storage/index.ts';
import type { ExportedFile, ProgressCallback, Result } from './contract.ts';
import type { GrpoOverrides, GrpoPresetInfo, GrpoRunSummary, GrpoStartRequest, GrpoTrainResult, GrpoWorkerApi } from './grpoApi.ts';
import { adapterShort, asResult, forwardProgress, type StageContext } from './jobs.ts';

const PRESET_NAMES: GrpoPresetName[] = ['quick', 'paper'];

/** The preset with the overrides (typed or form text) applied and validated by the GRPO declaration (field-named errors). */
export async function resolveGrpoConfig(preset: GrpoPresetName, overrides: GrpoOverrides = {}): Promise<GrpoConfig> {
  if (!PRESET_NAMES.includes(preset)) {
    throw new StudioError({ code: 'bad_option', field: 'preset', message: `Unknown GRPO preset "${String(preset)}"`, expected: PRESET_NAMES.join(' | '), found: String(preset) });
  }
  const { GRPO_STAGE } = await import('../src/core/stages/grpo.ts');
  const { resolveStage } = await import('../src/core/stages/fields.ts');
  const clean = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const r = resolveStage(GRPO_STAGE, preset, clean);
  if (!r.ok) throw new StudioError({ code: 'bad_option', field: r.errors[0].field, message: `GRPO config: ${r.errors.map((e) => e.message).join('; ')}` });
  return r.config;
}

export function createGrpoMethods(ctx: StageContext): GrpoWorkerApi {
  const chunkBytes = ctx.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const active = new Set<string>();
  let training: string | null = null;

  function toSummary(r: StoredGrpoRun): GrpoRunSummary {
    const isActive = active.has(r.id);
    return {
      id: r.id, name: r.name, datasetId: r.datasetId, jointRunId: r.jointRunId, jointRunName: String(r.meta?.jointRunName ?? ''),
      status: r.status === 'running' && !isActive ? 'interrupted' : r.status, active: isActive,
      createdAt: r.createdAt, updatedAt: r.updatedAt, backend: r.backend, adapter: r.adapter ?? null, preset: r.preset, config: r.config as GrpoConfig, seed: r.seed,
      history: r.history as GrpoEpochRecord[],
      validBefore: (r.validBefore as GenerativeResult | null) ?? null,
      validAfter: (r.validAfter as GenerativeResult | null) ?? null,
      test: (r.test as GenerativeResult | null) ?? null,
      bestEpoch: r.bestEpoch, timings: r.timings ?? {},
      error: r.status === 'running' && !isActive ? r.error ?? 'Interrupted (the worker stopped during training)' : r.error,
      bundleBytes: r.bundle?.byteLength ?? 0,
    };
  }

  return {
    getGrpoPresets: () =>
      asResult(async (): Promise<GrpoPresetInfo[]> => {
        const { GRPO_PRESETS } = await import('../src/core/train/grpo.ts');
        return PRESET_NAMES.map((name) => ({
          name, description: GRPO_PRESETS[name].description, config: { ...GRPO_PRESETS[name].values }, provenance: { ...GRPO_PRESETS[name].provenance },
        }));
      }),

    async startGrpo(request: GrpoStartRequest, jobId: string, onEvent: ProgressCallback): Promise<Result<GrpoTrainResult>> {
      if (training !== null) return { ok: false, error: { code: 'bad_option', message: 'A GRPO run is already running; wait for it or cancel it first.' } };
      training = jobId;
      const sink = forwardProgress(onEvent, ctx.progressIntervalMs);
      let runId: string | null = null;
      try {
        return await ctx.jobs.run(jobId, async (signal, pause) => {
          const t0 = Date.now();
          sink({ type: 'phase', stage: 'grpo', phase: 'load', message: 'loading the joint run and the dataset' });
          const config = await resolveGrpoConfig(request.preset, request.overrides ?? {});
          const db = await ctx.db();
          const [{ record: joint, bytes }, bundleIo, train, { SEMANTIC }, report] = await Promise.all([
            loadJointCheckpointBytes(db, request.jointRunId), import('../src/core/io/jointBundle.ts'), import('../src/core/train/grpo.ts'),
            import('../src/core/models/recommender.ts'), ctx.ensureBackend(),
          ]);
          if (joint.status !== 'finished') {
            throw new StudioError({ code: 'bad_option', field: 'jointRunId', message: `Joint run "${joint.name}" has not finished (${joint.status}); GRPO starts from a finished run.` });
          }
          const c = bundleIo.unpackJointCheckpoint(bytes, `${joint.name}.checkpoint`);
          const w = finalWeights(c);
          const rc = c.recommenderConfig;
          const ds = await ctx.dataset(joint.datasetId);
          const N = ds.itemIds.length;
          if (rc.n_items_plus_pad !== N + 1) {
            throw new StudioError({ code: 'bad_option', field: 'jointRunId', message: `Joint run "${joint.name}" was trained on ${rc.n_items_plus_pad - 1} items, the dataset has ${N}` });
          }
          // The reward's semantic vectors: rows 1..N of the (frozen) semantic table, as src/cli/grpo.ts.
          const S = w.recommender[SEMANTIC];
          const D = rc.semantic_hidden_size;
          const data: JointData = {
            numItems: N, semantic: S.data.slice(D, (N + 1) * D), semanticDim: D,
            train: jointSamples(ds, 'train'), valid: jointSamples(ds, 'valid'), test: jointSamples(ds, 'test'),
          };
          throwIfCancelled(signal);
          const now = Date.now();
          const name = uniqueName(request.name?.trim() || `${joint.name}_grpo_${request.preset}`, new Set((await listGrpoRuns(db, joint.datasetId)).map((r) => r.name)), 'grpo');
          let rec = await saveGrpoRun(db, {
            id: newGrpoRunId(), createdAt: now, updatedAt: now, name, datasetId: joint.datasetId, jointRunId: joint.id,
            status: 'running', backend: report.backend, adapter: adapterShort(report), preset: request.preset, config, seed: config.seed, history: [],
            validBefore: null, validAfter: null, test: null, bestEpoch: null, timings: { load: (now - t0) / 1000 }, error: null,
            meta: {
              jointRunName: joint.name, jointModel: c.best ? { stage: c.best.stage, epoch: c.best.epoch } : 'current',
              overrides: JSON.parse(JSON.stringify(request.overrides ?? {})) as unknown,
            },
          });
          runId = rec.id;
          active.add(rec.id);
          sink({ type: 'log', stage: 'grpo', level: 'info', message: `GRPO on ${report.backend} from "${joint.name}": ${N} items, ${data.train.count} histories, G ${config.group_size}, β ${config.kl_coeff}, batch ${config.batch_size}` });
          const history: GrpoEpochRecord[] = [];
          // Progress writes one after the other (each a whole record); the final write waits for them.
          let writes: Promise<unknown> = Promise.resolve();
          let validBefore: GenerativeResult | null = null;
          const persist = () => {
            const snapshot = { ...rec, updatedAt: Date.now(), history: [...history], validBefore };
            writes = writes.then(() => saveGrpoRun(db, snapshot)).catch(() => undefined);
          };
          const bundleZip = (state: Record<string, NamedArray>, metrics: Record<string, unknown>): Uint8Array => {
            const files = bundleIo.writeBundleFiles({
              recommender: state, recommenderConfig: rc, tokenizer: w.tokenizer, tokenizerConfig: c.tokenizerConfig,
              codes: w.codes, config: c.config, history: [], metrics,
            });
            delete files['metrics.csv'];
            const z: Zippable = {};
            for (const [k, v] of Object.entries(files)) z[k] = [v, { level: k.endsWith('.safetensors') ? 1 : 6 }];
            return zipSync(z);
          };
          try {
            const res = await train.trainGrpo({ data, recommenderState: w.recommender, recommenderConfig: rc, codes: w.codes }, config, {
              signal,
              pause,
              onEvent: sink,
              onValidBefore: (r) => {
                validBefore = r;
                persist();
              },
              onEpoch: (r) => {
                history.push(r);
                persist();
                sink({
                  type: 'log', stage: 'grpo', level: 'info',
                  message: `epoch ${r.epoch + 1}: reward ${r.rewardMean.toFixed(4)} hit ${r.hitRate.toFixed(4)} invalid ${r.invalidRate.toFixed(4)} kl ${r.kl.toFixed(5)}${r.valid ? `, valid ndcg@10 ${(r.valid.metrics['ndcg@10'] ?? 0).toFixed(4)}${r.improved ? ' *' : ''}` : ''}`,
                });
              },
            });
            const ts = Date.now();
            const metrics = {
              valid_before: flatMetrics(res.validBefore), valid_after: flatMetrics(res.validAfter),
              ...(res.test ? { test: flatMetrics(res.test) } : {}), ...(res.cancelled ? { cancelled: true } : {}),
              best_epoch: res.bestEpoch, preset: request.preset, backend: report.backend, seconds: res.seconds, config,
              provenance: train.GRPO_PRESETS[request.preset].provenance, source_joint_run: { id: joint.id, name: joint.name },
              history: res.history.map((r) => ({ ...r, valid: r.valid ? flatMetrics(r.valid) : undefined })),
            };
            const zip = bundleZip(res.bestState, metrics);
            await writes;
            rec = await saveGrpoRun(db, {
              ...rec, status: res.cancelled ? 'cancelled' : 'finished', updatedAt: Date.now(), history: res.history, validBefore: res.validBefore,
              validAfter: res.validAfter, test: res.test, bestEpoch: res.bestEpoch,
              timings: { ...rec.timings, train: res.seconds, save: (Date.now() - ts) / 1000, total: (Date.now() - t0) / 1000 },
            }, zip, chunkBytes);
            active.delete(rec.id);
            const before = (res.validBefore.metrics['ndcg@10'] ?? 0).toFixed(4);
            const after = (res.validAfter.metrics['ndcg@10'] ?? 0).toFixed(4);
            const kept = res.bestEpoch < 0 ? 'the SFT state, as no epoch improved on it' : `the state of epoch ${res.bestEpoch + 1}`;
            if (res.cancelled || !res.test) {
              return {
                run: toSummary(rec), cancelled: true, seconds: (Date.now() - t0) / 1000,
                note: `Cancelled after ${res.history.length} epoch(s); kept ${kept} (valid ndcg@10 ${before} → ${after}), not tested. Export gives it.`,
              };
            }
            const t = res.test.metrics;
            return {
              run: toSummary(rec), cancelled: false, seconds: (Date.now() - t0) / 1000,
              note: `Finished on ${rec.backend}: ${res.history.length} epoch(s), valid ndcg@10 ${before} → ${after}, test ndcg@10 ${(t['ndcg@10'] ?? 0).toFixed(4)} (invalid codes ${(res.test.invalidRate * 100).toFixed(1)} %).`,
            };
          } catch (err) {
            active.delete(rec.id);
            await writes;
            if (signal.aborted) {
              // Cancelled before the SFT model's validation finished: nothing trained, nothing to keep.
              rec = await saveGrpoRun(db, { ...rec, status: 'cancelled', updatedAt: Date.now(), history, validBefore, timings: { ...rec.timings, total: (Date.now() - t0) / 1000 } });
              return { run: toSummary(rec), cancelled: true, seconds: (Date.now() - t0) / 1000, note: 'Cancelled before any update (during the validation of the SFT model); nothing to keep.' };
            }
            const message = err instanceof Error ? err.message : String(err);
            await saveGrpoRun(db, { ...rec, status: 'failed', updatedAt: Date.now(), history, validBefore, error: message }).catch(() => undefined);
            if (err instanceof StudioError) throw err;
            throw new StudioError({ code: 'internal', message: `GRPO failed on ${rec.backend} after ${history.length} epoch(s): ${message.replace(/\.\s*$/, '')}.` });
          }
        });
      } finally {
        if (runId) active.delete(runId);
        sink.flush();
        training = null;
      }
    },

    listGrpoRuns: (datasetId) => asResult(async () => (await listGrpoRuns(await ctx.db(), datasetId)).map(toSummary)),

    deleteGrpoRun: (id) =>
      asResult(async () => {
        if (active.has(id)) throw new StudioError({ code: 'bad_option', message: 'This GRPO run is training; cancel it before deleting it.' });
        if (!(await deleteGrpoRun(await ctx.db(), id))) throw new StudioError({ code: 'not_found', message: `No stored GRPO run with id "${id}" (it may have been deleted).` });
      }),

    async exportGrpoBundle(runId): Promise<Result<ExportedFile>> {
      const r = await asResult(async (): Promise<ExportedFile> => {
        const { record, bytes } = await loadGrpoBundleBytes(await ctx.db(), runId);
        const fileName = `${safeName(record.name, 'grpo')}.bundle.zip`;
        // what IndexedDB gave back is checked (zip CRCs, per-tensor checksums, shapes) before it leaves
        const { readJointBundle } = await import('../src/core/io/jointBundle.ts');
        readJointBundle(bytes, { fileName });
        return { fileName, bytes };
      });
      return r.ok ? Comlink.transfer(r, [r.value.bytes.buffer]) : r;
    },
  };
}
