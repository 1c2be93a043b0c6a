/*
 * Batched float32 matrix product for the tfjs wasm backend: C[t] = A[t] · B[t] for t < batch,
 * A[t] is M×K, B[t] is K×N, all row-major and contiguous. tfjs-backend-wasm 4.22 runs batch > 1
 * through a scalar blocked loop (~1.8 GFLOP/s in Node); this kernel keeps a 4×8 block of C in
 * SIMD registers over the whole K loop. No libc: the caller (src/core/tfjs/wasmBmm.ts) places
 * the operands in this module's memory above __heap_base.
 *
 * Build: npm run build:kernels (clang + lld, wasm32, -msimd128).
 */
#include <wasm_simd128.h>

/* Rows i0..i0+3, columns j0..j0+7. */
static inline void block4x8(const float *a, const float *b, float *c, int K, int N, int i0, int j0) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = wasm_f32x4_splat(0);
  v128_t c10 = wasm_f32x4_splat(0), c11 = wasm_f32x4_splat(0);
  v128_t c20 = wasm_f32x4_splat(0), c21 = wasm_f32x4_splat(0);
  v128_t c30 = wasm_f32x4_splat(0), c31 = wasm_f32x4_splat(0);
  const float *a0 = a + (i0 + 0) * K, *a1 = a + (i0 + 1) * K, *a2 = a + (i0 + 2) * K, *a3 = a + (i0 + 3) * K;
  const float *bp = b + j0;
  for (int k = 0; k < K; k++, bp += N) {
    v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
    v128_t x0 = wasm_f32x4_splat(a0[k]), x1 = wasm_f32x4_splat(a1[k]);
    v128_t x2 = wasm_f32x4_splat(a2[k]), x3 = wasm_f32x4_splat(a3[k]);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x0, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x0, b1));
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x1, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x1, b1));
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x2, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x2, b1));
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x3, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x3, b1));
  }
  float *r0 = c + (i0 + 0) * N + j0, *r1 = c + (i0 + 1) * N + j0, *r2 = c + (i0 + 2) * N + j0, *r3 = c + (i0 + 3) * N + j0;
  wasm_v128_store(r0, c00); wasm_v128_store(r0 + 4, c01);
  wasm_v128_store(r1, c10); wasm_v128_store(r1 + 4, c11);
  wasm_v128_store(r2, c20); wasm_v128_store(r2 + 4, c21);
  wasm_v128_store(r3, c30); wasm_v128_store(r3 + 4, c31);
}

/* One row i, columns j0..j0+3. */
static inline void block1x4(const float *a, const float *b, float *c, int K, int N, int i, int j0) {
  v128_t acc = wasm_f32x4_splat(0);
  const float *ai = a + i * K;
  const float *bp = b + j0;
  for (int k = 0; k < K; k++, bp += N) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_splat(ai[k]), wasm_v128_load(bp)));
  wasm_v128_store(c + i * N + j0, acc);
}

/* One element. */
static inline void block1x1(const float *a, const float *b, float *c, int K, int N, int i, int j) {
  float acc = 0;
  const float *ai = a + i * K;
  for (int k = 0; k < K; k++) acc += ai[k] * b[k * N + j];
  c[i * N + j] = acc;
}

static void gemm(const float *a, const float *b, float *c, int M, int K, int N) {
  const int M4 = M & ~3, N8 = N & ~7, N4 = N & ~3;
  for (int i = 0; i < M4; i += 4) {
    for (int j = 0; j < N8; j += 8) block4x8(a, b, c, K, N, i, j);
  }
  /* Right strip (columns N8..N) for all rows, then the bottom rows (M4..M) left of it. */
  for (int i = 0; i < M; i++) {
    for (int j = N8; j < N4; j += 4) block1x4(a, b, c, K, N, i, j);
    for (int j = N4; j < N; j++) block1x1(a, b, c, K, N, i, j);
  }
  for (int i = M4; i < M; i++) {
    for (int j = 0; j < N8; j += 4) block1x4(a, b, c, K, N, i, j);
  }
}

__attribute__((export_name("bmm")))
void bmm(const float *A, const float *B, float *C, int batch, int M, int K, int N) {
  for (int t = 0; t < batch; t++) gemm(A + t * M * K, B + t * K * N, C + t * M * N, M, K, N);
}

/* dst[t] = src[t]ᵀ for t < batch; src[t] is R×C. Lets the caller serve transposeA/transposeB. */
__attribute__((export_name("transpose")))
void transpose(const float *src, float *dst, int batch, int R, int C) {
  for (int t = 0; t < batch; t++, src += R * C, dst += R * C) {
    for (int i0 = 0; i0 < R; i0 += 8) {
      const int i1 = i0 + 8 < R ? i0 + 8 : R;
      for (int j = 0; j < C; j++) {
        for (int i = i0; i < i1; i++) dst[j * R + i] = src[i * C + j];
      }
    }
  }
}
