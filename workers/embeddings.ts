/**
 * Stage 2 (item embeddings) of the studio worker: SASRec training, TF-IDF text embeddings, `.npy`
 * import/export, the dual input, and the dataset's stored tables. tfjs-heavy modules are imported
 * on first use, so the data stage starts without them.
 */
import * as Comlink from 'comlink';
import { buildDualInput } from '../src/core/embeddings/dual.ts';
import { tableFromNpy, tableToNpy } from '../src/core/embeddings/importTable.ts';
import type { EmbeddingKind, EmbeddingTable } from '../src/core/embeddings/types.ts';
import { StudioError, throwIfCancelled } from '../src/core/errors.ts';
import { safeName } from '../src/core/names.ts';
import type { SasrecConfig } from '../src/core/models/sasrec.ts';
import { EMBEDDINGS_STAGE } from '../src/core/stages/embeddings.ts';
import { firstConfigError } from './configErrors.ts';
import {
  deleteEmbeddingTable,
  listEmbeddingTables,
  loadEmbeddingTable,
  saveEmbeddingTable,
} from '../src/storage/index.ts';
import type {
  EmbeddingSummary,
  ExportedFile,
  Result,
  SasrecPresetInfo,
  SasrecTrainOptions,
  SasrecTrainResult,
  StudioWorkerApi,
  TextEmbeddingOptions,
} from './api.ts';
import { adapterShort, asResult, forwardProgress, type StageContext } from './jobs.ts';

export type EmbeddingContext = StageContext;

export type EmbeddingMethods = Pick<
  StudioWorkerApi,
  | 'getSasrecPresets'
  | 'trainSasrec'
  | 'computeTextEmbeddings'
  | 'importEmbedding'
  | 'buildDualEmbedding'
  | 'listEmbeddings'
  | 'exportEmbedding'
  | 'deleteEmbedding'
>;

const KINDS: EmbeddingKind[] = ['collab', 'text', 'dual'];

export function createEmbeddingMethods(ctx: EmbeddingContext): EmbeddingMethods {
  let training: string | null = null;
  const save = async (datasetId: string, table: EmbeddingTable) =>
    saveEmbeddingTable(await ctx.db(), datasetId, table, ctx.chunkBytes ? { chunkBytes: ctx.chunkBytes } : {});

  return {
    getSasrecPresets: () =>
      asResult(async (): Promise<SasrecPresetInfo[]> => {
        const { SASREC_PRESETS } = await import('../src/core/models/sasrec.ts');
        return (['quick', 'paper'] as const).map((name) => ({
          name,
          config: { ...SASREC_PRESETS[name].config },
          provenance: { ...SASREC_PRESETS[name].provenance },
        }));
      }),

    async trainSasrec(datasetId, config, jobId, onEvent, options?: SasrecTrainOptions): Promise<Result<SasrecTrainResult>> {
      const bad = validateSasrecConfig(config);
      if (bad) return { ok: false, error: bad.info };
      if (training) {
        return { ok: false, error: { code: 'bad_option', message: 'A SASRec training is already running; wait for it or cancel it first.' } };
      }
      training = jobId;
      const sink = forwardProgress(onEvent, ctx.progressIntervalMs);
      try {
        return await ctx.jobs.run(jobId, async (signal, pause) => {
          sink({ type: 'phase', stage: 'sasrec', phase: 'load', message: 'loading the dataset and the trainer' });
          const [ds, report, train] = await Promise.all([
            ctx.dataset(datasetId),
            ctx.ensureBackend(),
            import('../src/core/train/sasrec.ts'),
          ]);
          throwIfCancelled(signal);
          sink({ type: 'log', stage: 'sasrec', level: 'info', message: `training on ${report.backend}` });
          const res = await train.trainSasrec(ds, { ...config }, {
            signal,
            pause,
            onEvent: sink,
            seed: config.seed,
            ...(options?.maxStepsPerEpoch ? { maxStepsPerEpoch: options.maxStepsPerEpoch } : {}),
            evalChunk: options?.evalChunk ?? evalChunkFor(config),
          });
          const metrics = { valid: res.valid, test: res.test };
          const popularity = res.baselines.popularity;
          let embedding: EmbeddingSummary | null = null;
          let note: string;
          if (res.cancelled && res.bestEpoch === 0) {
            note = 'Cancelled before the first validation: there is no best table, so nothing was stored.';
          } else {
            sink({ type: 'phase', stage: 'sasrec', phase: 'save', message: 'storing the item table' });
            embedding = await save(datasetId, {
              kind: 'collab',
              name: `${ds.name}_sasrec_${res.hidden}`,
              rows: res.numItems,
              cols: res.hidden,
              data: res.itemTable,
              source: 'sasrec',
              createdAt: Date.now(),
              meta: {
                config: res.config,
                seed: res.seed,
                backend: res.backend,
                adapter: adapterShort(report),
                bestEpoch: res.bestEpoch,
                epochsRun: res.epochsRun,
                stoppedEarly: res.stoppedEarly,
                cancelled: res.cancelled,
                seconds: res.seconds,
                metrics,
                baselines: { popularity },
                maxStepsPerEpoch: options?.maxStepsPerEpoch ?? null,
                curves: res.curves.epochs,
              },
            });
            note = res.cancelled
              ? `Cancelled after ${res.epochsRun} epoch(s): the best table so far (epoch ${res.bestEpoch}) was stored.`
              : `Stored the item table of the best validation epoch (${res.bestEpoch} of ${res.epochsRun}).`;
          }
          return {
            cancelled: res.cancelled,
            embedding,
            note,
            bestEpoch: res.bestEpoch,
            epochsRun: res.epochsRun,
            stoppedEarly: res.stoppedEarly,
            seconds: res.seconds,
            backend: res.backend,
            seed: res.seed,
            valid: res.valid,
            test: res.test,
            popularity,
            curves: res.curves,
          };
        });
      } finally {
        sink.flush();
        training = null;
      }
    },

    async computeTextEmbeddings(datasetId, options: TextEmbeddingOptions, jobId, onEvent): Promise<Result<EmbeddingSummary>> {
      const sink = forwardProgress(onEvent, ctx.progressIntervalMs);
      try {
        return await ctx.jobs.run(jobId, async (signal) => {
          const ds = await ctx.dataset(datasetId);
          const titled = ds.itemTitles?.filter((t) => t && t.trim()).length ?? 0;
          if (!titled) {
            throw new StudioError({
              code: 'bad_option',
              message: `Dataset "${ds.name}" has no item titles, so TF-IDF text embeddings cannot be computed. ` +
                'Re-import it with item metadata, or import a text embedding .npy (e.g. from a pretrained sentence encoder).',
              expected: 'item titles',
              found: 'none',
            });
          }
          if (!Number.isInteger(options.dim) || options.dim < 1 || options.dim > 4096) {
            throw new StudioError({ code: 'bad_option', field: 'dim', message: 'The text embedding width must be an integer from 1 to 4096', found: String(options.dim) });
          }
          const { encodeTextTfidfSvd } = await import('../src/core/embeddings/tfidf.ts');
          const table = await encodeTextTfidfSvd(ds, {
            dim: options.dim,
            ...(options.minDf !== undefined ? { minDf: options.minDf } : {}),
            ...(options.maxVocab !== undefined ? { maxVocab: options.maxVocab } : {}),
            ...(options.normalize !== undefined ? { normalize: options.normalize } : {}),
            ...(options.seed !== undefined ? { seed: options.seed } : {}),
            signal,
            onEvent: sink,
          });
          throwIfCancelled(signal);
          return save(datasetId, table);
        });
      } finally {
        sink.flush();
      }
    },

    importEmbedding: (datasetId, file, fileName, kind) =>
      asResult(async () => {
        if (!KINDS.includes(kind)) {
          throw new StudioError({ code: 'bad_option', field: 'kind', message: `Unknown embedding kind "${String(kind)}"`, expected: KINDS.join(' | ') });
        }
        if (!/\.npy$/i.test(fileName)) {
          throw new StudioError({ code: 'bad_npy', file: fileName, message: 'Expected a NumPy .npy file', expected: '.npy', found: fileName.replace(/^.*\./, '.') });
        }
        const ds = await ctx.dataset(datasetId);
        const bytes = new Uint8Array(await file.arrayBuffer());
        const table = tableFromNpy(bytes, fileName, ds.itemIds.length, kind);
        return save(datasetId, table);
      }),

    buildDualEmbedding: (datasetId, collabId, textId, normalize) =>
      asResult(async () => {
        const db = await ctx.db();
        const [c, t] = await Promise.all([loadEmbeddingTable(db, collabId), loadEmbeddingTable(db, textId)]);
        for (const part of [c, t]) {
          if (part.summary.datasetId !== datasetId) {
            throw new StudioError({ code: 'bad_option', message: `Embedding table "${part.summary.name}" belongs to another dataset` });
          }
        }
        const dual = buildDualInput(c.table, t.table, { normalize });
        dual.meta = { ...dual.meta, collabId, textId };
        return save(datasetId, dual);
      }),

    listEmbeddings: (datasetId) => asResult(async () => listEmbeddingTables(await ctx.db(), datasetId)),

    async exportEmbedding(id): Promise<Result<ExportedFile>> {
      const r = await asResult(async () => {
        const { table } = await loadEmbeddingTable(await ctx.db(), id);
        let bytes = tableToNpy(table);
        if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
        return { fileName: `${safeName(table.name, 'embeddings')}.npy`, bytes };
      });
      return r.ok ? Comlink.transfer(r, [r.value.bytes.buffer]) : r;
    },

    deleteEmbedding: (id) => asResult(async () => deleteEmbeddingTable(await ctx.db(), id)),
  };
}

/**
 * Users per evaluation forward: RecBole's eval_batch_size, capped so one chunk's activations
 * (chunk × L × hidden per tensor, all kept until the chunk's tidy ends) stay near 4M floats —
 * the paper's 2048 × 50 × 256 would need gigabytes on the 32-bit wasm heap. Fewer, larger chunks
 * also mean fewer forward passes (and one shader shape) on slow GPUs.
 */
export function evalChunkFor(c: SasrecConfig): number {
  const cap = Math.max(256, Math.floor((4 * 1024 * 1024) / (c.MAX_ITEM_LIST_LENGTH * c.hidden_size)));
  return Math.max(1, Math.min(c.eval_batch_size, cap));
}

/** A SASRec config as sent by the UI: every field present and in range (null when valid). */
export function validateSasrecConfig(c: SasrecConfig): StudioError | null {
  return firstConfigError(EMBEDDINGS_STAGE, c, 'SASRec');
}
