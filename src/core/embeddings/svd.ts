/**
 * Truncated SVD of a sparse CSR matrix by randomized subspace iteration (Halko, Martinsson &
 * Tropp 2011, Alg. 4.4/5.1), in plain Float64Array code: a seeded Gaussian test matrix,
 * `powerIters` rounds of AᵀA with re-orthonormalisation (modified Gram–Schmidt, reorthogonalised
 * once when a column loses most of its norm), then Rayleigh–Ritz on the l × l projected matrix
 * with a symmetric eigendecomposition (Householder + implicit QL: Jacobi, kept below as the test
 * reference, took ~1 s at l = 266 against ~0.1 s). Deterministic for a seed.
 *
 * Dense panels are row-major for the sparse products (inner loop over the panel width) and
 * column-major inside Gram–Schmidt, so every inner loop runs over contiguous memory.
 */
import { StudioError, throwIfCancelled } from '../errors.ts';
import { Rng } from '../rng.ts';

export interface CsrMatrix {
  rows: number;
  cols: number;
  /** rows+1 offsets into indices/values. */
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

export interface RandomizedSvdOptions {
  /** Extra test vectors beyond k (Halko's p). Default 10. */
  oversamples?: number;
  /** Subspace iterations (Halko's q). Default 2. */
  powerIters?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Called after each of `total` major steps (products + orthonormalisations). */
  onStep?: (done: number, total: number) => void;
}

export interface SvdResult {
  k: number;
  /** Descending singular values. */
  s: Float64Array;
  /** rows × k, row-major, orthonormal columns. */
  U: Float64Array;
  /** cols × k, row-major, orthonormal columns. */
  V: Float64Array;
}

/** Yields to the event loop every ~30 ms, so a Worker can receive the cancel message. */
export class Ticker {
  private last = Date.now();
  constructor(private readonly signal?: AbortSignal) {}
  async tick(): Promise<void> {
    if (Date.now() - this.last < 30) return;
    await new Promise<void>((r) => setTimeout(r, 0));
    this.last = Date.now();
    throwIfCancelled(this.signal);
  }
}

/** Y (rows × l) = A · X (X: cols × l). Row-major panels: the inner loop runs over l. */
export function spmm(A: CsrMatrix, X: Float64Array, l: number): Float64Array {
  const { rows: m, indptr, indices, values } = A;
  const Y = new Float64Array(m * l);
  for (let i = 0; i < m; i++) {
    const yo = i * l;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const v = values[p];
      const xo = indices[p] * l;
      for (let j = 0; j < l; j++) Y[yo + j] += v * X[xo + j];
    }
  }
  return Y;
}

/** Z (cols × l) = Aᵀ · Y (Y: rows × l). Row-major panels. */
export function spmmT(A: CsrMatrix, Y: Float64Array, l: number): Float64Array {
  const { rows: m, cols: n, indptr, indices, values } = A;
  const Z = new Float64Array(n * l);
  for (let i = 0; i < m; i++) {
    const yo = i * l;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const v = values[p];
      const zo = indices[p] * l;
      for (let j = 0; j < l; j++) Z[zo + j] += v * Y[yo + j];
    }
  }
  return Z;
}

/** Row-major r × c ⇄ column-major (the same as transposing an r × c row-major matrix). */
export function transpose(M: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    const io = i * c;
    for (let j = 0; j < c; j++) out[j * r + i] = M[io + j];
  }
  return out;
}

/**
 * In-place thin QR of the column-major len × l panel M (M becomes Q). Dependent columns become
 * zero columns (R diagonal 0), which keeps QQᵀ a projection. Returns R (l × l, row-major) if asked.
 */
export async function mgsQr(M: Float64Array, len: number, l: number, wantR: boolean, ticker?: Ticker): Promise<Float64Array | null> {
  const R = wantR ? new Float64Array(l * l) : null;
  for (let j = 0; j < l; j++) {
    const vo = j * len;
    const norm0 = norm(M, vo, len);
    let nrm = norm0;
    // "Twice is enough": a second pass only when the first removed most of the column.
    for (let pass = 0; pass < 2; pass++) {
      let i = 0;
      // Four earlier (orthonormal) columns per sweep over v: projecting against a block of
      // orthonormal columns at once equals MGS up to rounding, at fewer memory passes.
      for (; i + 3 < j; i += 4) {
        const o0 = i * len, o1 = o0 + len, o2 = o1 + len, o3 = o2 + len;
        let r0 = 0, r1 = 0, r2 = 0, r3 = 0;
        for (let t = 0; t < len; t++) {
          const v = M[vo + t];
          r0 += M[o0 + t] * v;
          r1 += M[o1 + t] * v;
          r2 += M[o2 + t] * v;
          r3 += M[o3 + t] * v;
        }
        for (let t = 0; t < len; t++) M[vo + t] -= r0 * M[o0 + t] + r1 * M[o1 + t] + r2 * M[o2 + t] + r3 * M[o3 + t];
        if (R) {
          R[i * l + j] += r0;
          R[(i + 1) * l + j] += r1;
          R[(i + 2) * l + j] += r2;
          R[(i + 3) * l + j] += r3;
        }
      }
      for (; i < j; i++) {
        const qo = i * len;
        let r = 0;
        for (let t = 0; t < len; t++) r += M[qo + t] * M[vo + t];
        if (r === 0) continue;
        for (let t = 0; t < len; t++) M[vo + t] -= r * M[qo + t];
        if (R) R[i * l + j] += r;
      }
      const before = nrm;
      nrm = norm(M, vo, len);
      if (nrm > 0.5 * before) break;
    }
    if (!(nrm > 1e-12 * norm0) || nrm === 0) {
      M.fill(0, vo, vo + len);
      if (R) R[j * l + j] = 0;
    } else {
      const inv = 1 / nrm;
      for (let t = 0; t < len; t++) M[vo + t] *= inv;
      if (R) R[j * l + j] = nrm;
    }
    if (ticker && (j & 7) === 7) await ticker.tick();
  }
  return R;
}

/**
 * C (r × c, row-major) = Aᵀ·B for column-major A (len × r) and B (len × c): every entry is a dot
 * product of contiguous columns, four at a time. `upper` computes only j ≥ i (and mirrors).
 */
export async function gramCols(A: Float64Array, B: Float64Array, len: number, r: number, c: number, upper: boolean, ticker?: Ticker): Promise<Float64Array> {
  const C = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    const ao = i * len;
    let j = upper ? i : 0;
    for (; j + 3 < c; j += 4) {
      const b0 = j * len, b1 = b0 + len, b2 = b1 + len, b3 = b2 + len;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let t = 0; t < len; t++) {
        const x = A[ao + t];
        s0 += x * B[b0 + t];
        s1 += x * B[b1 + t];
        s2 += x * B[b2 + t];
        s3 += x * B[b3 + t];
      }
      C[i * c + j] = s0;
      C[i * c + j + 1] = s1;
      C[i * c + j + 2] = s2;
      C[i * c + j + 3] = s3;
    }
    for (; j < c; j++) {
      const bo = j * len;
      let acc = 0;
      for (let t = 0; t < len; t++) acc += A[ao + t] * B[bo + t];
      C[i * c + j] = acc;
    }
    if (ticker && (i & 7) === 7) await ticker.tick();
  }
  if (upper) for (let i = 0; i < r; i++) for (let j = 0; j < i; j++) C[i * c + j] = C[j * c + i];
  return C;
}

function norm(M: Float64Array, at: number, len: number): number {
  let ss = 0;
  for (let t = 0; t < len; t++) ss += M[at + t] * M[at + t];
  return Math.sqrt(ss);
}

/**
 * Cyclic Jacobi eigendecomposition of a symmetric l × l matrix (row-major, overwritten): the
 * slow, simple reference that tests check symmetricEigen against. Returns eigenvalues (unsorted)
 * and vectors[k*l + j] = component k of eigenvector j.
 */
export function jacobiEigen(G: Float64Array, l: number, maxSweeps = 50): { values: Float64Array; vectors: Float64Array } {
  // W holds eigenvectors as rows while rotating (contiguous updates); transposed at the end.
  const W = new Float64Array(l * l);
  for (let i = 0; i < l; i++) W[i * l + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < l; i++) {
      diag += G[i * l + i] * G[i * l + i];
      for (let j = i + 1; j < l; j++) off += G[i * l + j] * G[i * l + j];
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < l - 1; p++) {
      for (let q = p + 1; q < l; q++) {
        const apq = G[p * l + q];
        if (apq === 0) continue;
        const app = G[p * l + p];
        const aqq = G[q * l + q];
        // Below round-off of both diagonal entries: just drop it (Numerical Recipes' test).
        const g = 100 * Math.abs(apq);
        if (Math.abs(app) + g === Math.abs(app) && Math.abs(aqq) + g === Math.abs(aqq)) {
          G[p * l + q] = 0;
          G[q * l + p] = 0;
          continue;
        }
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // G ← Jᵀ G J on rows/columns p and q.
        for (let k = 0; k < l; k++) {
          const gkp = G[k * l + p];
          const gkq = G[k * l + q];
          G[k * l + p] = c * gkp - s * gkq;
          G[k * l + q] = s * gkp + c * gkq;
        }
        const po = p * l;
        const qo = q * l;
        for (let k = 0; k < l; k++) {
          const gpk = G[po + k];
          const gqk = G[qo + k];
          G[po + k] = c * gpk - s * gqk;
          G[qo + k] = s * gpk + c * gqk;
          const wp = W[po + k];
          const wq = W[qo + k];
          W[po + k] = c * wp - s * wq;
          W[qo + k] = s * wp + c * wq;
        }
        G[p * l + q] = 0;
        G[q * l + p] = 0;
      }
    }
  }
  const values = new Float64Array(l);
  for (let i = 0; i < l; i++) values[i] = G[i * l + i];
  // Same layout as symmetricEigen: vectors[k*l + j] = component k of eigenvector j.
  const vectors = new Float64Array(l * l);
  for (let j = 0; j < l; j++) for (let k = 0; k < l; k++) vectors[k * l + j] = W[j * l + k];
  return { values, vectors };
}

/**
 * Symmetric eigendecomposition by Householder tridiagonalisation + implicit QL (EISPACK
 * tred2/tql2 as in JAMA). Much faster than Jacobi for l ≈ 266 (≈ l³ vs many l³ sweeps).
 * `A` is row-major n × n (read only). Returns eigenvalues (ascending order not guaranteed) and
 * V row-major with V[k*n + j] = component k of eigenvector j.
 */
export function symmetricEigen(A: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(A);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: V };
  // tred2
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
  // tql2
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) {
          throw new StudioError({ code: 'internal', message: 'Eigendecomposition did not converge' });
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < n; k++) {
            const ko = k * n;
            h = V[ko + i + 1];
            V[ko + i + 1] = s * V[ko + i] + c * h;
            V[ko + i] = c * V[ko + i] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  return { values: d, vectors: V };
}

/** Row-major panel → orthonormal columns (via a column-major Gram–Schmidt), row-major again. */
async function orthonormalize(Y: Float64Array, len: number, l: number, ticker: Ticker): Promise<Float64Array> {
  const cm = transpose(Y, len, l);
  await mgsQr(cm, len, l, false, ticker);
  return transpose(cm, l, len);
}

/**
 * Rank-k truncated SVD A ≈ U·diag(s)·Vᵀ of a sparse matrix. The subspace iteration runs on the
 * column side (AᵀA on cols × l panels; vocabularies are smaller than item counts), spanning
 * (AᵀA)^q·Aᵀ·Ω and orthonormalising after each AᵀA product (q QRs in all, at least one). Then
 * Rayleigh–Ritz: G = Qᵀ(AᵀA)Q = W Λ Wᵀ, V = Q W, s = √λ, U = A V / s (so U·Σ = A·V exactly).
 */
export async function randomizedSvd(A: CsrMatrix, k: number, opts: RandomizedSvdOptions = {}): Promise<SvdResult> {
  const { rows: m, cols: n } = A;
  const minDim = Math.min(m, n);
  if (!Number.isInteger(k) || k < 1 || k > minDim) {
    throw new StudioError({ code: 'bad_option', message: `SVD rank must be an integer in 1..${minDim} for a ${m} × ${n} matrix`, expected: `1..${minDim}`, found: String(k) });
  }
  const q = Math.max(0, Math.floor(opts.powerIters ?? 2));
  const l = Math.min(minDim, k + Math.max(0, opts.oversamples ?? 10));
  const ticker = new Ticker(opts.signal);
  const rounds = Math.max(1, q);
  const total = rounds + 2;
  let done = 0;
  const step = async () => {
    opts.onStep?.(++done, total);
    throwIfCancelled(opts.signal);
    await ticker.tick();
  };
  throwIfCancelled(opts.signal);

  const omega = gaussian(m * l, opts.seed ?? 0);
  let Q = spmmT(A, omega, l);
  for (let it = 0; it < rounds; it++) {
    if (it < q) Q = spmmT(A, spmm(A, Q, l), l);
    await ticker.tick();
    Q = await orthonormalize(Q, n, l, ticker);
    await step();
  }
  const H = spmmT(A, spmm(A, Q, l), l);
  const Qc = transpose(Q, n, l);
  const G = await gramCols(Qc, transpose(H, n, l), n, l, l, true, ticker);
  const { values, vectors } = symmetricEigen(G, l);
  const top = Array.from({ length: l }, (_, i) => i).sort((a, b) => values[b] - values[a] || a - b).slice(0, k);
  const s = Float64Array.from(top, (i) => Math.sqrt(Math.max(0, values[i])));
  await step();
  // V = Q·W_k (cols × k), U = A·V / s (rows × k); both row-major. Vᵀ = W_kᵀ·Qᵀ as column dots.
  const Wc = new Float64Array(k * l);
  for (let c = 0; c < k; c++) for (let j = 0; j < l; j++) Wc[c * l + j] = vectors[j * l + top[c]];
  const V = await gramCols(Q, Wc, l, n, k, false, ticker);
  const U = spmm(A, V, k);
  const inv = Float64Array.from(s, (x) => (x > 0 ? 1 / x : 0));
  // Sign convention (as sklearn's svd_flip): the largest-|.| entry of each U column is positive.
  const best = new Float64Array(k);
  for (let t = 0; t < m; t++) {
    for (let c = 0; c < k; c++) {
      const u = (U[t * k + c] *= inv[c]);
      if (Math.abs(u) > Math.abs(best[c])) best[c] = u;
    }
  }
  for (let c = 0; c < k; c++) {
    if (best[c] >= 0) continue;
    for (let t = 0; t < m; t++) U[t * k + c] = -U[t * k + c];
    for (let t = 0; t < n; t++) V[t * k + c] = -V[t * k + c];
  }
  await step();
  return { k, s, U, V };
}

/** Seeded standard normals, both Box–Muller outputs used. */
function gaussian(size: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(size);
  for (let t = 0; t < size; t += 2) {
    let u = 0;
    while (u === 0) u = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * rng.next();
    out[t] = r * Math.cos(th);
    if (t + 1 < size) out[t + 1] = r * Math.sin(th);
  }
  return out;
}
