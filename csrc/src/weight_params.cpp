// Encoder-side choice of the binarization parameters of one tensor (K and the
// Exp-Golomb order). The decoder only reads them; any choice is valid.
#include <cmath>
#include <vector>

#include "weight_tensor_codec.hpp"

namespace pcstream {
namespace weights {
namespace detail {

namespace {

// Extra cost charged per binary decision so that near-ties go to the faster binarization.
constexpr double kBinPenalty = 0.03;

inline double bin_cost(double n, double ones) {
  if (n <= 0 || ones <= 0 || ones >= n) return 0.0;
  double p = ones / n;
  return -n * (p * portable_log2(p) + (1 - p) * portable_log2(1 - p));
}

// Total code length (bits) of `n` categories with counts c under their empirical distribution.
inline double entropy_bits(const double* c, int n) {
  double total = 0, sum = 0;
  for (int i = 0; i < n; ++i) total += c[i];
  if (total <= 0) return 0.0;
  for (int i = 0; i < n; ++i)
    if (c[i] > 0) sum -= c[i] * portable_log2(c[i] / total);
  return sum;
}

}  // namespace

double portable_log2(double x) {
  int e = 0;
  const double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1): exact
  // ln(m) = 2 * atanh(t) with t = (m - 1) / (m + 1) in [-1/3, 0).
  const double t = (m - 1.0) / (m + 1.0), t2 = t * t;
  double term = t, sum = 0.0;
  for (int k = 0; k < 14; ++k) {
    sum += term / static_cast<double>(2 * k + 1);
    term *= t2;
  }
  return static_cast<double>(e) + 2.0 * sum * 1.4426950408889634;  // 1 / ln(2)
}

TensorParams choose_params(const int64_t* values, uint64_t n) {
  // Histogram of non-zero magnitudes; the few above the cap are costed at the cap.
  constexpr uint64_t kCap = 1 << 16;
  std::vector<double> hist(2, 0.0);
  uint64_t maxm = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t v = values[i];
    if (v == 0) continue;
    uint64_t m = static_cast<uint64_t>(v < 0 ? -v : v);
    if (m > kCap) m = kCap;
    if (m >= hist.size()) hist.resize(m + 1, 0.0);
    hist[m] += 1;
    if (m > maxm) maxm = m;
  }
  TensorParams best;
  if (maxm == 0) return best;
  // at_least[m] = number of magnitudes >= m.
  std::vector<double> at_least(maxm + 2, 0.0);
  for (uint64_t m = maxm; m >= 1; --m) at_least[m] = at_least[m + 1] + hist[m];

  double best_cost = -1;
  for (int K = 0; K <= kMaxGtFlags; ++K) {
    double flags = 0, flag_bins = 0;
    for (int t = 1; t <= K && static_cast<uint64_t>(t) <= maxm; ++t) {
      flags += bin_cost(at_least[t], at_least[t + 1]);
      flag_bins += at_least[t];
    }
    for (int k = 0; k <= kMaxEgOrder; ++k) {
      // Prefix bins: reach[p] values reach bin p, ones[p] of them continue. The
      // context-coded top bits of the suffix cost their entropy given the prefix.
      double reach[kMaxPrefix + 2] = {0}, ones[kMaxPrefix + 2] = {0};
      double top[kMaxPrefix + 2][1 << kSuffixTreeBits] = {{0}};
      double bypass = 0, bins = flag_bins;
      int max_p = 0;
      for (uint64_t m = static_cast<uint64_t>(K) + 1; m <= maxm; ++m) {
        const double h = hist[m];
        if (h == 0) continue;
        uint64_t r = m - static_cast<uint64_t>(K) - 1;
        int kk = k, p = 0;
        while (r >= (uint64_t{1} << kk)) { r -= uint64_t{1} << kk; ++kk; ++p; }
        for (int i = 0; i <= p; ++i) { reach[i] += h; if (i < p) ones[i] += h; }
        const int tree = kk < kSuffixTreeBits ? kk : kSuffixTreeBits;
        top[p][r >> (kk - tree)] += h;
        if (p > max_p) max_p = p;
        bypass += h * (kk - tree);
        bins += h * (p + 1 + tree);
      }
      double cost = flags + bypass + kBinPenalty * bins;
      for (int i = 0; i <= kMaxPrefix; ++i) cost += bin_cost(reach[i], ones[i]);
      for (int i = 0; i <= max_p; ++i) cost += entropy_bits(top[i], 1 << kSuffixTreeBits);
      if (best_cost < 0 || cost < best_cost) {
        best_cost = cost;
        best.gt_flags = K;
        best.eg_order = k;
      }
    }
  }
  return best;
}

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
