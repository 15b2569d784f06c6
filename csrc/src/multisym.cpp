// Multi-symbol coding with caller-supplied distributions; see multisym.hpp for
// the normative float-to-CDF algorithm this file implements.
#include "pcstream/multisym.hpp"

#include <algorithm>
#include <string>
#include <thread>

namespace pcstream {
namespace {

constexpr int kLanes = 32;

void check_shape(int K, int precision) {
  if (precision < 1 || precision > kMaxCdfPrecision)
    fail(ErrorCode::InvalidArgument, "CDF precision must be in [1, 16], got " + std::to_string(precision));
  if (K < 1 || static_cast<uint32_t>(K) > (1u << precision))
    fail(ErrorCode::InvalidArgument, "alphabet size K=" + std::to_string(K) + " must be in [1, 2^precision]");
}

[[noreturn]] void bad_row(size_t row, const char* why) {
  fail(ErrorCode::InvalidArgument, "probability row " + std::to_string(row) + ": " + why);
}

// Steps 1-2: validation flag and the 32-lane binary32 sum. Written so the
// compiler vectorises it without changing the order of any addition.
inline float lane_sum(const float* p, int K, bool& bad) {
  float acc[kLanes];
  for (int j = 0; j < kLanes; ++j) acc[j] = 0.0f;
  int neg = 0;
  int i = 0;
  for (; i + kLanes <= K; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      float v = p[i + j];
      neg |= !(v >= 0.0f);
      acc[j] += v;
    }
  }
  for (int j = 0; i + j < K; ++j) {
    float v = p[i + j];
    neg |= !(v >= 0.0f);
    acc[j] += v;
  }
  for (int w = kLanes / 2; w >= 1; w >>= 1)
    for (int j = 0; j < w; ++j) acc[j] = acc[j] + acc[j + w];
  bad = neg != 0;
  return acc[0];
}

// Steps 3-5 into g[0..K-1] (frequency minus one). Returns false for an
// invalid row.
inline bool row_freqs(const float* p, int K, int precision, uint32_t* g, const char** why) {
  bool neg;
  float S = lane_sum(p, K, neg);
  if (neg) { *why = "contains a negative or NaN value"; return false; }
  if (!(S > 0.0f)) { *why = "sums to zero"; return false; }
  if (!(S <= 3.4028234663852886e38f)) { *why = "sum is not finite"; return false; }
  const int64_t A = (int64_t{1} << precision) - K;
  const double c = static_cast<double>(A) / static_cast<double>(S);
  int64_t total = 0;
  uint32_t gmax = 0;
  for (int i = 0; i < K; ++i) {
    double x = static_cast<double>(p[i]) * c + 0.5;
    uint32_t v = static_cast<uint32_t>(x);
    g[i] = v;
    total += v;
    gmax = v > gmax ? v : gmax;
  }
  int64_t R = A - total;
  if (R != 0) {
    int a = 0;
    while (g[a] != gmax) ++a;
    if (static_cast<int64_t>(g[a]) + R >= 0) {
      g[a] = static_cast<uint32_t>(g[a] + R);
    } else {
      int64_t D = -R;
      for (int i = 0; i < K && D > 0; ++i) {
        int64_t t = std::min<int64_t>(g[i], D);
        g[i] = static_cast<uint32_t>(g[i] - t);
        D -= t;
      }
    }
  }
  return true;
}

inline void freqs_to_cdf(const uint32_t* g, int K, uint32_t* cdf) {
  uint32_t c = 0;
  cdf[0] = 0;
  for (int i = 0; i < K; ++i) {
    c += g[i] + 1;
    cdf[i + 1] = c;
  }
}

void check_symbol(int32_t s, int K, size_t i) {
  if (s < 0 || s >= K)
    fail(ErrorCode::InvalidArgument,
         "symbol " + std::to_string(s) + " at index " + std::to_string(i) + " is outside [0, K=" + std::to_string(K) + ")");
}

void check_cdf_row(const uint32_t* c, int K, int precision, size_t row) {
  uint32_t bad = c[0] | (c[K] ^ (1u << precision));
  for (int i = 0; i < K; ++i) bad |= c[i] > c[i + 1];
  if (bad)
    fail(ErrorCode::InvalidArgument, "CDF row " + std::to_string(row) +
                                         " must start at 0, end at 2^precision and be non-decreasing");
}

void finish_decode(const RangeDecoder& dec, size_t size) {
  dec.check_end("multi-symbol decode");
  if (dec.position() != size)
    fail(ErrorCode::CorruptPayload, "multi-symbol decode: " + std::to_string(size - dec.position()) +
                                        " trailing bytes after the coded symbols");
}

}  // namespace

void probs_to_cdf_row(const float* probs, int K, int precision, uint32_t* cdf) {
  check_shape(K, precision);
  std::vector<uint32_t> g(static_cast<size_t>(K));
  const char* why = nullptr;
  if (!row_freqs(probs, K, precision, g.data(), &why)) bad_row(0, why);
  freqs_to_cdf(g.data(), K, cdf);
}

void probs_to_cdf(const float* probs, size_t n, int K, int precision, uint32_t* cdf, int threads) {
  check_shape(K, precision);
  auto work = [&](size_t lo, size_t hi, size_t* bad, const char** why) {
    std::vector<uint32_t> g(static_cast<size_t>(K));
    for (size_t r = lo; r < hi; ++r) {
      if (!row_freqs(probs + r * K, K, precision, g.data(), why)) { *bad = r; return; }
      freqs_to_cdf(g.data(), K, cdf + r * (K + 1));
    }
  };
  size_t nt = static_cast<size_t>(std::max(1, threads));
  if (n < 4096) nt = 1;
  std::vector<size_t> bad(nt, SIZE_MAX);
  std::vector<const char*> why(nt, nullptr);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < nt; ++t)
    pool.emplace_back(work, n * t / nt, n * (t + 1) / nt, &bad[t], &why[t]);
  work(0, n / nt, &bad[0], &why[0]);
  for (auto& th : pool) th.join();
  for (size_t t = 0; t < nt; ++t)  // report the first bad row, whatever the split
    if (bad[t] != SIZE_MAX) bad_row(bad[t], why[t]);
}

void validate_cdf(const uint32_t* cdf, size_t n, int K, int precision) {
  check_shape(K, precision);
  for (size_t r = 0; r < n; ++r) check_cdf_row(cdf + r * (K + 1), K, precision, r);
}

void encode_symbols_probs(RangeEncoder& enc, const int32_t* symbols, const float* probs, size_t n, int K,
                          int precision) {
  check_shape(K, precision);
  std::vector<uint32_t> g(static_cast<size_t>(K)), cdf(static_cast<size_t>(K) + 1);
  const char* why = nullptr;
  for (size_t i = 0; i < n; ++i) {
    check_symbol(symbols[i], K, i);
    if (!row_freqs(probs + i * K, K, precision, g.data(), &why)) bad_row(i, why);
    freqs_to_cdf(g.data(), K, cdf.data());
    encode_symbol(enc, cdf.data(), symbols[i], precision);
  }
}

void encode_symbols_cdf(RangeEncoder& enc, const int32_t* symbols, const uint32_t* cdf, size_t n, int K,
                        int precision) {
  check_shape(K, precision);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t* c = cdf + i * (K + 1);
    check_symbol(symbols[i], K, i);
    check_cdf_row(c, K, precision, i);
    if (c[symbols[i]] == c[symbols[i] + 1])
      fail(ErrorCode::InvalidArgument, "symbol at index " + std::to_string(i) + " has frequency 0 in its CDF");
    encode_symbol(enc, c, symbols[i], precision);
  }
}

void decode_symbols_probs(RangeDecoder& dec, const float* probs, size_t n, int K, int precision, int32_t* out) {
  check_shape(K, precision);
  std::vector<uint32_t> g(static_cast<size_t>(K)), cdf(static_cast<size_t>(K) + 1);
  const char* why = nullptr;
  for (size_t i = 0; i < n; ++i) {
    if (!row_freqs(probs + i * K, K, precision, g.data(), &why)) bad_row(i, why);
    freqs_to_cdf(g.data(), K, cdf.data());
    out[i] = decode_symbol(dec, cdf.data(), K, precision);
  }
}

void decode_symbols_cdf(RangeDecoder& dec, const uint32_t* cdf, size_t n, int K, int precision, int32_t* out) {
  check_shape(K, precision);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t* c = cdf + i * (K + 1);
    check_cdf_row(c, K, precision, i);
    out[i] = decode_symbol(dec, c, K, precision);
  }
}

std::vector<uint8_t> encode_symbols_probs(const int32_t* symbols, const float* probs, size_t n, int K,
                                          int precision) {
  RangeEncoder enc;
  encode_symbols_probs(enc, symbols, probs, n, K, precision);
  return std::move(enc.finish());
}

std::vector<uint8_t> encode_symbols_cdf(const int32_t* symbols, const uint32_t* cdf, size_t n, int K,
                                        int precision) {
  RangeEncoder enc;
  encode_symbols_cdf(enc, symbols, cdf, n, K, precision);
  return std::move(enc.finish());
}

void decode_symbols_probs(const uint8_t* data, size_t size, const float* probs, size_t n, int K, int precision,
                          int32_t* out) {
  RangeDecoder dec(data, size);
  decode_symbols_probs(dec, probs, n, K, precision, out);
  finish_decode(dec, size);
}

void decode_symbols_cdf(const uint8_t* data, size_t size, const uint32_t* cdf, size_t n, int K, int precision,
                        int32_t* out) {
  RangeDecoder dec(data, size);
  decode_symbols_cdf(dec, cdf, n, K, precision, out);
  finish_decode(dec, size);
}

}  // namespace pcstream
