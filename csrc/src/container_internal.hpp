// Helpers shared by the container sources; not a public header.
#pragma once
#include <cstdint>
#include <map>
#include <utility>

#include "pcstream/container.hpp"

namespace pcstream {
namespace container_detail {

inline uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline void store_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}

// a + b, or BadLength when it would overflow 64 bits.
uint64_t checked_add(uint64_t a, uint64_t b, int64_t offset);

// Progressive order rule 1 (spec section 9): per (type, stream_id), level_lo
// and level_hi never decrease. Throws BadIndex on a violation.
void check_order(LevelOrderState& state, const ChunkInfo& c, int64_t offset);

uint32_t type_key(const ChunkType& t);

}  // namespace container_detail
}  // namespace pcstream
