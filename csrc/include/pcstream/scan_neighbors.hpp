// Nearest earlier point in the plane, for the scan-order codecs: a hash grid
// over (x, y) with square cells of `cell` units that remembers the last
// kPerCell points inserted into each cell. Encoder and decoder insert the same
// points in the same order and so find the same neighbours
// (formats/scan-order.md, section "Neighbour search").
//
// query(): among the points remembered by the 3 x 3 cells around (x, y), the
// two smallest by (dx^2 + dy^2 [+ dz^2 when use_z]), ties to the later
// point; -1 where fewer exist. Cost per call is bounded (9 cells x kPerCell).
// Preconditions: coordinates < 2^31, cell >= 1.
// Thread safety: not thread-safe; one grid per coder.
#pragma once
#include <cstdint>
#include <cstddef>
#include <unordered_map>

namespace pcstream {
namespace scan {

class NeighborGrid {
 public:
  static constexpr int kPerCell = 4;

  NeighborGrid(const uint32_t* xyz, uint32_t cell) : xyz_(xyz), cell_(cell ? cell : 1) {}
  void insert(uint32_t index);
  // nearest[0] (closest) and nearest[1]; dist2[0] the squared distance of nearest[0].
  void query(uint32_t x, uint32_t y, uint32_t z, bool use_z, int64_t nearest[2], uint64_t* dist2) const;

 private:
  struct Cell {
    uint32_t idx[kPerCell];
    uint8_t count = 0;
    uint8_t next = 0;
  };
  static uint64_t key(uint64_t cx, uint64_t cy) { return (cx << 32) | cy; }
  const uint32_t* xyz_;
  uint32_t cell_;
  std::unordered_map<uint64_t, Cell> cells_;
};

}  // namespace scan
}  // namespace pcstream
