// Internal row kernels of the multi-symbol coder (not a public header).
//
// Each kernel implements, bit for bit, the normative float-to-CDF algorithm of
// pcstream/multisym.hpp; the SIMD kernel only changes how the same IEEE
// operations are scheduled, so every kernel returns identical integers (the
// unit tests compare them on random and edge-case rows).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace pcstream {
namespace detail {

// Scratch entries a kernel needs besides the K+1 CDF entries.
inline size_t row_scratch_size(int K) { return static_cast<size_t>(K) + 64; }

// Steps 1-5 of one row: g[i] = frequency of symbol i minus one. Returns
// nullptr on success, else a static reason string. `g` has
// row_scratch_size(K) entries. Preconditions: 1 <= K <= 2^precision,
// 1 <= precision <= 16.
using RowFreqsFn = const char* (*)(const float* p, int K, int precision, uint32_t* g);
// Step 6: cdf[0..K] from g.
using PrefixFn = void (*)(const uint32_t* g, int K, uint32_t* cdf);
// g[0] + ... + g[s-1] for 0 <= s < K (the g of RowFreqsFn).
using SumBeforeFn = uint32_t (*)(const uint32_t* g, int K, int s);
// Largest s in [0, K) with cdf[s] <= v, for a valid CDF row (values <= 2^16).
using CountLeFn = int (*)(const uint32_t* cdf, int K, uint32_t v);
// Decoder search on the g of RowFreqsFn: the symbol s with cdf[s] <= v <
// cdf[s+1] (v < 2^precision), its cdf[s] and frequency. `cdf` is scratch of
// K + 1 entries (kernels may leave it partly filled).
using FindFn = int (*)(const uint32_t* g, int K, uint32_t v, uint32_t* cdf, uint32_t* cum, uint32_t* freq);
// True when a CDF row satisfies the contract of multisym.hpp.
using CdfOkFn = bool (*)(const uint32_t* cdf, int K, uint32_t total);

struct Kernels {
  RowFreqsFn row_freqs;
  PrefixFn prefix;
  SumBeforeFn sum_before;
  CountLeFn count_le;
  FindFn find;
  CdfOkFn cdf_ok;
  const char* name;
};

// Pieces shared by the kernels.
constexpr int kLanes = 32;  // lanes of the step-2 sum
constexpr float kMinSum = 0x1p-100f;
constexpr float kMaxSum = 0x1p+100f;
constexpr const char* kNegative = "contains a negative or NaN value";
constexpr const char* kZero = "sums to zero (or below 2^-100)";
constexpr const char* kInfinite = "sum is infinite (or above 2^100)";

inline const char* check_sum(float S) {
  if (!(S >= kMinSum)) return kZero;
  if (!(S <= kMaxSum)) return kInfinite;
  return nullptr;
}

// Step 5's rare branch: the remainder is too negative for the largest entry.
inline void spread_deficit(uint32_t* g, int K, int64_t R) {
  int64_t D = -R;
  for (int i = 0; i < K && D > 0; ++i) {
    int64_t t = std::min<int64_t>(g[i], D);
    g[i] = static_cast<uint32_t>(g[i] - t);
    D -= t;
  }
}

const Kernels& generic_kernels();
// AVX2 / AVX-512 kernels, or nullptr when this build or this CPU lacks them.
const Kernels* avx2_kernels();
const Kernels* avx512_kernels();  // in multisym_kernels_avx512.cpp
// The fastest kernels this CPU supports (AVX2 on x86-64 when available).
const Kernels& best_kernels();
// Kernels used by the batch functions; tests and benches may switch to the
// generic ones (not thread-safe: call before coding starts).
const Kernels& active_kernels();
void use_generic_kernels(bool generic);

}  // namespace detail
}  // namespace pcstream
