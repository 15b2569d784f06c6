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
  if (depth == 0) return t;
  // One pass over the sorted leaves: leaf i starts a new node at every level
  // deeper than the first level where its code differs from leaf i - 1
  // (first = depth - top differing digit), so the nodes of each level appear
  // in Morton order. First count the nodes per level, then write by index.
  auto first_new = [&](size_t i) -> int {
    if (i == 0) return 0;
    const uint64_t x = t.leaves[i] ^ t.leaves[i - 1];  // != 0: leaves are distinct
    return depth - (63 - __builtin_clzll(x)) / 3;
  };
  std::vector<size_t> nodes(depth + 1, 0);  // nodes[l]: nodes of level l starting at some leaf
  for (size_t i = 0; i < m; ++i) ++nodes[first_new(i)];
  size_t run = 0;
  for (int l = 0; l < depth; ++l) {
    run += nodes[l];  // a node of level l is new where first_new <= l
    t.occupancy[l].resize(run);
  }
  std::vector<uint8_t*> out(depth);
  for (int l = 0; l < depth; ++l) out[l] = t.occupancy[l].data();
  std::vector<size_t> pos(depth, 0);  // next new node of each level
  for (size_t i = 0; i < m; ++i) {
    const uint64_t c = t.leaves[i];
    const int f = first_new(i);
    // Level f - 1 (the deepest node shared with the previous leaf) gains a child.
    if (f > 0) out[f - 1][pos[f - 1] - 1] |= static_cast<uint8_t>(1u << ((c >> (3 * (depth - f))) & 7));
    for (int l = f; l < depth; ++l) out[l][pos[l]++] = static_cast<uint8_t>(1u << ((c >> (3 * (depth - l - 1))) & 7));
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
