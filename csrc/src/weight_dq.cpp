// Dependent (trellis-coded) quantization for the weight coder: encoder-side
// Viterbi search and the decoder's index-to-level mapping (formats/weights-chunk.md,
// "Dependent quantization").
#include <cmath>
#include <cstdlib>
#include <vector>

#include "pcstream/error.hpp"
#include "weight_tensor_codec.hpp"

namespace pcstream {
namespace weights {
namespace detail {

namespace {

constexpr int64_t kMaxDqIndex = int64_t{1} << 30;
// Lagrange multiplier in units of delta^2: tuned so the mean squared error matches
// uniform quantization at the same qp (delta = 9/16 step) while the rate drops.
constexpr double kLambda = 0.3;
constexpr int kRateTable = 4096;  // indices with |k| below this get an empirical rate

inline int64_t level_of(int64_t k, int quantizer) {
  if (quantizer == 0) return 2 * k;
  return 2 * k - (k > 0) + (k < 0);
}

// Bits to code index k with quantizer q: empirical tables from the previous pass,
// an Exp-Golomb-like estimate outside them.
struct RateModel {
  std::vector<double> bits[2];  // index k + kRateTable
  RateModel() {
    for (int q = 0; q < 2; ++q) {
      bits[q].resize(2 * kRateTable + 1);
      for (int k = -kRateTable; k <= kRateTable; ++k) bits[q][k + kRateTable] = tail(k);
    }
  }
  static double tail(int64_t k) {
    double m = static_cast<double>(k < 0 ? -k : k);
    return 1.0 + (k != 0 ? 1.0 : 0.0) + 2.0 * portable_log2(1.0 + m);
  }
  inline double rate(int q, int64_t k) const {
    if (k <= -kRateTable || k >= kRateTable) return tail(k) + 8.0;
    return bits[q][static_cast<size_t>(k + kRateTable)];
  }
  void fit(const std::vector<int64_t>& ks, const std::vector<uint8_t>& qs) {
    for (int q = 0; q < 2; ++q) {
      std::vector<double> count(2 * kRateTable + 1, 0.0);
      double total = 0;
      for (size_t i = 0; i < ks.size(); ++i) {
        if (qs[i] != q || ks[i] <= -kRateTable || ks[i] >= kRateTable) continue;
        count[static_cast<size_t>(ks[i] + kRateTable)] += 1;
        total += 1;
      }
      if (total == 0) continue;
      for (size_t i = 0; i < count.size(); ++i) {
        // Unseen indices keep a pessimistic cost so the search rarely invents them.
        bits[q][i] = count[i] > 0 ? -portable_log2(count[i] / total) : -portable_log2(0.5 / total) + 1.0;
      }
    }
  }
};

void viterbi(const double* x, uint64_t n, double delta, const RateModel& rm, std::vector<int64_t>& ks,
             std::vector<uint8_t>& qs) {
  const double inf = HUGE_VAL;
  const double lambda = kLambda * delta * delta;
  double cost[4] = {0, inf, inf, inf};
  std::vector<uint8_t> from(n * 4);
  std::vector<int32_t> pick(n * 4);
  for (uint64_t i = 0; i < n; ++i) {
    const double v = x[i] / delta;
    double next[4] = {inf, inf, inf, inf};
    uint8_t nf[4] = {0, 0, 0, 0};
    int32_t nk[4] = {0, 0, 0, 0};
    for (int s = 0; s < 4; ++s) {
      if (cost[s] == inf) continue;
      const int q = s >> 1;
      int64_t c0;
      if (q == 0) {
        c0 = static_cast<int64_t>(std::floor(v / 2.0 + 0.5));
      } else {
        c0 = v >= 0 ? static_cast<int64_t>(std::floor((v + 1.0) / 2.0)) : static_cast<int64_t>(std::ceil((v - 1.0) / 2.0));
      }
      const int64_t cands[4] = {c0 - 1, c0, c0 + 1, 0};
      for (int c = 0; c < 4; ++c) {
        const int64_t k = cands[c];
        if (k >= kMaxDqIndex || k <= -kMaxDqIndex) continue;
        const double d = v - static_cast<double>(level_of(k, q));
        const double j = cost[s] + d * d * delta * delta + lambda * rm.rate(q, k);
        const int ns = kDqNext[s][k & 1];
        if (j < next[ns]) {
          next[ns] = j;
          nf[ns] = static_cast<uint8_t>(s);
          nk[ns] = static_cast<int32_t>(k);
        }
      }
    }
    for (int s = 0; s < 4; ++s) {
      cost[s] = next[s];
      from[i * 4 + s] = nf[s];
      pick[i * 4 + s] = nk[s];
    }
  }
  int s = 0;
  for (int t = 1; t < 4; ++t)
    if (cost[t] < cost[s]) s = t;
  ks.assign(n, 0);
  qs.assign(n, 0);
  for (uint64_t i = n; i-- > 0;) {
    ks[i] = pick[i * 4 + s];
    s = from[i * 4 + s];
    qs[i] = static_cast<uint8_t>(s >> 1);
  }
}

}  // namespace

std::vector<int64_t> dq_quantize(const double* x, uint64_t n, double delta) {
  for (uint64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) fail(ErrorCode::InvalidArgument, "weights: tensor contains NaN or infinity");
    if (std::fabs(x[i]) / delta >= static_cast<double>(kMaxDqIndex))
      fail(ErrorCode::InvalidArgument, "weights: value too large for dependent quantization at this qp");
  }
  RateModel rm;
  std::vector<int64_t> ks;
  std::vector<uint8_t> qs;
  // Two passes: the second uses the index statistics of the first as its rate model.
  viterbi(x, n, delta, rm, ks, qs);
  rm.fit(ks, qs);
  viterbi(x, n, delta, rm, ks, qs);
  return ks;
}

void dq_indices_to_levels(int64_t* values, uint64_t n) {
  int s = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const int64_t k = values[i];
    values[i] = level_of(k, s >> 1);
    s = kDqNext[s][k & 1];
  }
}

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
