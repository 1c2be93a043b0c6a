/**
 * The UI's pure parts around diagnostics and experiments: the results-table cells and collapse
 * reasons, live joint points completed from the stored epochs, the input choice the joint and
 * Experiments forms share, a sweep's finished runs summarised per variant with its cells, and the
 * Experiments store's form logic.
 */
import { describe, expect, it } from 'vitest';
import { collapseOf, DIAGNOSTIC_COLUMNS, diagnosticsLine, pct, shuffleDetail } from '../../src/app/diagnostics.ts';
import { experimentOverrides, experimentResults, experimentSummary, fmtMeanSd, fmtPaired } from '../../src/app/experiments.ts';
import { ablationOrdering as orderingOf } from '../../src/core/experiments/ablation.ts';
import { useExperimentsStore } from '../../src/app/stores/experiments.ts';
import { chooseInputs, pointsFromHistory, withMetricEvents, withStoredPoints, type JointPoint } from '../../src/app/stores/joint.ts';
import type { Diagnostics } from '../../src/core/eval/diagnostics.ts';
import { JOINT_PRESETS, jointTrainConfig, ABLATIONS } from '../../src/core/train/jointSchedule.ts';
import type { ExperimentRunView, ExperimentSummary } from '../../workers/experimentsApi.ts';
import type { JointEpochRecord, JointInputs, JointPresetInfo } from '../../workers/jointApi.ts';

const collapsed: Diagnostics = {
  users: 1429, k: 10, distinctTop1: 1, distinctTopK: 3, coverageAtK: 0.0111, modalTopKShare: 0.93, popularityOverlapAtK: 0.7, invalidRate: 0.02,
  shuffle: { split: 'test', users: 1429, seed: 2020, ceReal: 3.1226, ceShuffled: 3.1229, gap: 0.0003, perLevelReal: [1.5, 1.2, 0.4, 0.02], perLevelShuffled: [1.5, 1.2, 0.4, 0.02] },
};
const personal: Diagnostics = { ...collapsed, distinctTop1: 412, distinctTopK: 1390, coverageAtK: 0.81, modalTopKShare: 0.002, shuffle: { ...collapsed.shuffle!, ceShuffled: 3.6, gap: 0.48 } };

describe('results with diagnostics', () => {
  it('reads the diagnostics cells and flags only the collapsed model (not older results without them)', () => {
    const cells = Object.fromEntries(DIAGNOSTIC_COLUMNS.map((c) => [c.key, c.value(collapsed)]));
    expect(cells).toEqual({ distinct_top1: '1 / 1429', distinct_topk: '3', coverage: '1.1 %', modal: '93.0 %', popularity: '70.0 %', shuffle: '0.0003 nats' });
    // Only the cells past a collapse threshold are marked.
    expect(DIAGNOSTIC_COLUMNS.filter((c) => c.bad?.(collapsed)).map((c) => c.key)).toEqual(['modal', 'shuffle']);
    expect(DIAGNOSTIC_COLUMNS.filter((c) => c.bad?.(personal)).map((c) => c.key)).toEqual([]);
    expect(DIAGNOSTIC_COLUMNS.filter((c) => c.bad?.({ ...collapsed, modalTopKShare: 0.5 })).map((c) => c.key)).toEqual(['shuffle']);
    expect(DIAGNOSTIC_COLUMNS.find((c) => c.key === 'shuffle')!.value({ ...collapsed, shuffle: undefined })).toBe('—');
    const result = { metrics: { 'ndcg@10': 0.042 }, invalidRate: 0.02, count: 1429 };
    expect(collapseOf({ ...result, diagnostics: collapsed })).toHaveLength(2);
    expect(collapseOf({ ...result, diagnostics: personal })).toEqual([]);
    expect(collapseOf(result)).toEqual([]);
    expect(collapseOf(null)).toEqual([]);
    expect(shuffleDetail(collapsed)).toBe('CE 3.1226 real → 3.1229 shuffled (1429 test users, seed 2020); per level 1.50→1.50, 1.20→1.20, 0.40→0.40, 0.02→0.02');
    expect(shuffleDetail(undefined)).toBe('');
    expect(diagnosticsLine(collapsed)).toBe('1 distinct top-1 item(s) · the same top-10 to 93 % of users · shuffle gap 0.0003 nats');
    expect(pct(undefined)).toBe('—');
    expect(pct(0.12345, 2)).toBe('12.35 %');
  });
});

describe('joint page helpers', () => {
  const record = (over: Partial<JointEpochRecord>): JointEpochRecord => ({ stage: 'alternating', epoch: 0, phase: 'recommender', loss: { total: 2 }, lrRecommender: 1e-3, lrTokenizer: 1e-4, seconds: 1, ...over } as JointEpochRecord);

  it('completes live points with the validation diagnostics of the stored epochs', () => {
    const stored = pointsFromHistory([
      record({}),
      record({ epoch: 1, valid: { metrics: { 'ndcg@10': 0.05 }, invalidRate: 0.1, count: 16, generated: 64, diagnostics: collapsed } }),
    ]);
    expect(stored[1]).toMatchObject({
      'valid/ndcg@10': 0.05, 'valid/invalid_rate': 0.1, 'valid/distinct_top1': 1, 'valid/distinct_top10': 3, 'valid/modal_top10_share': 0.93,
      'valid/coverage@10': 0.0111, 'valid/popularity_overlap@10': 0.7, 'valid/shuffle_gap': 0.0003,
    });
    expect(stored[0]).not.toHaveProperty('valid/shuffle_gap');
    const live: JointPoint[] = [{ x: 1, 'loss/recommender/total': 2.5 }, { x: 2, 'valid/ndcg@10': 0.06 }, { x: 3, 'loss/recommender/total': 1.9 }];
    const merged = withStoredPoints(live, stored);
    expect(merged.map((p) => p.x)).toEqual([1, 2, 3]);
    // The live value wins; the stored epoch fills in what the events lack.
    expect(merged[1]['valid/ndcg@10']).toBe(0.06);
    expect(merged[1]['valid/distinct_top1']).toBe(1);
    expect(merged[0]['loss/recommender/total']).toBe(2.5);
    expect(merged[2]).toEqual({ x: 3, 'loss/recommender/total': 1.9 });
    expect(withStoredPoints(live, [])).toBe(live);
    // Live events land on the stored epochs' x (step = finished epochs including this one).
    const fromEvents = withMetricEvents([], [
      { type: 'metric', stage: 'joint', name: 'loss/recommender/total', step: 1, value: 2 },
      { type: 'log', stage: 'joint', level: 'info', message: 'x' },
      { type: 'metric', stage: 'joint', name: 'valid/ndcg@10', step: 2, value: 0.05 },
      { type: 'metric', stage: 'joint', name: 'loss/recommender/total', step: 2, value: 1.5 },
    ]);
    expect(fromEvents).toEqual([{ x: 1, 'loss/recommender/total': 2 }, { x: 2, 'valid/ndcg@10': 0.05, 'loss/recommender/total': 1.5 }]);
    expect(withStoredPoints(fromEvents, stored).map((p) => p.x)).toEqual([1, 2]);
    expect(withStoredPoints([], stored)).toHaveLength(2);
  });

  it('chooses a table and a tokenizer of its width, the one trained on it first', () => {
    const inputs: JointInputs = {
      embeddings: [{ id: 'e32', name: 'a', rows: 9, cols: 32, kind: 'collab' }, { id: 'e8', name: 'b', rows: 9, cols: 8, kind: 'text' }],
      tokenizers: [
        { id: 't8', name: 't8', inDim: 8, numEmbList: [4, 4, 4], embeddingId: 'e8', collisionRate: 0 },
        { id: 't32other', name: 'x', inDim: 32, numEmbList: [4, 4, 4], embeddingId: 'elsewhere', collisionRate: 0 },
        { id: 't32', name: 'y', inDim: 32, numEmbList: [4, 4, 4], embeddingId: 'e32', collisionRate: 0 },
      ],
    };
    expect(chooseInputs(inputs, '', '')).toMatchObject({ emb: { id: 'e32' }, tok: { id: 't32' } });
    expect(chooseInputs(inputs, '', '').fitting.map((t) => t.id)).toEqual(['t32other', 't32']);
    expect(chooseInputs(inputs, 'e32', 't32other').tok?.id).toBe('t32other');
    // A tokenizer of the wrong width is never kept.
    expect(chooseInputs(inputs, 'e8', 't32').tok?.id).toBe('t8');
    expect(chooseInputs({ embeddings: [], tokenizers: [] }, '', '')).toMatchObject({ emb: undefined, tok: undefined });
  });

  it('preselects the tokenizer with the lowest collision rate of those trained on the table, not the newest', () => {
    const t = (id: string, embeddingId: string, collisionRate: number) => ({ id, name: id, inDim: 32, numEmbList: [4, 4, 4], embeddingId, collisionRate });
    const inputs: JointInputs = {
      embeddings: [{ id: 'e32', name: 'a', rows: 9, cols: 32, kind: 'collab' }],
      tokenizers: [t('newest', 'e32', 0.24), t('other-table', 'x', 0.001), t('good', 'e32', 0.02), t('older', 'e32', 0.05)],
    };
    expect(chooseInputs(inputs, '', '').tok?.id).toBe('good');
    // none trained on this table: the lowest of all that fit
    expect(chooseInputs({ ...inputs, tokenizers: [t('a', 'x', 0.3), t('b', 'y', 0.1)] }, '', '').tok?.id).toBe('b');
    // a choice the user made is kept
    expect(chooseInputs(inputs, 'e32', 'newest').tok?.id).toBe('newest');
  });

  it("leaves out of a sweep's overrides what the sweep sets per run (variant, its switches, seed)", () => {
    const o = experimentOverrides({ epochs: '2', 'finetune.epochs': '1', 't5.d_model': '16', ablation: 'no_sia', 'ablation.sia': 'false', seed: '5', constrained: 'true' });
    expect(o).toEqual({ epochs: '2', 'finetune.epochs': '1', 't5.d_model': '16', constrained: 'true' });
  });
});

function run(variant: 'full' | 'no_sia' | 'no_alternation', seed: number, ndcg: number | null, over: Partial<ExperimentRunView> = {}): ExperimentRunView {
  return {
    key: `${variant}-seed${seed}`, variant, seed, runId: ndcg === null ? null : `r-${variant}-${seed}`, runName: null,
    status: ndcg === null ? 'pending' : 'finished', active: false, epochs: ndcg === null ? 0 : 3, seconds: ndcg === null ? null : 10,
    test: ndcg === null ? null : { metrics: { 'recall@5': ndcg * 1.5, 'recall@10': ndcg * 2, 'ndcg@5': ndcg * 0.8, 'ndcg@10': ndcg }, invalidRate: 0.01, count: 100, generated: 1000, diagnostics: { ...personal, distinctTop1: Math.round(ndcg * 1000) } },
    ...over,
  };
}

describe('experiments view', () => {
  it('summarises the finished runs per variant with the paired comparison to full; unfinished runs do not count', () => {
    const exp: Pick<ExperimentSummary, 'runs' | 'variants'> = {
      variants: ['full', 'no_sia', 'no_alternation'],
      runs: [
        run('full', 2020, 0.05), run('no_sia', 2020, 0.045), run('no_alternation', 2020, 0.03),
        run('full', 2021, 0.052), run('no_sia', 2021, 0.049), run('no_alternation', 2021, null),
        run('no_alternation', 2022, 0.5, { status: 'cancelled' }),
      ],
    };
    const results = experimentResults(exp);
    expect(results.map((r) => `${r.variant}:${r.seed}`)).toEqual(['full:2020', 'no_sia:2020', 'no_alternation:2020', 'full:2021', 'no_sia:2021']);
    expect(results[0].diagnostics?.distinctTop1).toBe(50);
    const s = experimentSummary(exp);
    expect(s.variants.map((v) => [v.variant, v.seeds])).toEqual([['full', [2020, 2021]], ['no_sia', [2020, 2021]], ['no_alternation', [2020]]]);
    expect(s.ranking).toEqual(['full', 'no_sia', 'no_alternation']);
    const full = s.variants[0];
    expect(fmtMeanSd(full.metrics['ndcg@10'])).toBe('0.0510 ± 0.0014');
    const noSia = s.variants[1];
    // no_sia − full: −0.005 and −0.003 → mean −0.004, sd 0.0014; full ahead on both seeds.
    expect(fmtPaired(noSia.vsFull?.['ndcg@10'])).toBe('−0.0040 ± 0.0014 (full ahead 2/2)');
    expect(fmtMeanSd(s.variants[2].metrics['ndcg@10'])).toBe('0.0300');
    expect(fmtPaired(s.variants[2].vsFull?.['ndcg@10'])).toBe('−0.0200 (full ahead 1/1)');
    expect(orderingOf(s)).toEqual({ text: 'ETEGRec (full) > w/o L_SIA > w/o AT', fullBest: true, noAlternationWorst: true });
    expect(fmtMeanSd(undefined)).toBe('—');
    expect(fmtPaired(undefined)).toBe('—');
    expect(experimentSummary({ variants: ['full'], runs: [run('full', 1, null)] }).variants).toEqual([]);
    // A tie is no ordering: full is not "ahead" of a variant with the same mean.
    const tie = experimentSummary({ variants: ['full', 'no_sia'], runs: [run('full', 1, 0.05), run('no_sia', 1, 0.05)] });
    expect(orderingOf(tie)).toEqual({ text: 'ETEGRec (full) = w/o L_SIA', fullBest: false, noAlternationWorst: null });
    expect(fmtPaired(tie.variants[1].vsFull?.['ndcg@10'])).toBe('0.0000 (full ahead 0/1)');
    expect(orderingOf(experimentSummary({ variants: ['full'], runs: [run('full', 1, 0.05)] }))).toMatchObject({ fullBest: null, noAlternationWorst: null });
  });

  it('store: fills the form from a preset without ablation/seed, keeps variants in the paper order, and refuses a bad seed count (the sweep declaration) before any call', async () => {
    const presets: JointPresetInfo[] = (['quick', 'converge', 'paper'] as const).map((name) => ({
      name, description: name, config: jointTrainConfig(name), provenance: JOINT_PRESETS[name].provenance, ablations: ABLATIONS,
    }));
    const st = useExperimentsStore.getState();
    st.initForm(presets);
    // the sweep declaration's default preset (the Table 4 in the docs)
    expect(useExperimentsStore.getState().preset).toBe('converge');
    st.setPreset('quick', presets);
    expect(useExperimentsStore.getState().values.epochs).toBe(String(JOINT_PRESETS.quick.values.epochs));
    st.setValue('epochs', '1');
    st.initForm(presets);
    expect(useExperimentsStore.getState().values.epochs).toBe('1');
    st.setPreset('paper', presets);
    expect(useExperimentsStore.getState().values.lr_rec).toBe(String(JOINT_PRESETS.paper.values.lr_rec));
    st.toggleVariant('full');
    st.toggleVariant('no_psa');
    expect(useExperimentsStore.getState().sweep.variants).toBe('no_sia,no_both,no_alternation,no_end_to_end');
    st.toggleVariant('full');
    expect(useExperimentsStore.getState().sweep.variants.split(',')[0]).toBe('full');
    st.setSweepValue('seeds', 'many');
    await st.start('ds', 'e', 't', '');
    expect(useExperimentsStore.getState().job.error?.field).toBe('seeds');
    expect(useExperimentsStore.getState().job.running).toBe(false);
  });
});
