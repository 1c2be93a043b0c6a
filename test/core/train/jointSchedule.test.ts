import { describe, expect, it } from 'vitest';
import {
  ABLATIONS,
  EarlyStopper,
  JOINT_PRESETS,
  epochPhase,
  epochPlan,
  finetuneEpochPlan,
  jointTrainConfig,
  lossWeights,
  shouldEvaluate,
  tokenizerScheduleDivisor,
  validateJointConfig,
  type AblationName,
  type LossWeights,
} from '../../../src/core/train/jointSchedule.ts';

const cfg = jointTrainConfig('paper');

describe('alternating schedule (§5.6), cycle 2, warm_epoch 10', () => {
  it('phases, weights, trainable modules and modes for epochs 0..12', () => {
    for (let e = 0; e <= 12; e++) {
      const p = epochPlan(cfg, e);
      const warm = e >= 10;
      if (e % 2 === 0) {
        expect(p.phase).toBe('tokenizer');
        expect(p.weights).toEqual({ vq: 1, code: 0, kl: warm ? 1e-4 : 0, decCl: warm ? 3e-4 : 0 });
        expect([p.trainTokenizer, p.trainRecommender]).toEqual([true, false]);
        expect([p.tokenizerMode, p.recommenderMode]).toEqual(['train', 'eval']);
        expect([p.stepTokenizerScheduler, p.stepRecommenderScheduler]).toEqual([true, false]);
        expect(p.recomputeCodesAfter).toBe(true);
        expect(p.computeVq).toBe(true);
      } else {
        expect(p.phase).toBe('recommender');
        expect(p.weights).toEqual({ vq: 0, code: 1, kl: warm ? 1e-4 : 0, decCl: warm ? 3e-4 : 0 });
        expect([p.trainTokenizer, p.trainRecommender]).toEqual([false, true]);
        expect([p.tokenizerMode, p.recommenderMode]).toEqual(['eval', 'train']);
        expect([p.stepTokenizerScheduler, p.stepRecommenderScheduler]).toEqual([false, true]);
        expect(p.recomputeCodesAfter).toBe(false);
        expect(p.computeVq).toBe(false);
      }
      expect(p.freezeSemantic).toBe(true);
      expect(p.alignmentWarm).toBe(warm);
      expect(p.evaluateAfter).toBe(e % 2 === 1);
    }
    expect([9, 10, 11].map((e) => lossWeights(cfg, e).kl)).toEqual([0, 1e-4, 1e-4]);
  });

  it('evaluation after epochs 1, 3, 5, … ((epoch + 1) % eval_step == 0)', () => {
    const evals = Array.from({ length: 12 }, (_, e) => e).filter((e) => shouldEvaluate(e, 2));
    expect(evals).toEqual([1, 3, 5, 7, 9, 11]);
    expect([0, 1, 2].map((e) => shouldEvaluate(e, 1))).toEqual([true, true, true]);
  });

  it('cycle 4: epoch 0, 4, 8 tokenizer, the rest recommender', () => {
    const c4 = jointTrainConfig('paper', { cycle: 4 });
    expect(Array.from({ length: 9 }, (_, e) => epochPhase(c4, e))).toEqual([
      'tokenizer', 'recommender', 'recommender', 'recommender', 'tokenizer', 'recommender', 'recommender', 'recommender', 'tokenizer',
    ]);
    expect(tokenizerScheduleDivisor(c4)).toBe(4);
  });
});

describe('early stop (§5.9)', () => {
  it('strict >, stops after 15 non-improving evaluations', () => {
    const es = new EarlyStopper(cfg.early_stop);
    expect(es.update(0).improved).toBe(false); // 0 is not > initial best 0
    expect(es.update(0.01, 1)).toEqual({ improved: true, stop: false, best: 0.01, bad: 0 });
    let last = es.update(0.01, 3); // equal is not an improvement
    expect(last.improved).toBe(false);
    for (let i = 0; i < 13; i++) last = es.update(0.005);
    expect(last).toEqual({ improved: false, stop: false, best: 0.01, bad: 14 });
    last = es.update(0.01);
    expect(last.stop).toBe(true);
    expect(es.stopped).toBe(true);
    expect(es.bestEpoch).toBe(1);
    const es2 = new EarlyStopper(15);
    for (let i = 0; i < 14; i++) es2.update(0);
    expect(es2.update(0.02).improved).toBe(true);
    expect(es2.bad).toBe(0);
  });
});

describe('finetune stage (§5.10)', () => {
  it('settings and per-epoch plan', () => {
    const ft = cfg.finetune;
    expect(ft).toMatchObject({ epochs: 100, lr: 5e-4, weight_decay: 0.05, lr_scheduler_type: 'cosine', warmup_steps: 0, eval_step: 1, early_stop: 10 });
    const p = finetuneEpochPlan(cfg, 0);
    expect(p.weights).toEqual({ vq: 0, code: 1, kl: 0, decCl: 0 });
    expect([p.trainTokenizer, p.trainRecommender, p.tokenizerMode, p.recommenderMode]).toEqual([false, true, 'eval', 'train']);
    expect(p.freezeSemantic).toBe(true);
    expect(p.recomputeCodesAfter).toBe(false);
    expect([0, 1, 2].map((e) => finetuneEpochPlan(cfg, e).evaluateAfter)).toEqual([true, true, true]);
    expect(finetuneEpochPlan(jointTrainConfig('paper', { finetune: { freeze_semantic: false } }), 0).freezeSemantic).toBe(false);
  });
});

describe('Table 4 ablation switches change exactly the intended weights/phases', () => {
  const plans = (name: AblationName) => {
    const c = jointTrainConfig('paper', { ablation: ABLATIONS[name] });
    return Array.from({ length: 14 }, (_, e) => epochPlan(c, e));
  };
  const full = plans('full');
  const without = (w: LossWeights, keys: (keyof LossWeights)[]) => {
    const o = { ...w };
    for (const k of keys) o[k] = 0;
    return o;
  };

  it('w/o SIA, w/o PSA, w/o both: only kl / decCl go to 0, everything else as full', () => {
    for (const [name, keys] of [
      ['no_sia', ['kl']],
      ['no_psa', ['decCl']],
      ['no_both', ['kl', 'decCl']],
    ] as const) {
      plans(name).forEach((p, e) => {
        expect(p).toEqual({ ...full[e], weights: without(full[e].weights, [...keys]) });
      });
    }
    // and they did change something after warm-up
    expect(plans('no_sia')[11].weights.kl).toBe(0);
    expect(full[11].weights.kl).toBe(1e-4);
  });

  it('w/o alternation: every epoch joint, all objectives, both modules trainable', () => {
    const c = jointTrainConfig('paper', { ablation: ABLATIONS.no_alternation });
    expect(tokenizerScheduleDivisor(c)).toBe(1);
    plans('no_alternation').forEach((p, e) => {
      expect(p.phase).toBe('joint');
      const warm = e >= 10;
      expect(p.weights).toEqual({ vq: 1, code: 1, kl: warm ? 1e-4 : 0, decCl: warm ? 3e-4 : 0 });
      expect([p.trainTokenizer, p.trainRecommender, p.tokenizerMode, p.recommenderMode]).toEqual([true, true, 'train', 'train']);
      expect([p.stepTokenizerScheduler, p.stepRecommenderScheduler, p.recomputeCodesAfter]).toEqual([true, true, true]);
      expect(p.evaluateAfter).toBe(full[e].evaluateAfter);
    });
  });

  it('w/o end-to-end: tokenizer frozen, recommender epochs on fixed tokens', () => {
    plans('no_end_to_end').forEach((p, e) => {
      expect(p.phase).toBe('recommender');
      const warm = e >= 10;
      expect(p.weights).toEqual({ vq: 0, code: 1, kl: warm ? 1e-4 : 0, decCl: warm ? 3e-4 : 0 });
      expect([p.trainTokenizer, p.tokenizerMode, p.stepTokenizerScheduler, p.recomputeCodesAfter]).toEqual([false, 'eval', false, false]);
      expect(p.evaluateAfter).toBe(full[e].evaluateAfter);
    });
  });
});

describe('paper preset and config helpers', () => {
  it('every top-level value and finetune value carries a provenance note', () => {
    const { values, provenance } = JOINT_PRESETS.paper;
    for (const k of Object.keys(values)) {
      if (k === 'finetune') continue;
      expect(provenance[k], k).toBeDefined();
    }
    for (const k of Object.keys(values.finetune)) expect(provenance[`finetune.${k}`], k).toBeDefined();
    for (const note of Object.values(provenance)) {
      expect(note.sources.length).toBeGreaterThan(0);
      for (const s of note.sources) expect(['paper', 'official', 'fork', 'ours']).toContain(s);
    }
    expect(values).toMatchObject({ lr_rec: 5e-3, lr_id: 1e-4, warmup_steps: 8000, tau: 0.07, sia_sign: 'plus', seed: 2020 });
  });

  it('overrides do not leak into the preset; validation', () => {
    const c = jointTrainConfig('paper', { cycle: 3, ablation: { sia: false }, finetune: { lr: 1e-3 } });
    expect(c.ablation).toEqual({ sia: false, psa: true, alternation: true, endToEnd: true });
    expect(c.finetune.lr).toBe(1e-3);
    expect(JOINT_PRESETS.paper.values.ablation.sia).toBe(true);
    expect(JOINT_PRESETS.paper.values.finetune.lr).toBe(5e-4);
    expect(validateJointConfig(cfg)).toEqual([]);
    expect(validateJointConfig(c).join()).toMatch(/divisible/);
    expect(validateJointConfig(jointTrainConfig('paper', { return_beams: 30 })).join()).toMatch(/return_beams/);
  });
});
