/**
 * The joint stage's recommendations view: for one user (or sample) of the valid or test split, the
 * history, the target and the beam-search top-10 of the run's final model, beside the dataset's
 * popularity top-10. The last model used stays loaded (per run and stored version); samples and
 * popularity are cached per dataset.
 */
import type { PreparedDataset } from '../src/core/data/types.ts';
import { StudioError } from '../src/core/errors.ts';
import { popularityTopK } from '../src/core/eval/diagnostics.ts';
import type { EtegrecRecommender } from '../src/core/models/recommender.ts';
import { jointSamples, trainCountsFromSamples } from '../src/core/train/jointData.ts';
import { finalWeights, type JointCheckpoint, type JointSamples } from '../src/core/train/jointTypes.ts';
import { getJointRun, loadJointCheckpointBytes, type StoredJointRun } from '../src/storage/index.ts';
import { asResult, type StageContext } from './jobs.ts';
import type { JointWorkerApi, RecItem, RecommendationQuery, Recommendations } from './jointApi.ts';

export interface JointRecommendations {
  recommendations: JointWorkerApi['recommendations'];
  /** Drops the loaded model of a run (its stored weights changed, or it is being deleted). */
  forget(runId: string): void;
}

export function createJointRecommendations(ctx: StageContext): JointRecommendations {
  /** The last model used for recommendations (per run and stored version). */
  let recCache: { key: string; model: EtegrecRecommender; checkpoint: JointCheckpoint } | null = null;
  const samplesCache = new Map<string, JointSamples>();
  const popularCache = new Map<string, { ids: number[]; counts: Int32Array }>();

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

  return {
    forget(runId) {
      if (recCache?.key.startsWith(`${runId}@`)) { recCache.model.dispose(); recCache = null; }
    },

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
  };
}
