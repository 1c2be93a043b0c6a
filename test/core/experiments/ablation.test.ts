import { describe, expect, it } from 'vitest';
import { ablationCsv, ablationPlan, meanSd, ablationOrdering, summarizeAblation, type AblationRunResult } from '../../../src/core/experiments/ablation.ts';
import { readCsv } from '../../../src/core/io/csv.ts';
import { resolveSweep, sweepSeeds } from '../../../src/core/stages/experiments.ts';
import { JOINT_PRESETS, applyJointSettings, jointTrainConfig, validateJointConfig } from '../../../src/core/train/jointSchedule.ts';

const run = (variant: AblationRunResult['variant'], seed: number, ndcg10: number, gap?: number): AblationRunResult => ({
  variant,
  seed,
  test: { 'recall@5': ndcg10 * 2, 'recall@10': ndcg10 * 3, 'ndcg@5': ndcg10 / 2, 'ndcg@10': ndcg10 },
  diagnostics: { users: 10, k: 10, distinctTop1: seed - 2000, distinctTopK: 5, coverageAtK: 0.5, modalTopKShare: 0.1, popularityOverlapAtK: 0.2, invalidRate: 0.01, ...(gap === undefined ? {} : { shuffle: { split: 'test', users: 10, seed, ceReal: 3, ceShuffled: 3 + gap, gap, perLevelReal: [], perLevelShuffled: [] } }) },
});

describe('ablation sweep', () => {
  it('plans variants × seeds, seed by seed', () => {
    expect(ablationPlan(['full', 'no_sia'], sweepSeeds({ variants: ['full'], seeds: 2, first_seed: 2020 })).map((r) => r.key)).toEqual(['full-seed2020', 'no_sia-seed2020', 'full-seed2021', 'no_sia-seed2021']);
    expect(() => ablationPlan(['full', 'nope' as 'full'], [1])).toThrow(/unknown ablation variant/);
    expect(() => ablationPlan(['full'], [1, 1])).toThrow(/seeds repeat/);
  });

  it('mean ± sample sd', () => {
    const s = meanSd([1, 2, 3, 4]);
    expect(s.mean).toBe(2.5);
    expect(s.sd).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(meanSd([7])).toEqual({ mean: 7, sd: 0, n: 1 });
  });

  it('summarises per variant and compares with full over the shared seeds (by hand)', () => {
    const results = [run('full', 2020, 0.05, 0.2), run('full', 2021, 0.06, 0.4), run('no_sia', 2020, 0.04), run('no_sia', 2021, 0.07), run('no_alternation', 2020, 0.01)];
    const s = summarizeAblation(results, ['full', 'no_sia', 'no_alternation']);
    const full = s.variants[0];
    expect(full.metrics['ndcg@10'].mean).toBeCloseTo(0.055, 12);
    expect(full.metrics['ndcg@10'].sd).toBeCloseTo(Math.sqrt(2 * 0.005 ** 2), 12);
    expect(full.diagnostics.shuffleGap.mean).toBeCloseTo(0.3, 12);
    expect(full.diagnostics.distinctTop1.mean).toBe(20.5);
    expect(full.vsFull).toBeUndefined();
    const noSia = s.variants[1];
    // differences −0.01 and +0.01: mean 0, sd √(2·0.01²), full ahead on one seed of two
    expect(noSia.vsFull?.['ndcg@10'].mean).toBeCloseTo(0, 12);
    expect(noSia.vsFull?.['ndcg@10'].sd).toBeCloseTo(Math.sqrt(2e-4), 12);
    expect(noSia.vsFull?.['ndcg@10'].fullAhead).toBe(1);
    expect(noSia.diagnostics.shuffleGap.n).toBe(0);
    const noAt = s.variants[2];
    expect(noAt.vsFull?.['ndcg@10']).toMatchObject({ n: 1, fullAhead: 1 });
    expect(noAt.vsFull?.['ndcg@10'].mean).toBeCloseTo(-0.04, 12);
    expect(s.ranking).toEqual(['no_sia', 'full', 'no_alternation']);
    // full and w/o SIA tie at 4 decimals (0.0550): full is not ahead
    expect(ablationOrdering(s)).toEqual({ text: 'w/o L_SIA = ETEGRec (full) > w/o AT', fullBest: false, noAlternationWorst: true });
    const rows = readCsv(ablationCsv(s)).filter((r) => r.length > 1);
    expect(rows[0].slice(0, 5)).toEqual(['variant', 'label', 'seeds', 'recall@5_mean', 'recall@5_sd']);
    const col = (name: string) => rows[0].indexOf(name);
    expect(rows[1][0]).toBe('full');
    expect(Number(rows[1][col('ndcg@10_mean')])).toBeCloseTo(0.055, 6);
    expect(rows[3][col('ndcg@10_full_ahead')]).toBe('1/1');
  });
});

describe('sweep declaration', () => {
  it('every joint preset is a sweep preset: Table 4 rows × 3 seeds from 2020', () => {
    for (const p of ['quick', 'converge', 'paper']) {
      const r = resolveSweep(p);
      expect(r.ok && r.config).toEqual({ variants: ['full', 'no_sia', 'no_psa', 'no_both', 'no_alternation', 'no_end_to_end'], seeds: 3, first_seed: 2020 });
    }
    expect(resolveSweep('nope')).toMatchObject({ ok: false, errors: [{ field: 'preset' }] });
  });

  it('takes text or typed values, keeps the paper order, and names the refused field', () => {
    const r = resolveSweep('quick', { variants: 'no_alternation, full', seeds: '2', first_seed: 7 });
    expect(r.ok && r.config).toEqual({ variants: ['full', 'no_alternation'], seeds: 2, first_seed: 7 });
    expect(r.ok && sweepSeeds(r.config)).toEqual([7, 8]);
    const bad = (o: Record<string, unknown>) => { const x = resolveSweep('quick', o); return x.ok ? [] : x.errors.map((e) => e.field); };
    expect(bad({ variants: '' })).toEqual(['variants']);
    expect(bad({ variants: 'full,full' })).toEqual(['variants']);
    expect(bad({ variants: ['full', 'tiger'] })).toEqual(['variants']);
    for (const seeds of ['0', '51', '2.5', 'NaN', 'Infinity', 'abc']) expect(bad({ seeds })).toEqual(['seeds']);
    for (const first_seed of ['-1', '1e99', 'x']) expect(bad({ first_seed })).toEqual(['first_seed']);
    // the last seed must still be a joint seed
    expect(bad({ first_seed: 4294967295, seeds: 2 })).toEqual(['first_seed']);
    expect(bad({ seed: 3 })).toEqual(['seed']);
  });
});

describe('config settings (key=value)', () => {
  it('sets numbers, booleans and words by their dotted names, typed', () => {
    const c = applyJointSettings(jointTrainConfig('quick'), ['lr_rec=7e-4', 't5.dropout_rate=0.2', 'finetune.freeze_semantic=false', 'sia_sign=minus']);
    expect(c.lr_rec).toBe(7e-4);
    expect(c.t5.dropout_rate).toBe(0.2);
    expect(c.finetune.freeze_semantic).toBe(false);
    expect(c.sia_sign).toBe('minus');
    expect(jointTrainConfig('quick').lr_rec).toBe(JOINT_PRESETS.quick.values.lr_rec); // the preset is untouched
  });

  it('refuses unknown keys, wrong types and non-finite numbers with the key named', () => {
    const q = jointTrainConfig('quick');
    expect(() => applyJointSettings(q, ['lr_recc=1'])).toThrow(/unknown setting "lr_recc"/);
    expect(() => applyJointSettings(q, ['lr_rec=abc'])).toThrow(/lr_rec must be a finite number/);
    expect(() => applyJointSettings(q, ['lr_rec=Infinity'])).toThrow(/finite/);
    expect(() => applyJointSettings(q, ['constrained=yes'])).toThrow(/constrained must be true or false/);
    expect(() => applyJointSettings(q, ['sia_sign=up'])).toThrow(/sia_sign must be one of plus, minus/);
    expect(() => applyJointSettings(q, ['t5=3'])).toThrow(/group/);
    expect(() => applyJointSettings(q, ['lr_rec'])).toThrow(/key=value/);
  });

  it('validation catches NaN anywhere in the config', () => {
    const c = jointTrainConfig('quick');
    c.finetune.lr = NaN;
    expect(validateJointConfig(c).join()).toMatch(/finetune\.lr must be a finite number/);
  });
});
