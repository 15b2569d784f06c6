// Multi-symbol coding with caller-supplied distributions; see multisym.hpp for
// the normative float-to-CDF algorithm (implemented in multisym_kernels.cpp).
#include "pcstream/multisym.hpp"

#include <algorithm>
#include <string>
#include <thread>

#include "multisym_kernels.hpp"

namespace pcstream {
namespace {

using detail::active_kernels;
using detail::Kernels;

void check_shape(int K, int precision) {
  if (precision < 1 || precision > kMaxCdfPrecision)
    fail(ErrorCode::InvalidArgument, "CDF precision must be in [1, 16], got " + std::to_string(precision));
  if (K < 1 || static_cast<uint32_t>(K) > (1u << precision))
    fail(ErrorCode::InvalidArgument, "alphabet size K=" + std::to_string(K) + " must be in [1, 2^precision]");
}

[[noreturn]] void bad_row(size_t row, const char* why) {
  fail(ErrorCode::InvalidArgument, "probability row " + std::to_string(row) + ": " + why);
}

[[noreturn]] void bad_cdf_row(size_t row) {
  fail(ErrorCode::InvalidArgument,
       "CDF row " + std::to_string(row) + " must start at 0, end at 2^precision and be non-decreasing");
}

inline void check_symbol(int32_t s, int K, size_t i) {
  if (s < 0 || s >= K)
    fail(ErrorCode::InvalidArgument, "symbol " + std::to_string(s) + " at index " + std::to_string(i) +
                                         " is outside [0, K=" + std::to_string(K) + ")");
}

void finish_decode(const RangeDecoder& dec, size_t size) {
  dec.check_end("multi-symbol decode");
  if (dec.position() != size)
    fail(ErrorCode::CorruptPayload, "multi-symbol decode: " + std::to_string(size - dec.position()) +
                                        " trailing bytes after the coded symbols");
}

// Per-call scratch: the kernel's g buffer and one CDF row.
struct RowBuffers {
  explicit RowBuffers(int K) : g(detail::row_scratch_size(K)), cdf(static_cast<size_t>(K) + 1) {}
  std::vector<uint32_t> g, cdf;
};

inline void decode_with(RangeDecoder& dec, const Kernels& k, const uint32_t* cdf, int K, int precision,
                        int32_t* out) {
  uint32_t v = dec.decode_freq_target(precision);
  int s = k.count_le(cdf, K, v);
  dec.consume(cdf[s], cdf[s + 1] - cdf[s]);
  *out = s;
}

}  // namespace

void probs_to_cdf_row(const float* probs, int K, int precision, uint32_t* cdf) {
  check_shape(K, precision);
  RowBuffers b(K);
  const Kernels& k = active_kernels();
  if (const char* why = k.row_freqs(probs, K, precision, b.g.data())) bad_row(0, why);
  k.prefix(b.g.data(), K, cdf);
}

void probs_to_cdf(const float* probs, size_t n, int K, int precision, uint32_t* cdf, int threads) {
  check_shape(K, precision);
  const Kernels& k = active_kernels();
  // Rows are independent, so the split cannot change any output integer.
  auto work = [&](size_t lo, size_t hi, size_t* bad, const char** why) {
    RowBuffers b(K);
    for (size_t r = lo; r < hi; ++r) {
      if ((*why = k.row_freqs(probs + r * K, K, precision, b.g.data()))) { *bad = r; return; }
      k.prefix(b.g.data(), K, cdf + r * (K + 1));
    }
  };
  size_t nt = static_cast<size_t>(std::max(1, std::min(threads, 64)));
  if (n < 1024) nt = 1;
  std::vector<size_t> bad(nt, SIZE_MAX);
  std::vector<const char*> why(nt, nullptr);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < nt; ++t) pool.emplace_back(work, n * t / nt, n * (t + 1) / nt, &bad[t], &why[t]);
  work(0, n / nt, &bad[0], &why[0]);
  for (auto& th : pool) th.join();
  for (size_t t = 0; t < nt; ++t)  // the first bad row, whatever the split
    if (bad[t] != SIZE_MAX) bad_row(bad[t], why[t]);
}

void validate_cdf(const uint32_t* cdf, size_t n, int K, int precision) {
  check_shape(K, precision);
  const Kernels& k = active_kernels();
  for (size_t r = 0; r < n; ++r)
    if (!k.cdf_ok(cdf + r * (K + 1), K, 1u << precision)) bad_cdf_row(r);
}

void encode_symbols_probs(RangeEncoder& enc, const int32_t* symbols, const float* probs, size_t n, int K,
                          int precision) {
  check_shape(K, precision);
  for (size_t i = 0; i < n; ++i) check_symbol(symbols[i], K, i);
  const Kernels& k = active_kernels();
  RowBuffers b(K);
  const uint32_t* g = b.g.data();
  for (size_t i = 0; i < n; ++i) {
    if (const char* why = k.row_freqs(probs + i * K, K, precision, b.g.data())) bad_row(i, why);
    // cdf[s] = s + g[0] + ... + g[s-1]: no need for the whole prefix.
    const int s = symbols[i];
    uint32_t cum = static_cast<uint32_t>(s);
    for (int j = 0; j < s; ++j) cum += g[j];
    enc.encode_freq(cum, g[s] + 1, precision);
  }
}

void encode_symbols_cdf(RangeEncoder& enc, const int32_t* symbols, const uint32_t* cdf, size_t n, int K,
                        int precision) {
  check_shape(K, precision);
  const Kernels& k = active_kernels();
  const uint32_t total = 1u << precision;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t* c = cdf + i * (K + 1);
    check_symbol(symbols[i], K, i);
    if (!k.cdf_ok(c, K, total)) bad_cdf_row(i);
    if (c[symbols[i]] == c[symbols[i] + 1])
      fail(ErrorCode::InvalidArgument, "symbol at index " + std::to_string(i) + " has frequency 0 in its CDF");
    encode_symbol(enc, c, symbols[i], precision);
  }
}

void decode_symbols_probs(RangeDecoder& dec, const float* probs, size_t n, int K, int precision, int32_t* out) {
  check_shape(K, precision);
  const Kernels& k = active_kernels();
  RowBuffers b(K);
  uint32_t* cdf = b.cdf.data();
  for (size_t i = 0; i < n; ++i) {
    if (const char* why = k.row_freqs(probs + i * K, K, precision, b.g.data())) bad_row(i, why);
    k.prefix(b.g.data(), K, cdf);
    decode_with(dec, k, cdf, K, precision, out + i);
  }
}

void decode_symbols_cdf(RangeDecoder& dec, const uint32_t* cdf, size_t n, int K, int precision, int32_t* out) {
  check_shape(K, precision);
  const Kernels& k = active_kernels();
  const uint32_t total = 1u << precision;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t* c = cdf + i * (K + 1);
    if (!k.cdf_ok(c, K, total)) bad_cdf_row(i);
    decode_with(dec, k, c, K, precision, out + i);
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
