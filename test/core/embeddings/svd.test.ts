import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.ts';
import { jacobiEigen, mgsQr, randomizedSvd, symmetricEigen, type CsrMatrix } from '../../../src/core/embeddings/svd.ts';

/** Column-major m × r matrix with orthonormal columns (Gram–Schmidt of a Gaussian). */
async function orthonormal(m: number, r: number, rng: Rng): Promise<Float64Array> {
  const M = Float64Array.from({ length: m * r }, () => rng.normal());
  await mgsQr(M, m, r, false);
  return M;
}

function denseToCsr(D: Float64Array, m: number, n: number): CsrMatrix {
  const indptr = new Int32Array(m + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) if (D[i * n + j] !== 0) { idx.push(j); val.push(D[i * n + j]); }
    indptr[i + 1] = idx.length;
  }
  return { rows: m, cols: n, indptr, indices: Int32Array.from(idx), values: Float64Array.from(val) };
}

/** Row-major m × n = U diag(s) Vᵀ with known singular values. */
async function known(m: number, n: number, s: number[], seed: number): Promise<Float64Array> {
  const rng = new Rng(seed);
  const r = s.length;
  const U = await orthonormal(m, r, rng);
  const V = await orthonormal(n, r, rng);
  const D = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let acc = 0;
    for (let c = 0; c < r; c++) acc += U[c * m + i] * s[c] * V[c * n + j];
    D[i * n + j] = acc;
  }
  return D;
}

function residualEnergy(D: Float64Array, m: number, n: number, U: Float64Array, s: Float64Array, V: Float64Array, k: number): number {
  let e = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let a = D[i * n + j];
    for (let c = 0; c < k; c++) a -= U[i * k + c] * s[c] * V[j * k + c];
    e += a * a;
  }
  return e;
}

describe('mgsQr', () => {
  it('gives orthonormal Q and R with QR = M; dependent columns become zero', async () => {
    const m = 9;
    const rng = new Rng(1);
    const M = Float64Array.from({ length: m * 4 }, () => rng.normal());
    M.set(M.subarray(0, m).map((x, t) => 2 * x - 3 * M[m + t]), 2 * m); // column 2 = 2·c0 − 3·c1
    const orig = M.slice();
    const R = (await mgsQr(M, m, 4, true))!;
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) {
      let d = 0;
      for (let t = 0; t < m; t++) d += M[a * m + t] * M[b * m + t];
      expect(d).toBeCloseTo(a === b && a !== 2 ? 1 : 0, 12);
    }
    for (let j = 0; j < 4; j++) for (let t = 0; t < m; t++) {
      let v = 0;
      for (let i = 0; i < 4; i++) v += M[i * m + t] * R[i * 4 + j];
      expect(v).toBeCloseTo(orig[j * m + t], 12);
    }
    expect(R[2 * 4 + 2]).toBe(0);
  });
});

describe('symmetric eigendecomposition', () => {
  it('Householder+QL and Jacobi agree and satisfy A v = λ v', () => {
    const n = 24;
    const rng = new Rng(5);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = rng.normal();
    const ql = symmetricEigen(A, n);
    const jac = jacobiEigen(A.slice(), n);
    const sorted = (v: Float64Array) => Array.from(v).sort((a, b) => a - b);
    sorted(ql.values).forEach((v, i) => expect(v).toBeCloseTo(sorted(jac.values)[i], 10));
    for (const { values, vectors } of [ql, jac]) {
      for (let c = 0; c < n; c++) for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += A[i * n + j] * vectors[j * n + c];
        expect(av).toBeCloseTo(values[c] * vectors[i * n + c], 9);
      }
    }
  });
});

describe('randomizedSvd', () => {
  const m = 60;
  const n = 40;
  const s = Array.from({ length: 40 }, (_, i) => 10 * 0.8 ** i);

  it('matches the exact singular values (1e-6 relative); the rank-k error equals the tail energy', async () => {
    const D = await known(m, n, s, 42);
    const k = 8;
    const r = await randomizedSvd(denseToCsr(D, m, n), k, { seed: 3, powerIters: 4, oversamples: 10 });
    expect(r.s.length).toBe(k);
    for (let c = 0; c < k; c++) expect(Math.abs(r.s[c] - s[c]) / s[c]).toBeLessThan(1e-6);
    const tail = s.slice(k).reduce((a, x) => a + x * x, 0);
    const err = residualEnergy(D, m, n, r.U, r.s, r.V, k);
    expect(Math.abs(err - tail) / tail).toBeLessThan(1e-6);
    // U and V have orthonormal columns.
    for (const [M, len] of [[r.U, m], [r.V, n]] as const) {
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
        let d = 0;
        for (let t = 0; t < len; t++) d += M[t * k + a] * M[t * k + b];
        expect(d).toBeCloseTo(a === b ? 1 : 0, 9);
      }
    }
  });

  it('is exact when k + oversamples covers the matrix, including rank deficiency', async () => {
    const D = await known(12, 8, [5, 3, 1], 7); // rank 3
    const r = await randomizedSvd(denseToCsr(D, 12, 8), 5, { seed: 1, powerIters: 1 });
    expect(r.s[0]).toBeCloseTo(5, 10);
    expect(r.s[1]).toBeCloseTo(3, 10);
    expect(r.s[2]).toBeCloseTo(1, 10);
    expect(r.s[3]).toBeLessThan(1e-6);
    expect(residualEnergy(D, 12, 8, r.U, r.s, r.V, 5)).toBeLessThan(1e-18);
  });

  it('is deterministic for a seed, and the seed changes the random draw', async () => {
    const D = await known(m, n, s, 9);
    const A = denseToCsr(D, m, n);
    const a = await randomizedSvd(A, 5, { seed: 11, powerIters: 0 });
    const b = await randomizedSvd(A, 5, { seed: 11, powerIters: 0 });
    const c = await randomizedSvd(A, 5, { seed: 12, powerIters: 0 });
    expect(Array.from(a.U)).toEqual(Array.from(b.U));
    expect(Array.from(a.s)).toEqual(Array.from(b.s));
    expect(Array.from(a.s)).not.toEqual(Array.from(c.s));
  });

  it('reports steps, stops on an aborted signal and validates k', async () => {
    const A = denseToCsr(await known(20, 10, [3, 2, 1], 2), 20, 10);
    const steps: number[] = [];
    await randomizedSvd(A, 3, { powerIters: 2, onStep: (d, t) => steps.push(d / t) });
    expect(steps.at(-1)).toBe(1);
    const ctl = new AbortController();
    ctl.abort();
    await expect(randomizedSvd(A, 3, { signal: ctl.signal })).rejects.toMatchObject({ info: { code: 'cancelled' } });
    await expect(randomizedSvd(A, 11)).rejects.toMatchObject({ info: { code: 'bad_option' } });
  });
});
