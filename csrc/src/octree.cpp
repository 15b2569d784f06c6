#include "pcstream/octree.hpp"

#include <string>

#include "pcstream/error.hpp"
#include "pcstream/morton.hpp"

namespace pcstream {

Octree build_octree(const uint64_t* codes, size_t n, int depth) {
  if (depth < 0 || depth > kMortonMaxBits)
    fail(ErrorCode::InvalidArgument, "octree: depth must be in [0, 21], got " + std::to_string(depth));
  Octree t;
  t.depth = depth;
  if (n == 0) return t;
  // Distinct leaves and their counts (written by index: no capacity checks).
  t.leaves.resize(n);
  t.counts.resize(n);
  size_t m = 0;
  for (size_t i = 0; i < n;) {
    const uint64_t c = codes[i];
    size_t j = i + 1;
    while (j < n && codes[j] == c) ++j;
    t.leaves[m] = c;
    t.counts[m] = static_cast<uint32_t>(j - i);
    ++m;
    i = j;
  }
  t.leaves.resize(m);
  t.counts.resize(m);
  t.occupancy.assign(depth, {});
  // Bottom-up: the parents of a sorted level are a sorted, grouped sequence.
  std::vector<uint64_t> cur = t.leaves, next(m);
  for (int l = depth - 1; l >= 0; --l) {
    std::vector<uint8_t>& occ = t.occupancy[l];
    occ.resize(cur.size());
    const size_t nc = cur.size();
    size_t k = 0;
    for (size_t i = 0; i < nc;) {
      const uint64_t parent = cur[i] >> 3;
      uint32_t byte = 0;
      do {
        byte |= 1u << (cur[i] & 7);
        ++i;
      } while (i < nc && (cur[i] >> 3) == parent);
      occ[k] = static_cast<uint8_t>(byte);
      next[k] = parent;
      ++k;
    }
    occ.resize(k);
    occ.shrink_to_fit();
    cur.swap(next);
    cur.resize(k);
  }
  return t;
}

std::vector<uint64_t> expand_octree(const std::vector<std::vector<uint8_t>>& occupancy, int depth) {
  if (depth < 0 || depth > kMortonMaxBits || occupancy.size() != static_cast<size_t>(depth))
    fail(ErrorCode::InvalidArgument, "octree: occupancy levels do not match depth");
  std::vector<uint64_t> cur, next;
  if (depth == 0) return cur;
  if (occupancy[0].size() != 1) fail(ErrorCode::CorruptPayload, "octree: level 0 must have one node");
  cur.push_back(0);
  for (int l = 0; l < depth; ++l) {
    const std::vector<uint8_t>& occ = occupancy[l];
    if (occ.size() != cur.size())
      fail(ErrorCode::CorruptPayload, "octree: level " + std::to_string(l) + " has " + std::to_string(occ.size()) +
                                          " codes for " + std::to_string(cur.size()) + " nodes");
    next.clear();
    for (size_t i = 0; i < cur.size(); ++i) {
      uint32_t b = occ[i];
      if (!b) fail(ErrorCode::CorruptPayload, "octree: empty occupancy byte at level " + std::to_string(l));
      uint64_t base = cur[i] << 3;
      for (; b; b &= b - 1) next.push_back(base | static_cast<uint64_t>(__builtin_ctz(b)));
    }
    cur.swap(next);
  }
  return cur;
}

std::vector<uint64_t> octree_points(const Octree& t) {
  size_t total = 0;
  for (uint32_t c : t.counts) total += c;
  std::vector<uint64_t> out;
  out.reserve(total);
  for (size_t i = 0; i < t.leaves.size(); ++i) out.insert(out.end(), t.counts[i], t.leaves[i]);
  return out;
}

}  // namespace pcstream
