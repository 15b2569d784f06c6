// Neighbourhood tables of octree occupancy coding, shared by the classic
// geometry codec and the learned codec's context mixer.
//
// Around a node being coded we look at the 4x4x4 block of child-level voxels
// made of its own 2x2x2 children and one layer of its neighbours' children;
// block position (bx, by, bz) in [0, 4)^3 is bit bx*16 + by*4 + bz of a
// 64-bit mask. The 27 parent-level neighbours are numbered
// k = (dx+1)*9 + (dy+1)*3 + (dz+1), 13 being the node itself.
//
// Thread safety: immutable after static initialisation; kNb must not be used
// from other static initialisers.
#pragma once
#include <cstdint>

namespace pcstream::octnb {

struct NbTables {
  uint64_t block[27][256];   // children of neighbour k with occupancy byte -> block bits
  int face[8][6];            // block bit of child j's face neighbours (-x,+x,-y,+y,-z,+z)
  uint64_t edge[8];          // block bits of child j's 12 edge neighbours
  uint64_t corner[8];        // block bits of child j's 8 corner neighbours
  uint64_t around[8];        // block bits of all 26 neighbours of child j
  uint8_t child_nb_parent[8][27];  // child j, direction k -> parent-level neighbour index
  uint8_t child_nb_bit[8][27];     // ... and the child index inside that neighbour
  uint8_t face_out[8][3];          // the face directions of child j that lie in neighbours
  uint16_t face_in[8][256];        // base-3 face states of the siblings of child j, by sibling bits so far
  NbTables() {
    for (int k = 0; k < 27; ++k) {
      int px = k / 9 - 1, py = (k / 3) % 3 - 1, pz = k % 3 - 1;
      for (int occ = 0; occ < 256; ++occ) {
        uint64_t m = 0;
        for (int j = 0; j < 8; ++j) {
          if (!((occ >> j) & 1)) continue;
          int bx = 2 * px + (j >> 2) + 1, by = 2 * py + ((j >> 1) & 1) + 1, bz = 2 * pz + (j & 1) + 1;
          if (bx < 0 || bx > 3 || by < 0 || by > 3 || bz < 0 || bz > 3) continue;
          m |= uint64_t(1) << (bx * 16 + by * 4 + bz);
        }
        block[k][occ] = m;
      }
    }
    for (int j = 0; j < 8; ++j) {
      int cx = (j >> 2) + 1, cy = ((j >> 1) & 1) + 1, cz = (j & 1) + 1;
      auto bit = [](int x, int y, int z) { return x * 16 + y * 4 + z; };
      face[j][0] = bit(cx - 1, cy, cz);
      face[j][1] = bit(cx + 1, cy, cz);
      face[j][2] = bit(cx, cy - 1, cz);
      face[j][3] = bit(cx, cy + 1, cz);
      face[j][4] = bit(cx, cy, cz - 1);
      face[j][5] = bit(cx, cy, cz + 1);
      edge[j] = corner[j] = around[j] = 0;
      for (int dx = -1; dx <= 1; ++dx)
        for (int dy = -1; dy <= 1; ++dy)
          for (int dz = -1; dz <= 1; ++dz) {
            int nz = (dx != 0) + (dy != 0) + (dz != 0);
            uint64_t b = uint64_t(1) << bit(cx + dx, cy + dy, cz + dz);
            if (nz == 2) edge[j] |= b;
            if (nz == 3) corner[j] |= b;
            if (nz) around[j] |= b;
          }
      // Axis a (x, y, z = bits 2, 1, 0 of j): a child with bit 1 has its
      // sibling on the minus side (already coded: its bit is known), a child
      // with bit 0 on the plus side (not coded yet: unknown, digit 2).
      for (int partial = 0; partial < 256; ++partial) {
        int t = 0;
        for (int a = 0; a < 3; ++a) {
          const int abit = 4 >> a;
          const int w = a == 0 ? 1 : a == 1 ? 9 : 81;  // 3^(2a): minus face; plus face is 3^(2a+1)
          if (j & abit) t += ((partial >> (j ^ abit)) & 1) * w;
          else t += 2 * 3 * w;
        }
        face_in[j][partial] = static_cast<uint16_t>(t);
      }
      for (int a = 0; a < 3; ++a) face_out[j][a] = static_cast<uint8_t>(2 * a + (((j >> (2 - a)) & 1) ? 1 : 0));
      for (int k = 0; k < 27; ++k) {
        int d[3] = {k / 9 - 1, (k / 3) % 3 - 1, k % 3 - 1};
        int c[3] = {j >> 2, (j >> 1) & 1, j & 1};
        int p[3], b[3];
        for (int a = 0; a < 3; ++a) {
          int t = c[a] + d[a];  // in [-1, 2]
          p[a] = t < 0 ? -1 : t > 1 ? 1 : 0;
          b[a] = t & 1;
        }
        child_nb_parent[j][k] = static_cast<uint8_t>((p[0] + 1) * 9 + (p[1] + 1) * 3 + (p[2] + 1));
        child_nb_bit[j][k] = static_cast<uint8_t>(b[0] * 4 + b[1] * 2 + b[2]);
      }
    }
  }
};
// Built once during static initialisation (octree_neighbourhood.cpp).
extern const NbTables kNb;

// Base-3 value of a 6-bit mask read as ternary digits 0/1: sum of 3^d over set bits d.
struct Tern6 {
  uint16_t v[64];
  constexpr Tern6() : v() {
    for (int m = 0; m < 64; ++m) {
      int t = 0, w = 1;
      for (int d = 0; d < 6; ++d, w *= 3) t += ((m >> d) & 1) * w;
      v[m] = static_cast<uint16_t>(t);
    }
  }
};
constexpr Tern6 kTern6{};
// Confidence class of a counter from its count n (<= 255): 0, 1-2, 3-11, 12+.
struct ConfClass {
  uint8_t v[256];
  constexpr ConfClass() : v() {
    for (int n = 0; n < 256; ++n) v[n] = static_cast<uint8_t>(n == 0 ? 0 : n < 3 ? 1 : n < 12 ? 2 : 3);
  }
};
constexpr ConfClass kConf{};
// Parent-level neighbours k sharing a face with the node.
constexpr uint32_t kFaceNbMask = (1u << 4) | (1u << 10) | (1u << 12) | (1u << 14) | (1u << 16) | (1u << 22);

// Portable popcounts (the build targets baseline x86-64, where the builtin
// becomes a library call).
inline int popcount64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((x * 0x0101010101010101ull) >> 56);
}
struct Pop8 {
  uint8_t v[256];
  constexpr Pop8() : v() {
    for (int i = 0; i < 256; ++i) v[i] = static_cast<uint8_t>((i & 1) + ((i >> 1) & 1) + ((i >> 2) & 1) + ((i >> 3) & 1) +
                                                              ((i >> 4) & 1) + ((i >> 5) & 1) + ((i >> 6) & 1) + ((i >> 7) & 1));
  }
};
constexpr Pop8 kPop8{};
inline int popcount8(uint32_t x) { return kPop8.v[x & 0xFF]; }

}  // namespace pcstream::octnb
