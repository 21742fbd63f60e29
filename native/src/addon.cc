// genlab's native kernels: float32 GEMM over a system BLAS (OpenBLAS on Linux, Accelerate on macOS).
// The JS side (src/tensor/native.ts) owns shapes and broadcasting; this file only does arithmetic
// on Float32Array views, with no copies.
#include <napi.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include "direct.h"
#include "pool.h"
#if defined(GENLAB_OWN_GEMM)
#include "gemm.h"
#elif defined(GENLAB_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
extern "C" {
char* openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
}
#endif

namespace {
// Row-major C = alpha op(A) op(B) + beta C: the BLAS's, or genlab's own where no BLAS was found.
inline void Sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#if defined(GENLAB_OWN_GEMM)
  gemm::Sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
#endif
}
}  // namespace

namespace {

float* F32(const Napi::Value& v, size_t offset, size_t need, const char* what) {
  auto arr = v.As<Napi::Float32Array>();
  if (offset + need > arr.ElementLength()) {
    Napi::RangeError::New(v.Env(), std::string("genlab_native: buffer too small for ") + what)
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  return arr.Data() + offset;
}

// sgemmBatch(batch, transA, transB, M, N, K, A, strideA, B, strideB, C, strideC, beta, bias?)
// C[i] = op(A[i]) @ op(B[i]) + beta * C[i] for i < batch; a stride of 0 broadcasts one matrix.
// With a bias of N values, every row of C starts as the bias (beta is then 1).
Napi::Value SgemmBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t batch = info[0].As<Napi::Number>().Int64Value();
  const bool ta = info[1].As<Napi::Boolean>().Value();
  const bool tb = info[2].As<Napi::Boolean>().Value();
  const int M = info[3].As<Napi::Number>().Int32Value();
  const int N = info[4].As<Napi::Number>().Int32Value();
  const int K = info[5].As<Napi::Number>().Int32Value();
  const int64_t sA = info[7].As<Napi::Number>().Int64Value();
  const int64_t sB = info[9].As<Napi::Number>().Int64Value();
  const int64_t sC = info[11].As<Napi::Number>().Int64Value();
  float beta = info.Length() > 12 && info[12].IsNumber() ? info[12].As<Napi::Number>().FloatValue() : 0.f;
  const float* bias = nullptr;
  if (info.Length() > 13 && info[13].IsTypedArray()) {
    bias = F32(info[13], 0, N, "bias");
    if (!bias) return env.Undefined();
  }
  if (batch <= 0 || M <= 0 || N <= 0) return env.Undefined();
  float* A = F32(info[6], 0, sA * (batch - 1) + int64_t(M) * K, "A");
  float* B = F32(info[8], 0, sB * (batch - 1) + int64_t(K) * N, "B");
  float* C = F32(info[10], 0, sC * (batch - 1) + int64_t(M) * N, "C");
  if (!A || !B || !C) return env.Undefined();
  const int lda = ta ? M : K, ldb = tb ? K : N;
  if (bias) {
    for (int64_t i = 0; i < batch; ++i)
      for (int r = 0; r < M; ++r) std::copy(bias, bias + N, C + i * sC + int64_t(r) * N);
    beta = 1.f;
  }
  for (int64_t i = 0; i < batch; ++i) {
    Sgemm(ta, tb, M, N, K, 1.0f, A + i * sA, lda, B + i * sB, ldb, beta, C + i * sC, N);
  }
  return env.Undefined();
}

// transpose(x, shape: number[], perm: number[], out): out = x.transpose(perm), any rank <= 8.
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto shapeArr = info[1].As<Napi::Array>();
  auto permArr = info[2].As<Napi::Array>();
  const int r = shapeArr.Length();
  if (r > 8 || int(permArr.Length()) != r) {
    Napi::RangeError::New(env, "genlab_native: transpose supports rank <= 8").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t shape[8], inStride[8], oshape[8], ostride[8];
  int64_t size = 1;
  for (int i = 0; i < r; ++i) { shape[i] = shapeArr.Get(i).As<Napi::Number>().Int64Value(); size *= shape[i]; }
  int64_t st = 1;
  for (int i = r - 1; i >= 0; --i) { inStride[i] = st; st *= shape[i]; }
  for (int i = 0; i < r; ++i) {
    const int p = permArr.Get(i).As<Napi::Number>().Int32Value();
    oshape[i] = shape[p];
    ostride[i] = inStride[p];  // input stride of output axis i
  }
  const float* x = F32(info[0], 0, size, "x");
  float* out = F32(info[3], 0, size, "out");
  if (!x || !out || size == 0) return env.Undefined();
  if (r == 0) { out[0] = x[0]; return env.Undefined(); }
  int64_t idx[8] = {0};
  const int64_t inner = oshape[r - 1], innerStride = ostride[r - 1];
  int64_t base = 0;
  for (int64_t o = 0; o < size; o += inner) {
    const float* src = x + base;
    float* dst = out + o;
    if (innerStride == 1) {
      for (int64_t j = 0; j < inner; ++j) dst[j] = src[j];
    } else {
      for (int64_t j = 0; j < inner; ++j) dst[j] = src[j * innerStride];
    }
    // advance the multi-index over the outer output axes
    for (int d = r - 2; d >= 0; --d) {
      if (++idx[d] < oshape[d]) { base += ostride[d]; break; }
      base -= ostride[d] * (oshape[d] - 1);
      idx[d] = 0;
    }
  }
  return env.Undefined();
}

// sumSquares(x): sum of x[i]^2 in double precision (for the global gradient norm).
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  auto arr = info[0].As<Napi::Float32Array>();
  const float* x = arr.Data();
  const size_t n = arr.ElementLength();
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += double(x[i]) * x[i];
  return Napi::Number::New(info.Env(), s);
}

// adamStep(p, g, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, bc1, bc2, gradScale):
// one Adam/AdamW update of p, m, v in place, as torch.optim.Adam(W):
//   g' = gradScale * g (+ wd * p for L2 Adam); m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2
//   p = p (1 - lr wd, AdamW) - lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto pa = info[0].As<Napi::Float32Array>();
  const size_t n = pa.ElementLength();
  float* p = pa.Data();
  const float* g = F32(info[1], 0, n, "g");
  float* m = F32(info[2], 0, n, "m");
  float* v = F32(info[3], 0, n, "v");
  if (!g || !m || !v) return env.Undefined();
  const double lr = info[4].As<Napi::Number>().DoubleValue();
  const float b1 = info[5].As<Napi::Number>().FloatValue(), b2 = info[6].As<Napi::Number>().FloatValue();
  const float eps = info[7].As<Napi::Number>().FloatValue();
  const double wd = info[8].As<Napi::Number>().DoubleValue();
  const bool decoupled = info[9].As<Napi::Boolean>().Value();
  const double bc1 = info[10].As<Napi::Number>().DoubleValue(), bc2 = info[11].As<Napi::Number>().DoubleValue();
  const float scale = info[12].As<Napi::Number>().FloatValue();
  const float stepSize = float(lr / bc1), sqrtBc2 = float(std::sqrt(bc2));
  const float keep = decoupled ? float(1.0 - lr * wd) : 1.0f, l2 = decoupled ? 0.0f : float(wd);
  for (size_t i = 0; i < n; ++i) {
    const float gi = g[i] * scale + l2 * p[i];
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    p[i] = p[i] * keep - stepSize * (m[i] / (std::sqrt(v[i]) / sqrtBc2 + eps));
  }
  return env.Undefined();
}

// emaStep(shadow, p, decay): shadow = decay * shadow + (1 - decay) * p, in place.
Napi::Value EmaStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto sa = info[0].As<Napi::Float32Array>();
  const size_t n = sa.ElementLength();
  float* s = sa.Data();
  const float* p = F32(info[1], 0, n, "p");
  if (!p) return env.Undefined();
  const float d = info[2].As<Napi::Number>().FloatValue();
  for (size_t i = 0; i < n; ++i) s[i] = d * s[i] + (1.0f - d) * p[i];
  return env.Undefined();
}

template <typename F>
void ParallelFor(int64_t n, int64_t workPerItem, F fn);

// gelu(x, out): 0.5 x (1 + erf(x / sqrt 2)), the exact GELU (vectorized erf, on the pool's threads).
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto xa = info[0].As<Napi::Float32Array>();
  const int64_t n = xa.ElementLength();
  const float* x = xa.Data();
  float* out = F32(info[1], 0, n, "out");
  if (!out) return env.Undefined();
  ParallelFor(n, 16, [&](int64_t i0, int64_t i1) { direct::GeluRange(x, nullptr, out, i0, i1); });
  return env.Undefined();
}

// geluGrad(x, dy, out): dy * (Phi(x) + x phi(x)).
Napi::Value GeluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto xa = info[0].As<Napi::Float32Array>();
  const int64_t n = xa.ElementLength();
  const float* x = xa.Data();
  const float* dy = F32(info[1], 0, n, "dy");
  float* out = F32(info[2], 0, n, "out");
  if (!dy || !out) return env.Undefined();
  ParallelFor(n, 16, [&](int64_t i0, int64_t i1) { direct::GeluRange(x, dy, out, i0, i1); });
  return env.Undefined();
}

// causalSoftmax(x, Tn, T, scale, pos0, out): x [rows, T] with rows = (batch...) x Tn queries;
// query i sees keys j <= pos0 + i: out = softmax(scale * x) over those, 0 elsewhere.
Napi::Value CausalSoftmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto xa = info[0].As<Napi::Float32Array>();
  const int64_t Tn = info[1].As<Napi::Number>().Int64Value(), T = info[2].As<Napi::Number>().Int64Value();
  const float scale = info[3].As<Napi::Number>().FloatValue();
  const int64_t pos0 = info[4].As<Napi::Number>().Int64Value(), rows = int64_t(xa.ElementLength()) / T;
  const float* x = xa.Data();
  float* out = F32(info[5], 0, rows * T, "out");
  if (!out) return env.Undefined();
  ParallelFor(rows, T * 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) direct::CausalSoftmaxRow(x + r * T, out + r * T, std::min(T, pos0 + r % Tn + 1), T, scale);
  });
  return env.Undefined();
}

// causalSoftmaxGrad(y, dy, T, scale, out): out = scale * y * (dy - rowsum(dy * y)).
Napi::Value CausalSoftmaxGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ya = info[0].As<Napi::Float32Array>();
  const int64_t T = info[2].As<Napi::Number>().Int64Value(), rows = int64_t(ya.ElementLength()) / T;
  const float scale = info[3].As<Napi::Number>().FloatValue();
  const float* y = ya.Data();
  const float* dy = F32(info[1], 0, rows * T, "dy");
  float* out = F32(info[4], 0, rows * T, "out");
  if (!dy || !out) return env.Undefined();
  ParallelFor(rows, T * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) direct::CausalSoftmaxGradRow(y + r * T, dy + r * T, out + r * T, T, scale);
  });
  return env.Undefined();
}

// reduceSum(x, outer, reduce, inner, out): x viewed as [outer, reduce, inner], summed over the middle axis.
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t outer = info[1].As<Napi::Number>().Int64Value();
  const int64_t reduce = info[2].As<Napi::Number>().Int64Value();
  const int64_t inner = info[3].As<Napi::Number>().Int64Value();
  const float* x = F32(info[0], 0, outer * reduce * inner, "x");
  float* out = F32(info[4], 0, outer * inner, "out");
  if (!x || !out) return env.Undefined();
  for (int64_t o = 0; o < outer; ++o) {
    float* dst = out + o * inner;
    const float* src = x + o * reduce * inner;
    if (inner == 1) {
      double s = 0;
      for (int64_t r = 0; r < reduce; ++r) s += src[r];
      dst[0] = float(s);
    } else {
      for (int64_t j = 0; j < inner; ++j) dst[j] = 0.f;
      for (int64_t r = 0; r < reduce; ++r) {
        const float* row = src + r * inner;
        for (int64_t j = 0; j < inner; ++j) dst[j] += row[j];
      }
    }
  }
  return env.Undefined();
}

// Runs fn(begin, end) over [0, n) split between this thread and one more when the work is big
// enough to pay for a thread (memory-bound loops: im2col, col2im, GroupNorm).
template <typename F>
void ParallelFor(int64_t n, int64_t workPerItem, F fn) {
  if (n < 2 || n * workPerItem < (1 << 16)) { fn(0, n); return; }
  const int parts = int(std::min<int64_t>(n, pool::Get().Threads()));
  auto part = [&](int p) { fn(n * p / parts, n * (p + 1) / parts); };
  pool::Get().Run(parts, part);
}

// out[0, n) = the sum over row ranges of fn(r0, r1, acc), each range adding into its own zeroed
// accumulator (the filter gradients: every row contributes to all of dw).
template <typename F>
void ReduceRows(int64_t rows, int64_t workPerRow, int64_t n, float* out, F fn) {
  const int parts = rows < 2 || rows * workPerRow < (1 << 16) ? 1 : int(std::min<int64_t>(rows, pool::Get().Threads()));
  std::fill(out, out + n, 0.f);
  std::vector<std::vector<float>> extra(parts - 1, std::vector<float>(n, 0.f));
  auto part = [&](int p) { fn(rows * p / parts, rows * (p + 1) / parts, p == 0 ? out : extra[p - 1].data()); };
  pool::Get().Run(parts, part);
  for (const auto& e : extra)
    for (int64_t i = 0; i < n; ++i) out[i] += e[i];
}

// leakyRelu(x, alpha, out, dy?): out = x > 0 ? x : alpha x, or with dy its gradient
// out = x > 0 ? dy : alpha dy (tfjs's convention at 0).
Napi::Value LeakyRelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto xa = info[0].As<Napi::Float32Array>();
  const int64_t n = xa.ElementLength();
  const float* x = xa.Data();
  const float alpha = info[1].As<Napi::Number>().FloatValue();
  float* out = F32(info[2], 0, n, "out");
  const float* dy = info.Length() > 3 && info[3].IsTypedArray() ? F32(info[3], 0, n, "dy") : nullptr;
  if (!out || (info.Length() > 3 && info[3].IsTypedArray() && !dy)) return env.Undefined();
  ParallelFor(n, 1, [&](int64_t i0, int64_t i1) {
    if (dy) for (int64_t i = i0; i < i1; ++i) out[i] = x[i] > 0.f ? dy[i] : alpha * dy[i];
    else for (int64_t i = i0; i < i1; ++i) out[i] = x[i] > 0.f ? x[i] : alpha * x[i];
  });
  return env.Undefined();
}

// ---------------------------------------------------------------- convolution (NHWC, im2col + GEMM)

struct ConvGeom {
  int64_t B, H, W, C, OH, OW, OC, KH, KW, SH, SW, PT, PL, DH, DW;
  int64_t rows() const { return B * OH * OW; }
  int64_t cols() const { return KH * KW * C; }
};

ConvGeom Geom(const Napi::Array& g) {
  auto at = [&](uint32_t i) { return g.Get(i).As<Napi::Number>().Int64Value(); };
  return {at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), at(8), at(9), at(10), at(11), at(12), at(13), at(14)};
}

// cols[(b, oh, ow), (kh, kw, c)] = x[b, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW, c] (0 outside)
void Im2col(const ConvGeom& g, const float* x, float* cols, int64_t first = 0, int64_t count = -1) {
  const int64_t K = g.cols();
  if (count < 0) count = g.B;
  x += first * g.H * g.W * g.C;
  ParallelFor(count, g.OH * g.OW * K, [&](int64_t b0, int64_t b1) {
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        float* row = cols + ((b * g.OH + oh) * g.OW + ow) * K;
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          const int64_t ih = oh * g.SH - g.PT + kh * g.DH;
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            const int64_t iw = ow * g.SW - g.PL + kw * g.DW;
            float* dst = row + (kh * g.KW + kw) * g.C;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) {
              std::fill(dst, dst + g.C, 0.f);
            } else {
              const float* src = x + ((b * g.H + ih) * g.W + iw) * g.C;
              std::copy(src, src + g.C, dst);
            }
          }
        }
      }
  });
}

// dx[b, ih, iw, c] += cols[...] for every (oh, ow, kh, kw) that reads it: the adjoint of Im2col.
void Col2im(const ConvGeom& g, const float* cols, float* dx, int64_t first = 0, int64_t count = -1) {
  const int64_t K = g.cols();
  if (count < 0) count = g.B;
  dx += first * g.H * g.W * g.C;
  ParallelFor(count, g.OH * g.OW * K, [&](int64_t b0, int64_t b1) {
  std::fill(dx + b0 * g.H * g.W * g.C, dx + b1 * g.H * g.W * g.C, 0.f);
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const float* row = cols + ((b * g.OH + oh) * g.OW + ow) * K;
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          const int64_t ih = oh * g.SH - g.PT + kh * g.DH;
          if (ih < 0 || ih >= g.H) continue;
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            const int64_t iw = ow * g.SW - g.PL + kw * g.DW;
            if (iw < 0 || iw >= g.W) continue;
            const float* src = row + (kh * g.KW + kw) * g.C;
            float* dst = dx + ((b * g.H + ih) * g.W + iw) * g.C;
            for (int64_t c = 0; c < g.C; ++c) dst[c] += src[c];
          }
        }
      }
  });
}

// A scratch buffer kept between calls: a fresh 40 MB im2col buffer per call costs more in page
// faults and zeroing than the GEMM itself. One set per JS thread: the server's worker threads
// load this addon too, and call it at the same time (the pool's workers never call this).
float* Scratch(size_t n, int slot = 0) {
  thread_local std::unique_ptr<float[]> buf[3];
  thread_local size_t cap[3] = {0, 0, 0};
  if (n > cap[slot]) { buf[slot].reset(new float[n]); cap[slot] = n; }
  return buf[slot].get();
}

// The direct kernels' view of a convolution: they read x in place and treat taps outside it as
// zeros (no padded copy).
direct::Geo DirectGeo(const ConvGeom& g) {
  return {g.B, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PT, g.PL};
}

// The narrow kernels' view: the input zero-padded (into scratch) unless it already needs no
// padding. Returns the padded input.
const float* PaddedInput(const ConvGeom& g, const float* x, direct::Geo& d) {
  const int64_t Hp = (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1, Wp = (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1;
  d = {g.B, Hp, Wp, g.C, g.OH, g.OW, g.OC, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, 0, 0};
  if (g.PT == 0 && g.PL == 0 && Hp <= g.H && Wp == g.W) { d.H = g.H; return x; }
  float* xp = Scratch(g.B * Hp * Wp * g.C);
  ParallelFor(g.B, Hp * Wp * g.C, [&](int64_t b0, int64_t b1) { direct::Pad(x, g.H, g.W, g.C, xp, Hp, Wp, g.PT, g.PL, b0, b1); });
  return xp;
}

bool ColumnPadOn();
// The direct forward's input with its left and right padding written out (into scratch slot 0),
// so that every output column of a row takes the wide register tiles: a border column alone in a
// tile has too few accumulators to hide the FMA latency (at 16 wide the two took ~22% of the
// time, perf). Only from 10 columns on: narrower rows split into tiles of 4 or fewer once
// padded, slower than one wide tile and two borders. Rows keep their padding virtual.
const float* ColumnPadded(direct::Geo& d, const float* x) {
  const int64_t Wp = (d.OW - 1) * d.SW + (d.KW - 1) * d.DW + 1;
  if (!ColumnPadOn() || d.OW < 10 || (d.PL == 0 && Wp <= d.W)) return x;
  float* xp = Scratch(d.B * d.H * Wp * d.C);
  ParallelFor(d.B, d.H * Wp * d.C, [&](int64_t b0, int64_t b1) { direct::Pad(x, d.H, d.W, d.C, xp, d.H, Wp, 0, d.PL, b0, b1); });
  d.W = Wp;
  d.PL = 0;
  return xp;
}

// A 1x1 convolution's pixels are independent: narrow images (8x8) are regrouped into rows of up
// to 96 pixels, so that the register tiles are wide (an 8-pixel row splits into two 4-pixel tiles,
// too few accumulators for the FMA latency). Not with a bias per image, which is found by row.
void PointwiseRows(direct::Geo& d) {
  if (d.KH != 1 || d.KW != 1 || d.SH != 1 || d.SW != 1 || d.PT != 0 || d.PL != 0 || d.OH != d.H || d.OW != d.W || d.W >= 24) return;
  const int64_t P = d.B * d.H * d.W;
  int64_t w = d.W;
  for (int64_t c = 96; c > d.W; --c)
    if (P % c == 0) { w = c; break; }
  d.B = 1;
  d.H = d.OH = P / w;
  d.W = d.OW = w;
}

// The direct kernels win where im2col's GEMM is skinny: few output channels, or a short inner
// dimension (OpenBLAS packs the whole im2col matrix for few FLOPs per element). dcgan's 128-channel
// layers over 1,024 inputs keep the GEMM (150-175 GFLOP/s there against 115 direct).
bool DirectOff() {  // GENLAB_NO_DIRECT=1: im2col everywhere, for comparison
  static const bool off = std::getenv("GENLAB_NO_DIRECT") != nullptr;
  return off;
}
bool ColumnPadOn() {  // GENLAB_NO_COLUMN_PAD=1: border columns in one-pixel tiles, for comparison
  static const bool on = std::getenv("GENLAB_NO_COLUMN_PAD") == nullptr;
  return on;
}
// The direct tiles win for few output channels OR a short inner dimension (measured on AVX-512 and
// on AVX2). GENLAB_DIRECT_RULE=both takes them only where both hold, =all wherever the channels
// fit the vectors: comparison switches (README's speed section).
int DirectRule() {  // 0: either, 1: both, 2: all
  static const int rule = [] {
    const char* r = std::getenv("GENLAB_DIRECT_RULE");
    return r && std::strcmp(r, "both") == 0 ? 1 : r && std::strcmp(r, "all") == 0 ? 2 : 0;
  }();
  return rule;
}
// The forward tiles (packed weights, padded columns) also beat im2col on rows of 16 or more
// pixels with AVX2's 16 registers (128 -> 128 at 16x16: 33 against 39 ms, one thread; at 8x8 they
// lose); `width` is the output row's (0: the filter gradient's kernel, which this does not cover).
// AVX-512's rule stays as it was measured.
bool UseDirect(int64_t channels, int64_t inner, int64_t width = 0) {
  if (DirectOff() || channels % direct::VL != 0) return false;
  const int rule = DirectRule();
  if (rule == 2) return true;
  if (rule == 1) return channels <= 64 && inner <= 576;
  return channels <= 64 || inner <= 576 || (direct::REGS == 16 && width >= 16);
}
bool UseNarrow(int64_t channels, int64_t inputChannels) {
  return !DirectOff() && channels < direct::VL && inputChannels % direct::VL == 0;
}

// w [KH*KW, C, OC] -> wt [OC, KH*KW, C] for the narrow forward kernel.
void NarrowFilter(const float* w, int64_t taps, int64_t C, int64_t OC, float* wt) {
  for (int64_t t = 0; t < taps; ++t)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t o = 0; o < OC; ++o) wt[(o * taps + t) * C + c] = w[(t * C + c) * OC + o];
}

bool IsPointwise(const ConvGeom& g) {
  return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && g.OH == g.H && g.OW == g.W;
}

// conv2d(geom, x, w, out, bias?, perImage?, add?): out[B*OH*OW, OC] = im2col(x) @ w[KH*KW*C, OC]
// (+ bias[OC], or with perImage + bias[B, OC]: one bias per image, as a UNet's time embedding)
// (+ add[B*OH*OW, OC]: a residual connection)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ConvGeom g = Geom(info[0].As<Napi::Array>());
  const float* x = F32(info[1], 0, g.B * g.H * g.W * g.C, "x");
  const float* w = F32(info[2], 0, g.cols() * g.OC, "w");
  float* out = F32(info[3], 0, g.rows() * g.OC, "out");
  if (!x || !w || !out) return env.Undefined();
  const float* bias = nullptr;
  const bool perImage = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  if (info.Length() > 4 && info[4].IsTypedArray()) {
    bias = F32(info[4], 0, perImage ? g.B * g.OC : g.OC, "bias");
    if (!bias) return env.Undefined();
  }
  const int64_t biasStride = perImage ? g.OC : 0;  // per image
  const float* add = nullptr;
  if (info.Length() > 6 && info[6].IsTypedArray()) {
    add = F32(info[6], 0, g.rows() * g.OC, "add");
    if (!add) return env.Undefined();
  }
  if (UseDirect(g.OC, g.cols(), g.OW)) {
    direct::Geo d = DirectGeo(g);
    if (!biasStride) PointwiseRows(d);
    const float* xs = ColumnPadded(d, x);
    float* wp = Scratch(g.cols() * g.OC, 2);
    direct::PackWeights(w, g.cols(), g.OC, wp);
    ParallelFor(d.B * d.OH, d.OW * g.cols() * g.OC, [&](int64_t r0, int64_t r1) { direct::Forward(d, xs, wp, out, bias, r0, r1, biasStride, add); });
    return env.Undefined();
  }
  if (UseNarrow(g.OC, g.C)) {
    std::vector<float> wt(g.cols() * g.OC);
    NarrowFilter(w, g.KH * g.KW, g.C, g.OC, wt.data());
    direct::Geo d;
    const float* xp = PaddedInput(g, x, d);
    ParallelFor(g.B * g.OH, g.OW * g.cols() * g.OC, [&](int64_t r0, int64_t r1) { direct::ForwardNarrow(d, xp, wt.data(), out, bias, r0, r1, biasStride, add); });
    return env.Undefined();
  }
  float beta = 0.f;
  if (bias || add) {
    const int64_t per = g.OH * g.OW;
    for (int64_t r = 0; r < g.rows(); ++r) {
      float* o = out + r * g.OC;
      const float* b = bias ? bias + (r / per) * biasStride : nullptr;
      const float* a = add ? add + r * g.OC : nullptr;
      for (int64_t c = 0; c < g.OC; ++c) o[c] = (b ? b[c] : 0.f) + (a ? a[c] : 0.f);
    }
    beta = 1.f;
  }
  if (IsPointwise(g)) {
    Sgemm(false, false, g.rows(), g.OC, g.cols(), 1.f, x, g.cols(), w, g.OC, beta, out, g.OC);
    return env.Undefined();
  }
  // Blocks of whole images, so that each block's im2col stays in cache for its GEMM.
  const int64_t per = g.OH * g.OW, step = std::max<int64_t>(1, 4096 / per);
  float* cols = Scratch(std::min(g.B, step) * per * g.cols());
  for (int64_t b = 0; b < g.B; b += step) {
    const int64_t n = std::min(step, g.B - b);
    Im2col(g, x, cols, b, n);
    Sgemm(false, false, n * per, g.OC, g.cols(), 1.f, cols, g.cols(), w, g.OC, beta, out + b * per * g.OC, g.OC);
  }
  return env.Undefined();
}

// conv2dBackpropFilter(geom, x, dy, dw): dw[KH*KW*C, OC] = im2col(x)^T @ dy[B*OH*OW, OC]
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ConvGeom g = Geom(info[0].As<Napi::Array>());
  const float* x = F32(info[1], 0, g.B * g.H * g.W * g.C, "x");
  const float* dy = F32(info[2], 0, g.rows() * g.OC, "dy");
  float* dw = F32(info[3], 0, g.cols() * g.OC, "dw");
  if (!x || !dy || !dw) return env.Undefined();
  if (UseNarrow(g.OC, g.C)) {
    direct::Geo d;
    const float* xp = PaddedInput(g, x, d);
    const int64_t n = g.cols() * g.OC, rows = g.B * g.OH, taps = g.KH * g.KW;
    std::vector<float> acc(n);
    ReduceRows(rows, g.OW * n, n, acc.data(), [&](int64_t r0, int64_t r1, float* a) { direct::FilterNarrow(d, xp, dy, a, r0, r1); });
    for (int64_t o = 0; o < g.OC; ++o)
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t c = 0; c < g.C; ++c) dw[(t * g.C + c) * g.OC + o] = acc[(o * taps + t) * g.C + c];
    return env.Undefined();
  }
  if (UseDirect(g.OC, g.cols())) {
    const direct::Geo d = DirectGeo(g);
    const int64_t n = g.cols() * g.OC, rows = g.B * g.OH;
    ReduceRows(rows, g.OW * n, n, dw, [&](int64_t r0, int64_t r1, float* acc) { direct::Filter(d, x, dy, acc, r0, r1); });
    return env.Undefined();
  }
  if (IsPointwise(g)) {
    Sgemm(true, false, g.cols(), g.OC, g.rows(), 1.f, x, g.cols(), dy, g.OC, 0.f, dw, g.OC);
    return env.Undefined();
  }
  // Blocks of whole images (cache-sized im2col), accumulating into dw.
  const int64_t per = g.OH * g.OW, step = std::max<int64_t>(1, 4096 / per);
  float* cols = Scratch(std::min(g.B, step) * per * g.cols());
  for (int64_t b = 0; b < g.B; b += step) {
    const int64_t n = std::min(step, g.B - b);
    Im2col(g, x, cols, b, n);
    Sgemm(true, false, g.cols(), g.OC, n * per, 1.f, cols, g.cols(), dy + b * per * g.OC, g.OC, b == 0 ? 0.f : 1.f, dw, g.OC);
  }
  return env.Undefined();
}

// conv2dBackpropInput(geom, dy, w, dx): dx = col2im(dy[B*OH*OW, OC] @ w^T)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ConvGeom g = Geom(info[0].As<Napi::Array>());
  const float* dy = F32(info[1], 0, g.rows() * g.OC, "dy");
  const float* w = F32(info[2], 0, g.cols() * g.OC, "w");
  float* dx = F32(info[3], 0, g.B * g.H * g.W * g.C, "dx");
  if (!dy || !w || !dx) return env.Undefined();
  // Stride 1: dx is the convolution of dy, padded by (K-1)*D - P, with the flipped, transposed filter.
  const int64_t padT = (g.KH - 1) * g.DH - g.PT, padL = (g.KW - 1) * g.DW - g.PL;
  const bool narrow = UseNarrow(g.C, g.OC);
  if (g.SH == 1 && g.SW == 1 && padT >= 0 && padL >= 0 && (narrow || UseDirect(g.C, g.KH * g.KW * g.OC, g.W))) {
    float* wf = Scratch(g.cols() * g.OC, 1);
    // wf [KH, KW, OC, C] flipped, or for the narrow kernel [C, KH*KW, OC] flipped
    const int64_t taps = g.KH * g.KW;
    if (narrow) {
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t c = 0; c < g.C; ++c)
          for (int64_t o = 0; o < g.OC; ++o) wf[(c * taps + taps - 1 - t) * g.OC + o] = w[(t * g.C + c) * g.OC + o];
    } else for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw)
        for (int64_t c = 0; c < g.C; ++c)
          for (int64_t o = 0; o < g.OC; ++o)
            wf[((kh * g.KW + kw) * g.OC + o) * g.C + c] = w[(((g.KH - 1 - kh) * g.KW + (g.KW - 1 - kw)) * g.C + c) * g.OC + o];
    if (narrow) {  // the narrow kernel reads a padded copy of dy
      const int64_t Hp = g.H + (g.KH - 1) * g.DH, Wp = g.W + (g.KW - 1) * g.DW;
      float* dyp = Scratch(g.B * Hp * Wp * g.OC);
      ParallelFor(g.B, Hp * Wp * g.OC, [&](int64_t b0, int64_t b1) { direct::Pad(dy, g.OH, g.OW, g.OC, dyp, Hp, Wp, padT, padL, b0, b1); });
      const direct::Geo d{g.B, Hp, Wp, g.OC, g.H, g.W, g.C, g.KH, g.KW, 1, 1, g.DH, g.DW, 0, 0};
      ParallelFor(g.B * g.H, g.W * g.cols() * g.OC, [&](int64_t r0, int64_t r1) { direct::ForwardNarrow(d, dyp, wf, dx, nullptr, r0, r1); });
      return env.Undefined();
    }
    direct::Geo d{g.B, g.OH, g.OW, g.OC, g.H, g.W, g.C, g.KH, g.KW, 1, 1, g.DH, g.DW, padT, padL};
    const float* dys = ColumnPadded(d, dy);
    float* wp = Scratch(g.cols() * g.OC, 2);
    direct::PackWeights(wf, g.cols() / g.C * g.OC, g.C, wp);
    ParallelFor(g.B * g.H, g.W * g.cols() * g.OC, [&](int64_t r0, int64_t r1) { direct::Forward(d, dys, wp, dx, nullptr, r0, r1); });
    return env.Undefined();
  }
  if (IsPointwise(g)) {
    Sgemm(false, true, g.rows(), g.cols(), g.OC, 1.f, dy, g.OC, w, g.OC, 0.f, dx, g.cols());
    return env.Undefined();
  }
  const int64_t per = g.OH * g.OW, step = std::max<int64_t>(1, 4096 / per);
  float* cols = Scratch(std::min(g.B, step) * per * g.cols());
  for (int64_t b = 0; b < g.B; b += step) {
    const int64_t n = std::min(step, g.B - b);
    Sgemm(false, true, n * per, g.cols(), g.OC, 1.f, dy + b * per * g.OC, g.OC, w, g.OC, 0.f, cols, g.cols());
    Col2im(g, cols, dx, b, n);
  }
  return env.Undefined();
}


// lstmCell(xw, hw, cPrev, B, H, h, c, act): one LSTM step in PyTorch's gate order (i, f, g, o).
// a = xw + hw; i, f, o = sigmoid; g = tanh; c = f cPrev + i g; h = o tanh(c).
// act [B, 5H] keeps i, f, g, o, c for the backward step.
Napi::Value LstmCell(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t B = info[3].As<Napi::Number>().Int64Value(), H = info[4].As<Napi::Number>().Int64Value();
  const float* xw = F32(info[0], 0, B * 4 * H, "xw");
  const float* hw = F32(info[1], 0, B * 4 * H, "hw");
  const float* cp = F32(info[2], 0, B * H, "cPrev");
  float* h = F32(info[5], 0, B * H, "h");
  float* c = F32(info[6], 0, B * H, "c");
  float* act = F32(info[7], 0, B * 5 * H, "act");
  if (!xw || !hw || !cp || !h || !c || !act) return env.Undefined();
  for (int64_t b = 0; b < B; ++b)
    direct::LstmRow(xw + b * 4 * H, hw + b * 4 * H, cp + b * H, H, h + b * H, c + b * H, act + b * 5 * H);
  return env.Undefined();
}

// lstmCellGrad(act, cPrev, dh, dc, B, H, dGates, dcPrev): the backward step of lstmCell.
Napi::Value LstmCellGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t B = info[4].As<Napi::Number>().Int64Value(), H = info[5].As<Napi::Number>().Int64Value();
  const float* act = F32(info[0], 0, B * 5 * H, "act");
  const float* cp = F32(info[1], 0, B * H, "cPrev");
  const float* dh = F32(info[2], 0, B * H, "dh");
  const float* dc = F32(info[3], 0, B * H, "dc");
  float* dg = F32(info[6], 0, B * 4 * H, "dGates");
  float* dcp = F32(info[7], 0, B * H, "dcPrev");
  if (!act || !cp || !dh || !dc || !dg || !dcp) return env.Undefined();
  for (int64_t b = 0; b < B; ++b)
    direct::LstmGradRow(act + b * 5 * H, cp + b * H, dh + b * H, dc + b * H, H, dg + b * 4 * H, dcp + b * H);
  return env.Undefined();
}

// groupNorm(x, gamma, beta, B, HW, C, G, eps, act, alpha, y, stats): GroupNorm over NHWC (Wu & He
// 2018), then act (0 none, 1 SiLU, 2 leaky ReLU of slope alpha); stats [B, G, 2] keeps mean and 1/std for the backward step.
Napi::Value GroupNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t B = info[3].As<Napi::Number>().Int64Value(), HW = info[4].As<Napi::Number>().Int64Value();
  const int64_t C = info[5].As<Napi::Number>().Int64Value(), G = info[6].As<Napi::Number>().Int64Value();
  const double eps = info[7].As<Napi::Number>().DoubleValue();
  const int act = info[8].As<Napi::Number>().Int32Value();
  const float alpha = info[9].As<Napi::Number>().FloatValue();
  const float* x = F32(info[0], 0, B * HW * C, "x");
  const float* gamma = F32(info[1], 0, C, "gamma");
  const float* beta = F32(info[2], 0, C, "beta");
  float* y = F32(info[10], 0, B * HW * C, "y");
  float* stats = F32(info[11], 0, B * G * 2, "stats");
  if (!x || !gamma || !beta || !y || !stats) return env.Undefined();
  ParallelFor(B, HW * C, [&](int64_t b0, int64_t b1) {
    std::vector<float> tmp(3 * C);
    for (int64_t b = b0; b < b1; ++b)
      direct::GroupNormItem(x + b * HW * C, y + b * HW * C, HW, C, G, gamma, beta, eps, act, alpha, stats + b * G * 2, tmp.data());
  });
  return env.Undefined();
}

// groupNormGrad(x, gamma, beta, stats, dy, B, HW, C, G, act, alpha, dx, dgamma, dbeta)
Napi::Value GroupNormGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t B = info[5].As<Napi::Number>().Int64Value(), HW = info[6].As<Napi::Number>().Int64Value();
  const int64_t C = info[7].As<Napi::Number>().Int64Value(), G = info[8].As<Napi::Number>().Int64Value();
  const int act = info[9].As<Napi::Number>().Int32Value();
  const float alpha = info[10].As<Napi::Number>().FloatValue();
  const float* x = F32(info[0], 0, B * HW * C, "x");
  const float* gamma = F32(info[1], 0, C, "gamma");
  const float* beta = F32(info[2], 0, C, "beta");
  const float* stats = F32(info[3], 0, B * G * 2, "stats");
  const float* dy = F32(info[4], 0, B * HW * C, "dy");
  float* dx = F32(info[11], 0, B * HW * C, "dx");
  float* dgamma = F32(info[12], 0, C, "dgamma");
  float* dbeta = F32(info[13], 0, C, "dbeta");
  if (!x || !gamma || !beta || !stats || !dy || !dx || !dgamma || !dbeta) return env.Undefined();
  // each half of the batch sums its own parameter gradients; they are added at the end
  std::vector<double> dgs[2] = {std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  std::vector<double> dbs[2] = {std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  ParallelFor(B, HW * C, [&](int64_t b0, int64_t b1) {
    const int part = b0 == 0 ? 0 : 1;
    std::vector<float> tmp(6 * C);
    for (int64_t b = b0; b < b1; ++b)
      direct::GroupNormGradItem(x + b * HW * C, dy + b * HW * C, dx + b * HW * C, HW, C, G, gamma, beta, act, alpha, stats + b * G * 2,
                                dgs[part].data(), dbs[part].data(), tmp.data());
  });
  std::vector<double> dg(C), db(C);
  for (int64_t c = 0; c < C; ++c) { dg[c] = dgs[0][c] + dgs[1][c]; db[c] = dbs[0][c] + dbs[1][c]; }
  for (int64_t c = 0; c < C; ++c) { dgamma[c] = float(dg[c]); dbeta[c] = float(db[c]); }
  return env.Undefined();
}

// boxCopy(src, srcShape, srcBegin, dst, dstShape, dstBegin, size): copies the box `size` of src at
// srcBegin into dst at dstBegin (rank <= 8): Slice and SplitV (src a part), Concat (dst a part).
Napi::Value BoxCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto read = [&](int i, int64_t* v) {
    auto a = info[i].As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); ++k) v[k] = a.Get(k).As<Napi::Number>().Int64Value();
    return int(a.Length());
  };
  int64_t ss[8], sb[8], ds[8], db[8], sz[8];
  const int r = read(1, ss);
  if (r > 8 || r < 1 || read(2, sb) != r || read(4, ds) != r || read(5, db) != r || read(6, sz) != r) {
    Napi::RangeError::New(env, "genlab_native: boxCopy takes ranks 1 to 8").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t sst[8], dst_[8], sn = 1, dn = 1;
  for (int k = r - 1; k >= 0; --k) { sst[k] = sn; sn *= ss[k]; dst_[k] = dn; dn *= ds[k]; }
  const float* src = F32(info[0], 0, sn, "src");
  float* dst = F32(info[3], 0, dn, "dst");
  if (!src || !dst) return env.Undefined();
  // the innermost run contiguous in both: trailing dims taken whole on both sides, times the next
  int d = r - 1;
  int64_t run = 1;
  while (d >= 0 && sz[d] == ss[d] && sz[d] == ds[d]) run *= sz[d--];
  if (d >= 0) run *= sz[d];
  int64_t count = 1;
  for (int k = 0; k < d; ++k) count *= sz[k];
  if (run == 0 || count == 0) return env.Undefined();
  int64_t so = 0, doff = 0;
  for (int k = 0; k < r; ++k) { so += sb[k] * sst[k]; doff += db[k] * dst_[k]; }
  ParallelFor(count, run, [&](int64_t n0, int64_t n1) {
    int64_t idx[8] = {0};
    for (int64_t k = d - 1, rest = n0; k >= 0; --k) { idx[k] = rest % sz[k]; rest /= sz[k]; }
    for (int64_t n = n0; n < n1; ++n) {
      int64_t s0 = so, d0 = doff;
      for (int k = 0; k < d; ++k) { s0 += idx[k] * sst[k]; d0 += idx[k] * dst_[k]; }
      if (run < 16) { for (int64_t j = 0; j < run; ++j) dst[d0 + j] = src[s0 + j]; }
      else std::memcpy(dst + d0, src + s0, run * sizeof(float));
      for (int k = d - 1; k >= 0; --k) {
        if (++idx[k] < sz[k]) break;
        idx[k] = 0;
      }
    }
  });
  return env.Undefined();
}

// resizeNearest(src, B, H, W, C, OH, OW, dst, grad): nearest-neighbour resize of [B, H, W, C] to
// [B, OH, OW, C] without corner alignment or half-pixel centres (source = floor(o * H / OH)), or with
// grad its adjoint: dst [B, H, W, C] sums src [B, OH, OW, C] over the pixels each source fed.
Napi::Value ResizeNearest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto at = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t B = at(1), H = at(2), W = at(3), C = at(4), OH = at(5), OW = at(6);
  const bool grad = info[8].As<Napi::Boolean>().Value();
  const float* src = F32(info[0], 0, B * (grad ? OH * OW : H * W) * C, "src");
  float* dst = F32(info[7], 0, B * (grad ? H * W : OH * OW) * C, "dst");
  if (!src || !dst) return env.Undefined();
  std::vector<int64_t> sh(OH), sw(OW);
  for (int64_t o = 0; o < OH; ++o) sh[o] = std::min<int64_t>(H - 1, int64_t(std::floor(double(H) / OH * o)));
  for (int64_t o = 0; o < OW; ++o) sw[o] = std::min<int64_t>(W - 1, int64_t(std::floor(double(W) / OW * o)));
  ParallelFor(B, OH * OW * C, [&](int64_t b0, int64_t b1) {
    if (grad) std::fill(dst + b0 * H * W * C, dst + b1 * H * W * C, 0.f);
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t o = ((b * OH + oh) * OW + ow) * C, i = ((b * H + sh[oh]) * W + sw[ow]) * C;
          if (grad) { for (int64_t c = 0; c < C; ++c) dst[i + c] += src[o + c]; }
          else std::copy(src + i, src + i + C, dst + o);
        }
  });
  return env.Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#if defined(GENLAB_OWN_GEMM)
  o.Set("blas", std::string("genlab GEMM (no BLAS found; ") + std::to_string(gemm::MR) + "x" + std::to_string(gemm::NR) + " tiles)");
  o.Set("threads", pool::Get().Threads());
#elif defined(GENLAB_ACCELERATE)
  o.Set("blas", "Accelerate");
  o.Set("threads", 0);
#else
  o.Set("blas", std::string("OpenBLAS ") + openblas_get_config());
  o.Set("threads", openblas_get_num_threads());
#endif
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  pool::Get().SetThreads(info[0].As<Napi::Number>().Int32Value());
#if !defined(GENLAB_ACCELERATE) && !defined(GENLAB_OWN_GEMM)
  openblas_set_num_threads(info[0].As<Napi::Number>().Int32Value());
#endif
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemmBatch", Napi::Function::New(env, SgemmBatch));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep));
  exports.Set("emaStep", Napi::Function::New(env, EmaStep));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("causalSoftmax", Napi::Function::New(env, CausalSoftmax));
  exports.Set("causalSoftmaxGrad", Napi::Function::New(env, CausalSoftmaxGrad));
  exports.Set("geluGrad", Napi::Function::New(env, GeluGrad));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum));
  exports.Set("leakyRelu", Napi::Function::New(env, LeakyRelu));
  exports.Set("lstmCell", Napi::Function::New(env, LstmCell));
  exports.Set("lstmCellGrad", Napi::Function::New(env, LstmCellGrad));
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("groupNorm", Napi::Function::New(env, GroupNorm));
  exports.Set("groupNormGrad", Napi::Function::New(env, GroupNormGrad));
  exports.Set("resizeNearest", Napi::Function::New(env, ResizeNearest));
  exports.Set("boxCopy", Napi::Function::New(env, BoxCopy));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  return exports;
}

}  // namespace

NODE_API_MODULE(genlab_native, Init)
