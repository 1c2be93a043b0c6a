/**
 * Optimizer moments from a checkpoint are checked against the parameters before they are used: a
 * moment of the wrong size (or count, or with NaN / negative second moments) is refused with a
 * StudioError naming the checkpoint tensor and the parameter, and nothing is allocated or changed.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { StudioError } from '../../../src/core/errors.ts';
import { AdamW, checkAdamWState, type AdamWState } from '../../../src/core/optim/adam.ts';
import { JointRun } from '../../../src/core/train/jointRun.ts';
import { trainJoint } from '../../../src/core/train/joint.ts';
import type { JointCheckpoint } from '../../../src/core/train/jointTypes.ts';
import { TINY_TOK, tinyJointConfig, tinyJointData, tinyTokenizerState, useCpuBackend } from '../train/tinyJoint.ts';

useCpuBackend();

function refusal(f: () => unknown): StudioError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StudioError);
    return e as StudioError;
  }
  throw new Error('accepted');
}

describe('AdamW state checks', () => {
  it('loadState refuses a moment of the wrong size naming it, and changes and allocates nothing', async () => {
    const a = tf.variable(tf.zeros([2, 3]), true, 'adam_test_a');
    const b = tf.variable(tf.zeros([4]), true, 'adam_test_b');
    const opt = new AdamW([a, b], { lr: 0.1 });
    const good: AdamWState = { step: 2, m: [new Float32Array(6).fill(1), new Float32Array(4).fill(2)], v: [new Float32Array(6).fill(3), new Float32Array(4).fill(4)] };
    opt.loadState(good, 'optimizer.recommender');
    const tensors = tf.memory().numTensors;
    const cases: [AdamWState, string][] = [
      [{ ...good, v: [good.v[0], new Float32Array(5)] }, 'optimizer.recommender.v.1'],
      [{ ...good, m: [new Float32Array(7), good.m[1]] }, 'optimizer.recommender.m.0'],
      [{ ...good, m: [good.m[0]] }, 'optimizer.recommender.m'],
      [{ ...good, v: [good.v[0], Float32Array.from([1, 1, -1, 1])] }, 'optimizer.recommender.v.1'],
      [{ ...good, m: [good.m[0], Float32Array.from([0, NaN, 0, 0])] }, 'optimizer.recommender.m.1'],
      [{ ...good, step: -5 }, 'optimizer.recommender.step'],
      [{ ...good, step: 1.5 }, 'optimizer.recommender.step'],
    ];
    for (const [st, field] of cases) {
      const e = refusal(() => opt.loadState({ ...st, step: st.step === 2 ? 7 : st.step }, 'optimizer.recommender'));
      expect(e.info.field, e.message).toBe(field);
    }
    const sized = refusal(() => opt.loadState(cases[0][0], 'optimizer.recommender'));
    expect(sized.message).toMatch(/parameter adam_test_b, which has 4 values/);
    expect(sized.info).toMatchObject({ expected: '4 values', found: '5' });
    // nothing was changed: the earlier state (step 2, the moments of `good`) is still there
    const st = await opt.state();
    expect(st.step).toBe(2);
    expect(Array.from(st.v[1])).toEqual([4, 4, 4, 4]);
    expect(Array.from(st.m[0])).toEqual([1, 1, 1, 1, 1, 1]);
    expect(tf.memory().numTensors).toBe(tensors);
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  it('checkAdamWState names the file when given', () => {
    const e = refusal(() => checkAdamWState({ step: 0, m: [new Float32Array(2)], v: [new Float32Array(2)] }, [{ name: 'w', size: 3 }], 'optimizer.tokenizer', 'run.checkpoint.safetensors'));
    expect(e.info).toMatchObject({ file: 'run.checkpoint.safetensors', field: 'optimizer.tokenizer.m.0' });
  });

  it('a joint checkpoint whose Adam moments do not fit is refused before the run changes', async () => {
    const d = tinyJointData();
    const tok = await tinyTokenizerState();
    const cfg = tinyJointConfig();
    let ckpt: JointCheckpoint | null = null;
    await trainJoint(d, cfg, { tokenizer: { state: tok, config: TINY_TOK }, maxEpochs: 1, onCheckpoint: (c) => void (ckpt = c) });
    const c = ckpt as unknown as JointCheckpoint;
    const rm = c.optimizer.recommender;
    // one slot one value short, in m and v alike (two vectors of one length: the file reader's own check passes)
    const i = 3;
    const short = { ...rm, m: rm.m.map((x, j) => (j === i ? x.slice(1) : x)), v: rm.v.map((x, j) => (j === i ? x.slice(1) : x)) };
    const bad: JointCheckpoint = { ...c, optimizer: { ...c.optimizer, recommender: short } };
    await expect(trainJoint(d, cfg, { resume: bad, maxEpochs: 1 })).rejects.toMatchObject({ name: 'StudioError', info: { field: `optimizer.recommender.m.${i}` } });

    // the same refusal through the run itself: its weights and optimizer are untouched, no tensor is left over
    const run = new JointRun(cfg, d, c.recommenderConfig, c.tokenizerConfig, tok, {});
    const before = await run.weights();
    const optBefore = await run.recOpt.state();
    const tensors = tf.memory().numTensors;
    const tokShort = { ...c.optimizer.tokenizer, v: c.optimizer.tokenizer.v.map((x, j) => (j === 0 ? new Float32Array(x.length + 2) : x)) };
    for (const [b, field] of [
      [bad, `optimizer.recommender.m.${i}`],
      [{ ...c, optimizer: { ...c.optimizer, tokenizer: tokShort } }, 'optimizer.tokenizer.v.0'],
      // the finetune stage's optimizer (its own parameter list) is checked too, before it replaces the alternating one
      [{ ...c, stage: 'finetune', nextEpoch: 0, optimizer: { ...c.optimizer, recommender: { ...rm, m: rm.m.slice(1), v: rm.v.slice(1) } } }, 'optimizer.recommender.m'],
    ] as [JointCheckpoint, string][]) {
      const e = refusal(() => run.restore(b));
      expect(e.info.field, e.message).toBe(field);
    }
    expect(run.stage).toBe('alternating');
    expect(run.nextEpoch).toBe(0);
    const after = await run.weights();
    for (const k of Object.keys(before.recommender)) expect(after.recommender[k].data, k).toEqual(before.recommender[k].data);
    expect(Array.from(after.codes)).toEqual(Array.from(before.codes));
    expect((await run.recOpt.state()).step).toBe(optBefore.step);
    expect(tf.memory().numTensors).toBe(tensors);
    // and the intact checkpoint still restores
    run.restore(c);
    expect(run.nextEpoch).toBe(c.nextEpoch);
    run.dispose();
  }, 120_000);
});
