import { describe, expect, it } from 'vitest';
import { buildMetricsCsv, buildMetricsJson, curveMetrics, diagnosticMetrics, filterRuns, nearestStagePreset, parseCsv, provenanceText, RUN_STAGE_LABELS, runWarnings, sortRuns, stageConfigDiff, type RunRow } from '../../src/core/runs/runTable.ts';
import { fieldValue, provenanceOf, type StageDecl } from '../../src/core/stages/fields.ts';
import { EMBEDDINGS_STAGE } from '../../src/core/stages/embeddings.ts';
import { GRPO_STAGE } from '../../src/core/stages/grpo.ts';
import { JOINT_STAGE } from '../../src/core/stages/joint.ts';
import { tokenizerStage } from '../../src/core/stages/tokenizer.ts';

function row(p: Partial<RunRow>): RunRow {
  return {
    stage: 'joint', id: 'r', name: 'run', datasetId: 'd1', datasetName: 'toy', createdAt: 0, status: 'finished', backend: 'wasm', adapter: null,
    seed: null, durationSeconds: null, headline: null, preset: 'quick', presetInferred: false, config: null, configDiff: [], metrics: {}, curves: [], ...p,
  };
}

describe('run table', () => {
  it('diffs a run config against its stage declaration: exactly the changed fields, by field key, with provenance', () => {
    const cases: [StageDecl<object>, string, Record<string, unknown>, Record<string, unknown>][] = [
      [EMBEDDINGS_STAGE as StageDecl<object>, 'quick', { epochs: 3, learning_rate: 5e-3 }, {}],
      [tokenizerStage(8) as StageDecl<object>, 'quick', { epochs: 4, layers: [16] }, {}],
      [tokenizerStage(1024) as StageDecl<object>, 'paper', { batch_size: 512, num_emb_list: [64, 64, 64] }, {}],
      [JOINT_STAGE as StageDecl<object>, 'quick', { epochs: 5 }, { t5: { ...JOINT_STAGE.presets.quick.values.t5, d_model: 16 } }],
      [JOINT_STAGE as StageDecl<object>, 'converge', { lr_rec: 2e-3 }, { finetune: { ...JOINT_STAGE.presets.converge.values.finetune, epochs: 3 } }],
      [GRPO_STAGE as StageDecl<object>, 'paper', { group_size: 8, valid_limit: 100 }, {}],
    ];
    for (const [decl, preset, flat, nested] of cases) {
      const base = decl.presets[preset].values as Record<string, unknown>;
      const config = structuredClone({ ...base, ...flat, ...nested });
      const d = stageConfigDiff(decl, preset, config)!;
      const nestedKeys = Object.entries(nested).flatMap(([k, v]) => Object.keys(v as object).filter((m) => (v as Record<string, unknown>)[m] !== (base[k] as Record<string, unknown>)[m]).map((m) => `${k}.${m}`));
      const expected = [...Object.keys(flat), ...nestedKeys];
      expect(d.map((e) => e.key).sort(), `${decl.stage} ${preset}`).toEqual(expected.sort());
      expect(d).toHaveLength(2);
      for (const e of d) {
        expect(e.presetValue).toEqual(fieldValue(decl.fields.find((f) => f.key === e.key)!, base));
        expect(e.value).toEqual(fieldValue(decl.fields.find((f) => f.key === e.key)!, config));
        expect(e.provenance, `${decl.stage} ${e.key}`).toBe(provenanceText(provenanceOf(decl.presets[preset], e.key)));
        expect(e.provenance.length).toBeGreaterThan(0);
      }
      expect(stageConfigDiff(decl, preset, structuredClone(base))).toEqual([]);
    }
    // the provenance of a nested key falls back to its group, then to the preset's 'other'
    const joint = stageConfigDiff(JOINT_STAGE as StageDecl<object>, 'quick', { ...JOINT_STAGE.presets.quick.values, t5: { ...JOINT_STAGE.presets.quick.values.t5, d_ff: 128 }, alpha: 2 })!;
    expect(joint.map((e) => e.key)).toEqual(['t5.d_ff', 'alpha']);
    expect(joint[0].provenance).toMatch(/^\[ours\] d_model 64, 2\+2 layers/);
    expect(joint[1].provenance).toBe('[official] every other value as the paper preset');
    // fields the stored config lacks are no rows; an unknown preset gives null
    expect(stageConfigDiff(GRPO_STAGE as StageDecl<object>, 'quick', {})).toEqual([]);
    expect(stageConfigDiff(GRPO_STAGE as StageDecl<object>, 'huge', {})).toBeNull();
    expect(provenanceText({ sources: ['official', 'fork'], note: 'x' })).toBe('[official, fork] x');
    // the nearest preset where the run does not store its name
    const sas = { ...EMBEDDINGS_STAGE.presets.paper.values, epochs: 7 };
    expect(nearestStagePreset(EMBEDDINGS_STAGE as StageDecl<object>, sas)).toMatchObject({ name: 'paper', diff: [{ key: 'epochs', value: 7, presetValue: 50 }] });
  });

  it('filters by stage, dataset and text; sorts by any column with missing values last', () => {
    const rows = [
      row({ id: 'a', name: 'Alpha', stage: 'rqvae', createdAt: 3, headline: { name: 'collision rate', value: 0.2 }, seed: 1 }),
      row({ id: 'b', name: 'beta', stage: 'joint', datasetId: 'd2', datasetName: 'big', createdAt: 1, headline: { name: 'ndcg', value: 0.1 } }),
      row({ id: 'c', name: 'gamma', stage: 'joint', createdAt: 2, seed: 5 }),
    ];
    const withData = [...rows, row({ id: 'd', name: 'toy', stage: 'data', status: 'prepared', adapter: null, headline: { name: 'interactions', value: 500 } }),
      row({ id: 't', name: 'toy_text', stage: 'text', adapter: 'google/swiftshader' })];
    expect(filterRuns(withData, { stage: 'data' }).map((r) => r.id)).toEqual(['d']);
    expect(filterRuns(withData, { stage: 'text' }).map((r) => r.id)).toEqual(['t']);
    expect(filterRuns(withData, { text: 'swiftshader' }).map((r) => r.id)).toEqual(['t']);
    expect(sortRuns(withData, 'metric', 'desc').map((r) => r.id).slice(0, 1)).toEqual(['d']);
    expect(RUN_STAGE_LABELS.data).toBe('Data preparation');
    expect(RUN_STAGE_LABELS.text).toBe('Text embeddings');
    expect(filterRuns(rows, { stage: 'joint' }).map((r) => r.id)).toEqual(['b', 'c']);
    expect(filterRuns(rows, { datasetId: 'd2' }).map((r) => r.id)).toEqual(['b']);
    expect(filterRuns(rows, { text: 'ALP' }).map((r) => r.id)).toEqual(['a']);
    expect(filterRuns(rows, { text: 'big' }).map((r) => r.id)).toEqual(['b']);
    expect(sortRuns(rows, 'created').map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(sortRuns(rows, 'created', 'desc').map((r) => r.id)).toEqual(['a', 'c', 'b']);
    expect(sortRuns(rows, 'metric', 'desc').map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(sortRuns(rows, 'seed', 'asc').map((r) => r.id)).toEqual(['a', 'c', 'b']);
    expect(sortRuns(rows, 'name').map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('builds a long-form CSV (quoted cells) that parses back, and a JSON export', () => {
    const rows = [
      row({ id: 'x', name: 'with, "comma"', metrics: { 'test_ndcg@10': 0.25 }, curves: [{ epoch: 1, loss: 2, 'valid_ndcg@10': 0.1 }], seed: 4 }),
      row({ id: 'y', stage: 'rqvae', adapter: 'google/swiftshader', metrics: { collision_rate: 0.05 } }),
    ];
    const csv = buildMetricsCsv(rows);
    const parsed = parseCsv(csv);
    expect(parsed[0]).toEqual(['stage', 'run_id', 'run_name', 'dataset', 'created', 'status', 'backend', 'adapter', 'seed', 'preset', 'kind', 'epoch', 'metric', 'value']);
    expect(parsed).toHaveLength(5);
    expect(parsed[1][2]).toBe('with, "comma"');
    expect(parsed[1][7]).toBe('');
    expect(parsed[4][7]).toBe('google/swiftshader');
    expect(parsed[1].slice(10)).toEqual(['final', '', 'test_ndcg@10', '0.25']);
    expect(parsed[2].slice(10)).toEqual(['curve', '1', 'loss', '2']);
    expect(parsed[4].slice(12)).toEqual(['collision_rate', '0.05']);
    const json = JSON.parse(buildMetricsJson(rows, 0));
    expect(json.runs).toHaveLength(2);
    expect(json.exportedAt).toBe('1970-01-01T00:00:00.000Z');
    expect(curveMetrics(rows)).toEqual(['valid_ndcg@10', 'loss']);
  });

  it('flattens diagnostics into named metrics (shuffle test only when present) and warns on a collapsed test model', () => {
    const d = { users: 100, k: 10, distinctTop1: 1, distinctTopK: 3, coverageAtK: 0.012, modalTopKShare: 0.9, popularityOverlapAtK: 0.8, invalidRate: 0.05 };
    expect(diagnosticMetrics('test_', d)).toEqual({
      test_distinct_top1: 1, test_distinct_top10: 3, 'test_coverage@10': 0.012, test_modal_top10_share: 0.9, 'test_popularity_overlap@10': 0.8, test_invalid_rate: 0.05,
    });
    const shuffle = { split: 'test' as const, users: 100, seed: 2020, ceReal: 3.1226, ceShuffled: 3.1229, gap: 0.0003, perLevelReal: [], perLevelShuffled: [] };
    const withShuffle = diagnosticMetrics('valid_after_', { ...d, k: 4, shuffle });
    expect(withShuffle).toMatchObject({ valid_after_shuffle_gap: 0.0003, valid_after_ce_real: 3.1226, valid_after_ce_shuffled: 3.1229, valid_after_diagnostics_k: 4 });
    expect(diagnosticMetrics('test_', undefined)).toEqual({});
    // Older records have no diagnostics: no warning; a collapsed model gets both reasons.
    expect(runWarnings({})).toEqual([]);
    expect(runWarnings(null)).toEqual([]);
    const reasons = runWarnings({ diagnostics: { ...d, shuffle } });
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toContain('90.0 % of users');
    expect(runWarnings({ diagnostics: { ...d, modalTopKShare: 0.1, shuffle: { ...shuffle, gap: 0.4 } } })).toEqual([]);
    // The CSV carries them like any final metric.
    const csv = parseCsv(buildMetricsCsv([row({ metrics: diagnosticMetrics('test_', d) })]));
    expect(csv.slice(1).map((l) => l[12])).toEqual(['test_distinct_top1', 'test_distinct_top10', 'test_coverage@10', 'test_modal_top10_share', 'test_popularity_overlap@10', 'test_invalid_rate']);
  });
});
