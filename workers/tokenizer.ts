/**
 * Stage 3 (RQ-VAE item tokenizer) of the studio worker: pretraining on a stored embedding table,
 * the dataset's stored tokenizers (artifact type 'tokenizer'), the codebook inspector's view
 * (usage, collision groups, PCA projections, nearest codes), export (reference-keyed safetensors +
 * code.json), import (.safetensors / reference .pth, "N of M tensors matched") and comparison.
 *
 * Storage: src/storage/tokenizers.ts (one `artifacts` record plus its arrays in `chunks`).
 * tfjs-heavy modules are imported on first use.
 */
import { tokenizerStage } from '../src/core/stages/tokenizer.ts';
import { firstConfigError } from './configErrors.ts';
import * as Comlink from 'comlink';
import type { PreparedDataset } from '../src/core/data/types.ts';
import { codebookStats, pca2, projectPca, residualNearestCodes } from '../src/core/eval/codebook.ts';
import { StudioError, throwIfCancelled } from '../src/core/errors.ts';
import type { RqvaeConfig } from '../src/core/models/rqvae.ts';
import { safeName } from '../src/core/names.ts';
import { buildCodeTable, writeCodeJson } from '../src/core/tokenizer/codes.ts';
import {
  DEFAULT_CHUNK_BYTES,
  deleteTokenizer,
  getTokenizerRecord,
  listEmbeddingTables,
  listTokenizerRecords,
  loadEmbeddingTable,
  loadTokenizerArray,
  loadTokenizerCodes,
  saveTokenizer as storeTokenizer,
  type StoredTokenizerArtifact,
  type StudioDb,
  type TokenizerFields,
} from '../src/storage/index.ts';
import type { ExportedFile, Result } from './contract.ts';
import { adapterShort, asResult, forwardProgress, type StageContext } from './jobs.ts';
import type {
  CollisionGroup,
  ItemRef,
  Projection,
  SnapshotInfo,
  SnapshotKind,
  TokenizerComparison,
  TokenizerConfig,
  TokenizerPresetInfo,
  TokenizerSummary,
  TokenizerTrainResult,
  TokenizerView,
  TokenizerWorkerApi,
} from './tokenizerApi.ts';

export type TokenizerContext = StageContext;

export type TokenizerMethods = TokenizerWorkerApi;

// ---- storage (src/storage/tokenizers.ts) ------------------------------------------------

function toSummary(r: StoredTokenizerArtifact): TokenizerSummary {
  return {
    id: r.id, datasetId: r.ownerId, name: r.name, embeddingId: r.embeddingId, embeddingName: r.embeddingName,
    source: r.source, createdAt: r.createdAt, items: r.items, inDim: r.config.in_dim, eDim: r.config.e_dim,
    layers: [...r.config.layers], numEmbList: [...r.config.num_emb_list], collisionRate: r.collisionRate,
    giniMean: r.giniMean, giniPerLevel: [...r.giniPerLevel], maxSuffix: r.maxSuffix, tensorCount: r.tensorCount,
    snapshots: r.snapshots, sizeBytes: r.sizeBytes, meta: r.meta ?? {},
  };
}

function bytesOf(a: Uint8Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function saveTokenizer(db: StudioDb, datasetId: string, rec: TokenizerFields, arrays: Record<string, Uint8Array>, chunkBytes?: number): Promise<TokenizerSummary> {
  return toSummary(await storeTokenizer(db, datasetId, rec, arrays, chunkBytes));
}

/**
 * A stored tokenizer's record and best-collision weights (reference-keyed safetensors bytes), for
 * other stages (joint training reads its pretrained tokenizer here).
 */
export async function loadStoredTokenizer(db: StudioDb, id: string): Promise<{ summary: TokenizerSummary; config: RqvaeConfig; weights: Uint8Array; codes: Int32Array }> {
  const rec = await getTokenizerRecord(db, id);
  const [weights, codes] = await Promise.all([loadTokenizerArray(db, rec, 'weights'), loadTokenizerCodes(db, rec)]);
  return { summary: toSummary(rec), config: modelConfig(rec.config), weights, codes };
}

// ---- validation -----------------------------------------------------------------------------

/** A config as sent by the UI: every field present and in range (null when valid). */
export function validateTokenizerConfig(c: TokenizerConfig): StudioError | null {
  return firstConfigError(tokenizerStage(c?.in_dim), c, 'RQ-VAE');
}

// ---- the methods ----------------------------------------------------------------------------

function snapInfo(s: { epoch: number; loss: number; collisionRate: number; giniMean: number }): SnapshotInfo {
  return { epoch: s.epoch, loss: s.loss, collisionRate: s.collisionRate, giniMean: s.giniMean };
}

function itemRef(ds: PreparedDataset, id: number): ItemRef {
  return { id, asin: ds.itemIds[id - 1] ?? '', title: ds.itemTitles?.[id - 1] ?? null };
}

export function createTokenizerMethods(ctx: TokenizerContext): TokenizerMethods {
  let training: string | null = null;
  const chunkBytes = ctx.chunkBytes ?? DEFAULT_CHUNK_BYTES;

  /** Codes + stats + code table of `state` on `data` (N × in_dim). */
  async function codesOf(config: RqvaeConfig, state: Record<string, { shape: number[]; data: Float32Array }>, data: Float32Array, n: number) {
    const [{ Rqvae }, { computeCodes }, sd] = await Promise.all([
      import('../src/core/models/rqvae.ts'),
      import('../src/core/train/rqvae.ts'),
      import('../src/core/tokenizer/stateDict.ts'),
    ]);
    const model = new Rqvae(config, 0);
    try {
      const report = sd.importRqvaeStateDict(model, state);
      const prefix = await computeCodes(model, data, n);
      const norm = await model.params.stateDict();
      return { report, prefix, norm };
    } finally {
      model.dispose();
    }
  }

  return {
    getTokenizerPresets: (inDim) =>
      asResult(async (): Promise<TokenizerPresetInfo[]> => {
        const { RQVAE_PRESETS, rqvaeTrainConfig } = await import('../src/core/train/rqvae.ts');
        const dim = Number.isInteger(inDim) && inDim > 0 ? inDim : 256;
        return (['quick', 'paper'] as const).map((name) => ({
          name,
          description: RQVAE_PRESETS[name].description,
          config: structuredCloneConfig(rqvaeTrainConfig(name, dim)),
          provenance: provenanceFor(RQVAE_PRESETS[name].provenance, rqvaeTrainConfig(name, dim)),
        }));
      }),

    async trainTokenizer(datasetId, embeddingId, config, jobId, onEvent): Promise<Result<TokenizerTrainResult>> {
      if (training) {
        return { ok: false, error: { code: 'bad_option', message: 'A tokenizer training is already running; wait for it or cancel it first.' } };
      }
      training = jobId;
      const sink = forwardProgress(onEvent, ctx.progressIntervalMs);
      try {
        return await ctx.jobs.run(jobId, async (signal, pause) => {
          sink({ type: 'phase', stage: 'rqvae', phase: 'load', message: 'loading the embedding table and the trainer' });
          const db = await ctx.db();
          const [{ summary: emb, table }, ds, report, train] = await Promise.all([
            loadEmbeddingTable(db, embeddingId),
            ctx.dataset(datasetId),
            ctx.ensureBackend(),
            import('../src/core/train/rqvae.ts'),
          ]);
          if (emb.datasetId !== datasetId) {
            throw new StudioError({ code: 'bad_option', message: `Embedding table "${emb.name}" belongs to another dataset` });
          }
          const cfg: TokenizerConfig = { ...config, in_dim: table.cols };
          const bad = validateTokenizerConfig(cfg);
          if (bad) throw bad;
          throwIfCancelled(signal);
          sink({ type: 'log', stage: 'rqvae', level: 'info', message: `training on ${report.backend}: ${table.rows} items × ${table.cols} from "${emb.name}"` });
          const res = await train.trainRqvae(table.data, cfg, { signal, pause, onEvent: sink, seed: cfg.seed });
          const base = {
            cancelled: res.cancelled, epochsRun: res.epochsRun, stoppedEarly: res.stoppedEarly,
            seconds: res.seconds, backend: res.backend, seed: res.seed,
          };
          if (res.epochsRun === 0) {
            return { ...base, tokenizer: null, note: 'Cancelled before the first epoch ended: nothing was stored.' };
          }
          sink({ type: 'phase', stage: 'rqvae', phase: 'save', message: 'storing the tokenizer' });
          const sd = await import('../src/core/tokenizer/stateDict.ts');
          const n = res.items;
          const b = res.best;
          const K3 = res.config.num_emb_list[2];
          const codeTable = buildCodeTable(b.collision.codes, n, { codebookSize: K3 });
          const meta = { backend: res.backend, adapter: adapterShort(report), seed: res.seed };
          const weights = sd.exportRqvaeSafetensors(b.collision.state, res.config, { snapshot: 'best-collision', epoch: String(b.collision.epoch) });
          const arrays: Record<string, Uint8Array> = { weights, codes: bytesOf(codeTable.codes) };
          const snapshots: Partial<Record<SnapshotKind, SnapshotInfo>> = { collision: snapInfo(b.collision) };
          if (b.gini !== b.collision) {
            arrays.weights_gini = sd.exportRqvaeSafetensors(b.gini.state, res.config, { snapshot: 'best-gini', epoch: String(b.gini.epoch) });
            snapshots.gini = snapInfo(b.gini);
          }
          if (b.loss !== b.collision) {
            arrays.weights_loss = sd.exportRqvaeSafetensors(b.loss.state, res.config, { snapshot: 'best-loss', epoch: String(b.loss.epoch) });
            snapshots.loss = snapInfo(b.loss);
          }
          const stats = b.collision.stats;
          const { rqvaeStateDictShapes } = await import('../src/core/models/rqvae.ts');
          const tokenizer = await saveTokenizer(db, datasetId, {
            name: `${ds.name}_rqvae_${res.config.num_emb_list.join('x')}`,
            embeddingId: emb.id,
            embeddingName: emb.name,
            source: 'rqvae',
            createdAt: Date.now(),
            items: n,
            config: modelConfig(res.config),
            collisionRate: stats.collisionRate,
            giniMean: stats.gini.mean,
            giniPerLevel: [...stats.gini.per_level],
            maxSuffix: codeTable.maxSuffix,
            tensorCount: Object.keys(rqvaeStateDictShapes(res.config)).length,
            snapshots,
            meta: {
              ...meta,
              config: structuredCloneConfig(res.config),
              epochsRun: res.epochsRun,
              stoppedEarly: res.stoppedEarly,
              cancelled: res.cancelled,
              seconds: res.seconds,
              kmeansSeconds: res.kmeansSeconds,
              suffixOverflow: codeTable.suffixOverflow,
              curves: {
                epochs: res.epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, reconLoss: e.reconLoss, rqLoss: e.rqLoss, lr: e.lr })),
                evals: res.evals.map((e) => ({
                  epoch: e.epoch, loss: e.loss, collisionRate: e.stats.collisionRate, giniMean: e.stats.gini.mean,
                  gini: [...e.stats.gini.per_level], codesUsed: e.stats.levels.map((l) => l.codesUsed),
                })),
              },
            },
          }, arrays, chunkBytes);
          const note = res.cancelled
            ? `Cancelled after ${res.epochsRun} epoch(s): the best-collision snapshot so far (epoch ${b.collision.epoch + 1}) was stored.`
            : `Stored the best-collision snapshot (epoch ${b.collision.epoch + 1} of ${res.epochsRun}, collision ${(stats.collisionRate * 100).toFixed(2)} %).`;
          return { ...base, tokenizer, note };
        });
      } finally {
        sink.flush();
        training = null;
      }
    },

    listTokenizers: (datasetId) =>
      asResult(async () => {
        return (await listTokenizerRecords(await ctx.db(), datasetId)).map(toSummary);
      }),

    getTokenizerView: (id) =>
      asResult(async (): Promise<TokenizerView> => {
        const db = await ctx.db();
        const rec = await getTokenizerRecord(db, id);
        const [codes, weights, ds] = await Promise.all([loadTokenizerCodes(db, rec), loadTokenizerArray(db, rec, 'weights'), ctx.dataset(rec.ownerId)]);
        const n = rec.items;
        const L = 3;
        const K = rec.config.num_emb_list;
        const usage = K.map((k) => new Array<number>(k).fill(0));
        const groups = new Map<string, number[]>();
        for (let i = 1; i <= n; i++) {
          for (let l = 0; l < L; l++) usage[l][codes[i * 4 + l]]++;
          const key = `${codes[i * 4]},${codes[i * 4 + 1]},${codes[i * 4 + 2]}`;
          const g = groups.get(key);
          if (g) g.push(i);
          else groups.set(key, [i]);
        }
        const multi = [...groups.entries()].filter(([, g]) => g.length > 1).sort((a, b) => b[1].length - a[1].length || a[1][0] - b[1][0]);
        const collisions: CollisionGroup[] = multi.slice(0, 50).map(([key, g]) => ({
          prefix: key.split(',').map(Number),
          items: g.slice(0, 50).map((i) => itemRef(ds, i)),
        }));

        const sd = await import('../src/core/tokenizer/stateDict.ts');
        const { state } = sd.readRqvaeSafetensors(weights, `${rec.name}.safetensors`);
        const e = rec.config.e_dim;
        const books = K.map((_, l) => state[`rq.vq_layers.${l}.embedding.weight`].data);

        // Item latents need the embedding table the codes came from.
        let latents: Float32Array | null = null;
        if (rec.embeddingId) {
          try {
            const { table } = await loadEmbeddingTable(db, rec.embeddingId);
            if (table.cols === rec.config.in_dim && table.rows === n) {
              await ctx.ensureBackend();
              const [{ Rqvae }, tf] = await Promise.all([import('../src/core/models/rqvae.ts'), import('@tensorflow/tfjs')]);
              const model = new Rqvae(rec.config, 0);
              try {
                sd.importRqvaeStateDict(model, state);
                latents = new Float32Array(n * e);
                const chunk = 2048;
                for (let s = 0; s < n; s += chunk) {
                  const m = Math.min(chunk, n - s);
                  const z = tf.tidy(() => model.encode(tf.tensor2d(table.data.subarray(s * rec.config.in_dim, (s + m) * rec.config.in_dim), [m, rec.config.in_dim])));
                  latents.set((await z.data()) as Float32Array, s * e);
                  z.dispose();
                }
              } finally {
                model.dispose();
              }
            }
          } catch (err) {
            if (!(err instanceof StudioError && err.info.code === 'not_found')) throw err;
          }
        }

        const codebookPca: Projection[] = [];
        let latentPca: Projection | null = null;
        let nearest: TokenizerView['nearest'] = null;
        if (latents) {
          const p = pca2(latents, n, e);
          latentPca = projectPca(latents, n, e, p);
          codebookPca.push(projectPca(books[0], K[0], e, p));
          nearest = residualNearestCodes(latents, n, e, books, K, codes, 5);
        } else {
          codebookPca.push(projectPca(books[0], K[0], e, pca2(books[0], K[0], e)));
        }
        for (let l = 1; l < L; l++) codebookPca.push(projectPca(books[l], K[l], e, pca2(books[l], K[l], e)));

        const titles = ds.itemTitles ? ds.itemTitles.slice(0, n) : new Array<string | null>(n).fill(null);
        return {
          summary: toSummary(rec),
          codes,
          asins: ds.itemIds.slice(0, n),
          titles,
          usage,
          collisions,
          collisionGroupCount: multi.length,
          codebookPca,
          latentPca,
          nearest,
        };
      }),

    async exportTokenizer(id, snapshot?: SnapshotKind) {
      const r = await asResult(async () => {
        const db = await ctx.db();
        const rec = await getTokenizerRecord(db, id);
        const array = !snapshot || snapshot === 'collision' ? 'weights' : `weights_${snapshot}`;
        if (!rec.arrays[array]) {
          throw new StudioError({
            code: 'not_found',
            message: `Tokenizer "${rec.name}" has no separate best-${snapshot} snapshot (it is the best-collision one, or the tokenizer was imported)`,
          });
        }
        const [weights, codes] = await Promise.all([loadTokenizerArray(db, rec, array), loadTokenizerCodes(db, rec)]);
        // what IndexedDB gave back is checked against the stored per-tensor checksums before it leaves
        const sd = await import('../src/core/tokenizer/stateDict.ts');
        sd.readRqvaeSafetensors(weights, `${rec.name}.safetensors`);
        const base = safeName(rec.name, 'tokenizer');
        const tag = array === 'weights' ? '' : `.best-${snapshot}`;
        const safetensors: ExportedFile = { fileName: `${base}${tag}.tokenizer.safetensors`, bytes: weights };
        return { safetensors, codeJson: { fileName: `${base}.code.json`, text: writeCodeJson(codes) }, tensorCount: rec.tensorCount };
      });
      return r.ok ? Comlink.transfer(r, [r.value.safetensors.bytes.buffer]) : r;
    },

    importTokenizer: (datasetId, file, fileName, embeddingId) =>
      asResult(async () => {
        const isSt = /\.safetensors$/i.test(fileName);
        const isPth = /\.(pth|pt|ckpt|bin)$/i.test(fileName);
        if (!isSt && !isPth) {
          throw new StudioError({ code: 'bad_option', file: fileName, message: 'Expected a tokenizer .safetensors (as exported here) or a reference PyTorch .pth', expected: '.safetensors | .pth', found: fileName.replace(/^.*\./, '.') });
        }
        const bytes = new Uint8Array(await file.arrayBuffer());
        const sd = await import('../src/core/tokenizer/stateDict.ts');
        // a safetensors file's checksums are verified; one without them (or a .pth) is imported unverified, and the message says so
        const warnings: string[] = [];
        const { state, config: layout } = isSt ? sd.readRqvaeSafetensors(bytes, fileName, { onWarning: (w) => warnings.push(w) }) : sd.readRqvaePth(bytes, fileName);
        if (layout.num_emb_list.length !== 3) {
          throw new StudioError({ code: 'malformed_input', file: fileName, message: `The tokenizer has ${layout.num_emb_list.length} codebook levels; the studio's code table needs 3`, expected: '3 levels', found: String(layout.num_emb_list.length) });
        }
        const config: RqvaeConfig = { ...layout, sk_epsilons: layout.num_emb_list.map(() => 0) };
        const db = await ctx.db();
        const tables = await listEmbeddingTables(db, datasetId);
        const emb = embeddingId ? tables.find((t) => t.id === embeddingId) : tables.find((t) => t.cols === config.in_dim);
        if (!emb) {
          throw new StudioError({
            code: embeddingId ? 'not_found' : 'bad_option',
            file: fileName,
            message: embeddingId
              ? `No embedding table with id "${embeddingId}" in this dataset`
              : `The tokenizer reads ${config.in_dim}-d item vectors, but this dataset has no embedding table of that width (` +
                `${tables.length ? tables.map((t) => `${t.name}: ${t.cols}`).join(', ') : 'none'}). Create or import one in the embeddings stage first.`,
            expected: `a ${config.in_dim}-column table`,
          });
        }
        if (emb.cols !== config.in_dim) {
          throw new StudioError({
            code: 'bad_option', file: fileName, field: 'in_dim',
            message: `The tokenizer's encoder takes ${config.in_dim}-d vectors but table "${emb.name}" has ${emb.cols} columns`,
            expected: `${config.in_dim} columns`, found: `${emb.cols} columns`,
          });
        }
        const { table } = await loadEmbeddingTable(db, emb.id);
        await ctx.ensureBackend();
        const n = table.rows;
        // Throws (nothing stored) on any shape mismatch or missing tensor.
        const { report, prefix, norm } = await codesOf(config, state, table.data, n);
        const stats = codebookStats(prefix, n, config.num_emb_list);
        const codeTable = buildCodeTable(prefix, n, { codebookSize: config.num_emb_list[2] });
        const weights = sd.exportRqvaeSafetensors(norm, config, { source: fileName });
        const tokenizer = await saveTokenizer(db, datasetId, {
          name: fileName.replace(/\.[^.]+$/, '').replace(/\.tokenizer$/, '') || 'tokenizer',
          embeddingId: emb.id,
          embeddingName: emb.name,
          source: `import:${fileName}`,
          createdAt: Date.now(),
          items: n,
          config,
          collisionRate: stats.collisionRate,
          giniMean: stats.gini.mean,
          giniPerLevel: [...stats.gini.per_level],
          maxSuffix: codeTable.maxSuffix,
          tensorCount: report.total,
          snapshots: {},
          meta: { importedFrom: fileName, report: { matched: report.matched, total: report.total, unexpected: report.unexpected, message: report.message }, suffixOverflow: codeTable.suffixOverflow },
        }, { weights, codes: bytesOf(codeTable.codes) }, chunkBytes);
        const unverified = warnings.length ? '; unverified: the file carries no tensor checksums' : '';
        return { tokenizer, message: `${report.message}${unverified}`, matched: report.matched, total: report.total };
      }),

    compareTokenizers: (aId, bId) =>
      asResult(async (): Promise<TokenizerComparison> => {
        const db = await ctx.db();
        const [ra, rb] = await Promise.all([getTokenizerRecord(db, aId), getTokenizerRecord(db, bId)]);
        if (ra.ownerId !== rb.ownerId || ra.items !== rb.items) {
          throw new StudioError({ code: 'bad_option', message: `"${ra.name}" and "${rb.name}" code different item sets; compare tokenizers of the same dataset` });
        }
        const [a, b, ds] = await Promise.all([loadTokenizerCodes(db, ra), loadTokenizerCodes(db, rb), ctx.dataset(ra.ownerId)]);
        const changedPerLevel = [0, 0, 0, 0];
        let changed = 0;
        const rows: TokenizerComparison['rows'] = [];
        for (let i = 1; i <= ra.items; i++) {
          let any = false;
          for (let l = 0; l < 4; l++) {
            if (a[i * 4 + l] !== b[i * 4 + l]) {
              changedPerLevel[l]++;
              any = true;
            }
          }
          if (any) {
            changed++;
            if (rows.length < 200) rows.push({ ...itemRef(ds, i), a: Array.from(a.subarray(i * 4, i * 4 + 4)), b: Array.from(b.subarray(i * 4, i * 4 + 4)) });
          }
        }
        const { prefixAgreement, idsLineUp } = await import('../src/core/eval/partition.ts');
        const agreement = prefixAgreement(a, b);
        return { items: ra.items, changedPerLevel, changed, rows, agreement, idsLineUp: idsLineUp(agreement[0]) };
      }),

    deleteTokenizer: (id) =>
      asResult(async () => deleteTokenizer(await ctx.db(), id)),
  };
}

function modelConfig(c: TokenizerConfig | RqvaeConfig): RqvaeConfig {
  return {
    in_dim: c.in_dim, layers: [...c.layers], e_dim: c.e_dim, num_emb_list: [...c.num_emb_list], beta: c.beta,
    quant_loss_weight: c.quant_loss_weight, sk_epsilons: [...c.sk_epsilons], sk_iters: c.sk_iters,
  };
}

function structuredCloneConfig(c: TokenizerConfig): TokenizerConfig {
  return { ...c, layers: [...c.layers], num_emb_list: [...c.num_emb_list], sk_epsilons: [...c.sk_epsilons] };
}

const EXTRA_PROVENANCE: Record<string, string> = {
  in_dim: 'the width of the chosen embedding table',
  sk_iters: '50 single / 100 dual [O] (used only when a Sinkhorn ε > 0)',
};

/** The core's provenance plus a line for every value it does not describe. */
function provenanceFor(core: Record<string, string>, config: TokenizerConfig): Record<string, string> {
  const out: Record<string, string> = { ...EXTRA_PROVENANCE, ...core };
  for (const k of Object.keys(config)) out[k] ??= 'reference default [O]';
  return out;
}
