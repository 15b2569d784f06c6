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
#if defined(__GNUC__) || defined(__clang__)
  return v ? 64 - __builtin_clzll(v) : 0;
#else
  int k = 0;
  while (v) { ++k; v >>= 1; }
  return k;
#endif
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

// Logistic mixing (formats/scan-order.md, "Mixing"): probabilities are mapped to
// the logit ("stretch") domain, combined with adaptive integer weights, and
// mapped back ("squash"). Integer arithmetic only, so encoder and decoder agree
// on every platform.
namespace mixing {

// squash(d) = 4096 / (1 + e^(-d/256)) for d in [-2047, 2047], linearly
// interpolated between knots at multiples of 128; result in [1, 4095].
inline int squash(int d) {
  static constexpr int16_t kKnots[33] = {1,    2,    4,    6,    10,   17,   27,   45,   74,   120,  194,
                                         311,  488,  747,  1102, 1546, 2048, 2550, 2994, 3349, 3608, 3785,
                                         3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095};
  if (d > 2047) d = 2047;
  if (d < -2047) d = -2047;
  const int w = d & 127;
  const int i = (d >> 7) + 16;
  const int p = (kKnots[i] * (128 - w) + kKnots[i + 1] * w + 64) >> 7;
  return p < 1 ? 1 : (p > 4095 ? 4095 : p);
}

// stretch(p): the smallest d with squash(d) >= p (p in [0, 4095]).
inline int stretch(int p) {
  struct Table {
    int16_t v[4096];
    Table() {
      int next = 0;
      for (int d = -2047; d <= 2047; ++d) {
        const int q = squash(d);
        for (; next <= q && next < 4096; ++next) v[next] = static_cast<int16_t>(d);
      }
      for (; next < 4096; ++next) v[next] = 2047;
    }
  };
  static const Table table;
  return table.v[p];
}

// Two predictions plus a bias, one weight set per selector value.
class Mixer2 {
 public:
  explicit Mixer2(int sets) : w_(static_cast<size_t>(sets) * 3) {
    for (size_t i = 0; i < w_.size(); i += 3) { w_[i] = 1 << 15; w_[i + 1] = 1 << 15; w_[i + 2] = 0; }
  }
  // P(bit = 1) in 12 bits from two 16-bit probabilities.
  int mix(int set, uint32_t p1, uint32_t p2) {
    cur_ = &w_[static_cast<size_t>(set) * 3];
    s_[0] = stretch(static_cast<int>(p1 >> 4));
    s_[1] = stretch(static_cast<int>(p2 >> 4));
    s_[2] = 256;
    const int64_t dot = static_cast<int64_t>(cur_[0]) * s_[0] + static_cast<int64_t>(cur_[1]) * s_[1] +
                        static_cast<int64_t>(cur_[2]) * s_[2];
    p_ = squash(static_cast<int>(dot >> 16));
    return p_;
  }
  void update(int bit) {
    const int64_t err = ((bit ? 4096 : 0) - p_);
    for (int i = 0; i < 3; ++i) {
      int64_t w = cur_[i] + ((err * s_[i]) >> 10);
      w = w > kMaxWeight ? kMaxWeight : (w < -kMaxWeight ? -kMaxWeight : w);
      cur_[i] = static_cast<int32_t>(w);
    }
  }

 private:
  static constexpr int64_t kMaxWeight = static_cast<int64_t>(8) << 16;
  std::vector<int32_t> w_;
  int32_t* cur_ = nullptr;
  int s_[3] = {0, 0, 0};
  int p_ = 2048;
};

}  // namespace mixing

// A SymbolModel whose tree bits mix two context sets (primary ctx a, secondary
// ctx b); the mixer weights are selected by the tree node.
class MixedSymbolModel {
 public:
  MixedSymbolModel(int contexts_a, int contexts_b, int bits)
      : bits_(bits), a_(static_cast<size_t>(contexts_a) << bits), b_(static_cast<size_t>(contexts_b) << bits),
        mixer_(1 << bits) {}
  void encode(RangeEncoder& enc, int ca, int cb, uint32_t sym) {
    BinContext* ta = &a_[static_cast<size_t>(ca) << bits_];
    BinContext* tb = &b_[static_cast<size_t>(cb) << bits_];
    uint32_t node = 1;
    for (int b = bits_ - 1; b >= 0; --b) {
      const int bit = (sym >> b) & 1;
      const int p = mixer_.mix(static_cast<int>(node), ta[node].p1(), tb[node].p1());
      enc.encode_bit_p(bit, static_cast<uint32_t>(p) << 4);
      mixer_.update(bit);
      ta[node].update(bit);
      tb[node].update(bit);
      node = (node << 1) | bit;
    }
  }
  uint32_t decode(RangeDecoder& dec, int ca, int cb) {
    BinContext* ta = &a_[static_cast<size_t>(ca) << bits_];
    BinContext* tb = &b_[static_cast<size_t>(cb) << bits_];
    uint32_t node = 1;
    for (int b = 0; b < bits_; ++b) {
      const int p = mixer_.mix(static_cast<int>(node), ta[node].p1(), tb[node].p1());
      const int bit = dec.decode_bit_p(static_cast<uint32_t>(p) << 4);
      mixer_.update(bit);
      ta[node].update(bit);
      tb[node].update(bit);
      node = (node << 1) | static_cast<uint32_t>(bit);
    }
    return node - (1u << bits_);
  }

 private:
  int bits_;
  std::vector<BinContext> a_, b_;
  mixing::Mixer2 mixer_;
};

class ResidualModel {
 public:
  static constexpr int kModelled = 3;  // mantissa bits below the leading one coded with contexts
  static constexpr int kLenClasses = 25;  // sign/mantissa contexts per bit length: 0..23, then one for 24..64

  // contexts2 > 0: the bit length mixes a second context set (ctx2 in encode/decode).
  explicit ResidualModel(int contexts, int contexts2 = 0)
      : len_(contexts2 > 0 ? 0 : contexts, 7), mixed_(contexts2 > 0 ? contexts : 0, contexts2 > 0 ? contexts2 : 0, 7),
        use_mixed_(contexts2 > 0), sign_(static_cast<size_t>(contexts) * kLenClasses),
        mant_(static_cast<size_t>(contexts) * kLenClasses << kModelled) {}

  void encode(RangeEncoder& enc, int ctx, int64_t r, int ctx2 = 0) {
    const uint64_t mag = r < 0 ? 0 - static_cast<uint64_t>(r) : static_cast<uint64_t>(r);
    const int k = bit_length(mag);
    if (use_mixed_) mixed_.encode(enc, ctx, ctx2, static_cast<uint32_t>(k));
    else len_.encode(enc, ctx, static_cast<uint32_t>(k));
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

  int64_t decode(RangeDecoder& dec, int ctx, int ctx2 = 0) {
    uint32_t k = use_mixed_ ? mixed_.decode(dec, ctx, ctx2) : len_.decode(dec, ctx);
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
  MixedSymbolModel mixed_;
  bool use_mixed_;
  std::vector<BinContext> sign_;
  std::vector<BinContext> mant_;
};

// Median of the last 5 values, kept per context (LASzip-style delta predictor).
struct Median5 {
  int64_t v[5] = {0, 0, 0, 0, 0};
  int pos = 0;
  void push(int64_t x) { v[pos] = x; pos = pos == 4 ? 0 : pos + 1; }
  // max - min of the 5 values: how steady the deltas are.
  uint64_t spread() const {
    int64_t lo = v[0], hi = v[0];
    for (int i = 1; i < 5; ++i) { lo = v[i] < lo ? v[i] : lo; hi = v[i] > hi ? v[i] : hi; }
    return static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  }
  int64_t median() const {
    int64_t s[5] = {v[0], v[1], v[2], v[3], v[4]};
    for (int i = 1; i < 5; ++i)
      for (int j = i; j > 0 && s[j - 1] > s[j]; --j) { const int64_t t = s[j]; s[j] = s[j - 1]; s[j - 1] = t; }
    return s[2];
  }
};

}  // namespace scan
}  // namespace pcstream
