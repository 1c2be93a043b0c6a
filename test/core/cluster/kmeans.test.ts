import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { kmeans, kmeansPlusPlus } from '../../../src/core/cluster/kmeans.ts';
import { Rng } from '../../../src/core/rng.ts';

/** n points around k well-separated centres in d dims. */
function blobs(n: number, k: number, d: number, seed: number, spread = 0.05) {
  const rng = new Rng(seed);
  const centres = rng.normalArray(k * d, 3);
  const x = new Float32Array(n * d);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    truth[i] = c;
    for (let t = 0; t < d; t++) x[i * d + t] = centres[c * d + t] + spread * rng.normal();
  }
  return { x, truth, centres };
}

describe.each(['cpu', 'wasm'])('k-means (%s)', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });

  it('recovers well-separated clusters, converges, and is seeded', async () => {
    const { x, truth } = blobs(400, 8, 16, 1);
    const before = tf.memory().numTensors;
    const a = await kmeans(x, 400, 16, { k: 8, maxIter: 100, seed: 42 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a.converged).toBe(true);
    // each true cluster maps to exactly one label
    const map = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      if (!map.has(truth[i])) map.set(truth[i], a.labels[i]);
      expect(a.labels[i]).toBe(map.get(truth[i]));
    }
    expect(new Set(map.values()).size).toBe(8);
    expect(a.inertia / 400).toBeLessThan(16 * 0.05 ** 2 * 1.5);
    const b = await kmeans(x, 400, 16, { k: 8, maxIter: 100, seed: 42 });
    expect(b.centroids).toEqual(a.centroids);
  });

  it('k-means++ seeding picks one point per blob', () => {
    const { x, truth } = blobs(200, 10, 4, 2, 0.01);
    const ids = kmeansPlusPlus(x, 200, 4, 10, new Rng(5));
    expect(new Set(Array.from(ids, (i) => truth[i])).size).toBe(10);
  });

  it('relocates empty clusters (duplicated points) and never returns an empty cluster', async () => {
    // 3 distinct points, 20 copies each, plus 2 outliers; k = 5.
    const pts = [[0, 0], [10, 0], [0, 10]];
    const xs: number[] = [];
    for (let r = 0; r < 20; r++) for (const p of pts) xs.push(...p);
    xs.push(50, 50, -50, 50);
    const res = await kmeans(Float32Array.from(xs), 62, 2, { k: 5, maxIter: 50, seed: 0 });
    const counts = new Array(5).fill(0);
    for (const l of res.labels) counts[l]++;
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(res.inertia).toBeLessThan(1e-6);
  });

  it('refuses fewer points than clusters', async () => {
    await expect(kmeans(new Float32Array(4), 2, 2, { k: 3 })).rejects.toThrow(/at least as many points/);
  });
});

describe.each(['cpu', 'wasm'])('RQ-VAE k-means codebook init (%s)', (backend) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });
  it('quantises clustered data better than the uniform init, level by level', async () => {
    const { Rqvae } = await import('../../../src/core/models/rqvae.ts');
    const { kmeansInitCodebooks, quantizationError } = await import('../../../src/core/train/rqvae.ts');
    const cfg = { in_dim: 16, layers: [32], e_dim: 8, num_emb_list: [16, 16, 16], beta: 0.25, quant_loss_weight: 1, sk_epsilons: [0, 0, 0], sk_iters: 50 };
    const { x } = blobs(512, 24, 16, 3, 0.2);
    const X = tf.tensor2d(x, [512, 16]);
    const model = new Rqvae(cfg, 1);
    const before = tf.memory().numTensors;
    const uniform = await quantizationError(model, X);
    const levels: number[] = [];
    const after = await kmeansInitCodebooks(model, X, { iters: 100, seed: 42, onLevel: (l) => levels.push(l) });
    expect(levels).toEqual([0, 1, 2]);
    expect(after).toBeLessThan(uniform * 0.2);
    expect(await quantizationError(model, X)).toBeCloseTo(after, 5);
    expect(tf.memory().numTensors).toBe(before);
    // level 1's codebook equals k-means of the latents themselves
    const latent = tf.tidy(() => model.encode(X));
    const km = await kmeans((await latent.data()) as Float32Array, 512, 8, { k: 16, maxIter: 100, seed: 42 });
    expect(relMax((await model.codebook(0).data()) as Float32Array, km.centroids)).toBeLessThan(1e-5);
    tf.dispose([X, latent]);
    model.dispose();
  });
});

function relMax(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}
