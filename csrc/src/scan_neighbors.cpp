#include "pcstream/scan_neighbors.hpp"

namespace pcstream {
namespace scan {

void NeighborGrid::insert(uint32_t index) {
  const uint32_t* p = xyz_ + 3 * static_cast<size_t>(index);
  Cell& c = cells_[key(p[0] / cell_, p[1] / cell_)];
  c.idx[c.next] = index;
  c.next = static_cast<uint8_t>((c.next + 1) % kPerCell);
  if (c.count < kPerCell) ++c.count;
}

void NeighborGrid::query(uint32_t x, uint32_t y, uint32_t z, bool use_z, int64_t nearest[2], uint64_t* dist2) const {
  nearest[0] = nearest[1] = -1;
  uint64_t best[2] = {UINT64_MAX, UINT64_MAX};
  const int64_t cx = x / cell_, cy = y / cell_;
  for (int64_t gx = cx - 1; gx <= cx + 1; ++gx) {
    if (gx < 0) continue;
    for (int64_t gy = cy - 1; gy <= cy + 1; ++gy) {
      if (gy < 0) continue;
      auto it = cells_.find(key(static_cast<uint64_t>(gx), static_cast<uint64_t>(gy)));
      if (it == cells_.end()) continue;
      const Cell& c = it->second;
      for (int k = 0; k < c.count; ++k) {
        const uint32_t j = c.idx[k];
        const uint32_t* q = xyz_ + 3 * static_cast<size_t>(j);
        const int64_t dx = static_cast<int64_t>(q[0]) - x, dy = static_cast<int64_t>(q[1]) - y;
        uint64_t d = static_cast<uint64_t>(dx * dx + dy * dy);
        if (use_z) {
          const int64_t dz = static_cast<int64_t>(q[2]) - z;
          d += static_cast<uint64_t>(dz * dz);
        }
        // Ties go to the later point: compare (d, -j) lexicographically.
        if (d < best[0] || (d == best[0] && static_cast<int64_t>(j) > nearest[0])) {
          best[1] = best[0]; nearest[1] = nearest[0];
          best[0] = d; nearest[0] = j;
        } else if (d < best[1] || (d == best[1] && static_cast<int64_t>(j) > nearest[1])) {
          best[1] = d; nearest[1] = j;
        }
      }
    }
  }
  if (dist2) *dist2 = best[0];
}

}  // namespace scan
}  // namespace pcstream
