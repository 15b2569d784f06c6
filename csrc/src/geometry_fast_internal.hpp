// Internal pieces of the fast octree geometry codec (codec 11): neighbour
// patterns, the adaptive bit-tree coder and the static rANS tables. Used by
// geometry_fast.cpp only; byte layout: formats/geometry-fast.md.
// Thread safety: free functions and per-call state only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/byte_io.hpp"
#include "pcstream/geometry_fast.hpp"
#include "pcstream/geometry_model.hpp"
#include "pcstream/range_coder.hpp"

namespace pcstream {
namespace fastgeom {

constexpr uint32_t kRansLow = 1u << 23;           // state interval [2^23, 2^31)
constexpr uint32_t kProbTotal = 1u << kFastProbBits;
constexpr uint32_t kSlotMask = kProbTotal - 1;

inline int pop8(uint32_t v) { return __builtin_popcount(v & 0xFFu); }

// Face neighbours (indices into the next level, -1 when empty) and their
// occupancy pattern (bit d set when neighbour d = -x, +x, -y, +y, -z, +z is
// occupied) for every child of `n_nodes` nodes with occupancy `occ` and face
// neighbours `nb` (6 per node). out_nb: 6 per child; out_pat: 1 per child.
void child_neighbours(size_t n_nodes, const uint8_t* occ, const int32_t* nb, int32_t* out_nb, uint8_t* out_pat);

// Level record modes (formats/geometry-fast.md §3).
constexpr uint8_t kModeStatic = 0;      // static rANS, one table
constexpr uint8_t kModeStaticNb = 1;    // static rANS, 7 tables by occupied face neighbours (l <= K)
constexpr uint8_t kModeAdaptive = 2;    // adaptive binary bit tree (context: adjacent neighbours, l <= K)

// Occupied face neighbours of a node from its pattern, and those adjacent to
// child j (on the child's own side along each axis: +x when x bit set, else -x, ...).
struct NbClasses {
  uint8_t count[64];
  uint8_t adj[8][64];
  constexpr NbClasses() : count(), adj() {
    for (int p = 0; p < 64; ++p) {
      count[p] = static_cast<uint8_t>(((p >> 0) & 1) + ((p >> 1) & 1) + ((p >> 2) & 1) + ((p >> 3) & 1) +
                                      ((p >> 4) & 1) + ((p >> 5) & 1));
      for (int j = 0; j < 8; ++j)
        adj[j][p] = static_cast<uint8_t>(((p >> ((j & 4) ? 1 : 0)) & 1) + ((p >> ((j & 2) ? 3 : 2)) & 1) +
                                         ((p >> ((j & 1) ? 5 : 4)) & 1));
    }
  }
};
constexpr NbClasses kNbc{};

// Adaptive binary coding of occupancy bytes: bit j of a node (j = 0..7) is
// coded with the counter of (adjacent occupied neighbours of child j, bit-tree
// node = 1 followed by the bits so far); the last bit is implied when the
// first seven are 0. Counters: 16-bit probability, rate 1/(n + 1.5), n <= 255.
struct EncBits {
  RangeEncoder* rc;
  inline int bit(int b, uint32_t p1) { rc->encode_bit_p(b, p1); return b; }
};
struct DecBits {
  RangeDecoder* rc;
  inline int bit(int, uint32_t p1) { return rc->decode_bit_p(p1); }
};
template <class IO>
void code_tree(IO& io, uint8_t* occ, const uint8_t* pat, size_t m) {
  std::vector<geom::Counter> ctr(4 * 256);
  for (size_t i = 0; i < m; ++i) {
    const int p = pat ? pat[i] : 0;
    const uint32_t truth = occ[i];
    uint32_t node = 1, o = 0;
    for (int j = 0; j < 8; ++j) {
      if (j == 7 && node == 128) { o |= 0x80; break; }  // an occupied node has a child
      geom::Counter& c = ctr[kNbc.adj[j][p] * 256u + node];
      const int q = c.p();
      const int b = io.bit((truth >> j) & 1, static_cast<uint32_t>(q < 32 ? 32 : q > 65504 ? 65504 : q));
      c.update(b, 255);
      node = node * 2 + static_cast<uint32_t>(b);
      o |= static_cast<uint32_t>(b) << j;
    }
    occ[i] = static_cast<uint8_t>(o);
  }
}

// ---------------------------------------------------------------------------
// Static rANS, encoder side: one table per context.
struct EncTable {
  int precision = 0;          // 0: unused
  uint32_t freq[256] = {};    // stored frequencies (sum 2^precision)
  uint32_t f15[256] = {};     // scaled to 2^15
  uint32_t c15[256] = {};
  double bits = 0;            // estimated coded bits + table bits
};

// The table of symbol counts `cnt` (256) at the precision that minimises coded + table bits.
EncTable build_table(const uint64_t* cnt);
void write_table(ByteWriter& w, const EncTable& t);
// Codes sym[i] with tables[count of pat[i]] (pat null: table 0); bytes in decoding order.
std::vector<uint8_t> rans_encode(const uint8_t* sym, const uint8_t* pat, size_t n, const std::vector<EncTable>& tabs);
// Tables of one level: per context (occupied neighbours from pat, or one context when pat
// is null); *bits receives their estimated total (coded + table bits).
std::vector<EncTable> level_tables(const uint8_t* occ, const uint8_t* pat, size_t n, int nctx, double* bits);

// Static rANS, decoder side.
struct DecTable {
  bool used = false;
  uint32_t f15[256];
  uint32_t c15[256];
  std::vector<uint8_t> slot;  // 2^15 entries: symbol of each slot
};
// Reads and validates one table (CorruptPayload / Truncated on bad input).
void read_table(ByteReader& r, DecTable& t);

}  // namespace fastgeom
}  // namespace pcstream
