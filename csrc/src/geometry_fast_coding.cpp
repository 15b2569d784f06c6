// Fast octree geometry codec (codec 11): neighbour patterns and static rANS
// tables (geometry_fast_internal.hpp). Byte layout: formats/geometry-fast.md.
#include "geometry_fast_internal.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "pcstream/error.hpp"

namespace pcstream {
namespace fastgeom {
namespace {
int varint_len(uint64_t v) { int k = 1; while (v >= 128) { v >>= 7; ++k; } return k; }
}  // namespace

// Face directions -x, +x, -y, +y, -z, +z: the child-index bit of their axis.
constexpr uint8_t kAxisBit[6] = {4, 4, 2, 2, 1, 1};

// Face neighbours (indices into the next level, -1 when empty) and their
// occupancy pattern (bit d set when neighbour d is occupied) for every child
// of `n_nodes` nodes with occupancy `occ` and face neighbours `nb` (6 per
// node). A child's neighbour along an axis is a sibling when the child lies on
// the near side, else a child of the parent's neighbour; either way the
// neighbour's child index is j ^ axis bit.
void child_neighbours(size_t n_nodes, const uint8_t* occ, const int32_t* nb, int32_t* out_nb, uint8_t* out_pat) {
  std::vector<uint32_t> first(n_nodes);
  uint32_t s = 0;
  for (size_t i = 0; i < n_nodes; ++i) { first[i] = s; s += static_cast<uint32_t>(pop8(occ[i])); }
  size_t c = 0;
  for (size_t i = 0; i < n_nodes; ++i) {
    for (uint32_t b = occ[i]; b; b &= b - 1, ++c) {
      const int j = __builtin_ctz(b);
      uint32_t pat = 0;
      for (int d = 0; d < 6; ++d) {
        const int m = kAxisBit[d];
        const bool plus = d & 1;
        const bool inside = plus ? !(j & m) : (j & m) != 0;
        const int64_t q = inside ? static_cast<int64_t>(i) : nb[i * 6 + d];
        const int jj = j ^ m;
        int32_t idx = -1;
        if (q >= 0 && ((occ[q] >> jj) & 1))
          idx = static_cast<int32_t>(first[q] + static_cast<uint32_t>(pop8(occ[q] & ((1u << jj) - 1))));
        out_nb[c * 6 + d] = idx;
        pat |= static_cast<uint32_t>(idx >= 0) << d;
      }
      out_pat[c] = static_cast<uint8_t>(pat);
    }
  }
}

// Frequencies summing to 2^p, >= 1 for every counted symbol (needs 2^p >= used).
static void quantise(const uint64_t* cnt, int p, uint32_t* f) {
  const uint64_t M = uint64_t(1) << p;
  uint64_t total = 0;
  int used = 0, top = -1;
  for (int s = 0; s < 256; ++s) {
    f[s] = 0;
    if (!cnt[s]) continue;
    total += cnt[s];
    ++used;
    if (top < 0 || cnt[s] > cnt[top]) top = s;
  }
  if (used == 1) { f[top] = static_cast<uint32_t>(M); return; }
  int64_t sum = 0;
  for (int s = 0; s < 256; ++s) {
    if (!cnt[s]) continue;
    f[s] = static_cast<uint32_t>(std::max<uint64_t>(1, cnt[s] * M / total));
    sum += f[s];
  }
  int64_t diff = static_cast<int64_t>(M) - sum;
  if (diff >= 0) { f[top] += static_cast<uint32_t>(diff); return; }
  // Too much mass from the minimum of 1: take it from the largest frequencies first.
  int order[256];
  int k = 0;
  for (int s = 0; s < 256; ++s) if (f[s]) order[k++] = s;
  std::stable_sort(order, order + k, [&](int a, int b) { return f[a] > f[b]; });
  for (int i = 0; i < k && diff < 0; ++i) {
    const int64_t t = std::min<int64_t>(f[order[i]] - 1, -diff);
    f[order[i]] -= static_cast<uint32_t>(t);
    diff += t;
  }
}

// Chooses the precision that minimises coded + table bits.
EncTable build_table(const uint64_t* cnt) {
  EncTable t;
  int used = 0;
  for (int s = 0; s < 256; ++s) used += cnt[s] != 0;
  if (!used) { t.bits = 8; return t; }
  int pmin = 1;
  while ((1 << pmin) < used) ++pmin;
  double best = -1;
  uint32_t f[256];
  for (int p = pmin; p <= kFastProbBits; ++p) {
    quantise(cnt, p, f);
    double bits = 8.0 * (1 + varint_len(static_cast<uint64_t>(used)));
    for (int s = 0; s < 256; ++s) {
      if (!f[s]) continue;
      bits += 8.0 * (1 + varint_len(f[s]));
      bits += static_cast<double>(cnt[s]) * (p - std::log2(static_cast<double>(f[s])));
    }
    if (best < 0 || bits < best) {
      best = bits;
      t.precision = p;
      std::memcpy(t.freq, f, sizeof f);
    }
  }
  t.bits = best;
  uint32_t acc = 0;
  for (int s = 0; s < 256; ++s) {
    t.f15[s] = t.freq[s] << (kFastProbBits - t.precision);
    t.c15[s] = acc;
    acc += t.f15[s];
  }
  return t;
}

void write_table(ByteWriter& w, const EncTable& t) {
  w.u8(static_cast<uint8_t>(t.precision));
  if (!t.precision) return;
  int k = 0;
  for (int s = 0; s < 256; ++s) k += t.freq[s] != 0;
  w.varint(static_cast<uint64_t>(k));
  for (int s = 0; s < 256; ++s) {
    if (!t.freq[s]) continue;
    w.u8(static_cast<uint8_t>(s));
    w.varint(t.freq[s]);
  }
}

// rANS-codes symbols sym[i] with tables[count of pat[i]] (pat null: table 0),
// last symbol first; returns the bytes in decoding order (initial state first).
std::vector<uint8_t> rans_encode(const uint8_t* sym, const uint8_t* pat, size_t n, const std::vector<EncTable>& tabs) {
  std::vector<uint8_t> rev;
  rev.reserve(n / 2 + 16);
  uint32_t x = kRansLow;
  for (size_t i = n; i-- > 0;) {
    const EncTable& t = tabs[pat ? kNbc.count[pat[i]] : 0];
    const uint32_t f = t.f15[sym[i]], c = t.c15[sym[i]];
    const uint32_t xmax = ((kRansLow >> kFastProbBits) << 8) * f;
    while (x >= xmax) { rev.push_back(static_cast<uint8_t>(x & 0xFF)); x >>= 8; }
    x = ((x / f) << kFastProbBits) + (x % f) + c;
  }
  rev.push_back(static_cast<uint8_t>(x >> 24));
  rev.push_back(static_cast<uint8_t>(x >> 16));
  rev.push_back(static_cast<uint8_t>(x >> 8));
  rev.push_back(static_cast<uint8_t>(x));
  std::reverse(rev.begin(), rev.end());
  return rev;
}

// Tables of one level: counts per context (occupied neighbours from pat, or
// one context when pat is null), then a table each.
std::vector<EncTable> level_tables(const uint8_t* occ, const uint8_t* pat, size_t n, int nctx, double* bits) {
  std::vector<uint64_t> cnt(static_cast<size_t>(nctx) * 256, 0);
  for (size_t i = 0; i < n; ++i) ++cnt[(pat ? kNbc.count[pat[i]] : 0) * 256u + occ[i]];
  std::vector<EncTable> tabs(static_cast<size_t>(nctx));
  double b = 0;
  for (int c = 0; c < nctx; ++c) { tabs[c] = build_table(&cnt[c * 256u]); b += tabs[c].bits; }
  if (bits) *bits = b;
  return tabs;
}

void read_table(ByteReader& r, DecTable& t) {
  const int64_t at = r.offset();
  const int p = r.u8("fast geometry: table precision");
  t.used = p != 0;
  if (!t.used) return;
  if (p > kFastProbBits) fail(ErrorCode::CorruptPayload, "fast geometry: table precision above 15", at);
  const uint64_t k = r.varint("fast geometry: table size");
  if (k < 1 || k > 255) fail(ErrorCode::CorruptPayload, "fast geometry: table symbol count outside [1, 255]", at);
  std::fill(t.f15, t.f15 + 256, 0u);
  uint64_t sum = 0;
  int prev = 0;
  for (uint64_t i = 0; i < k; ++i) {
    const int s = r.u8("fast geometry: table symbol");
    if (s <= prev) fail(ErrorCode::CorruptPayload, "fast geometry: table symbols not increasing (or 0)", r.offset() - 1);
    prev = s;
    const uint64_t f = r.varint("fast geometry: frequency");
    if (f < 1 || f > (uint64_t(1) << p))
      fail(ErrorCode::CorruptPayload, "fast geometry: frequency outside [1, 2^precision]", r.offset());
    sum += f;
    t.f15[s] = static_cast<uint32_t>(f << (kFastProbBits - p));
  }
  if (sum != (uint64_t(1) << p)) fail(ErrorCode::CorruptPayload, "fast geometry: frequencies do not sum to 2^precision", at);
  t.slot.resize(kProbTotal);
  uint32_t acc = 0;
  for (int s = 0; s < 256; ++s) {
    t.c15[s] = acc;
    if (t.f15[s]) std::memset(&t.slot[acc], s, t.f15[s]);
    acc += t.f15[s];
  }
}

}  // namespace fastgeom
}  // namespace pcstream
