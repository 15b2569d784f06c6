// Pieces shared by the two octree geometry encoders (codec 1 in
// geometry_codec.cpp, codec 11 in geometry_fast.cpp): chunk boundaries and the
// validation of encoder input. Internal; free functions, thread-safe.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/morton.hpp"

namespace pcstream {
namespace octree_common {

// Chunk boundaries: levels [1, first] in one chunk, then one chunk per level
// (first < 0: depth - 5). Part of both formats: the chunking must not change.
inline std::vector<std::pair<int, int>> chunk_ranges(int D, int first) {
  std::vector<std::pair<int, int>> r;
  if (D == 0) { r.push_back({0, 0}); return r; }
  if (first < 0) first = std::max(1, D - 5);
  first = std::min(std::max(first, 1), D);
  r.push_back({1, first});
  for (int l = first + 1; l <= D; ++l) r.push_back({l, l});
  return r;
}

// Fails with InvalidArgument (messages prefixed by `who`) unless depth is in
// [0, 21].
inline void check_depth(int depth, const char* who) {
  if (depth < 0 || depth > kMortonMaxBits)
    fail(ErrorCode::InvalidArgument, std::string(who) + ": depth must be in [0, 21], got " + std::to_string(depth));
}

// Fails with InvalidArgument unless n < 2^32 and every coordinate of the n
// points xyz (x, y, z interleaved) lies in [0, 2^depth).
inline void check_points(const uint32_t* xyz, size_t n, int depth, const char* who) {
  if (n > 0xFFFFFFFFull) fail(ErrorCode::InvalidArgument, std::string(who) + ": more than 2^32-1 points");
  const uint64_t lim = uint64_t(1) << depth;
  for (size_t i = 0; i < 3 * n; ++i)
    if (xyz[i] >= lim)
      fail(ErrorCode::InvalidArgument, std::string(who) + ": coordinate " + std::to_string(xyz[i]) + " of point " +
                                           std::to_string(i / 3) + " is outside [0, 2^" + std::to_string(depth) + ")");
}

}  // namespace octree_common
}  // namespace pcstream
