// Row kernels of the multi-symbol coder: portable scalar code plus an AVX2
// version selected at run time. Both follow the algorithm in multisym.hpp
// operation for operation (same IEEE additions in the same pairing, same
// binary64 multiply-add-truncate), so their integers are identical.
#include "multisym_kernels.hpp"

#include <algorithm>
#include <cstring>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define PCSTREAM_HAVE_AVX2_KERNEL 1
#include <immintrin.h>
#endif

namespace pcstream {
namespace detail {
namespace {

constexpr int kLanes = 32;
const char* const kNegative = "contains a negative or NaN value";
const char* const kZero = "sums to zero (or below 2^-100)";
const char* const kInfinite = "sum is infinite (or above 2^100)";

// Step 5's rare branch: the remainder is too negative for the largest entry.
void spread_deficit(uint32_t* g, int K, int64_t R) {
  int64_t D = -R;
  for (int i = 0; i < K && D > 0; ++i) {
    int64_t t = std::min<int64_t>(g[i], D);
    g[i] = static_cast<uint32_t>(g[i] - t);
    D -= t;
  }
}

// Step 5 given sum(g) and max(g).
inline void correct(uint32_t* g, int K, int64_t A, int64_t total, uint32_t gmax) {
  int64_t R = A - total;
  if (R == 0) return;
  int a = 0;
  while (g[a] != gmax) ++a;
  if (static_cast<int64_t>(g[a]) + R >= 0) g[a] = static_cast<uint32_t>(g[a] + R);
  else spread_deficit(g, K, R);
}

// Step 1 on one value: the flushed bit pattern of q[i].
inline uint32_t flushed_bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return (u & 0x7FFFFFFFu) < 0x00800000u ? 0u : u;
}

inline float from_bits(uint32_t u) {
  float v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

// Step 2's accepted range of S.
const float kMinSum = 7.88860905e-31f;  // 2^-100
const float kMaxSum = 1.2676506e30f;    // 2^100

inline const char* check_sum(float S) {
  if (!(S >= kMinSum)) return kZero;
  if (!(S <= kMaxSum)) return kInfinite;
  return nullptr;
}

const char* row_freqs_generic(const float* p, int K, int precision, uint32_t* g) {
  float acc[kLanes];
  for (int j = 0; j < kLanes; ++j) acc[j] = 0.0f;
  uint32_t umax = 0;
  for (int i = 0; i < K; ++i) {
    uint32_t u = flushed_bits(p[i]);
    umax = std::max(umax, u);
    acc[i % kLanes] = acc[i % kLanes] + from_bits(u);
  }
  if (umax > 0x7F800000u) return kNegative;
  for (int w = kLanes / 2; w >= 1; w >>= 1)
    for (int j = 0; j < w; ++j) acc[j] = acc[j] + acc[j + w];
  const float S = acc[0];
  if (const char* why = check_sum(S)) return why;
  const int64_t A = (int64_t{1} << precision) - K;
  const float c = static_cast<float>(A) / S;
  int64_t total = 0;
  uint32_t gmax = 0;
  for (int i = 0; i < K; ++i) {
    float x = from_bits(flushed_bits(p[i])) * c;
    x = x + 0.5f;
    uint32_t v = static_cast<uint32_t>(x);
    g[i] = v;
    total += v;
    gmax = std::max(gmax, v);
  }
  correct(g, K, A, total, gmax);
  return nullptr;
}

void prefix_generic(const uint32_t* g, int K, uint32_t* cdf) {
  uint32_t run = 0;
  cdf[0] = 0;
  for (int i = 0; i < K; ++i) cdf[i + 1] = run += g[i] + 1;
}

int count_le_generic(const uint32_t* cdf, int K, uint32_t v) {
  int lo = 0, n = K;  // cdf[0] <= v; find the last index < K with cdf <= v
  while (n > 1) {
    int half = n >> 1;
    lo = cdf[lo + half] <= v ? lo + half : lo;
    n -= half;
  }
  return lo;
}

bool cdf_ok_generic(const uint32_t* c, int K, uint32_t total) {
  uint32_t bad = c[0] | (c[K] ^ total);
  for (int i = 0; i < K; ++i) bad |= c[i] > c[i + 1];
  return bad == 0;
}

#ifdef PCSTREAM_HAVE_AVX2_KERNEL
#define PCS_AVX2 __attribute__((target("avx2")))

PCS_AVX2 inline __m256i first_lanes(int n) {  // lanes [0, min(n, 8)) set
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(std::min(n, 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

PCS_AVX2 inline uint32_t hsum_epi32(__m256i v) {
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(x));
}

PCS_AVX2 inline uint32_t hmax_epu32(__m256i v) {
  __m128i x = _mm_max_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_max_epu32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm_max_epu32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(x));
}

PCS_AVX2 const char* row_freqs_avx2(const float* p, int K, int precision, uint32_t* g) {
  // Steps 1-2. Lanes j..j+7 of the 32-lane accumulator live in acc[j / 8];
  // the flushed values q are parked in g for step 4.
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF);
  const __m256i min_normal = _mm256_set1_epi32(0x007FFFFF);
  const __m256 zero = _mm256_setzero_ps();
  __m256 acc[4] = {zero, zero, zero, zero};
  __m256i umax = _mm256_setzero_si256();
#define PCS_SUM_STEP(at, load, a)                                                                          \
  do {                                                                                             \
    __m256i u = (load);                                                                            \
    u = _mm256_and_si256(u, _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), min_normal));        \
    umax = _mm256_max_epu32(umax, u);                                                              \
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + (at)), u);                                  \
    a = _mm256_add_ps(a, _mm256_castsi256_ps(u));                                                  \
  } while (0)
  int i = 0;
  for (; i + kLanes <= K; i += kLanes)
    for (int q = 0; q < 4; ++q)
      PCS_SUM_STEP(i + 8 * q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 8 * q)), acc[q]);
  for (int q = 0; q < 4; ++q) {
    int at = i + 8 * q;
    if (at + 8 <= K) {
      PCS_SUM_STEP(at, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + at)), acc[q]);
    } else if (at < K) {
      // Masked-off lanes read +0.0, which leaves a lane's sum unchanged.
      PCS_SUM_STEP(at, _mm256_maskload_epi32(reinterpret_cast<const int*>(p + at), first_lanes(K - at)), acc[q]);
    }
  }
#undef PCS_SUM_STEP
  if (hmax_epu32(umax) > 0x7F800000u) return kNegative;
  __m256 s8 = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));  // w = 16, 8
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));         // w = 4
  __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));                                         // w = 2
  const float S = _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));                  // w = 1
  if (const char* why = check_sum(S)) return why;

  // Steps 3-4. Lanes past K hold q = 0 and give g = 0: no effect on sum or max.
  const int64_t A = (int64_t{1} << precision) - K;
  const __m256 c = _mm256_set1_ps(static_cast<float>(A) / S);
  const __m256 half = _mm256_set1_ps(0.5f);
  __m256i sum = _mm256_setzero_si256(), mx = _mm256_setzero_si256();
  for (i = 0; i < K; i += 8) {
    __m256 q = _mm256_loadu_ps(reinterpret_cast<const float*>(g + i));
    __m256i gv = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(q, c), half));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + i), gv);
    sum = _mm256_add_epi32(sum, gv);  // <= 2^16 + 2^16 per lane: no overflow
    mx = _mm256_max_epu32(mx, gv);
  }
  const int64_t total = hsum_epi32(sum);
  const uint32_t gmax = hmax_epu32(mx);

  // Step 5.
  const int64_t R = A - total;
  if (R != 0) {
    const __m256i target = _mm256_set1_epi32(static_cast<int>(gmax));
    int a = 0;
    for (int j = 0;; j += 8) {
      int m = _mm256_movemask_ps(_mm256_castsi256_ps(
          _mm256_cmpeq_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + j)), target)));
      if (m) { a = j + __builtin_ctz(static_cast<unsigned>(m)); break; }
    }
    if (static_cast<int64_t>(g[a]) + R >= 0) g[a] = static_cast<uint32_t>(g[a] + R);
    else spread_deficit(g, K, R);
  }
  return nullptr;
}

// Step 6: prefix sums of g + 1, 8 lanes at a time.
PCS_AVX2 void prefix_avx2(const uint32_t* g, int K, uint32_t* cdf) {
  const __m256i one = _mm256_set1_epi32(1);
  __m256i carry = _mm256_setzero_si256();
  cdf[0] = 0;
  int i = 0;
  for (; i + 8 <= K; i += 8) {
    __m256i x = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + i)), one);
    x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
    x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
    __m256i low_total = _mm256_shuffle_epi32(x, _MM_SHUFFLE(3, 3, 3, 3));
    x = _mm256_add_epi32(x, _mm256_permute2x128_si256(low_total, low_total, 0x08));
    x = _mm256_add_epi32(x, carry);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(cdf + 1 + i), x);
    carry = _mm256_permutevar8x32_epi32(x, _mm256_set1_epi32(7));
  }
  uint32_t run = cdf[i];
  for (; i < K; ++i) cdf[i + 1] = run += g[i] + 1;
}

PCS_AVX2 int count_le_avx2(const uint32_t* cdf, int K, uint32_t v) {
  // Count of i in [1, K) with cdf[i] <= v; values <= 2^16 compare as signed.
  const __m256i vv = _mm256_set1_epi32(static_cast<int>(v));
  __m256i gt = _mm256_setzero_si256();
  int i = 1;
  for (; i + 8 <= K; i += 8)
    gt = _mm256_sub_epi32(gt, _mm256_cmpgt_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(cdf + i)), vv));
  int n = (i - 1) - static_cast<int>(hsum_epi32(gt));
  for (; i < K; ++i) n += cdf[i] <= v;
  return n;
}

PCS_AVX2 bool cdf_ok_avx2(const uint32_t* c, int K, uint32_t total) {
  __m256i bad = _mm256_setzero_si256();
  int i = 0;
  for (; i + 8 <= K; i += 8) {  // c[i..i+8) <= c[i+1..i+9): max(a, b) == b
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + i));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + i + 1));
    bad = _mm256_or_si256(bad, _mm256_xor_si256(_mm256_max_epu32(a, b), b));
  }
  uint32_t scalar_bad = c[0] | (c[K] ^ total);
  for (; i < K; ++i) scalar_bad |= c[i] > c[i + 1];
  return scalar_bad == 0 && _mm256_testz_si256(bad, bad);
}

#undef PCS_AVX2
#endif  // PCSTREAM_HAVE_AVX2_KERNEL

const Kernels kGeneric{row_freqs_generic, prefix_generic, count_le_generic, cdf_ok_generic, "generic"};
#ifdef PCSTREAM_HAVE_AVX2_KERNEL
const Kernels kAvx2{row_freqs_avx2, prefix_avx2, count_le_avx2, cdf_ok_avx2, "avx2"};
#endif

const Kernels* detect() {
#ifdef PCSTREAM_HAVE_AVX2_KERNEL
  if (__builtin_cpu_supports("avx2")) return &kAvx2;
#endif
  return &kGeneric;
}

const Kernels* g_active = nullptr;

}  // namespace

const Kernels& generic_kernels() { return kGeneric; }
const Kernels& best_kernels() {
  static const Kernels* best = detect();
  return *best;
}
const Kernels& active_kernels() { return g_active ? *g_active : best_kernels(); }
void use_generic_kernels(bool generic) { g_active = generic ? &kGeneric : nullptr; }

}  // namespace detail
}  // namespace pcstream
