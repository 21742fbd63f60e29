// Direct NHWC convolution kernels (no im2col): register tiles of output pixels x output channels,
// written with GCC/Clang vector extensions so they compile to AVX-512, AVX2 or NEON as the build
// machine allows. OpenBLAS reaches only 30-50 GFLOP/s on the skinny GEMMs of im2col (N = 32..64
// output channels); these tiles keep the accumulators in registers and read the input in place.
#pragma once
#include <algorithm>
#include <type_traits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace direct {

#if defined(__AVX512F__)
constexpr int VL = 16, MAXNB = 4, REGS = 32;
#elif defined(__AVX__) || defined(__aarch64__)
constexpr int VL = 8, MAXNB = 2, REGS = 16;
#else
constexpr int VL = 4, MAXNB = 2, REGS = 16;
#endif
typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4)));

inline vf Load(const float* p) { return *reinterpret_cast<const vfu*>(p); }
inline void Store(float* p, vf v) { *reinterpret_cast<vfu*>(p) = v; }

// Pixels (or input channels) per register tile for NB vectors of output channels: as many
// accumulators as fit. With 16 registers every one but the NB vectors and one broadcast (AVX2:
// 6 x 2, 12 FMA chains, more than latency x throughput = 8); AVX-512 keeps its measured tiles.
constexpr int TileFor(int nb) { return std::max(1, std::min(8, (REGS - nb - (REGS == 16 ? 1 : 4)) / nb)); }

// Geometry: x [B, H, W, C] -> out [B, OH, OW, OC]; out pixel (oh, ow) reads x at
// (oh*SH - PT + kh*DH, ow*SW - PL + kw*DW), taps outside x counting as zeros (the padding, never
// copied). Weights w [KH, KW, C, OC].
struct Geo {
  int64_t B, H, W, C, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL;
};

// The taps k in [k0, k1) of K with 0 <= base + k*D < N (k1 == k0 when there are none).
inline void TapRange(int64_t base, int64_t K, int64_t D, int64_t N, int64_t& k0, int64_t& k1) {
  k0 = base >= 0 ? 0 : (-base + D - 1) / D;
  k1 = base >= N ? 0 : std::min<int64_t>(K, (N - 1 - base) / D + 1);
  if (k1 < k0) k1 = k0;
}

// T output pixels of one row x NB vectors of channels starting at o0. w is the block of packed
// weights of these channels (PackWeights): [KH, KW, C, NB * VL], read as one contiguous stream.
// With `add`, the tile starts from add (laid out as out) plus the bias: a residual connection.
// Taps [kh0, kh1) x [kw0, kw1) are inside x for all T pixels; x0 is the first pixel's tap (kh0, kw0).
template <int NB, int T>
inline void FwdTile(const Geo& g, const float* x0, const float* w, float* out, const float* bias, int64_t o0, const float* add,
                    int64_t kh0, int64_t kh1, int64_t kw0, int64_t kw1) {
  vf acc[T][NB];
  for (int n = 0; n < NB; ++n) {
    const vf b = bias ? Load(bias + o0 + n * VL) : vf{};
    for (int t = 0; t < T; ++t) acc[t][n] = add ? b + Load(add + t * g.OC + o0 + n * VL) : b;
  }
  const int64_t sx = g.SW * g.C;
  for (int64_t kh = kh0; kh < kh1; ++kh)
    for (int64_t kw = kw0; kw < kw1; ++kw) {
      const float* xp = x0 + ((kh - kh0) * g.DH * g.W + (kw - kw0) * g.DW) * g.C;
      const float* wp = w + (kh * g.KW + kw) * g.C * (NB * VL);
      for (int64_t c = 0; c < g.C; ++c) {
        vf wv[NB];
        for (int n = 0; n < NB; ++n) wv[n] = Load(wp + c * (NB * VL) + n * VL);
        for (int t = 0; t < T; ++t) {
          const float xv = xp[t * sx + c];
          for (int n = 0; n < NB; ++n) acc[t][n] += xv * wv[n];
        }
      }
    }
  for (int t = 0; t < T; ++t)
    for (int n = 0; n < NB; ++n) Store(out + t * g.OC + o0 + n * VL, acc[t][n]);
}

template <int NB>
void FwdRowBlock(const Geo& g, const float* x, const float* w, float* out, const float* bias, int64_t r, int64_t o0, const float* add) {
  constexpr int T = TileFor(NB);
  const int64_t b = r / g.OH, oh = r % g.OH, ih = oh * g.SH - g.PT;
  int64_t kh0, kh1;
  TapRange(ih, g.KH, g.DH, g.H, kh0, kh1);
  const float* ximg = x + b * g.H * g.W * g.C;
  w += o0 * g.KH * g.KW * g.C;  // this block's packed weights
  float* orow = out + r * g.OW * g.OC;
  const float* arow = add ? add + r * g.OW * g.OC : nullptr;
  // the pixel ow's tap (kh0, kw0); computed only where that tap is inside x
  auto px = [&](int64_t ow, int64_t kw0) { return ximg + ((ih + kh0 * g.DH) * g.W + ow * g.SW - g.PL + kw0 * g.DW) * g.C; };
  auto tile = [&](auto tileT, int64_t ow) {
    constexpr int TT = decltype(tileT)::value;
    FwdTile<NB, TT>(g, kh1 > kh0 ? px(ow, 0) : ximg, w, orow + ow * g.OC, bias, o0, arow ? arow + ow * g.OC : nullptr, kh0, kh1, 0, g.KW);
  };
  auto border = [&](int64_t ow) {  // one pixel whose taps may leave x on the left or right
    int64_t kw0, kw1;
    TapRange(ow * g.SW - g.PL, g.KW, g.DW, g.W, kw0, kw1);
    const bool any = kh1 > kh0 && kw1 > kw0;
    FwdTile<NB, 1>(g, any ? px(ow, kw0) : ximg, w, orow + ow * g.OC, bias, o0, arow ? arow + ow * g.OC : nullptr, kh0, any ? kh1 : kh0, kw0, kw1);
  };
  // interior columns [lo, hi): every kw inside x
  const int64_t lo = std::min<int64_t>(g.OW, (g.PL + g.SW - 1) / g.SW), right = g.W - 1 - (g.KW - 1) * g.DW + g.PL;
  const int64_t hi = std::max<int64_t>(lo, right < 0 ? 0 : std::min<int64_t>(g.OW, right / g.SW + 1));
  int64_t ow = 0;
  for (; ow < lo; ++ow) border(ow);
  // the interior in tiles of near-equal width (16 = 4+4+4+4, not 5+5+5+1): a narrow tile has too
  // few accumulators to hide the FMA latency
  const int64_t n = hi - lo, k = (n + T - 1) / T;
  for (int64_t i = 0; i < k; ++i) {
    const int s = int(n / k + (i < n % k ? 1 : 0));
    auto as = [&](auto c) { constexpr int S = decltype(c)::value; if constexpr (S <= T) tile(c, ow); };
    switch (s) {
      case 8: as(std::integral_constant<int, 8>{}); break;
      case 7: as(std::integral_constant<int, 7>{}); break;
      case 6: as(std::integral_constant<int, 6>{}); break;
      case 5: as(std::integral_constant<int, 5>{}); break;
      case 4: as(std::integral_constant<int, 4>{}); break;
      case 3: as(std::integral_constant<int, 3>{}); break;
      case 2: as(std::integral_constant<int, 2>{}); break;
      default: as(std::integral_constant<int, 1>{}); break;
    }
    ow += s;
  }
  for (; ow < g.OW; ++ow) border(ow);
}

// The forward's blocks of output channels: NB vectors from channel o0 (OC a multiple of VL).
inline int BlockAt(int64_t OC, int64_t o0) {
  const int64_t left = (OC - o0) / VL;
  return left >= 4 && MAXNB >= 4 ? 4 : left >= 2 ? 2 : 1;
}

// w [K, OC] (K = KH * KW * C) -> wp: each block of output channels' weights contiguous,
// [K, NB * VL] from wp + o0 * K. Strided by OC, a block's rows fell into few cache sets
// (every 8th at OC = 128) and were read from L2 in every tile.
inline void PackWeights(const float* w, int64_t K, int64_t OC, float* wp) {
  for (int64_t o0 = 0; o0 < OC;) {
    const int nb = BlockAt(OC, o0);
    for (int64_t k = 0; k < K; ++k) std::memcpy(wp + o0 * K + k * nb * VL, w + k * OC + o0, nb * VL * sizeof(float));
    o0 += nb * VL;
  }
}

// Output rows [r0, r1) of the convolution (OC a multiple of VL), w packed by PackWeights. The bias
// of image b starts at bias + b * biasStride (0: one bias for all); `add` (shaped as out) is added when given.
inline void Forward(const Geo& g, const float* x, const float* w, float* out, const float* bias, int64_t r0, int64_t r1,
                    int64_t biasStride = 0, const float* add = nullptr) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* rb = bias ? bias + (r / g.OH) * biasStride : nullptr;
    for (int64_t o0 = 0; o0 < g.OC;) {
      const int nb = BlockAt(g.OC, o0);
      if (nb == 4) { if constexpr (MAXNB >= 4) FwdRowBlock<4>(g, x, w, out, rb, r, o0, add); }
      else if (nb == 2) FwdRowBlock<2>(g, x, w, out, rb, r, o0, add);
      else FwdRowBlock<1>(g, x, w, out, rb, r, o0, add);
      o0 += nb * VL;
    }
  }
}

// dw tile: TC input channels (from c0) x NB vectors of output channels (from o0), for one tap
// (kh, kw), accumulated over the output rows [r0, r1). dy is these channels' block packed from
// row r0 on: [rows * OW, NB * VL] (Filter packs it, as the forward packs its weights).
template <int NB, int TC>
inline void FilterTile(const Geo& g, const float* x, const float* dy, float* dw, int64_t kh, int64_t kw, int64_t c0, int64_t o0,
                       int64_t r0, int64_t r1) {
  vf acc[TC][NB];
  float* d = dw + ((kh * g.KW + kw) * g.C + c0) * g.OC + o0;
  for (int t = 0; t < TC; ++t)
    for (int n = 0; n < NB; ++n) acc[t][n] = Load(d + t * g.OC + n * VL);
  const int64_t sx = g.SW * g.C;
  // output columns [lo, hi) whose tap kw is inside x
  const int64_t left = g.PL - kw * g.DW, right = g.W - 1 + g.PL - kw * g.DW;
  const int64_t lo = std::min<int64_t>(g.OW, left <= 0 ? 0 : (left + g.SW - 1) / g.SW);
  const int64_t hi = right < 0 ? 0 : std::min<int64_t>(g.OW, right / g.SW + 1);
  for (int64_t r = r0; r < r1 && lo < hi; ++r) {
    const int64_t b = r / g.OH, oh = r % g.OH, ih = oh * g.SH - g.PT + kh * g.DH;
    if (ih < 0 || ih >= g.H) continue;
    const float* xp = x + ((b * g.H + ih) * g.W + lo * g.SW - g.PL + kw * g.DW) * g.C + c0;
    const float* dp = dy + ((r - r0) * g.OW + lo) * (NB * VL);
    for (int64_t ow = 0; ow < hi - lo; ++ow) {
      vf dv[NB];
      for (int n = 0; n < NB; ++n) dv[n] = Load(dp + ow * (NB * VL) + n * VL);
      for (int t = 0; t < TC; ++t) {
        const float xv = xp[ow * sx + t];
        for (int n = 0; n < NB; ++n) acc[t][n] += xv * dv[n];
      }
    }
  }
  for (int t = 0; t < TC; ++t)
    for (int n = 0; n < NB; ++n) Store(d + t * g.OC + n * VL, acc[t][n]);
}

template <int NB>
void FilterBlock(const Geo& g, const float* x, const float* dy, float* dw, int64_t o0, int64_t r0, int64_t r1) {
  constexpr int TC = TileFor(NB);
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      int64_t c = 0;
      for (; c + TC <= g.C; c += TC) FilterTile<NB, TC>(g, x, dy, dw, kh, kw, c, o0, r0, r1);
      if (TC > 4 && c + 4 <= g.C) { FilterTile<NB, 4>(g, x, dy, dw, kh, kw, c, o0, r0, r1); c += 4; }
      if (TC > 2 && c + 2 <= g.C) { FilterTile<NB, 2>(g, x, dy, dw, kh, kw, c, o0, r0, r1); c += 2; }
      for (; c < g.C; ++c) FilterTile<NB, 1>(g, x, dy, dw, kh, kw, c, o0, r0, r1);
    }
}

// dw += the filter gradient over output rows [r0, r1), in blocks of rows that stay in cache; each
// block's dy packed per block of output channels (strided by OC, its rows fell into few cache sets).
inline void Filter(const Geo& g, const float* x, const float* dy, float* dw, int64_t r0, int64_t r1) {
  const int64_t rowsPerBlock = std::max<int64_t>(1, 256 / g.OW);
  std::vector<float> pk(rowsPerBlock * g.OW * std::min<int64_t>(g.OC, MAXNB * VL));
  for (int64_t rb = r0; rb < r1; rb += rowsPerBlock) {
    const int64_t re = std::min(r1, rb + rowsPerBlock), pixels = (re - rb) * g.OW;
    for (int64_t o0 = 0; o0 < g.OC;) {
      const int nb = BlockAt(g.OC, o0);
      for (int64_t p = 0; p < pixels; ++p) std::memcpy(pk.data() + p * nb * VL, dy + (rb * g.OW + p) * g.OC + o0, nb * VL * sizeof(float));
      if (nb == 4) { if constexpr (MAXNB >= 4) FilterBlock<4>(g, x, pk.data(), dw, o0, rb, re); }
      else if (nb == 2) FilterBlock<2>(g, x, pk.data(), dw, o0, rb, re);
      else FilterBlock<1>(g, x, pk.data(), dw, o0, rb, re);
      o0 += nb * VL;
    }
  }
}

// Calls f(x at the pixel's first tap, output pixel index) for every pixel of output rows [r0, r1),
// over an input already padded (PT = PL = 0): the narrow kernels below.
template <typename F>
inline void ForEachPixel(const Geo& g, const float* x, int64_t r0, int64_t r1, F f) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / g.OH, oh = r % g.OH;
    for (int64_t ow = 0; ow < g.OW; ++ow) f(x + ((b * g.H + oh * g.SH) * g.W + ow * g.SW) * g.C, r * g.OW + ow);
  }
}

// Fewer output channels than a vector (a UNet's or a generator's last layer, OC = 1 or 3), C a
// multiple of VL: vectors run along the input channels, four accumulators in turn so that the
// FMAs do not wait on each other. wt is the filter as [OC, KH*KW, C].
inline void ForwardNarrow(const Geo& g, const float* x, const float* wt, float* out, const float* bias, int64_t r0, int64_t r1,
                          int64_t biasStride = 0, const float* add = nullptr) {
  const int64_t taps = g.KH * g.KW, perImage = g.OH * g.OW;
  ForEachPixel(g, x, r0, r1, [&](const float* xb, int64_t p) {
    for (int64_t o = 0; o < g.OC; ++o) {
      // four named accumulators: indexed by a running counter they lived on the stack (7 GFLOP/s)
      vf a0{}, a1{}, a2{}, a3{};
      const float* wp = wt + o * taps * g.C;
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw, wp += g.C) {
          const float* xp = xb + (kh * g.DH * g.W + kw * g.DW) * g.C;
          int64_t c = 0;
          for (; c + 4 * VL <= g.C; c += 4 * VL) {
            a0 += Load(xp + c) * Load(wp + c);
            a1 += Load(xp + c + VL) * Load(wp + c + VL);
            a2 += Load(xp + c + 2 * VL) * Load(wp + c + 2 * VL);
            a3 += Load(xp + c + 3 * VL) * Load(wp + c + 3 * VL);
          }
          for (; c < g.C; c += VL) a0 += Load(xp + c) * Load(wp + c);
        }
      const vf sum = (a0 + a1) + (a2 + a3);
      float s = (bias ? bias[(p / perImage) * biasStride + o] : 0.f) + (add ? add[p * g.OC + o] : 0.f);
      for (int i = 0; i < VL; ++i) s += sum[i];
      out[p * g.OC + o] = s;
    }
  });
}

// The filter gradient for ForwardNarrow's case, over output rows [r0, r1), added into acc [OC, KH*KW, C]:
// per tap and block of up to 4 channel vectors, register sums over the pixels.
inline void FilterNarrow(const Geo& g, const float* x, const float* dy, float* acc, int64_t r0, int64_t r1) {
  const int64_t taps = g.KH * g.KW;
  for (int64_t o = 0; o < g.OC; ++o)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw)
        for (int64_t c0 = 0; c0 < g.C; c0 += 4 * VL) {
          const int64_t tapOff = (kh * g.DH * g.W + kw * g.DW) * g.C + c0;
          float* ap = acc + (o * taps + kh * g.KW + kw) * g.C + c0;
          // NV vectors of sums known at compile time, so that they stay in registers
          auto run = [&](auto nv) {
            constexpr int NV = decltype(nv)::value;
            vf s[NV] = {};
            ForEachPixel(g, x, r0, r1, [&](const float* xb, int64_t p) {
              const float d = dy[p * g.OC + o];
              const float* xp = xb + tapOff;
              for (int v = 0; v < NV; ++v) s[v] += Load(xp + v * VL) * d;
            });
            for (int v = 0; v < NV; ++v) Store(ap + v * VL, Load(ap + v * VL) + s[v]);
          };
          switch (std::min<int64_t>(4, (g.C - c0) / VL)) {
            case 4: run(std::integral_constant<int, 4>{}); break;
            case 3: run(std::integral_constant<int, 3>{}); break;
            case 2: run(std::integral_constant<int, 2>{}); break;
            default: run(std::integral_constant<int, 1>{}); break;
          }
        }
}

// dst [B, Hp, Wp, C] = src [B, H, W, C] placed at (top, left), zeros elsewhere (rows [b0, b1)).
inline void Pad(const float* src, int64_t H, int64_t W, int64_t C, float* dst, int64_t Hp, int64_t Wp, int64_t top, int64_t left,
                int64_t b0, int64_t b1) {
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t hp = 0; hp < Hp; ++hp) {
      float* d = dst + (b * Hp + hp) * Wp * C;
      const int64_t h = hp - top;
      if (h < 0 || h >= H) { std::fill(d, d + Wp * C, 0.f); continue; }
      const int64_t w0 = std::min<int64_t>(Wp, std::max<int64_t>(0, left)), w1 = std::min<int64_t>(Wp, W + left);
      std::fill(d, d + w0 * C, 0.f);
      if (w1 > w0) std::memcpy(d + w0 * C, src + ((b * H + h) * W + (w0 - left)) * C, (w1 - w0) * C * sizeof(float));
      std::fill(d + std::max(w0, w1) * C, d + Wp * C, 0.f);
    }
}

}  // namespace direct

namespace direct {

// exp(x) to ~2 ulp for x in [-87, 88] (Cephes' expf: 2^n * a degree-6 polynomial on |r| <= ln2/2),
// so that SiLU and its gradient vectorize; std::exp would be one scalar call per element.
inline vf VExp(vf x) {
  typedef int32_t vi __attribute__((vector_size(VL * 4)));
  const vf hi = vf{} + 88.0f, lo = vf{} - 87.3365478515625f;
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  const vf magic = vf{} + 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const vf t = x * 1.44269504088896341f + magic;
  const vf n = t - magic;
  const vf r = x - n * 0.693359375f + n * 2.12194440e-4f;
  vf p = vf{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const vf y = p * r * r + r + 1.0f;
  vi bits = (reinterpret_cast<const vi&>(t) - reinterpret_cast<const vi&>(magic) + 127) << 23;
  return y * reinterpret_cast<const vf&>(bits);
}
// erf to ~1.5e-7 absolute (Abramowitz & Stegun 7.1.26, the formula of tfjs's Erf kernel).
template <typename V, typename E>
inline V ErfAS(V x, E exp) {
  const V ax = x < 0.f ? -x : x;
  const V t = 1.0f / (1.0f + 0.3275911f * ax);
  const V poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  const V y = 1.0f - poly * exp(-ax * ax);
  return x < 0.f ? -y : y;
}

// GELU 0.5 x (1 + erf(x / sqrt 2)) over [i0, i1), or with dy its gradient dy (Phi(x) + x phi(x)).
inline void GeluRange(const float* x, const float* dy, float* out, int64_t i0, int64_t i1) {
  auto vexp = [](vf v) { return VExp(v); };
  auto sexp = [](float v) { return std::exp(v); };
  int64_t i = i0;
  for (; i + VL <= i1; i += VL) {
    const vf v = Load(x + i), cdf = 0.5f * (1.0f + ErfAS(v * 0.70710678118654752f, vexp));
    if (dy) Store(out + i, Load(dy + i) * (cdf + v * 0.39894228040143268f * VExp(-0.5f * v * v)));
    else Store(out + i, v * cdf);
  }
  for (; i < i1; ++i) {
    const float v = x[i], cdf = 0.5f * (1.0f + ErfAS(v * 0.70710678118654752f, sexp));
    out[i] = dy ? dy[i] * (cdf + v * 0.39894228040143268f * std::exp(-0.5f * v * v)) : v * cdf;
  }
}

// One row of softmax(scale * x) over its first n entries (the keys a query may see); the rest of
// the T entries are 0. dy given: the gradient scale * y * (dy - sum(dy * y)) from y instead.
inline void CausalSoftmaxRow(const float* x, float* y, int64_t n, int64_t T, float scale) {
  // The products go through y first, so that the maximum is subtracted from the very values it was
  // taken of: fused into scale * x - m (an FMA), the maximum's own exponent could exceed 0 by the
  // product's rounding error (~100 for logits near 1e10) and overflow, 0 * inf giving NaN.
  float m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) { y[j] = scale * x[j]; m = std::max(m, y[j]); }
  double sum = 0;
  int64_t j = 0;
  for (; j + VL <= n; j += VL) {
    vf z = Load(y + j) - m;
    z = z > 0.0f ? vf{} : z;
    const vf e = VExp(z);
    Store(y + j, e);
    for (int i = 0; i < VL; ++i) sum += e[i];
  }
  for (; j < n; ++j) { y[j] = std::exp(std::min(y[j] - m, 0.0f)); sum += y[j]; }
  const float inv = float(1.0 / sum);
  for (j = 0; j < n; ++j) y[j] *= inv;
  for (; j < T; ++j) y[j] = 0.f;
}
inline void CausalSoftmaxGradRow(const float* y, const float* dy, float* dx, int64_t T, float scale) {
  double dot = 0;
  for (int64_t j = 0; j < T; ++j) dot += double(dy[j]) * y[j];
  const float d = float(dot);
  for (int64_t j = 0; j < T; ++j) dx[j] = scale * y[j] * (dy[j] - d);
}

inline vf Sigmoid(vf z) { return 1.0f / (1.0f + VExp(-z)); }
inline float Sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }
inline vf Tanh(vf z) { return 2.0f * Sigmoid(2.0f * z) - 1.0f; }
inline float Tanh(float z) { return std::tanh(z); }

template <typename V> inline V LoadT(const float* p);
template <> inline vf LoadT<vf>(const float* p) { return Load(p); }
template <> inline float LoadT<float>(const float* p) { return *p; }
inline void StoreT(float* p, vf v) { Store(p, v); }
inline void StoreT(float* p, float v) { *p = v; }

// Calls f(V{}, c) over c in [0, C): vectors of VL channels, then single channels.
template <typename F>
inline void Channels(int64_t C, F f) {
  int64_t c = 0;
  for (; c + VL <= C; c += VL) f(vf{}, c);
  for (; c < C; ++c) f(0.0f, c);
}

// GroupNorm (+ SiLU or leaky ReLU, act 1 or 2) of one item x [HW, C]: two passes for the statistics (mean, then squared
// deviations), one for the output. tmp holds 3C floats; stats gets G (mean, 1/std) pairs.
inline void GroupNormItem(const float* x, float* y, int64_t HW, int64_t C, int64_t G, const float* gamma, const float* beta, double eps,
                          int act, float alpha, float* stats, float* tmp) {
  float *acc = tmp, *scale = tmp + C, *shift = tmp + 2 * C;
  const int64_t Cg = C / G;
  const double n = double(HW * Cg);
  std::fill(acc, acc + C, 0.f);
  for (int64_t p = 0; p < HW; ++p)
    Channels(C, [&](auto v, int64_t c) { using V = decltype(v); StoreT(acc + c, LoadT<V>(acc + c) + LoadT<V>(x + p * C + c)); });
  for (int64_t g = 0; g < G; ++g) {
    double s = 0;
    for (int64_t c = g * Cg; c < (g + 1) * Cg; ++c) s += acc[c];
    stats[2 * g] = float(s / n);
    for (int64_t c = g * Cg; c < (g + 1) * Cg; ++c) shift[c] = float(s / n);  // the mean, for now
  }
  std::fill(acc, acc + C, 0.f);
  for (int64_t p = 0; p < HW; ++p)
    Channels(C, [&](auto v, int64_t c) {
      using V = decltype(v);
      const V d = LoadT<V>(x + p * C + c) - LoadT<V>(shift + c);
      StoreT(acc + c, LoadT<V>(acc + c) + d * d);
    });
  for (int64_t g = 0; g < G; ++g) {
    double s = 0;
    for (int64_t c = g * Cg; c < (g + 1) * Cg; ++c) s += acc[c];
    const double rstd = 1.0 / std::sqrt(s / n + eps), mean = stats[2 * g];
    stats[2 * g + 1] = float(rstd);
    for (int64_t c = g * Cg; c < (g + 1) * Cg; ++c) {
      scale[c] = float(rstd * gamma[c]);
      shift[c] = float(beta[c] - mean * rstd * gamma[c]);
    }
  }
  for (int64_t p = 0; p < HW; ++p)
    Channels(C, [&](auto v, int64_t c) {
      using V = decltype(v);
      V z = LoadT<V>(x + p * C + c) * LoadT<V>(scale + c) + LoadT<V>(shift + c);
      if (act == 1) z = z * Sigmoid(z);
      else if (act == 2) z = z > 0.0f ? z : z * alpha;
      StoreT(y + p * C + c, z);
    });
}

// The backward step of GroupNormItem: dx for the item, dgamma/dbeta added into dg, db.
// tmp holds 6C floats.
inline void GroupNormGradItem(const float* x, const float* dy, float* dx, int64_t HW, int64_t C, int64_t G, const float* gamma,
                              const float* beta, int act, float alpha, const float* stats, double* dg, double* db, float* tmp) {
  float *mean = tmp, *rstd = tmp + C, *sg = tmp + 2 * C, *sb = tmp + 3 * C, *m1 = tmp + 4 * C, *m2 = tmp + 5 * C;
  const int64_t Cg = C / G;
  for (int64_t c = 0; c < C; ++c) { mean[c] = stats[(c / Cg) * 2]; rstd[c] = stats[(c / Cg) * 2 + 1]; }
  std::fill(sg, sg + 2 * C, 0.f);
  // dz through SiLU (kept in dx), and per-channel sums of dz * xhat and dz
  for (int64_t p = 0; p < HW; ++p)
    Channels(C, [&](auto v, int64_t c) {
      using V = decltype(v);
      const V xhat = (LoadT<V>(x + p * C + c) - LoadT<V>(mean + c)) * LoadT<V>(rstd + c);
      V dz = LoadT<V>(dy + p * C + c);
      if (act == 1) {
        const V z = xhat * LoadT<V>(gamma + c) + LoadT<V>(beta + c), s = Sigmoid(z);
        dz = dz * s * (1.0f + z * (1.0f - s));
      } else if (act == 2) {
        const V z = xhat * LoadT<V>(gamma + c) + LoadT<V>(beta + c);
        dz = z > 0.0f ? dz : dz * alpha;
      }
      StoreT(sg + c, LoadT<V>(sg + c) + dz * xhat);
      StoreT(sb + c, LoadT<V>(sb + c) + dz);
      StoreT(dx + p * C + c, dz);
    });
  const double n = double(HW * Cg);
  for (int64_t g = 0; g < G; ++g) {
    double s1 = 0, s2 = 0;
    for (int64_t c = g * Cg; c < (g + 1) * Cg; ++c) { s1 += double(gamma[c]) * sb[c]; s2 += double(gamma[c]) * sg[c]; }
    for (int64_t c = g * Cg; c < (g + 1) * Cg; ++c) { m1[c] = float(s1 / n); m2[c] = float(s2 / n); }
  }
  for (int64_t c = 0; c < C; ++c) { dg[c] += sg[c]; db[c] += sb[c]; }
  for (int64_t p = 0; p < HW; ++p)
    Channels(C, [&](auto v, int64_t c) {
      using V = decltype(v);
      const V r = LoadT<V>(rstd + c), xhat = (LoadT<V>(x + p * C + c) - LoadT<V>(mean + c)) * r;
      StoreT(dx + p * C + c, r * (LoadT<V>(dx + p * C + c) * LoadT<V>(gamma + c) - LoadT<V>(m1 + c) - xhat * LoadT<V>(m2 + c)));
    });
}

}  // namespace direct

namespace direct {

// One LSTM step for one row (PyTorch's gate order i, f, g, o); act keeps i, f, g, o, c for the backward step.
inline void LstmRow(const float* x, const float* y, const float* cp, int64_t H, float* h, float* c, float* a) {
  Channels(H, [&](auto v, int64_t j) {
    using V = decltype(v);
    const V i = Sigmoid(LoadT<V>(x + j) + LoadT<V>(y + j)), f = Sigmoid(LoadT<V>(x + H + j) + LoadT<V>(y + H + j));
    const V g = Tanh(LoadT<V>(x + 2 * H + j) + LoadT<V>(y + 2 * H + j)), o = Sigmoid(LoadT<V>(x + 3 * H + j) + LoadT<V>(y + 3 * H + j));
    const V cc = f * LoadT<V>(cp + j) + i * g;
    StoreT(a + j, i); StoreT(a + H + j, f); StoreT(a + 2 * H + j, g); StoreT(a + 3 * H + j, o); StoreT(a + 4 * H + j, cc);
    StoreT(c + j, cc);
    StoreT(h + j, o * Tanh(cc));
  });
}

// The backward step of LstmRow: gate gradients d [4H] and dcPrev.
inline void LstmGradRow(const float* a, const float* cp, const float* dh, const float* dc, int64_t H, float* d, float* dcp) {
  Channels(H, [&](auto v, int64_t j) {
    using V = decltype(v);
    const V i = LoadT<V>(a + j), f = LoadT<V>(a + H + j), g = LoadT<V>(a + 2 * H + j), o = LoadT<V>(a + 3 * H + j);
    const V tc = Tanh(LoadT<V>(a + 4 * H + j)), dhj = LoadT<V>(dh + j);
    const V dct = LoadT<V>(dc + j) + dhj * o * (1.0f - tc * tc);
    StoreT(d + j, dct * g * i * (1.0f - i));
    StoreT(d + H + j, dct * LoadT<V>(cp + j) * f * (1.0f - f));
    StoreT(d + 2 * H + j, dct * i * (1.0f - g * g));
    StoreT(d + 3 * H + j, dhj * tc * o * (1.0f - o));
    StoreT(dcp + j, dct * f);
  });
}

}  // namespace direct
