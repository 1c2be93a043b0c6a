import { describe, expect, it } from 'vitest';
import {
  LrScheduler,
  constantWithWarmup,
  cosineWithWarmup,
  jointScheduleSpecs,
  linearWithWarmup,
  scheduleFactor,
  stepsPerEpoch,
} from '../../../src/core/optim/schedules.ts';

describe('HF warmup schedules', () => {
  it('cosine: spec Appendix B values (W 8000)', () => {
    const W = 8000;
    const T = 400 * 664;
    expect(cosineWithWarmup(0, W, T)).toBe(0);
    expect(cosineWithWarmup(4000, W, T)).toBe(0.5);
    expect(cosineWithWarmup(8000, W, T)).toBe(1);
    expect(cosineWithWarmup(W + (T - W) / 2, W, T)).toBeCloseTo(0.5, 12);
    expect(cosineWithWarmup(T, W, T)).toBeCloseTo(0, 12);
  });

  it('cosine: no clamp beyond T (rises again, as HF)', () => {
    const W = 10;
    const T = 110;
    // progress 1.5 → ½(1 + cos 1.5π) = 0.5
    expect(cosineWithWarmup(T + 50, W, T)).toBeCloseTo(0.5, 12);
    expect(cosineWithWarmup(T + 100, W, T)).toBeCloseTo(1, 12);
    expect(cosineWithWarmup(T + 1, W, T)).toBeGreaterThan(0);
  });

  it('linear decays to 0 at T and stays 0; constant stays 1', () => {
    expect(linearWithWarmup(0, 10, 110)).toBe(0);
    expect(linearWithWarmup(5, 10, 110)).toBe(0.5);
    expect(linearWithWarmup(10, 10, 110)).toBe(1);
    expect(linearWithWarmup(60, 10, 110)).toBe(0.5);
    expect(linearWithWarmup(110, 10, 110)).toBe(0);
    expect(linearWithWarmup(500, 10, 110)).toBe(0);
    expect(constantWithWarmup(0, 4)).toBe(0);
    expect(constantWithWarmup(2, 4)).toBe(0.5);
    expect(constantWithWarmup(4, 4)).toBe(1);
    expect(constantWithWarmup(10 ** 6, 4)).toBe(1);
  });

  it('zero warmup (finetune, §5.10): the first step has the full lr', () => {
    expect(cosineWithWarmup(0, 0, 100)).toBe(1);
    expect(cosineWithWarmup(50, 0, 100)).toBeCloseTo(0.5, 12);
    expect(scheduleFactor({ kind: 'linear', warmup: 0, total: 100 }, 0)).toBe(1);
  });

  it('§5.7 joint specs: S = ceil(#train/512), T = epochs·S, tokenizer W//cycle and T//cycle', () => {
    expect(stepsPerEpoch(339_519)).toBe(664);
    expect(stepsPerEpoch(512)).toBe(1);
    expect(stepsPerEpoch(513)).toBe(2);
    const s = jointScheduleSpecs({ trainSamples: 339_519, epochs: 400, cycle: 2, warmup: 8000 });
    expect(s.stepsPerEpoch).toBe(664);
    expect(s.recommender).toEqual({ kind: 'cosine', warmup: 8000, total: 265_600 });
    expect(s.tokenizer).toEqual({ kind: 'cosine', warmup: 4000, total: 132_800 });
    const odd = jointScheduleSpecs({ trainSamples: 5974, epochs: 3, cycle: 2, warmup: 7, kind: 'linear' });
    expect(odd.stepsPerEpoch).toBe(12);
    expect(odd.recommender).toEqual({ kind: 'linear', warmup: 7, total: 36 });
    expect(odd.tokenizer).toEqual({ kind: 'linear', warmup: 3, total: 18 });
  });

  it('LrScheduler: first update at lr 0, then base·λ(s) per step', () => {
    const sch = new LrScheduler(5e-3, { kind: 'cosine', warmup: 4, total: 12 });
    const lrs: number[] = [];
    for (let i = 0; i < 13; i++) {
      lrs.push(sch.lr);
      sch.step();
    }
    expect(lrs[0]).toBe(0);
    expect(lrs[1]).toBeCloseTo(5e-3 / 4, 15);
    expect(lrs[4]).toBeCloseTo(5e-3, 15);
    expect(lrs[8]).toBeCloseTo(2.5e-3, 15);
    expect(lrs[12]).toBeCloseTo(0, 15);
    expect(sch.stepCount).toBe(13);
    sch.setStepCount(2);
    expect(sch.lr).toBeCloseTo(2.5e-3, 15);
  });
});
