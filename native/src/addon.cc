// genlab's native kernels: float32 GEMM over a system BLAS (OpenBLAS on Linux, Accelerate on macOS).
// The JS side (src/tensor/native.ts) owns shapes and broadcasting; this file only does arithmetic
// on Float32Array views, with no copies.
#include <napi.h>
#include <cstdint>
#include <string>
#ifdef GENLAB_ACCELERATE
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

float* F32(const Napi::Value& v, size_t offset, size_t need, const char* what) {
  auto arr = v.As<Napi::Float32Array>();
  if (offset + need > arr.ElementLength()) {
    Napi::RangeError::New(v.Env(), std::string("genlab_native: buffer too small for ") + what)
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  return arr.Data() + offset;
}

// sgemmBatch(batch, transA, transB, M, N, K, A, strideA, B, strideB, C, strideC, beta)
// C[i] = op(A[i]) @ op(B[i]) + beta * C[i] for i < batch; a stride of 0 broadcasts one matrix.
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
  const float beta = info.Length() > 12 ? info[12].As<Napi::Number>().FloatValue() : 0.f;
  if (batch <= 0 || M <= 0 || N <= 0) return env.Undefined();
  float* A = F32(info[6], 0, sA * (batch - 1) + int64_t(M) * K, "A");
  float* B = F32(info[8], 0, sB * (batch - 1) + int64_t(K) * N, "B");
  float* C = F32(info[10], 0, sC * (batch - 1) + int64_t(M) * N, "C");
  if (!A || !B || !C) return env.Undefined();
  const int lda = ta ? M : K, ldb = tb ? K : N;
  for (int64_t i = 0; i < batch; ++i) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, 1.0f, A + i * sA, lda, B + i * sB, ldb, beta, C + i * sC, N);
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

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef GENLAB_ACCELERATE
  o.Set("blas", "Accelerate");
  o.Set("threads", 0);
#else
  o.Set("blas", std::string("OpenBLAS ") + openblas_get_config());
  o.Set("threads", openblas_get_num_threads());
#endif
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
#ifndef GENLAB_ACCELERATE
  openblas_set_num_threads(info[0].As<Napi::Number>().Int32Value());
#endif
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemmBatch", Napi::Function::New(env, SgemmBatch));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  return exports;
}

}  // namespace

NODE_API_MODULE(genlab_native, Init)
