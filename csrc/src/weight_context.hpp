// Context model of the weight coder, shared by its encoder and decoder so both
// select contexts identically (formats/weights-chunk.md, "Context selection").
//
// Internal header: not installed, used only by weight_*.cpp.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pcstream/range_coder.hpp"
#include "weight_bin_coder.hpp"

namespace pcstream {
namespace weights {
namespace detail {

constexpr int kMaxGtFlags = 15;  // K, the number of "greater than k" flags, is 0..15
constexpr int kMaxEgOrder = 15;  // Exp-Golomb order of the remainder, 0..15
constexpr int kMaxPrefix = 48;   // Exp-Golomb prefix length never exceeds this (|q| < 2^47)
constexpr int kSigCtx = 3 * 3 * 4 * 3;
constexpr int kSignCtx = 9 * 3;
constexpr int kMagClasses = 4;
constexpr int kPrefixCtx = 12;
// The first kSuffixTreeBits bits of an Exp-Golomb suffix are context coded along a
// binary tree (context = suffix length and the bits before); the rest are bypass.
constexpr int kSuffixTreeBits = 4;
constexpr int kNeighbourClamp = (1 << 15) - 1;  // neighbour magnitudes are clamped to this

// Adaptive binary probability from symbol counts (Krichevsky-Trofimov estimate
// (n1 + 1/2) / (n + 1)), with both counts halved when their sum reaches
// kCountLimit so the estimate can follow slow drifts. For the stationary
// statistics of a weight tensor this converges faster and fluctuates less than
// exponential-decay estimators. The division is a table look-up.
constexpr int kCountLimit = 1024;

struct CountRecip {
  uint32_t r[kCountLimit + 1];
  CountRecip() {
    for (int t = 0; t <= kCountLimit; ++t) r[t] = static_cast<uint32_t>((uint64_t{1} << 32) / static_cast<uint64_t>(2 * t + 2));
  }
};
extern const CountRecip kCountRecip;

struct CountBin {
  // The counts are kept as their total t = n0 + n1 (low half) and n1 (high half) of
  // one word: one load and one store per update.
  uint32_t counts = 0;        // t | n1 << 16, t halved at kCountLimit
  uint16_t p = kProbOne / 2;  // cached P(bit = 1) of the counts, in 16 bits
  // In [32, 65504] without clamping: t <= kCountLimit - 1 whenever it is read.
  inline uint32_t p1() const { return p; }
  // Branch-free in the coded bit, which is unpredictable.
  inline void update(int bit) {
    uint32_t c = counts + 1u + (static_cast<uint32_t>(bit) << 16);
    uint32_t t = c & 0xFFFFu, c1 = c >> 16;
    if (t >= kCountLimit) {  // halve both counts, rounding up: (n0 + 1) / 2 and (n1 + 1) / 2
      const uint32_t c0 = (t - c1 + 1) >> 1;
      c1 = (c1 + 1) >> 1;
      t = c0 + c1;
      c = t | (c1 << 16);
    }
    counts = c;
    p = static_cast<uint16_t>((static_cast<uint64_t>(2u * c1 + 1u) * kCountRecip.r[t]) >> 16);
  }
};
static_assert(kCountLimit <= 1024, "p1 stays within [32, 65504] only for count limits up to 1024");

inline void code_bit(BinEncoder& enc, CountBin& c, int bit) { enc.encode_bit_p(bit, c.p1()); c.update(bit); }
inline int code_bit(BinDecoder& dec, CountBin& c) { int b = dec.decode_bit_p(c.p1()); c.update(b); return b; }

struct TensorParams {
  int gt_flags = 0;        // K
  int eg_order = 0;        // k
  bool dependent = false;  // dependent quantization: contexts also follow the trellis state
};

// Dependent quantization: 4-state machine driven by the parity of each coded index.
// States 0, 1 use quantizer Q0 (even levels 2k), states 2, 3 quantizer Q1 (odd levels 2k - sgn(k)).
constexpr uint8_t kDqNext[4][2] = {{0, 2}, {2, 0}, {1, 3}, {3, 1}};

struct WeightContexts {
  CountBin row_zero[2];
  // First index: quantizer of the dependent-quantization state (always 0 for uniform).
  CountBin sig[2][kSigCtx];
  CountBin sign[kSignCtx];
  // Magnitude contexts are split by the sign: trained weights are often skewed.
  CountBin gt[2][2][kMaxGtFlags][kMagClasses];
  CountBin prefix[2][kPrefixCtx][kMagClasses / 2];
  CountBin suffix[2][kMaxPrefix + kMaxEgOrder + 1][1 << kSuffixTreeBits];

  void reset() { *this = WeightContexts(); }
};

inline int32_t clamp_neighbour(int64_t v) {
  if (v > kNeighbourClamp) return kNeighbourClamp;
  if (v < -kNeighbourClamp) return -kNeighbourClamp;
  return static_cast<int32_t>(v);
}

// 0, 1, 2 for negative, zero, positive; arithmetic rather than branches (neighbour
// signs are coin flips).
inline int sgn3(int32_t v) { return static_cast<int>(v >= 0) + static_cast<int>(v > 0); }

// Column activity: exponential mean of |q| over the previous non-zero rows, in
// 1/16 units, updated with weight 1/8 per row.
inline uint32_t update_col_activity(uint32_t act, int32_t q) {
  uint32_t m = static_cast<uint32_t>(q < 0 ? -q : q);
  if (m > 4095) m = 4095;
  int32_t target = static_cast<int32_t>(m << 4);
  int32_t a = static_cast<int32_t>(act);
  return static_cast<uint32_t>(a + ((target - a) / 8));
}

// Neighbourhood of position j in the current row: left (a), second left (b),
// co-located in the previous non-zero row (u) and column activity (c, 1/16 units).
// r: running activity of the row so far (exponential mean of |q|, 1/16 units,
// weight 1/16); s: running sign balance of the row (exponential mean of sign(q)).
struct Neighbourhood {
  int32_t a, b, u;  // signed, clamped
  uint32_t c, r;
  int32_t s;
};

inline uint32_t update_row_activity(uint32_t act, int32_t q) {
  uint32_t m = static_cast<uint32_t>(q < 0 ? -q : q);
  if (m > 4095) m = 4095;
  int32_t a = static_cast<int32_t>(act);
  return static_cast<uint32_t>(a + ((static_cast<int32_t>(m << 4) - a) / 16));
}
// Sign balance in 1/256 units, in [-256, 256].
inline int32_t update_sign_balance(int32_t bal, int32_t q) {
  // target: +-256 for a signed q, bal itself (no change) for q = 0; selected by mask.
  const int32_t sign = static_cast<int32_t>(q > 0) - static_cast<int32_t>(q < 0);
  const int32_t nonzero = -static_cast<int32_t>(q != 0);
  const int32_t target = ((sign * 256) & nonzero) | (bal & ~nonzero);
  return bal + (target - bal) / 8;
}

inline int sig_context(const Neighbourhood& n) {
  int sa = std::abs(n.a); if (sa > 2) sa = 2;
  int su = std::abs(n.u); if (su > 2) su = 2;
  int sc = n.c < 4 ? 0 : n.c < 16 ? 1 : n.c < 40 ? 2 : 3;
  int sr = n.r < 2 ? 0 : n.r < 8 ? 1 : 2;
  return ((sa * 3 + su) * 4 + sc) * 3 + sr;
}

// Magnitude class in [0, kMagClasses): a log-scale bucket of a weighted mean of
// the neighbours' magnitudes.
inline int mag_class(const Neighbourhood& n) {
  // e6 = 6 * (weighted mean |q| in 1/16 units); the thresholds 4, 12, 32 of that mean
  // (floor division by 6) are compared as 24, 72, 192 without dividing.
  const uint32_t e6 = static_cast<uint32_t>(std::abs(n.a)) * 32u + static_cast<uint32_t>(std::abs(n.b)) * 16u +
                      static_cast<uint32_t>(std::abs(n.u)) * 16u + n.c * 2u;
  return (e6 >= 24u) + (e6 >= 72u) + (e6 >= 192u);
}

inline int sign_context(const Neighbourhood& n) {
  const int sb = static_cast<int>(n.s >= -64) + static_cast<int>(n.s > 64);  // 0, 1, 2
  return (sgn3(n.a) * 3 + sgn3(n.u)) * 3 + sb;
}

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
