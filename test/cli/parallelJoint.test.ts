import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainJointParallel } from '../../src/cli/parallel/trainJointParallel.ts';
import type { NamedArray } from '../../src/core/nn/params.ts';
import { trainJoint } from '../../src/core/train/joint.ts';
import type { JointCheckpoint, JointResult } from '../../src/core/train/jointTypes.ts';
import { TINY_TOK, tinyJointConfig, tinyJointData, tinyTokenizerState, useCpuBackend } from '../core/train/tinyJoint.ts';

/** max |a − b| / max(1, max |a|) over every tensor of a state dict. */
function relDiff(a: Record<string, NamedArray>, b: Record<string, NamedArray>): number {
  let d = 0;
  let scale = 1;
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const k of Object.keys(a)) {
    const x = a[k].data;
    const y = b[k].data;
    expect(y.length).toBe(x.length);
    for (let i = 0; i < x.length; i++) {
      d = Math.max(d, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
  }
  return d / scale;
}

/** Same parameters, codes, losses, RNG positions and validation as the one-thread run. */
function expectSameRun(one: JointResult, par: JointResult, init: JointResult): void {
  const c1 = one.checkpoint;
  const cK = par.checkpoint;
  // training moved the parameters, so equality below says something
  expect(relDiff(init.checkpoint.current.recommender, c1.current.recommender)).toBeGreaterThan(1e-4);
  expect(relDiff(c1.current.recommender, cK.current.recommender)).toBeLessThan(1e-5);
  expect(relDiff(c1.current.tokenizer, cK.current.tokenizer)).toBeLessThan(1e-5);
  expect(Array.from(cK.current.codes)).toEqual(Array.from(c1.current.codes));
  expect(cK.rngState).toEqual(c1.rngState);
  expect(cK.schedulerSteps).toEqual(c1.schedulerSteps);
  expect(cK.history.map((r) => r.phase)).toEqual(c1.history.map((r) => r.phase));
  for (const [i, r] of c1.history.entries()) {
    for (const [k, v] of Object.entries(r.loss)) expect(cK.history[i].loss[k as keyof typeof r.loss]).toBeCloseTo(v, 5);
    expect(cK.history[i].valid?.metrics).toEqual(r.valid?.metrics);
  }
}

useCpuBackend();

describe('data-parallel joint training over worker_threads', () => {
  const d = tinyJointData();
  // 40 samples, batch 16, micro-batch 4: 4 + 4 + 2 micro-batches, dealt over two workers
  const base = { micro_batch_size: 4, epochs: 4 };

  it('two workers train the tokenizer and recommender epochs (cached InfoNCE, dropout) as one thread does', async () => {
    const tok = { state: await tinyTokenizerState(), config: TINY_TOK };
    const cfg = tinyJointConfig(base);
    const init = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 0 });
    const one = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 4 });
    const tensors: number[][] = [[], []];
    const epochs: number[] = [];
    const par = await trainJointParallel(d, cfg, { tokenizer: tok, maxEpochs: 4, onEpoch: (r) => epochs.push(r.epoch) }, {
      workers: 2,
      backend: 'cpu',
      onReplicaEpoch: (rank, _r, n) => tensors[rank].push(n),
    });
    expect(one.checkpoint.history.map((r) => r.phase)).toEqual(['tokenizer', 'recommender', 'tokenizer', 'recommender']);
    expectSameRun(one, par, init);
    expect(epochs).toEqual([0, 1, 2, 3]);
    // tensor count flat in every worker, epoch after epoch
    for (const t of tensors) {
      expect(t.length).toBe(4);
      expect(new Set(t).size).toBe(1);
    }
  }, 120_000);

  it('two workers train joint (w/o AT) epochs and the finetune stage as one thread does', async () => {
    const tok = { state: await tinyTokenizerState(), config: TINY_TOK };
    const cfg = tinyJointConfig({ ...base, epochs: 2, ablation: { alternation: false } });
    const init = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 0 });
    const one = await trainJoint(d, cfg, { tokenizer: tok });
    const par = await trainJointParallel(d, cfg, { tokenizer: tok }, { workers: 2, backend: 'cpu' });
    expect(one.checkpoint.history.map((r) => `${r.stage}:${r.phase}`)).toEqual(['alternating:joint', 'alternating:joint', 'finetune:recommender', 'finetune:recommender']);
    expectSameRun(one, par, init);
    expect(par.test?.metrics).toEqual(one.test?.metrics);
    expect(par.testBeforeFinetune?.metrics).toEqual(one.testBeforeFinetune?.metrics);
    // the beam search is shared (10 users, batches of 8: one per worker), the lists pooled
    const { shuffle: sp, ...listsPar } = par.test!.diagnostics!;
    const { shuffle: so, ...listsOne } = one.test!.diagnostics!;
    expect(listsPar).toEqual(listsOne);
    // the shuffle test's forward passes see parameters equal up to float summation order
    expect(sp!.ceReal).toBeCloseTo(so!.ceReal, 5);
    expect(sp!.ceShuffled).toBeCloseTo(so!.ceShuffled, 5);
    expect(par.test?.invalidRate).toEqual(one.test?.invalidRate);
  }, 120_000);

  it('with the InfoNCE weight 0 the logged InfoNCE is still the whole batch’s, as one thread logs it', async () => {
    const tok = { state: await tinyTokenizerState(), config: TINY_TOK };
    const cfg = tinyJointConfig({ ...base, rec_dec_cl_loss: 0 });
    const init = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 0 });
    const one = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 2 });
    const par = await trainJointParallel(d, cfg, { tokenizer: tok, maxEpochs: 2 }, { workers: 2, backend: 'cpu' });
    expect(one.checkpoint.history[1].loss.decCl).toBeGreaterThan(0);
    expectSameRun(one, par, init);
  }, 120_000);

  /** Two epochs on `workers` threads against two on one thread, from the same start. */
  async function expectTwoEpochsAsOneThread(cfg: ReturnType<typeof tinyJointConfig>, workers: number): Promise<void> {
    const tok = { state: await tinyTokenizerState(), config: TINY_TOK };
    const init = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 0 });
    const one = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 2 });
    const par = await trainJointParallel(d, cfg, { tokenizer: tok, maxEpochs: 2 }, { workers, backend: 'cpu' });
    expectSameRun(one, par, init);
  }

  it('one micro-batch per batch: two workers split each batch into shares and exchange h_D on the tape, as one thread trains', async () => {
    await expectTwoEpochsAsOneThread(tinyJointConfig({ ...base, micro_batch_size: 16 }), 2);
  }, 120_000);

  it('three workers (micro-batches dealt unevenly) train as one thread does', async () => {
    await expectTwoEpochsAsOneThread(tinyJointConfig(base), 3);
  }, 120_000);

  it('worker 0 hands out resumable checkpoints: stopped and resumed on two workers equals two epochs on one thread', async () => {
    const tok = { state: await tinyTokenizerState(), config: TINY_TOK };
    const cfg = tinyJointConfig(base);
    const init = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 0 });
    const one = await trainJoint(d, cfg, { tokenizer: tok, maxEpochs: 2 });
    const saved: JointCheckpoint[] = [];
    await trainJointParallel(d, cfg, { tokenizer: tok, maxEpochs: 1, onCheckpoint: (c) => void saved.push(c) }, { workers: 2, backend: 'cpu' });
    // the initial checkpoint, then the one after epoch 1
    expect(saved.map((c) => c.nextEpoch)).toEqual([0, 1]);
    const resumed = await trainJointParallel(d, cfg, { resume: saved[1], maxEpochs: 1 }, { workers: 2, backend: 'cpu' });
    expectSameRun(one, resumed, init);
  }, 120_000);

  it('a failing worker fails the run with its own error, not a hang', async () => {
    const cfg = tinyJointConfig(base);
    // a tokenizer of the wrong input width: every worker refuses it
    const bad = { state: await tinyTokenizerState(), config: { ...TINY_TOK, in_dim: 13 } };
    await expect(trainJointParallel(d, cfg, { tokenizer: bad }, { workers: 2, backend: 'cpu' })).rejects.toThrow(/12-d|13-d/);
  }, 60_000);
});

describe('--workers on the command line', () => {
  const ROOT = resolve(__dirname, '../..');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/etegrec.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout + r.stderr };
  };
  const missing = join(ROOT, 'no-such-dir-for-workers-test');

  it('train and pipeline --help list it', () => {
    for (const cmd of ['train', 'pipeline']) {
      const r = cli(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/--workers <k>/);
    }
  });

  it.each(['0', '-1', '1.5', 'two', '65'])('train --workers %s is refused with exit 2, naming the flag', (k) => {
    const r = cli('train', '--data', missing, '--emb', 'x.npy', '--tokenizer', 'x.safetensors', '--out', join(missing, 'out'), `--workers=${k}`);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/--workers must be/);
  });

  it('pipeline --workers 0 is refused with exit 2, naming the flag', () => {
    const r = cli('pipeline', 'x.csv', '--out', join(missing, 'out'), '--workers', '0');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/--workers must be an integer ≥ 1/);
  });
});
