// Adaptive integer models shared by the scan-order codecs (GEOM codec 8,
// ATTR codec 9; formats/scan-order.md, section "Integer models").
//
// SymbolModel: symbols of `bits` bits (1..8) coded MSB first through a binary
// tree of BinContexts, one tree per context.
// ResidualModel: a signed 64-bit residual as (bit length k in 0..64 through a
// 7-bit tree) + sign + the top kModelled mantissa bits through a tree per
// (context, k) + the remaining mantissa bits as bypass bits.
//
// Preconditions: context indices lie in [0, contexts) (checked by assert-free
// clamping in the callers; out-of-range is a programming error). Decoders
// never fail here: a corrupt stream yields wrong but bounded values, which the
// codecs validate (coordinate ranges, value widths) and the range decoder's
// overrun() flags truncation.
// Thread safety: one model per coder, not shared.
#pragma once
#include <cstdint>
#include <vector>

#include "pcstream/range_coder.hpp"

namespace pcstream {
namespace scan {

inline int bit_length(uint64_t v) {
  return v ? 64 - __builtin_clzll(v) : 0;
}

class SymbolModel {
 public:
  SymbolModel(int contexts, int bits) : bits_(bits), ctx_(static_cast<size_t>(contexts) << bits) {}
  void encode(RangeEncoder& enc, int ctx, uint32_t sym) {
    BinContext* t = &ctx_[static_cast<size_t>(ctx) << bits_];
    uint32_t node = 1;
    for (int b = bits_ - 1; b >= 0; --b) {
      const int bit = (sym >> b) & 1;
      enc.encode_bit(t[node], bit);
      node = (node << 1) | bit;
    }
  }
  uint32_t decode(RangeDecoder& dec, int ctx) {
    BinContext* t = &ctx_[static_cast<size_t>(ctx) << bits_];
    uint32_t node = 1;
    for (int b = 0; b < bits_; ++b) node = (node << 1) | static_cast<uint32_t>(dec.decode_bit(t[node]));
    return node - (1u << bits_);
  }

 private:
  int bits_;
  std::vector<BinContext> ctx_;
};

class ResidualModel {
 public:
  static constexpr int kModelled = 3;  // mantissa bits below the leading one coded with contexts
  static constexpr int kLenClasses = 25;  // sign/mantissa contexts per bit length: 0..23, then one for 24..64

  explicit ResidualModel(int contexts)
      : len_(contexts, 7), sign_(static_cast<size_t>(contexts) * kLenClasses),
        mant_(static_cast<size_t>(contexts) * kLenClasses << kModelled) {}

  void encode(RangeEncoder& enc, int ctx, int64_t r) {
    const uint64_t mag = r < 0 ? 0 - static_cast<uint64_t>(r) : static_cast<uint64_t>(r);
    const int k = bit_length(mag);
    len_.encode(enc, ctx, static_cast<uint32_t>(k));
    if (k == 0) return;
    const size_t ck = static_cast<size_t>(ctx) * kLenClasses + (k < kLenClasses ? k : kLenClasses - 1);
    enc.encode_bit(sign_[ck], r < 0);
    const int rest = k - 1;  // bits below the leading one
    const int m = rest < kModelled ? rest : kModelled;
    BinContext* t = &mant_[ck << kModelled];
    uint32_t node = 1;
    for (int b = 0; b < m; ++b) {
      const int bit = static_cast<int>((mag >> (rest - 1 - b)) & 1);
      enc.encode_bit(t[node], bit);
      node = (node << 1) | bit;
    }
    for (int b = rest - m - 1; b >= 0; --b) enc.encode_bypass(static_cast<int>((mag >> b) & 1));
  }

  int64_t decode(RangeDecoder& dec, int ctx) {
    uint32_t k = len_.decode(dec, ctx);
    if (k > 64) k = 64;  // corrupt stream: stay bounded (the caller validates values)
    if (k == 0) return 0;
    const size_t ck = static_cast<size_t>(ctx) * kLenClasses + (k < kLenClasses ? k : kLenClasses - 1);
    const int neg = dec.decode_bit(sign_[ck]);
    const int rest = static_cast<int>(k) - 1;
    const int m = rest < kModelled ? rest : kModelled;
    BinContext* t = &mant_[ck << kModelled];
    uint32_t node = 1;
    for (int b = 0; b < m; ++b) node = (node << 1) | static_cast<uint32_t>(dec.decode_bit(t[node]));
    uint64_t mag = (static_cast<uint64_t>(1) << m) | (node - (1u << m));
    for (int b = rest - m - 1; b >= 0; --b) mag = (mag << 1) | static_cast<uint64_t>(dec.decode_bypass());
    return neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
  }

 private:
  SymbolModel len_;
  std::vector<BinContext> sign_;
  std::vector<BinContext> mant_;
};

// Median of the last 5 values, kept per context (LASzip-style delta predictor).
struct Median5 {
  int64_t v[5] = {0, 0, 0, 0, 0};
  int pos = 0;
  void push(int64_t x) { v[pos] = x; pos = pos == 4 ? 0 : pos + 1; }
  int64_t median() const {
    int64_t s[5] = {v[0], v[1], v[2], v[3], v[4]};
    for (int i = 1; i < 5; ++i)
      for (int j = i; j > 0 && s[j - 1] > s[j]; --j) { const int64_t t = s[j]; s[j] = s[j - 1]; s[j - 1] = t; }
    return s[2];
  }
};

}  // namespace scan
}  // namespace pcstream
