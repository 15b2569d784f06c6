// Integer-only context-mixing primitives of the classic geometry codec:
// adaptive probability counters, a logistic (stretch/squash) domain and a
// small gated linear mixer, as in PAQ-family compressors.
//
// Everything is integer arithmetic on fixed tables so that encoder and
// decoder produce bit-identical probabilities on every platform.
//
// Logistic domain: st = ln(p / (1 - p)) * 256, clamped to [-3071, 3071].
// Probabilities: 16-bit P(bit = 1).
//
// Thread safety: the tables are immutable after static initialisation;
// Counter / Mixer objects are per-codec-instance state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream {
namespace geom {

constexpr int kStMax = 3071;

struct LogisticTables {
  int32_t sq[6144];   // squash(st) for st in [-3072, 3071]
  int16_t st12[4096]; // stretch of 12-bit probabilities
  LogisticTables();
};
// Filled during static initialisation; do not use from other static initialisers.
extern const LogisticTables kLogistic;

// P(1) (16 bits, in [1, 65535]) of a logistic-domain value st.
inline int squash(int st) {
  if (st > 3071) st = 3071;
  if (st < -3072) st = -3072;
  return kLogistic.sq[st + 3072];
}
// Logistic-domain value of a 12-bit probability (p16 >> 4).
inline int stretch12(int p12) { return kLogistic.st12[p12 & 4095]; }

// Adaptive probability with a count-based learning rate 1/(n + 1.5), n capped
// at `limit`: quick to learn, then close to a stationary frequency estimate.
// Stored as p ^ 0x8000 so that all-zero memory is a fresh counter (p = 1/2),
// which lets large tables come from calloc without an initialisation pass.
struct Counter {
  uint16_t q = 0;  // P(1) in 16 bits, xor 0x8000
  uint16_t n = 0;
  inline int p() const { return q ^ 0x8000; }
  inline void update(int bit, int limit);
};

// A zero-initialised array of counters (untouched pages cost nothing; large
// tables use transparent huge pages on Linux).
class CounterTable {
 public:
  CounterTable() = default;
  explicit CounterTable(size_t n);
  CounterTable(CounterTable&& o) noexcept : p_(o.p_), n_(o.n_), map_(o.map_), map_len_(o.map_len_) {
    o.p_ = nullptr;
    o.n_ = 0;
    o.map_ = nullptr;
    o.map_len_ = 0;
  }
  CounterTable& operator=(CounterTable&& o) noexcept;
  CounterTable(const CounterTable&) = delete;
  CounterTable& operator=(const CounterTable&) = delete;
  ~CounterTable();
  Counter& operator[](size_t i) { return p_[i]; }
  const Counter& operator[](size_t i) const { return p_[i]; }
  size_t size() const { return n_; }

 private:
  void release() noexcept;
  Counter* p_ = nullptr;
  size_t n_ = 0;
  void* map_ = nullptr;  // mapping that holds p_ (huge-page path), else null
  size_t map_len_ = 0;
};

extern const int32_t kRecip[256];  // 65536 / (n + 1.5)

inline void Counter::update(int bit, int limit) {
  int32_t target = bit ? 65535 : 0;
  // |target - p| * kRecip[n] < 2^32 and the step never overshoots the target,
  // so p stays in [0, 65535].
  int32_t p0 = p();
  int32_t d = static_cast<int32_t>((static_cast<int64_t>(target - p0) * kRecip[n]) >> 16);
  q = static_cast<uint16_t>((p0 + d) ^ 0x8000);
  n = static_cast<uint16_t>(n + (n < limit));
}

// Gated linear mixer of up to kMaxInputs logistic inputs; the weight set is
// chosen by a small selector context. Weights are 16.16 fixed point.
class Mixer {
 public:
  static constexpr int kMaxInputs = 16;
  Mixer() = default;
  Mixer(int n_inputs, int n_sets, int lr, int init_weight);
  // Starts input i at weight w (16.16) in every set, e.g. to trust one input at first.
  void init_input(int i, int32_t w) {
    for (size_t k = static_cast<size_t>(i); k < w_.size(); k += static_cast<size_t>(n_)) w_[k] = w;
  }
  inline void add(int st) { x_[nx_++] = st; }
  // Mixed P(1) in 16 bits, clamped to [32, 65504].
  inline int mix(int set) {
    w_sel_ = &w_[static_cast<size_t>(set) * n_];
    int64_t dot = 0;
    if (nx_ == 6) {  // the occupancy model's size, unrolled
      dot = static_cast<int64_t>(x_[0]) * w_sel_[0] + static_cast<int64_t>(x_[1]) * w_sel_[1] +
            static_cast<int64_t>(x_[2]) * w_sel_[2] + static_cast<int64_t>(x_[3]) * w_sel_[3] +
            static_cast<int64_t>(x_[4]) * w_sel_[4] + static_cast<int64_t>(x_[5]) * w_sel_[5];
    } else {
      for (int i = 0; i < nx_; ++i) dot += static_cast<int64_t>(x_[i]) * w_sel_[i];
    }
    int st = static_cast<int>(dot >> 16);
    if (st > kStMax) st = kStMax;
    if (st < -kStMax) st = -kStMax;
    st_ = st;
    int p = squash(st);
    if (p < 32) p = 32;
    if (p > 65504) p = 65504;
    p_ = p;
    return p;
  }
  inline void update(int bit) {
    int err = ((bit << 16) - p_) >> 4;  // 12-bit error
    err *= lr_;
    if (nx_ == 6) {
      w_sel_[0] += (x_[0] * err) >> 14;
      w_sel_[1] += (x_[1] * err) >> 14;
      w_sel_[2] += (x_[2] * err) >> 14;
      w_sel_[3] += (x_[3] * err) >> 14;
      w_sel_[4] += (x_[4] * err) >> 14;
      w_sel_[5] += (x_[5] * err) >> 14;
    } else {
      for (int i = 0; i < nx_; ++i) w_sel_[i] += (x_[i] * err) >> 14;
    }
    nx_ = 0;
  }
  int last_st() const { return st_; }

 private:
  int n_ = 0, lr_ = 0;
  std::vector<int32_t> w_;
  int32_t* w_sel_ = nullptr;
  int x_[kMaxInputs] = {};
  int nx_ = 0;
  int p_ = 32768, st_ = 0;
};

// Adaptive probability map (secondary estimation): refines a probability
// given a context by interpolating between 25 knots of the logistic domain.
class Apm {
 public:
  Apm() = default;
  Apm(int n_ctx, int rate);
  inline int refine(int p16, int ctx) {
    int st = stretch12(p16 >> 4) + 3072;  // [1, 6143]
    int lo = st >> 8, w = st & 255;       // 24 intervals of 256
    idx_ = static_cast<size_t>(ctx) * 25 + static_cast<size_t>(lo);
    w_ = w;
    int p = (static_cast<int>(t_[idx_]) * (256 - w) + static_cast<int>(t_[idx_ + 1]) * w) >> 8;
    return p < 32 ? 32 : p > 65504 ? 65504 : p;
  }
  inline void update(int bit) {
    int target = bit ? 65535 : 0;
    // Only the nearer knot moves toward the target (branch-free select).
    const size_t k = idx_ + static_cast<size_t>(w_ >= 128);
    t_[k] = static_cast<uint16_t>(t_[k] + ((target - t_[k]) >> rate_));
  }

 private:
  std::vector<uint16_t> t_;
  size_t idx_ = 0;
  int w_ = 0, rate_ = 7;
};

}  // namespace geom
}  // namespace pcstream
