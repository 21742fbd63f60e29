// genlab's own SGEMM, for machines without a BLAS (built when no cblas.h is found, or with
// GENLAB_OWN_GEMM=1): GotoBLAS's blocking (B packed in KC x NC panels of NR-wide strips, A in
// MC x KC blocks of MR-tall strips) around an MR x NR register tile of FMAs, written with the
// vector extensions of direct.h so that it compiles to AVX-512, AVX2 or NEON. Threads split the
// rows of C (each packs its own A block); the B panel is packed once and shared.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>
#include "direct.h"
#include "pool.h"

namespace gemm {

using direct::vf;
using direct::VL;
using direct::Load;
using direct::Store;

constexpr int NR = 2 * VL;                       // two vectors of C's columns
constexpr int MR = (direct::REGS - 4) / 2;       // rows: 2*MR accumulators, 2 B vectors, a broadcast
constexpr int KC = 256, MC = MR * 16, NC = 4096;

// A vector of s in every lane: s - 0 is s exactly (vf{} + s is not: -0.0 + 0.0 is +0.0), so no arithmetic is left
inline vf Splat(float s) { return s - vf{}; }

// A's element (i, k) of op(A), row-major storage with leading dimension lda.
inline float At(const float* A, int64_t lda, bool ta, int64_t i, int64_t k) { return ta ? A[k * lda + i] : A[i * lda + k]; }

// Packs rows [i0, i0+mc) x cols [k0, k0+kc) of op(A) into MR-tall strips, k-major within a strip; rows past mc are zeros.
inline void PackA(const float* A, int64_t lda, bool ta, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* out) {
  for (int64_t s = 0; s < mc; s += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - s);
    for (int64_t k = 0; k < kc; ++k) {
      float* o = out + s * kc + k * MR;
      int64_t r = 0;
      if (!ta) for (; r < rows; ++r) o[r] = A[(i0 + s + r) * lda + k0 + k];
      else { const float* a = A + (k0 + k) * lda + i0 + s; for (; r < rows; ++r) o[r] = a[r]; }
      for (; r < MR; ++r) o[r] = 0.f;
    }
  }
}

// Packs rows [k0, k0+kc) x cols [j0, j0+nc) of op(B) into NR-wide strips; columns past nc are zeros.
inline void PackB(const float* B, int64_t ldb, bool tb, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t s = 0; s < nc; s += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - s);
    for (int64_t k = 0; k < kc; ++k) {
      float* o = out + s * kc + k * NR;
      int64_t c = 0;
      if (!tb) { const float* b = B + (k0 + k) * ldb + j0 + s; for (; c < cols; ++c) o[c] = b[c]; }
      else for (; c < cols; ++c) o[c] = B[(j0 + s + c) * ldb + k0 + k];
      for (; c < NR; ++c) o[c] = 0.f;
    }
  }
}

// C tile (mr x nr valid of MR x NR) = alpha * a * b + (first ? beta * C : C).
inline void Kernel(int64_t kc, const float* a, const float* b, float* C, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta, bool first) {
  vf acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = vf{};
  for (int64_t k = 0; k < kc; ++k) {
    const vf b0 = Load(b + k * NR), b1 = Load(b + k * NR + VL);
    const float* ak = a + k * MR;
    for (int r = 0; r < MR; ++r) {
      const vf ar = Splat(ak[r]);
      acc[r][0] += ar * b0;
      acc[r][1] += ar * b1;
    }
  }
  const float cb = first ? beta : 1.f;
  if (mr == MR && nr == NR) {
    for (int r = 0; r < MR; ++r) {
      float* c = C + r * ldc;
      if (cb == 0.f) { Store(c, acc[r][0] * alpha); Store(c + VL, acc[r][1] * alpha); }
      else { Store(c, acc[r][0] * alpha + Load(c) * cb); Store(c + VL, acc[r][1] * alpha + Load(c + VL) * cb); }
    }
    return;
  }
  alignas(64) float t[MR][NR];
  for (int r = 0; r < MR; ++r) { Store(t[r], acc[r][0]); Store(t[r] + VL, acc[r][1]); }
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t c = 0; c < nr; ++c) {
      float& o = C[r * ldc + c];
      o = alpha * t[r][c] + (cb == 0.f ? 0.f : cb * o);
    }
}

// Row-major C[M, N] = alpha * op(A) op(B) + beta * C, as cblas_sgemm(CblasRowMajor, ...).
inline void Sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) {
    for (int64_t i = 0; i < M; ++i) for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  thread_local std::vector<float> bpack;
  const int threads = pool::Get().Threads();
  for (int64_t j0 = 0; j0 < N; j0 += NC) {
    const int64_t nc = std::min<int64_t>(NC, N - j0), ncp = (nc + NR - 1) / NR * NR;
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
      const int64_t kc = std::min<int64_t>(KC, K - k0);
      bpack.resize(size_t(ncp * kc));
      PackB(B, ldb, tb, k0, kc, j0, nc, bpack.data());
      const bool first = k0 == 0;
      const float* bp = bpack.data();
      // C shared out among the threads by rows (each packs its own A blocks), or by columns when
      // there are too few rows (a GEMV-like product: one token's logits)
      const bool byRows = M >= int64_t(2) * MR * threads || ncp <= NR;
      const int parts = int(std::max<int64_t>(1, std::min<int64_t>(threads, byRows ? M / (2 * MR) : ncp / NR)));
      auto part = [&](int p) {
        thread_local std::vector<float> apack;
        int64_t r0 = 0, r1 = M, s0 = 0, s1 = nc;
        if (byRows) {
          const int64_t per = parts > 1 ? ((M + parts - 1) / parts + MR - 1) / MR * MR : M;
          r0 = std::min<int64_t>(M, p * per); r1 = std::min<int64_t>(M, r0 + per);
        } else {
          const int64_t strips = ncp / NR, per = (strips + parts - 1) / parts;
          s0 = std::min<int64_t>(nc, p * per * NR); s1 = std::min<int64_t>(nc, s0 + per * NR);
        }
        apack.resize(size_t(MC * kc));
        for (int64_t i0 = r0; i0 < r1; i0 += MC) {
          const int64_t mc = std::min<int64_t>(MC, r1 - i0);
          PackA(A, lda, ta, i0, mc, k0, kc, apack.data());
          for (int64_t s = s0; s < s1; s += NR)
            for (int64_t r = 0; r < mc; r += MR)
              Kernel(kc, apack.data() + r * kc, bp + s * kc, C + (i0 + r) * ldc + j0 + s, ldc, std::min<int64_t>(MR, mc - r), std::min<int64_t>(NR, nc - s), alpha, beta, first);
        }
      };
      pool::Get().Run(parts, part);
    }
  }
}

}  // namespace gemm
