// Octree of integer points: per-level occupancy codes, breadth-first, nodes of
// a level in Morton order, plus the duplicate count of every leaf voxel.
//
// Level l (0 = root) has the occupied nodes of size 2^(depth-l); the
// occupancy byte of a node has bit j set when its child with child index j
// (see morton.hpp: j = x<<2 | y<<1 | z) is occupied. Level `depth` are the
// leaves (distinct points).
//
// Errors: build throws InvalidArgument for depth outside [0, 21];
// expand throws CorruptPayload for an empty occupancy byte or level sizes
// that disagree with the occupancy of the level above.
// Thread safety: pure functions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream {

struct Octree {
  int depth = 0;
  // occupancy[l], l in [0, depth): one byte per occupied node of level l.
  std::vector<std::vector<uint8_t>> occupancy;
  // Distinct leaf Morton codes (3*depth bits), ascending.
  std::vector<uint64_t> leaves;
  // Points per leaf (>= 1), same order as `leaves`.
  std::vector<uint32_t> counts;
};

// `sorted_codes`: n Morton codes ascending (e.g. from morton_sort_permutation),
// each < 2^(3*depth). An empty input gives an empty tree (no levels).
Octree build_octree(const uint64_t* sorted_codes, size_t n, int depth);

// Inverse of the occupancy part: the distinct leaf codes, ascending. With
// depth 0 there are no levels and the result is empty (a non-empty depth-0
// cloud is the single root voxel, which the occupancy cannot express).
std::vector<uint64_t> expand_octree(const std::vector<std::vector<uint8_t>>& occupancy, int depth);

// Leaf codes repeated by their counts: the sorted multiset of input codes.
std::vector<uint64_t> octree_points(const Octree& tree);

}  // namespace pcstream
