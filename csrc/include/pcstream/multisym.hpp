// Multi-symbol range coding with caller-supplied distributions.
//
// Every symbol is coded with its own distribution over an alphabet of K
// symbols, given either as K float32 probabilities (any non-negative weights;
// they need not sum to one) or as an integer CDF of K+1 entries. This is the
// entropy-coding back end of learned models: the encoder and the decoder
// evaluate the same model, feed the same floats, and get the same integers.
//
// Integer CDF contract (rows of K+1 uint32 values, "precision" P in [1, 16]):
//   cdf[0] == 0, cdf[K] == 2^P, cdf[i] <= cdf[i+1].
//   Symbol s has frequency cdf[s+1] - cdf[s]; coding a symbol of frequency 0
//   is an InvalidArgument error. Decoding never yields such a symbol.
//
// Float-to-CDF conversion (normative; formats cite this text). Inputs: one
// row p[0..K-1] of IEEE-754 binary32 values, precision P, 1 <= K <= 2^P.
// All floating-point operations are binary32 with round-to-nearest-even and
// without contraction (no FMA), in exactly this order:
//   1. Flush and validate, on the bit patterns u[i] of p[i]: if
//      (u[i] & 0x7FFFFFFF) < 0x00800000 (a zero or subnormal of either sign)
//      then q[i] = +0.0 else q[i] = p[i]. The row is rejected if any q[i] is
//      negative or NaN (bit pattern, as unsigned, > 0x7F800000).
//   2. Sum S over 32 lanes: acc[j] = +0.0 for j < 32; for i = 0..K-1 in
//      increasing order acc[i mod 32] = acc[i mod 32] + q[i]; then for w =
//      16, 8, 4, 2, 1: acc[j] = acc[j] + acc[j + w] for j < w; S = acc[0].
//      The row is rejected unless 2^-100 <= S <= 2^100 (this rejects
//      all-zero rows, infinities and sums that overflow).
//   3. A = 2^P - K (the mass left after giving every symbol frequency 1) and
//      c = float(A) / S.
//   4. g[i] = trunc(q[i] * c + 0.5): multiply, then add 0.5, then truncate
//      to an integer (the values lie in [0, A]).
//   5. R = A - sum(g) (exact integer arithmetic, may be negative).
//      a = the smallest index with g[a] == max(g).
//      If g[a] + R >= 0: g[a] += R.
//      Otherwise D = -R and for i = 0..K-1 while D > 0:
//        t = min(g[i], D); g[i] -= t; D -= t.
//   6. cdf[0] = 0; cdf[i+1] = cdf[i] + g[i] + 1. Hence cdf[K] == 2^P and every
//      symbol has frequency >= 1, so any symbol is codable.
// Because subnormals are flushed by bit tests and no step can turn a result
// into a subnormal that matters (step 4 adds 0.5 to it), the output is also
// independent of the CPU's flush-to-zero / denormals-are-zero modes.
// The result depends only on the input bits: it is the same on every
// IEEE-754 machine, for any SIMD width and any thread count.
//
// Errors: invalid arguments (shapes, precision, symbol out of range, invalid
// probability rows or CDFs) throw pcstream::Error(InvalidArgument). Decoding
// a truncated payload is reported by the decoder's overrun() / check_end()
// (CorruptPayload); the one-shot decode_symbols_* helpers check it.
//
// Thread safety: the functions are reentrant; a RangeEncoder/RangeDecoder
// must not be shared between threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/range_coder.hpp"

namespace pcstream {

constexpr int kMaxCdfPrecision = 16;

// Converts one row of K probabilities into K+1 CDF entries (algorithm above).
// Throws InvalidArgument for an invalid row or 1 > K > 2^precision.
void probs_to_cdf_row(const float* probs, int K, int precision, uint32_t* cdf);

// Converts n rows (row-major n x K) into n x (K+1) CDF entries. `threads` >= 1
// worker threads split the rows; the output does not depend on it.
void probs_to_cdf(const float* probs, size_t n, int K, int precision, uint32_t* cdf, int threads = 1);

// Checks n rows of an integer CDF against the contract above.
void validate_cdf(const uint32_t* cdf, size_t n, int K, int precision);

// Codes one symbol with a valid CDF row (not re-validated here: the caller
// guarantees the contract; frequency must be > 0).
inline void encode_symbol(RangeEncoder& enc, const uint32_t* cdf, int symbol, int precision) {
  enc.encode_freq(cdf[symbol], cdf[symbol + 1] - cdf[symbol], precision);
}

// Decodes one symbol with a valid CDF row of K symbols.
inline int decode_symbol(RangeDecoder& dec, const uint32_t* cdf, int K, int precision) {
  uint32_t v = dec.decode_freq_target(precision);
  // Largest s with cdf[s] <= v; cdf[K] = 2^P > v guarantees cdf[s+1] > v.
  int lo = 0, hi = K;  // invariant: cdf[lo] <= v < cdf[hi]
  while (hi - lo > 1) {
    int mid = (lo + hi) >> 1;
    if (cdf[mid] <= v) lo = mid; else hi = mid;
  }
  dec.consume(cdf[lo], cdf[lo + 1] - cdf[lo]);
  return lo;
}

// Batch coding into an existing coder (interleavable with other coded data).
// symbols: n values in [0, K). probs: n x K row-major. cdf: n x (K+1).
void encode_symbols_probs(RangeEncoder& enc, const int32_t* symbols, const float* probs, size_t n, int K,
                          int precision);
void encode_symbols_cdf(RangeEncoder& enc, const int32_t* symbols, const uint32_t* cdf, size_t n, int K,
                        int precision);
void decode_symbols_probs(RangeDecoder& dec, const float* probs, size_t n, int K, int precision, int32_t* out);
void decode_symbols_cdf(RangeDecoder& dec, const uint32_t* cdf, size_t n, int K, int precision, int32_t* out);

// One-shot payloads: the bytes hold only the range-coded symbols. Decoding
// throws CorruptPayload when the payload is truncated or has trailing bytes.
std::vector<uint8_t> encode_symbols_probs(const int32_t* symbols, const float* probs, size_t n, int K,
                                          int precision);
std::vector<uint8_t> encode_symbols_cdf(const int32_t* symbols, const uint32_t* cdf, size_t n, int K,
                                        int precision);
void decode_symbols_probs(const uint8_t* data, size_t size, const float* probs, size_t n, int K, int precision,
                          int32_t* out);
void decode_symbols_cdf(const uint8_t* data, size_t size, const uint32_t* cdf, size_t n, int K, int precision,
                        int32_t* out);

}  // namespace pcstream
