// libFuzzer entry point for the scan-order decoders (GEOM codec 8, ATTR codec 9;
// formats/scan-order.md). The first byte picks the decoder:
//
//   even: geometry.  u8 header length h, h header bytes, then the GEOM payload.
//   odd:  attribute. u8 components (1 + b % 4), u8 flags (bit 0: pulse channel),
//         u16 LE n (at most 4096), n x 3 u16 LE coordinates, n x 2 pulse bytes when
//         flagged, then the ATTR payload, decoded against that geometry.
//
// Any pcstream::Error is an expected outcome; crashes, hangs and sanitizer reports
// are bugs. Also checked: a decoded geometry lies in [0, 2^depth).
// Build: cmake -DPCSTREAM_BUILD_FUZZERS=ON -DCMAKE_CXX_COMPILER=clang++
// Without clang, csrc/fuzz/replay_main.cpp drives it (tests/test_cpp_core.py, ASan/UBSan).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/scan_attr.hpp"
#include "pcstream/scan_geometry.hpp"

namespace {

constexpr uint64_t kMaxPoints = 1 << 16;  // keep single runs short
constexpr size_t kMaxAttrPoints = 4096;

void require(bool ok) {
  if (!ok) std::abort();
}

void geometry(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const size_t h = data[0];
  if (1 + h > size) return;
  const uint8_t* payload = data + 1 + h;
  const size_t psize = size - 1 - h;
  const auto hdr = pcstream::scan::parse_geometry_header(data + 1, h, kMaxPoints);
  // The callers' allocation guard (bind_scan_order.cpp, the API): every point costs
  // at least 21 binary decisions, so a count the payload cannot back is refused.
  if (hdr.n / 32768 > psize + 8) return;
  std::vector<uint32_t> xyz(static_cast<size_t>(hdr.n) * 3);
  std::vector<uint8_t> pulse(hdr.pulse ? static_cast<size_t>(hdr.n) * 2 : 0);
  pcstream::scan::decode_geometry(hdr, payload, psize, xyz.data(), hdr.pulse ? pulse.data() : nullptr);
  const uint64_t limit = uint64_t(1) << hdr.depth;
  for (uint32_t v : xyz) require(v < limit);
}

void attribute(const uint8_t* data, size_t size) {
  if (size < 4) return;
  const int comps = 1 + data[0] % pcstream::scan::kMaxAttrComponents;
  const bool has_pulse = data[1] & 1;
  const size_t n = (data[2] | (size_t(data[3]) << 8)) % (kMaxAttrPoints + 1);
  size_t pos = 4;
  const size_t need = n * 6 + (has_pulse ? n * 2 : 0);
  if (need > size - pos) return;
  std::vector<uint32_t> xyz(n * 3);
  for (size_t i = 0; i < n * 3; ++i, pos += 2) xyz[i] = data[pos] | (uint32_t(data[pos + 1]) << 8);
  std::vector<uint8_t> pulse(data + pos, data + pos + (has_pulse ? n * 2 : 0));
  pos += pulse.size();
  pcstream::scan::AttrGeometry g;
  g.xyz = xyz.data();
  g.pulse = has_pulse ? pulse.data() : nullptr;
  g.n = n;
  std::vector<uint64_t> out(n * comps);
  pcstream::scan::decode_attr(g, data + pos, size - pos, comps, out.data());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  try {
    if (data[0] & 1)
      attribute(data + 1, size - 1);
    else
      geometry(data + 1, size - 1);
  } catch (const pcstream::Error&) {
  }
  return 0;
}
