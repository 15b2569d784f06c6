// Neighbour maps for sparse 3-D convolution on integer voxel coordinates.
//
// CoordIndex is an open-addressing hash map from a voxel coordinate to its row
// index. From it, `neighbor_table` lists, for every output voxel and every
// offset of a k×k×k kernel, the input row at that offset (or -1). The table is
// what the C++ inference runtime consumes (gather per output row); training
// code in Python turns it into (input, output) pairs per offset.
//
// Kernel offsets are in a fixed order: dx outermost, dz innermost, each from
// -(k/2) to +(k/2); offset j of a 3×3×3 kernel is (j/9-1, j/3%3-1, j%3-1).
//
// Preconditions: coordinates in [0, 2^21); the input coordinates are unique
// (a duplicate raises InvalidArgument); k is odd, 1 <= k <= 7.
// Results are deterministic and independent of `threads`.
// Thread safety: a built CoordIndex is immutable and may be shared.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/big_buffer.hpp"

namespace pcstream::nn {

constexpr int kMaxCoordBits = 21;

class CoordIndex {
 public:
  CoordIndex() = default;
  // xyz: n rows of (x, y, z).
  CoordIndex(const int32_t* xyz, size_t n);
  // Row of (x, y, z), or -1 when absent or outside [0, 2^21).
  int32_t find(int64_t x, int64_t y, int64_t z) const {
    if ((x | y | z) < 0 || x >= (1 << kMaxCoordBits) || y >= (1 << kMaxCoordBits) ||
        z >= (1 << kMaxCoordBits) || keys_.empty())
      return -1;
    uint64_t key = pack(x, y, z);
    for (uint64_t s = slot(key);; s = (s + 1) & mask_) {
      if (keys_[s] == key) return vals_[s];
      if (keys_[s] == kEmpty) return -1;
    }
  }
  size_t size() const { return n_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t pack(int64_t x, int64_t y, int64_t z) {
    return (static_cast<uint64_t>(x) << 42) | (static_cast<uint64_t>(y) << 21) | static_cast<uint64_t>(z);
  }
  uint64_t slot(uint64_t key) const { return ((key * 0x9E3779B97F4A7C15ull) >> 32) & mask_; }
  std::vector<uint64_t> keys_;
  std::vector<int32_t> vals_;
  uint64_t mask_ = 0;
  size_t n_ = 0;
};

// The k^3 offsets of a cubic kernel in the documented order.
std::vector<std::array<int, 3>> kernel_offsets(int k);

// table[o * k^3 + j] = row in `in` of out_xyz[o] + offset j, or -1.
std::vector<int32_t> neighbor_table(const CoordIndex& in, const int32_t* out_xyz, size_t n_out, int k,
                                    int threads = 1);

// The self neighbour table of the children of an octree level, derived from
// the level's own self table without hashing: `parent_table` (np × k^3, from
// neighbor_table or this function) and the parents' 8-bit occupancy codes give
// the table of the child voxels (children ordered parent by parent, octant
// ascending; octant = (x&1)<<2 | (y&1)<<1 | (z&1)), equal entry for entry to
// neighbor_table on the child coordinates. A child's neighbour at offset d has
// the parent (2c + d) >> 1 per axis, within the parents' own k-neighbourhood.
// InvalidArgument when the table size or an entry is out of range.
BigVector<int32_t> child_neighbor_table(const int32_t* parent_table, size_t table_size,
                                        const std::vector<uint8_t>& parent_codes, int k, int threads);
template <class Table>
BigVector<int32_t> child_neighbor_table(const Table& parent_table, const std::vector<uint8_t>& parent_codes, int k,
                                        int threads = 1) {
  return child_neighbor_table(parent_table.data(), parent_table.size(), parent_codes, k, threads);
}

// The same map as (input row, output row) pairs grouped by offset:
// pairs of offset j are [offset_start[j], offset_start[j+1]), output rows ascending.
struct NeighborPairs {
  std::vector<int32_t> in_rows;
  std::vector<int32_t> out_rows;
  std::vector<int64_t> offset_start;  // k^3 + 1 entries
};
NeighborPairs neighbor_pairs(const std::vector<int32_t>& table, size_t n_out, int k);

// Strided (parent -> child) map: row in `parents` of each child's parent
// (child coordinate >> stride_log2), or -1; octant[i] = (x&1)<<2 | (y&1)<<1 | (z&1)
// of the child for stride 1 (filled only when `octant` is non-null).
std::vector<int32_t> parent_map(const CoordIndex& parents, const int32_t* child_xyz, size_t n, int stride_log2,
                                uint8_t* octant = nullptr);

}  // namespace pcstream::nn
