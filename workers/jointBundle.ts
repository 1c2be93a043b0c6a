/**
 * The joint stage's export bundle (writeJointBundle: the final model, code table, config.yaml,
 * metrics), the "continue on the reference trainer" zip (referenceLayoutFiles: the reference
 * repository's layout) and the import of either a bundle or the reference's run folder
 * (readCheckpointFiles, "N of N tensors matched") as a finished, untrainable run of a dataset.
 */
import * as Comlink from 'comlink';
import { unzipChecked } from '../src/core/io/zip.ts';
import { StudioError } from '../src/core/errors.ts';
import { flatMetrics, type GenerativeResult } from '../src/core/eval/generative.ts';
import { safeName } from '../src/core/names.ts';
import { jointTrainConfig, type JointTrainConfig } from '../src/core/train/jointSchedule.ts';
import { finalWeights, type JointCheckpoint, type JointStage } from '../src/core/train/jointTypes.ts';
import { DEFAULT_CHUNK_BYTES, loadJointCheckpointBytes, newJointRunId, saveJointRun, type StoredJointRun, type StudioDb } from '../src/storage/index.ts';
import type { ExportedFile, ImportFile, Result } from './contract.ts';
import { adapterShort, asResult, type StageContext } from './jobs.ts';
import type { JointImportResult, JointRunSummary, JointWorkerApi } from './jointApi.ts';

export function createJointBundleMethods(
  ctx: StageContext,
  run: { toSummary(r: StoredJointRun): JointRunSummary; runName(db: StudioDb, datasetId: string, base: string): Promise<string> },
): Pick<JointWorkerApi, 'exportJointBundle' | 'exportReferenceLayout' | 'importJointBundle'> {
  const chunkBytes = ctx.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const { toSummary, runName } = run;
  return {
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
            etegrec: { test: flatMetrics(c.test ?? (record.test as GenerativeResult | null)), test_before_finetune: flatMetrics(c.testBeforeFinetune ?? (record.testBeforeFinetune as GenerativeResult | null)) },
            studio: {
              run: record.name, status: record.status, backend: record.backend, preset: record.preset, source: record.source,
              epochs_run: c.history.length, finished: c.finished,
              model: c.best ? { stage: c.best.stage, epoch: c.best.epoch, valid: flatMetrics(c.best.valid) } : 'current weights (no validation improvement recorded)',
            },
          },
        });
        return { fileName: `${safeName(record.name, 'joint')}.bundle.zip`, bytes: zip };
      });
      return r.ok ? Comlink.transfer(r, [r.value.bytes.buffer]) : r;
    },

    async exportReferenceLayout(runId, gpus = 1): Promise<Result<ExportedFile>> {
      const r = await asResult(async (): Promise<ExportedFile> => {
        const db = await ctx.db();
        const { record, bytes } = await loadJointCheckpointBytes(db, runId);
        if (record.status !== 'finished') {
          throw new StudioError({ code: 'bad_option', field: 'run', message: `Run "${record.name}" is ${record.status}: the reference layout is exported from a finished run` });
        }
        const [{ unpackJointCheckpoint }, { referenceLayoutFiles, referenceLayoutZip }, { referenceBundleFiles }, ds] = await Promise.all([
          import('../src/core/io/jointBundle.ts'), import('../src/core/io/referenceLayout.ts'), import('../src/core/data/referenceBundle.ts'), ctx.dataset(record.datasetId),
        ]);
        const c = unpackJointCheckpoint(bytes, `${record.name}.checkpoint`);
        const w = finalWeights(c);
        const segment = (x: string, fallback: string) => x.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '') || fallback;
        const name = segment(ds.name, 'dataset');
        const test = flatMetrics(c.test ?? (record.test as GenerativeResult | null));
        const files = referenceLayoutFiles({
          name, run: `studio-${segment(record.name, 'run')}`, epoch: c.best?.epoch ?? Math.max(0, (c.history.at(-1)?.epoch ?? 0)),
          datasetFiles: referenceBundleFiles(ds),
          recommender: w.recommender, recommenderConfig: c.recommenderConfig, tokenizer: w.tokenizer, tokenizerConfig: c.tokenizerConfig, codes: w.codes,
          config: c.config, gpus, test, source: `ETEGRec Studio run "${record.name}" (${record.backend}, ${c.best ? `best ${c.best.stage} epoch ${c.best.epoch}` : 'current weights'})`,
        });
        return { fileName: `${safeName(record.name, 'joint')}.reference.zip`, bytes: referenceLayoutZip(files) };
      });
      return r.ok ? Comlink.transfer(r, [r.value.bytes.buffer]) : r;
    },

    importJointBundle: (datasetId, files: ImportFile[], name) =>
      asResult(async (): Promise<JointImportResult> => {
        if (!files.length) throw new StudioError({ code: 'bad_option', message: 'No files were given: choose a bundle .zip or its files' });
        const byName: Record<string, Uint8Array> = {};
        const modified: Record<string, number> = {};
        for (const f of files) {
          if (f.data instanceof File) modified[f.name] = f.data.lastModified;
          const bytes = new Uint8Array(await f.data.arrayBuffer());
          if (/\.zip$/i.test(f.name)) {
            let entries: Record<string, Uint8Array>;
            try {
              // bounded inflation and CRC-32 per member: a zip bomb or a flipped byte is refused
              entries = unzipChecked(bytes, { fileName: f.name });
            } catch (err) {
              if (err instanceof StudioError) throw err;
              throw new StudioError({ code: 'malformed_input', file: f.name, message: `Not a readable zip (${(err as Error).message})` });
            }
            for (const [k, v] of Object.entries(entries)) if (!k.endsWith('/')) byName[k.replace(/^.*\//, '')] = v;
          } else byName[f.name] = bytes;
        }
        const where = files.length === 1 ? files[0].name : `${files.length} files`;
        const [{ packJointCheckpoint, unpackJointCheckpoint }, { readCheckpointFiles }, ds] = await Promise.all([import('../src/core/io/jointBundle.ts'), import('../src/core/io/referenceLayout.ts'), ctx.dataset(datasetId)]);
        // the studio's bundle, or the reference's run folder (newest <epoch>.pt, its YAML mapped onto our config)
        const b = readCheckpointFiles(byName, { fileName: where, modified });
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
        // store only what resuming / exporting will accept: the same schema and checksum checks now
        unpackJointCheckpoint(packed, `${where}.checkpoint`);
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
}
