#include "pcstream/octree.hpp"

#include <memory>
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
  t.occupancy.assign(depth, {});
  // Distinct leaves and their counts (written by index: no capacity checks),
  // and for each leaf the first level where it starts a new node: a leaf
  // starts a node at every level from the first where its code differs from
  // the previous leaf's (depth - top differing digit), so the nodes of each
  // level appear in Morton order.
  t.leaves.resize(n);
  t.counts.resize(n);
  std::unique_ptr<uint8_t[]> first(new uint8_t[n]);
  size_t nodes[kMortonMaxBits + 1] = {};  // leaves whose first new level is l
  size_t m = 0;
  for (size_t i = 0; i < n;) {
    const uint64_t c = codes[i];
    size_t j = i + 1;
    while (j < n && codes[j] == c) ++j;
    const int f = m == 0 ? 0 : depth - (63 - __builtin_clzll(c ^ t.leaves[m - 1])) / 3;
    first[m] = static_cast<uint8_t>(f);
    ++nodes[f];
    t.leaves[m] = c;
    t.counts[m] = static_cast<uint32_t>(j - i);
    ++m;
    i = j;
  }
  t.leaves.resize(m);
  t.counts.resize(m);
  if (depth == 0) return t;
  size_t run = 0;
  for (int l = 0; l < depth; ++l) {
    run += nodes[l];  // a node of level l is new where first <= l
    t.occupancy[l].resize(run);
  }
  // Write cursors in a local array (byte stores may alias any memory whose
  // address escaped; a local array lets the compiler keep them close).
  uint8_t* wp[kMortonMaxBits];
  for (int l = 0; l < depth; ++l) wp[l] = t.occupancy[l].data();
  const uint64_t* lv = t.leaves.data();
  for (size_t i = 0; i < m; ++i) {
    const uint64_t c = lv[i];
    const int f = first[i];
    // Level f - 1 (the deepest node shared with the previous leaf) gains a child.
    if (f > 0) wp[f - 1][-1] |= static_cast<uint8_t>(1u << ((c >> (3 * (depth - f))) & 7));
    for (int l = f; l < depth; ++l) *wp[l]++ = static_cast<uint8_t>(1u << ((c >> (3 * (depth - l - 1))) & 7));
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
