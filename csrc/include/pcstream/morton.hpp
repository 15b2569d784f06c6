// 3-D Morton (Z-order) codes for up to 21 bits per axis, and a stable radix
// sort of points by Morton code.
//
// Bit layout (fixed; codecs and file formats depend on it): bit 3k+2 of the
// code is bit k of x, bit 3k+1 is bit k of y, bit 3k is bit k of z. So the
// 3-bit "child index" of a point inside an octree node at a given level is
// (x_bit << 2) | (y_bit << 1) | z_bit, and the code grows monotonically with
// each coordinate when the other two are fixed.
//
// Preconditions: coordinates < 2^21 (higher bits are ignored by encode).
// Errors: morton_sort_permutation throws InvalidArgument for bits outside
// [0, 21] or more than 2^32 - 1 points.
// Thread safety: all functions are pure and reentrant.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream {

constexpr int kMortonMaxBits = 21;

// Spreads the low 21 bits of v so that bit k lands at bit 3k.
inline uint64_t morton_spread3(uint32_t v) {
  uint64_t x = v & 0x1FFFFFu;
  x = (x | (x << 32)) & 0x001F00000000FFFFull;
  x = (x | (x << 16)) & 0x001F0000FF0000FFull;
  x = (x | (x << 8)) & 0x100F00F00F00F00Full;
  x = (x | (x << 4)) & 0x10C30C30C30C30C3ull;
  x = (x | (x << 2)) & 0x1249249249249249ull;
  return x;
}

// Inverse of morton_spread3: gathers bits 0, 3, 6, ... into the low 21 bits.
inline uint32_t morton_compact3(uint64_t x) {
  x &= 0x1249249249249249ull;
  x = (x | (x >> 2)) & 0x10C30C30C30C30C3ull;
  x = (x | (x >> 4)) & 0x100F00F00F00F00Full;
  x = (x | (x >> 8)) & 0x001F0000FF0000FFull;
  x = (x | (x >> 16)) & 0x001F00000000FFFFull;
  x = (x | (x >> 32)) & 0x1FFFFFull;
  return static_cast<uint32_t>(x);
}

inline uint64_t morton_encode(uint32_t x, uint32_t y, uint32_t z) {
  return (morton_spread3(x) << 2) | (morton_spread3(y) << 1) | morton_spread3(z);
}

inline void morton_decode(uint64_t code, uint32_t& x, uint32_t& y, uint32_t& z) {
  x = morton_compact3(code >> 2);
  y = morton_compact3(code >> 1);
  z = morton_compact3(code);
}

// Morton codes of n points given as interleaved (x, y, z) uint32 triples.
std::vector<uint64_t> morton_codes(const uint32_t* xyz, size_t n);

// Stable LSD radix sort of `codes` (only the low 3*bits bits are looked at;
// bits in [0, 21]). Returns the permutation `perm` such that
// codes[perm[0]] <= codes[perm[1]] <= ..., equal codes kept in input order.
// If `sorted_out` is non-null it receives the sorted codes.
std::vector<uint32_t> morton_sort_permutation(const uint64_t* codes, size_t n, int bits,
                                              std::vector<uint64_t>* sorted_out = nullptr);

}  // namespace pcstream
