// Context model of the weight coder, shared by its encoder and decoder so both
// select contexts identically (formats/weights-chunk.md, "Context selection").
//
// Internal header: not installed, used only by weight_*.cpp.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pcstream/range_coder.hpp"

namespace pcstream {
namespace weights {
namespace detail {

constexpr int kMaxGtFlags = 15;  // K, the number of "greater than k" flags, is 0..15
constexpr int kMaxEgOrder = 15;  // Exp-Golomb order of the remainder, 0..15
constexpr int kMaxPrefix = 48;   // Exp-Golomb prefix length never exceeds this (|q| < 2^47)
constexpr int kSigCtx = 3 * 3 * 4 * 2;
constexpr int kMagClasses = 12;
constexpr int kPrefixCtx = 12;
constexpr int kNeighbourClamp = 1 << 15;  // neighbour magnitudes are clamped to this

// Adaptation rates (fast, slow shift) of the weight contexts: slower than the
// core's default because weight statistics are stationary within a tensor.
constexpr int kFastShift = 5;
constexpr int kSlowShift = 8;

struct TensorParams {
  int gt_flags = 0;  // K
  int eg_order = 0;  // k
};

struct WeightContexts {
  BinContext row_zero[2];
  BinContext sig[kSigCtx];
  BinContext sign[9];
  BinContext gt[kMaxGtFlags][kMagClasses];
  BinContext prefix[kPrefixCtx][kMagClasses / 2];
  BinContext suffix_msb[kMaxPrefix + kMaxEgOrder + 1];

  WeightContexts() { reset(); }
  void reset() {
    auto init = [](BinContext* c, size_t n) { for (size_t i = 0; i < n; ++i) c[i] = BinContext(kFastShift, kSlowShift); };
    init(row_zero, 2);
    init(sig, kSigCtx);
    init(sign, 9);
    init(&gt[0][0], kMaxGtFlags * kMagClasses);
    init(&prefix[0][0], kPrefixCtx * (kMagClasses / 2));
    init(suffix_msb, kMaxPrefix + kMaxEgOrder + 1);
  }
};

inline int32_t clamp_neighbour(int64_t v) {
  if (v > kNeighbourClamp) return kNeighbourClamp;
  if (v < -kNeighbourClamp) return -kNeighbourClamp;
  return static_cast<int32_t>(v);
}

inline int sgn3(int32_t v) { return v > 0 ? 2 : (v < 0 ? 0 : 1); }

// Column activity: exponential mean of |q| over the previous non-zero rows, in
// 1/16 units, updated with weight 1/4 per row.
inline uint32_t update_col_activity(uint32_t act, int32_t q) {
  uint32_t m = static_cast<uint32_t>(q < 0 ? -q : q);
  if (m > 4095) m = 4095;
  int32_t target = static_cast<int32_t>(m << 4);
  int32_t a = static_cast<int32_t>(act);
  return static_cast<uint32_t>(a + ((target - a) / 4));
}

// Neighbourhood of position j in the current row: left (a), second left (b),
// co-located in the previous non-zero row (u) and column activity (c, 1/16 units).
struct Neighbourhood {
  int32_t a, b, u;  // signed, clamped
  uint32_t c;
};

inline int sig_context(const Neighbourhood& n) {
  int sa = std::abs(n.a); if (sa > 2) sa = 2;
  int su = std::abs(n.u); if (su > 2) su = 2;
  int sc = n.c < 4 ? 0 : n.c < 16 ? 1 : n.c < 40 ? 2 : 3;
  int sb = n.b != 0;
  return ((sa * 3 + su) * 4 + sc) * 2 + sb;
}

// Magnitude class in [0, kMagClasses): a log-scale bucket of a weighted mean of
// the neighbours' magnitudes.
inline int mag_class(const Neighbourhood& n) {
  uint32_t e = (static_cast<uint32_t>(std::abs(n.a)) * 32u + static_cast<uint32_t>(std::abs(n.b)) * 16u +
                static_cast<uint32_t>(std::abs(n.u)) * 16u + n.c * 2u) / 6u;  // mean |q| in 1/16 units
  static constexpr uint32_t kThresholds[kMagClasses - 1] = {4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256};
  int k = 0;
  while (k < kMagClasses - 1 && e >= kThresholds[k]) ++k;
  return k;
}

inline int sign_context(const Neighbourhood& n) { return sgn3(n.a) * 3 + sgn3(n.u); }

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
