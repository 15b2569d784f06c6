#include "pcstream/geometry_model.hpp"

#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif


namespace pcstream {
namespace geom {
namespace {

// 65536 / (1 + exp(-x / 256)) at x = -3072 + 128 k, k = 0..48 (computed
// offline; fixed integers so every platform gets the same probabilities).
constexpr int32_t kKnots[49] = {
    1,     1,     1,     2,     3,     5,     8,     13,    22,    36,    60,    98,    162,
    267,   439,   720,   1179,  1921,  3108,  4971,  7812,  11955, 17625, 24743, 32768, 40793,
    47911, 53581, 57724, 60565, 62428, 63615, 64357, 64816, 65097, 65269, 65374, 65438, 65476,
    65500, 65514, 65523, 65528, 65531, 65533, 65534, 65535, 65535, 65535};

struct RecipInit {
  int32_t v[256];
  constexpr RecipInit() : v() {
    for (int n = 0; n < 256; ++n) v[n] = static_cast<int32_t>((65536 * 2) / (2 * n + 3));
  }
};
constexpr RecipInit kRecipInit{};

}  // namespace

const int32_t kRecip[256] = {
#define R(n) kRecipInit.v[n]
#define R8(b) R(b), R(b + 1), R(b + 2), R(b + 3), R(b + 4), R(b + 5), R(b + 6), R(b + 7)
#define R64(b) R8(b), R8(b + 8), R8(b + 16), R8(b + 24), R8(b + 32), R8(b + 40), R8(b + 48), R8(b + 56)
    R64(0), R64(64), R64(128), R64(192)
#undef R64
#undef R8
#undef R
};

LogisticTables::LogisticTables() {
  for (int i = 0; i < 6144; ++i) {
    int k = i >> 7, w = i & 127;  // i = st + 3072
    int v = (kKnots[k] * (128 - w) + kKnots[k + 1] * w + 64) >> 7;
    sq[i] = v < 1 ? 1 : v > 65535 ? 65535 : v;
  }
  // stretch: smallest st whose squash reaches the centre of the 12-bit bucket.
  int st = -3071;
  for (int p = 0; p < 4096; ++p) {
    int target = p * 16 + 8;
    while (st < 3071 && sq[st + 3072] < target) ++st;
    st12[p] = static_cast<int16_t>(st);
  }
}

const LogisticTables kLogistic;

// Large tables are accessed at random (hashed contexts): on Linux they come
// from an anonymous mapping (zero-filled) aligned to 2 MiB and marked for
// transparent huge pages, which removes most TLB misses (decode ~30 % faster
// on 2^24-counter tables). Elsewhere, or if mmap fails, calloc.
namespace {
constexpr size_t kHugePage = size_t(1) << 21;
}

CounterTable::CounterTable(size_t n) : n_(n) {
  const size_t bytes = (n ? n : 1) * sizeof(Counter);
#if defined(__linux__)
  if (bytes >= kHugePage) {
    const size_t len = bytes + kHugePage;
    void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
      uintptr_t a = (reinterpret_cast<uintptr_t>(m) + kHugePage - 1) & ~(uintptr_t(kHugePage) - 1);
#if defined(MADV_HUGEPAGE)
      madvise(reinterpret_cast<void*>(a), bytes, MADV_HUGEPAGE);
#endif
      map_ = m;
      map_len_ = len;
      p_ = reinterpret_cast<Counter*>(a);
      return;
    }
  }
#endif
  p_ = static_cast<Counter*>(std::calloc(n ? n : 1, sizeof(Counter)));
  if (!p_) throw std::bad_alloc();
}
void CounterTable::release() noexcept {
#if defined(__linux__)
  if (map_) {
    munmap(map_, map_len_);
    map_ = nullptr;
    map_len_ = 0;
    p_ = nullptr;
    return;
  }
#endif
  std::free(p_);
  p_ = nullptr;
}
CounterTable& CounterTable::operator=(CounterTable&& o) noexcept {
  if (this != &o) {
    release();
    p_ = o.p_;
    n_ = o.n_;
    map_ = o.map_;
    map_len_ = o.map_len_;
    o.p_ = nullptr;
    o.n_ = 0;
    o.map_ = nullptr;
    o.map_len_ = 0;
  }
  return *this;
}
CounterTable::~CounterTable() { release(); }

Mixer::Mixer(int n_inputs, int n_sets, int lr, int init_weight)
    : n_(n_inputs), lr_(lr), w_(static_cast<size_t>(n_inputs) * n_sets, init_weight) {}

Apm::Apm(int n_ctx, int rate) : t_(static_cast<size_t>(n_ctx) * 25), rate_(rate) {
  for (int c = 0; c < n_ctx; ++c)
    for (int j = 0; j < 25; ++j) t_[static_cast<size_t>(c) * 25 + j] = static_cast<uint16_t>(squash(j * 256 - 3072));
}

}  // namespace geom
}  // namespace pcstream
