// AVX-512 row kernels of the multi-symbol coder: the same IEEE operations as
// the generic and AVX2 kernels (multisym_kernels.cpp), 16 lanes at a time.
#include "multisym_kernels.hpp"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define PCSTREAM_HAVE_AVX512_KERNEL 1
// GCC 12's _mm512_reduce_* helpers trip -Wuninitialized false positives.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace pcstream {
namespace detail {

#ifdef PCSTREAM_HAVE_AVX512_KERNEL
namespace {

#define PCS_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")))

PCS_AVX512 inline __mmask16 first_lanes16(int n) {  // lanes [0, min(n, 16)) set
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

// Inclusive prefix sum of 16 lanes in 4 shift-and-add steps (Hillis-Steele).
PCS_AVX512 inline __m512i inclusive_scan16(__m512i x) {
  const __m512i back1 = _mm512_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
  const __m512i back2 = _mm512_setr_epi32(0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
  const __m512i back4 = _mm512_setr_epi32(0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
  const __m512i back8 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7);
  x = _mm512_add_epi32(x, _mm512_maskz_permutexvar_epi32(0xFFFE, back1, x));
  x = _mm512_add_epi32(x, _mm512_maskz_permutexvar_epi32(0xFFFC, back2, x));
  x = _mm512_add_epi32(x, _mm512_maskz_permutexvar_epi32(0xFFF0, back4, x));
  return _mm512_add_epi32(x, _mm512_maskz_permutexvar_epi32(0xFF00, back8, x));
}


PCS_AVX512 const char* row_freqs_avx512(const float* p, int K, int precision, uint32_t* g) {
  // Steps 1-2: lanes 0-15 of the 32-lane accumulator in acc0, 16-31 in acc1;
  // the flushed values q are parked in g for step 4.
  const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF);
  const __m512i min_normal = _mm512_set1_epi32(0x007FFFFF);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512i umax = _mm512_setzero_si512();
  for (int i = 0; i < K; i += 16) {
    // Masked-off lanes read +0.0, which leaves a lane's sum unchanged.
    __m512i u = _mm512_maskz_loadu_epi32(first_lanes16(K - i), p + i);
    __mmask16 normal = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs_mask), min_normal);
    u = _mm512_maskz_mov_epi32(normal, u);
    umax = _mm512_max_epu32(umax, u);
    _mm512_storeu_si512(g + i, u);
    if ((i & 16) == 0) acc0 = _mm512_add_ps(acc0, _mm512_castsi512_ps(u));
    else acc1 = _mm512_add_ps(acc1, _mm512_castsi512_ps(u));
  }
  if (_mm512_reduce_max_epu32(umax) > 0x7F800000u) return kNegative;
  __m512 s16 = _mm512_add_ps(acc0, acc1);                                                     // w = 16
  __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(s16), _mm512_extractf32x8_ps(s16, 1));     // w = 8
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));           // w = 4
  __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));                                           // w = 2
  const float S = _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));                    // w = 1
  if (const char* why = check_sum(S)) return why;

  // Steps 3-4 with per-lane sum, maximum and first index of the maximum.
  // Lanes past K hold q = 0 and give g = 0: no effect on sum or max.
  const int64_t A = (int64_t{1} << precision) - K;
  const __m512 c = _mm512_set1_ps(static_cast<float>(A) / S);
  const __m512 half = _mm512_set1_ps(0.5f);
  __m512i sum = _mm512_setzero_si512(), best = _mm512_set1_epi32(-1), best_at = _mm512_setzero_si512();
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i sixteen = _mm512_set1_epi32(16);
  for (int i = 0; i < K; i += 16) {
    __m512 q = _mm512_loadu_ps(g + i);
    __m512i gv = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(q, c), half));
    _mm512_storeu_si512(g + i, gv);
    sum = _mm512_add_epi32(sum, gv);
    __mmask16 gt = _mm512_cmpgt_epi32_mask(gv, best);
    best = _mm512_max_epi32(best, gv);
    best_at = _mm512_mask_mov_epi32(best_at, gt, idx);
    idx = _mm512_add_epi32(idx, sixteen);
  }
  const int64_t total = static_cast<uint32_t>(_mm512_reduce_add_epi32(sum));
  const int gmax = _mm512_reduce_max_epi32(best);
  const __mmask16 at_max = _mm512_cmpeq_epi32_mask(best, _mm512_set1_epi32(gmax));
  const int a = _mm512_mask_reduce_min_epi32(at_max, best_at);

  // Step 5.
  const int64_t R = A - total;
  if (static_cast<int64_t>(g[a]) + R >= 0) g[a] = static_cast<uint32_t>(g[a] + R);
  else spread_deficit(g, K, R);
  return nullptr;
}

PCS_AVX512 void prefix_avx512(const uint32_t* g, int K, uint32_t* cdf) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i last = _mm512_set1_epi32(15);
  __m512i carry = _mm512_setzero_si512();
  cdf[0] = 0;
  for (int i = 0; i < K; i += 16) {
    const __mmask16 live = first_lanes16(K - i);
    __m512i x = _mm512_add_epi32(_mm512_maskz_loadu_epi32(live, g + i), one);
    x = inclusive_scan16(x);
    x = _mm512_add_epi32(x, carry);
    _mm512_mask_storeu_epi32(cdf + 1 + i, live, x);
    carry = _mm512_permutexvar_epi32(last, x);
  }
}

PCS_AVX512 uint32_t sum_before_avx512(const uint32_t* g, int K, int s) {
  __m512i sum = _mm512_setzero_si512();
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i limit = _mm512_set1_epi32(s), sixteen = _mm512_set1_epi32(16);
  for (int i = 0; i < K; i += 16) {
    __mmask16 before = _mm512_cmpgt_epi32_mask(limit, idx);
    sum = _mm512_add_epi32(sum, _mm512_maskz_loadu_epi32(before, g + i));
    idx = _mm512_add_epi32(idx, sixteen);
  }
  return static_cast<uint32_t>(_mm512_reduce_add_epi32(sum));
}

PCS_AVX512 int count_le_avx512(const uint32_t* cdf, int K, uint32_t v) {
  // Count of i in [1, K) with cdf[i] <= v.
  const __m512i vv = _mm512_set1_epi32(static_cast<int>(v));
  int n = 0;
  for (int i = 1; i < K; i += 16) {
    const __mmask16 live = first_lanes16(K - i);
    __m512i c = _mm512_maskz_loadu_epi32(live, cdf + i);
    n += __builtin_popcount(_mm512_mask_cmple_epu32_mask(live, c, vv));
  }
  return n;
}

// Prefix sums block by block, stopping at the block that holds v: on average
// half the row instead of a full prefix pass plus a full count.
PCS_AVX512 int find_avx512(const uint32_t* g, int K, uint32_t v, uint32_t* cdf, uint32_t* cum, uint32_t* freq) {
  if (K <= 32) {  // one or two blocks: a full prefix and a count are cheaper
    prefix_avx512(g, K, cdf);
    const int s = count_le_avx512(cdf, K, v);
    *cum = cdf[s];
    *freq = cdf[s + 1] - cdf[s];
    return s;
  }
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i last = _mm512_set1_epi32(15);
  const __m512i vv = _mm512_set1_epi32(static_cast<int>(v));
  __m512i carry = _mm512_setzero_si512();
  uint32_t before = 0;  // cdf at the start of the block
  for (int i = 0; i < K; i += 16) {
    const __mmask16 live = first_lanes16(K - i);
    __m512i x = _mm512_add_epi32(_mm512_maskz_loadu_epi32(live, g + i), one);
    x = inclusive_scan16(x);
    x = _mm512_add_epi32(x, carry);  // x[j] = cdf[i + j + 1]
    // Lanes past K repeat cdf[K] = 2^P > v, so the first lane above v is live.
    const __mmask16 above = _mm512_mask_cmpgt_epu32_mask(live, x, vv);
    if (above) {
      const int j = __builtin_ctz(static_cast<unsigned>(above));
      // x[j - 1] (or the carry) and x[j] without a round trip through memory.
      const __m512i hi = _mm512_permutexvar_epi32(_mm512_set1_epi32(j), x);
      const __m512i lo = _mm512_permutexvar_epi32(_mm512_set1_epi32(j - 1), x);
      const uint32_t c_hi = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm512_castsi512_si128(hi)));
      const uint32_t c_lo = j ? static_cast<uint32_t>(_mm_cvtsi128_si32(_mm512_castsi512_si128(lo))) : before;
      *cum = c_lo;
      *freq = c_hi - c_lo;
      return i + j;
    }
    carry = _mm512_permutexvar_epi32(last, x);
    before = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm512_castsi512_si128(carry)));
  }
  // Unreachable for v < cdf[K]; keep the decoder defined anyway.
  *cum = before - (g[K - 1] + 1);
  *freq = g[K - 1] + 1;
  return K - 1;
}

PCS_AVX512 bool cdf_ok_avx512(const uint32_t* c, int K, uint32_t total) {
  __mmask16 bad = 0;
  for (int i = 0; i < K; i += 16) {  // c[i] <= c[i+1] for i < K
    const __mmask16 live = first_lanes16(K - i);
    __m512i a = _mm512_maskz_loadu_epi32(live, c + i);
    __m512i b = _mm512_maskz_loadu_epi32(live, c + i + 1);
    bad = static_cast<__mmask16>(bad | _mm512_mask_cmpgt_epu32_mask(live, a, b));
  }
  return bad == 0 && c[0] == 0 && c[K] == total;
}

#undef PCS_AVX512

const Kernels kAvx512{row_freqs_avx512, prefix_avx512, sum_before_avx512, count_le_avx512, find_avx512,
                      cdf_ok_avx512, "avx512"};

}  // namespace

const Kernels* avx512_kernels() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return ok ? &kAvx512 : nullptr;
}

#else

const Kernels* avx512_kernels() { return nullptr; }

#endif  // PCSTREAM_HAVE_AVX512_KERNEL

}  // namespace detail
}  // namespace pcstream
