#include "pcstream/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PCSTREAM_CRC_X86 1
#include <nmmintrin.h>
#endif

namespace pcstream {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

// tables[k][b]: CRC of byte b followed by k zero bytes (slicing-by-8).
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  Tables() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t c = b;
      for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
      t[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; ++b)
      for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
};

const Tables& tables() {
  static const Tables tab;
  return tab;
}

uint32_t raw_portable(uint32_t c, const uint8_t* p, size_t n) {
  const auto& t = tables().t;
  while (n >= 8) {
    // Byte-wise little-endian assembly keeps this independent of host endianness.
    uint32_t lo = c ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    uint32_t hi = uint32_t(p[4]) | uint32_t(p[5]) << 8 | uint32_t(p[6]) << 16 | uint32_t(p[7]) << 24;
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

#ifdef PCSTREAM_CRC_X86
// The crc32 instruction has a latency of 3 cycles and a throughput of one per
// cycle, so three independent lanes run about three times faster than one.
// Lanes are joined with the linearity of the raw CRC (no pre/post inversion):
//   raw(c, A||B) = shift_|B|(raw(c, A)) ^ raw(0, B),
// where shift_L multiplies by x^(8L) mod P, tabulated per byte of the CRC.
constexpr size_t kLane = 512;  // bytes per lane and round (multiple of 8)

struct ShiftTable {
  uint32_t t[4][256];
  explicit ShiftTable(size_t zeros) {
    static const uint8_t z[2 * kLane] = {};
    for (int k = 0; k < 4; ++k)
      for (uint32_t b = 0; b < 256; ++b) t[k][b] = raw_portable(b << (8 * k), z, zeros);
  }
  uint32_t operator()(uint32_t c) const {
    return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF] ^ t[3][c >> 24];
  }
};

__attribute__((target("sse4.2"))) uint32_t raw_sse42(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  if (n >= 3 * kLane) {
    static const ShiftTable shift1(kLane), shift2(2 * kLane);
    while (n >= 3 * kLane) {
      uint64_t a = c64, b = 0, d = 0;
      for (size_t i = 0; i < kLane; i += 8) {
        uint64_t va, vb, vd;
        std::memcpy(&va, p + i, 8);
        std::memcpy(&vb, p + kLane + i, 8);
        std::memcpy(&vd, p + 2 * kLane + i, 8);
        a = _mm_crc32_u64(a, va);
        b = _mm_crc32_u64(b, vb);
        d = _mm_crc32_u64(d, vd);
      }
      c64 = shift2(uint32_t(a)) ^ shift1(uint32_t(b)) ^ uint32_t(d);
      p += 3 * kLane;
      n -= 3 * kLane;
    }
  }
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // x86 is little-endian, matching the CRC's byte order
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c64);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

bool detect_sse42() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

bool crc32c_hardware() noexcept {
#ifdef PCSTREAM_CRC_X86
  static const bool hw = detect_sse42();
  return hw;
#else
  return false;
#endif
}

uint32_t crc32c_extend_portable(uint32_t crc, const uint8_t* data, size_t n) noexcept {
  if (n == 0) return crc;
  return ~raw_portable(~crc, data, n);
}

uint32_t crc32c_extend(uint32_t crc, const uint8_t* data, size_t n) noexcept {
  if (n == 0) return crc;
#ifdef PCSTREAM_CRC_X86
  if (crc32c_hardware()) return ~raw_sse42(~crc, data, n);
#endif
  return ~raw_portable(~crc, data, n);
}

uint32_t crc32c(const uint8_t* data, size_t n) noexcept { return crc32c_extend(0, data, n); }

}  // namespace pcstream
