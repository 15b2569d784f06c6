// libFuzzer entry point for the classic geometry decoder.
// Input layout: u8 header length h, h header bytes, then chunks as
// (u16 little-endian length, bytes)*. Any pcstream::Error is an expected
// outcome; crashes, hangs and sanitizer reports are bugs.
// Build: cmake -DPCSTREAM_BUILD_FUZZERS=ON -DCMAKE_CXX_COMPILER=clang++
#include <cstddef>
#include <cstdint>

#include "pcstream/error.hpp"
#include "pcstream/geometry_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t h = data[0];
  if (1 + h > size) return 0;
  pcstream::GeometryLimits lim;
  lim.max_points = 1 << 16;  // keep single runs short
  try {
    pcstream::GeometryDecoder dec(data + 1, h, lim);
    size_t pos = 1 + h;
    while (pos + 2 <= size && !dec.done()) {
      size_t n = data[pos] | (static_cast<size_t>(data[pos + 1]) << 8);
      pos += 2;
      if (n > size - pos) n = size - pos;
      dec.feed(data + pos, n);
      pos += n;
    }
    (void)dec.points();
  } catch (const pcstream::Error&) {
  }
  return 0;
}
