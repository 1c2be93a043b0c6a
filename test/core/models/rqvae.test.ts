import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { npyToInt32, parseNpy } from '../../../src/core/io/npy.ts';
import { RQVAE_DUAL, RQVAE_SINGLE, Rqvae, rqvaeStateDictShapes } from '../../../src/core/models/rqvae.ts';
import type { NamedArray } from '../../../src/core/nn/params.ts';

const root = resolve(__dirname, '../../../../shared/conformance');
const dir = `${root}/pytorch/rqvae`;
const manifest = JSON.parse(readFileSync(`${root}/pytorch/manifest.json`, 'utf8')) as Record<string, { shape?: number[] } & Record<string, number>>;
const keys = JSON.parse(readFileSync(`${root}/state-dict-keys.json`, 'utf8')) as Record<string, Record<string, number[]>>;
const npy = (p: string) => parseNpy(new Uint8Array(readFileSync(`${dir}/${p}.npy`)));
const f32 = (p: string) => Float32Array.from(npy(p).data as Float32Array);
const i32 = (p: string) => npyToInt32(npy(p));

/** max |a−b| / (max|b| + tiny): a norm-relative error suited to float32 vs float64. */
function relErr(got: Float32Array | Int32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / (den + 1e-30);
}

const names = Object.keys(rqvaeStateDictShapes(RQVAE_SINGLE));
function loadRef(model: Rqvae): void {
  const dict: Record<string, NamedArray> = {};
  for (const n of names) dict[n] = { shape: manifest[`rqvae/params/${n}`].shape as number[], data: f32(`params/${n}`) };
  model.params.loadStateDict(dict);
}

describe('RQ-VAE layout', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });
  it('names and shapes equal state-dict-keys.json (single and dual), parameter counts as the spec', async () => {
    expect(rqvaeStateDictShapes(RQVAE_SINGLE)).toEqual(keys.tokenizer_single_256);
    expect(Object.keys(rqvaeStateDictShapes(RQVAE_SINGLE))).toEqual(Object.keys(keys.tokenizer_single_256));
    expect(rqvaeStateDictShapes(RQVAE_DUAL)).toEqual(keys.tokenizer_dual_1024);
    const m = new Rqvae(RQVAE_SINGLE, 1);
    expect(m.params.numParams()).toBe(690048);
    const sd = await m.params.stateDict();
    for (const [k, s] of Object.entries(keys.tokenizer_single_256)) expect(sd[k].shape).toEqual(s);
    m.dispose();
    const d = new Rqvae(RQVAE_DUAL, 1);
    expect(d.params.numParams()).toBe(3576448);
    d.dispose();
  });

  it('init: Xavier-normal weights, zero biases, codebooks in ±1/K; seeded', async () => {
    const a = new Rqvae(RQVAE_SINGLE, 7);
    const b = new Rqvae(RQVAE_SINGLE, 7);
    const w = (await a.params.get('encoder.mlp_layers.1.weight').data()) as Float32Array;
    let ss = 0;
    for (const v of w) ss += v * v;
    expect(Math.sqrt(ss / w.length)).toBeCloseTo(Math.sqrt(2 / (256 + 512)), 3);
    expect(await b.params.get('encoder.mlp_layers.1.weight').data()).toEqual(w);
    expect(Math.max(...(await a.params.get('encoder.mlp_layers.1.bias').data()).map(Math.abs))).toBe(0);
    const cb = (await a.codebook(0).data()) as Float32Array;
    expect(Math.max(...cb.map(Math.abs))).toBeLessThanOrEqual(1 / 256);
    expect(Math.max(...cb.map(Math.abs))).toBeGreaterThan(0.9 / 256);
    a.dispose();
    b.dispose();
  });
});

describe.each(['cpu', 'wasm'])('RQ-VAE vs PyTorch (%s)', (backend) => {
  let model: Rqvae;
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    model = new Rqvae(RQVAE_SINGLE, 0);
    loadRef(model);
  });
  afterAll(() => model.dispose());

  it('forward: latent, distances, indices, recon, losses', async () => {
    const x = tf.tensor2d(f32('input_z'), [64, 256]);
    const out = model.forward(x);
    const errs = {
      latent: relErr((await out.latent.data()) as Float32Array, f32('out_latent')),
      distances: relErr((await out.distances.data()) as Float32Array, f32('out_distances')),
      recon: relErr((await out.recon.data()) as Float32Array, f32('out_recon')),
    };
    console.log(`[${backend}] forward norm-relative errors ${JSON.stringify(errs)}`);
    for (const e of Object.values(errs)) expect(e).toBeLessThan(1e-5);
    const idx = (await out.indices.data()) as Int32Array;
    const want = i32('out_indices');
    let same = 0;
    for (let i = 0; i < want.length; i++) if (idx[i] === want[i]) same++;
    expect(same).toBe(want.length);
    const s = manifest['rqvae/scalars'] as unknown as Record<string, number>;
    expect(Math.abs((await out.reconLoss.data())[0] - s.recon_mse) / s.recon_mse).toBeLessThan(1e-5);
    expect(Math.abs((await out.rqLoss.data())[0] - s.rq_loss) / s.rq_loss).toBeLessThan(1e-5);
    expect(Math.abs((await out.loss.data())[0] - s.total) / s.total).toBeLessThan(1e-5);
    // eval-mode codes agree with the forward's
    const codes = model.codes(x);
    expect(await codes.data()).toEqual(idx);
    tf.dispose([x, codes, ...Object.values(out)]);
  });

  it('gradients of total w.r.t. every parameter', async () => {
    const x = tf.tensor2d(f32('input_z'), [64, 256]);
    const vars = model.params.trainable();
    const { value, grads } = tf.variableGrads(() => model.forward(x).loss, [...vars.values()]);
    let worst = 0;
    for (const [n, v] of vars) {
      let g = grads[v.name];
      if (model.params.isLinear(n)) g = tf.transpose(g);
      const e = relErr((await g.data()) as Float32Array, f32(`grads/${n}`));
      worst = Math.max(worst, e);
      expect(e, n).toBeLessThan(1e-4);
      if (g !== grads[v.name]) g.dispose();
    }
    console.log(`[${backend}] max norm-relative grad error ${worst.toExponential(2)}`);
    tf.dispose([x, value, ...Object.values(grads)]);
  });

  it('quantiser alone on zE: distances, indices and probe gradients (only level 1 reaches the input)', async () => {
    const zE = tf.variable(tf.tensor2d(f32('input_zE'), [64, 128]));
    const w = tf.linspace(-1, 1, 256);
    const vars = model.params.trainable();
    let q = model.quantize(zE);
    expect(relErr((await q.distances.data()) as Float32Array, f32('out_zE_distances'))).toBeLessThan(1e-5);
    expect(await q.indices.data()).toEqual(i32('out_zE_indices'));
    tf.dispose(Object.values(q));
    const all = [zE, ...vars.values()];
    const { value, grads } = tf.variableGrads(() => {
      q = model.quantize(zE);
      return tf.div(tf.sum(tf.mul(q.distances, w)), 1000) as tf.Scalar;
    }, all);
    const ez = relErr((await grads[zE.name].data()) as Float32Array, f32('grads_zE_probe/zE'));
    let worst = ez;
    expect(ez).toBeLessThan(1e-4);
    for (const [n, v] of vars) {
      const want = f32(`grads_zE_probe/${n}`);
      const g = grads[v.name];
      const got = g ? ((await (model.params.isLinear(n) ? tf.transpose(g) : g).data()) as Float32Array) : new Float32Array(want.length);
      if (want.every((t) => t === 0)) expect(got.every((t) => t === 0), n).toBe(true);
      else {
        const e = relErr(got, want);
        worst = Math.max(worst, e);
        expect(e, n).toBeLessThan(1e-4);
      }
    }
    console.log(`[${backend}] probe gradient max norm-relative error ${worst.toExponential(2)} (zE ${ez.toExponential(2)})`);
    tf.dispose([zE, w, value, ...Object.values(grads)]);
  });

  it('residuals at levels >= 2 carry no gradient to the encoder input; x_q passes the identity', async () => {
    const z = tf.variable(tf.tensor2d(f32('input_zE'), [64, 128]));
    const levelGrad = (level: number) =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.slice(model.quantize(t as tf.Tensor2D).distances, [0, level, 0], [64, 1, 256])))(z);
    for (const level of [1, 2]) {
      const g = levelGrad(level);
      expect(Math.max(...(await tf.abs(g).data()))).toBe(0);
      g.dispose();
    }
    const g0 = levelGrad(0);
    expect(Math.max(...(await tf.abs(g0).data()))).toBeGreaterThan(0);
    // d Σ(x_q ⊙ R) / dz = R: the straight-through sum is the identity w.r.t. r_1.
    const R = tf.randomNormal([64, 128], 0, 1, 'float32', 3);
    const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(model.quantize(t as tf.Tensor2D).xq, R)))(z);
    expect(relErr((await gx.data()) as Float32Array, (await R.data()) as Float32Array)).toBeLessThan(1e-6);
    // rq_loss gradient to z comes from level 1's commitment term only: β·2(z − q1)/(B·e) / L.
    const q = model.quantize(z);
    const q1 = tf.matMul(tf.oneHot(tf.slice(q.indices, [0, 0], [64, 1]).reshape([64]), 256).toFloat(), model.codebook(0));
    const want = tf.mul(tf.sub(z, q1), (0.25 * 2) / (64 * 128) / 3);
    const gl = tf.grad((t: tf.Tensor) => model.quantize(t as tf.Tensor2D).rqLoss)(z);
    expect(relErr((await gl.data()) as Float32Array, (await want.data()) as Float32Array)).toBeLessThan(1e-5);
    tf.dispose([z, g0, R, gx, q1, want, gl, ...Object.values(q)]);
  });
});

describe('trainRqvae', () => {
  const small = (over: Record<string, unknown> = {}) =>
    ({
      in_dim: 16, layers: [32], e_dim: 8, num_emb_list: [16, 16, 16], beta: 0.25, quant_loss_weight: 1,
      sk_epsilons: [0, 0, 0], sk_iters: 20,
      epochs: 12, batch_size: 64, lr: 1e-2, weight_decay: 1e-4, warmup_epochs: 2, eval_step: 3, patience: 0,
      kmeans_init: true, kmeans_iters: 20, clip_norm: 1, seed: 5, ...over,
    }) as import('../../../src/core/train/rqvae.ts').RqvaeTrainConfig;
  const data = (() => {
    const r = new Float32Array(200 * 16);
    let s = 1;
    for (let i = 0; i < r.length; i++) r[i] = Math.sin((s = (s * 16807) % 2147483647) / 1e4) * (1 + (i % 7));
    return r;
  })();

  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
  });

  it('schedule λ: 0 at the first batch, linear warmup then decay to 0', async () => {
    const { linearWarmupLambda } = await import('../../../src/core/train/rqvae.ts');
    expect(linearWarmupLambda(0, 10, 100)).toBe(0);
    expect(linearWarmupLambda(5, 10, 100)).toBe(0.5);
    expect(linearWarmupLambda(10, 10, 100)).toBe(1);
    expect(linearWarmupLambda(55, 10, 100)).toBe(0.5);
    expect(linearWarmupLambda(100, 10, 100)).toBe(0);
    expect(linearWarmupLambda(120, 10, 100)).toBe(0);
  });

  it('trains: recon loss falls, evaluations every eval_step, snapshots, flat tensor count, seeded', async () => {
    const { trainRqvae } = await import('../../../src/core/train/rqvae.ts');
    const counts: number[] = [];
    const lrs: number[] = [];
    const evalEpochs: number[] = [];
    const res = await trainRqvae(data, small(), {
      onEvent: (e) => {
        if (e.type === 'metric' && e.name === 'loss') counts.push(tf.memory().numTensors);
        if (e.type === 'metric' && e.name === 'lr') lrs.push(e.value);
      },
      onEval: (r) => evalEpochs.push(r.epoch),
    });
    expect(res.epochsRun).toBe(12);
    expect(evalEpochs).toEqual([2, 5, 8, 11]);
    expect(new Set(counts.slice(1)).size).toBe(1);
    // 4 batches/epoch (64, 64, 64, 8); the last batch of epoch 0 (step 3) of warmup 8 steps.
    expect(lrs[0]).toBeCloseTo(1e-2 * (3 / 8), 8);
    expect(lrs[11]).toBeCloseTo(1e-2 * (1 / 40), 8);
    expect(res.epochs[11].reconLoss).toBeLessThan(res.epochs[0].reconLoss * 0.8);
    // epoch loss is the SUM over 4 batches
    expect(res.epochs[0].loss).toBeGreaterThan(3 * (res.epochs[0].reconLoss + res.epochs[0].rqLoss) * 0.9);
    const minColl = Math.min(...res.evals.map((e) => e.stats.collisionRate));
    expect(res.best.collision.collisionRate).toBe(minColl);
    expect(res.best.gini.giniMean).toBe(Math.min(...res.evals.map((e) => e.stats.gini.mean)));
    expect(res.best.loss.loss).toBe(Math.min(...res.evals.map((e) => e.loss)));
    expect(res.best.collision.codes.length).toBe(200 * 3);
    expect(res.best.collision.state['encoder.mlp_layers.1.weight'].shape).toEqual([32, 16]);
    expect(res.final.epoch).toBe(11);
    const again = await trainRqvae(data, small({ epochs: 3 }), {});
    const again2 = await trainRqvae(data, small({ epochs: 3 }), {});
    expect(again2.epochs.map((e) => e.loss)).toEqual(again.epochs.map((e) => e.loss));
  });

  it('early stop on collision with patience; cancel keeps the best snapshots', async () => {
    const { trainRqvae } = await import('../../../src/core/train/rqvae.ts');
    const res = await trainRqvae(data, small({ epochs: 60, eval_step: 1, patience: 2, lr: 0 }), {});
    // lr 0: nothing changes after the first evaluation, so two more evaluations stop it.
    expect(res.stoppedEarly).toBe(true);
    expect(res.epochsRun).toBe(3);
    const ac = new AbortController();
    const res2 = await trainRqvae(data, small({ epochs: 1000 }), {
      signal: ac.signal,
      onEval: (r) => { if (r.epoch >= 5) ac.abort(); },
    });
    expect(res2.cancelled).toBe(true);
    expect(res2.epochsRun).toBe(6);
    expect(res2.best.collision.epoch).toBeLessThanOrEqual(5);
    expect(res2.best.collision.state).toBeDefined();
    // a timer-driven abort (as a Worker message would be) lands between batches
    const ac3 = new AbortController();
    setTimeout(() => ac3.abort(), 300);
    const res3 = await trainRqvae(data, small({ epochs: 100000, eval_step: 1000 }), { signal: ac3.signal });
    expect(res3.cancelled).toBe(true);
    expect(res3.epochsRun).toBeLessThan(100000);
    expect(res3.best.collision).toBe(res3.final);
  });

  it('optional Sinkhorn balances a degenerate assignment and trains', async () => {
    const { sinkhornAssign } = await import('../../../src/core/models/rqvae.ts');
    // every row prefers code 0; balanced assignment spreads them.
    const d = tf.tensor2d(Array.from({ length: 8 * 4 }, (_, i) => (i % 4 === 0 ? 0 : 1 + (i % 4) * 0.01 + Math.floor(i / 4) * 0.001)), [8, 4]);
    const a = await sinkhornAssign(d, 0.003, 50).data();
    const counts = [0, 0, 0, 0];
    for (const c of a) counts[c]++;
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
    expect(counts.every((c) => c > 0)).toBe(true);
    d.dispose();
    const { trainRqvae } = await import('../../../src/core/train/rqvae.ts');
    const res = await trainRqvae(data, small({ epochs: 3, sk_epsilons: [0.003, 0.003, 0.003] }), {});
    expect(Number.isFinite(res.epochs[2].loss)).toBe(true);
  });

  it('presets carry provenance for every value', async () => {
    const { RQVAE_PRESETS, rqvaeTrainConfig } = await import('../../../src/core/train/rqvae.ts');
    const paper = rqvaeTrainConfig('paper', 256);
    expect(paper).toMatchObject({ epochs: 10000, warmup_epochs: 50, eval_step: 50, patience: 20, kmeans_iters: 100, seed: 2024, batch_size: 1024, lr: 1e-3, weight_decay: 1e-4, layers: [512, 256] });
    expect(rqvaeTrainConfig('paper', 1024)).toMatchObject({ batch_size: 2048, kmeans_iters: 500, layers: [1024, 512, 256] });
    for (const p of Object.values(RQVAE_PRESETS)) for (const k of Object.keys(p.values)) expect(p.provenance[k], k).toBeTruthy();
  });
});
