// Internal row kernels of the multi-symbol coder (not a public header).
//
// Each kernel implements, bit for bit, the normative float-to-CDF algorithm of
// pcstream/multisym.hpp; the SIMD kernel only changes how the same IEEE
// operations are scheduled, so every kernel returns identical integers (the
// unit tests compare them on random and edge-case rows).
#pragma once
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
// Largest s in [0, K) with cdf[s] <= v, for a valid CDF row (values <= 2^16).
using CountLeFn = int (*)(const uint32_t* cdf, int K, uint32_t v);
// True when a CDF row satisfies the contract of multisym.hpp.
using CdfOkFn = bool (*)(const uint32_t* cdf, int K, uint32_t total);

struct Kernels {
  RowFreqsFn row_freqs;
  PrefixFn prefix;
  CountLeFn count_le;
  CdfOkFn cdf_ok;
  const char* name;
};

const Kernels& generic_kernels();
// The fastest kernels this CPU supports (AVX2 on x86-64 when available).
const Kernels& best_kernels();
// Kernels used by the batch functions; tests and benches may switch to the
// generic ones (not thread-safe: call before coding starts).
const Kernels& active_kernels();
void use_generic_kernels(bool generic);

}  // namespace detail
}  // namespace pcstream
