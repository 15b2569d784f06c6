// Scan-order geometry (GEOM codec 8): integer points coded in their input
// (acquisition) order, each predicted from the points before it, with an
// optional "pulse" channel (LAS return number and number of returns) coded in
// the same chunk and used as context. Byte layout: formats/scan-order.md.
//
// Errors: encode throws InvalidArgument for coordinates >= 2^depth or a depth
// outside 0..21. parse_header throws UnsupportedCodec (version), ReservedBitsSet,
// LimitExceeded (n > max_points), Truncated/BadLength. decode throws
// Truncated/CorruptPayload for damaged payloads (never reads out of bounds,
// every decoded coordinate is checked against 2^depth before it is stored).
// Thread safety: functions are reentrant.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream {
namespace scan {

constexpr uint8_t kGeometryVersion = 1;
constexpr int kMaxDepth = 21;
constexpr int kZModes = 3;

struct GeometryOptions {
  int z_mode = -1;     // -1: the encoder tries every mode and keeps the smallest
  uint32_t cell = 0;   // neighbour grid cell (units); 0: chosen from the point spacing
};

struct GeometryHeader {
  uint64_t n = 0;
  int depth = 0;
  bool pulse = false;
};

std::vector<uint8_t> geometry_header(uint64_t n, int depth, bool pulse);
GeometryHeader parse_geometry_header(const uint8_t* data, size_t size, uint64_t max_points);

// xyz: n x 3 in [0, 2^depth); pulse: n x 2 (return number, number of returns) or null.
std::vector<uint8_t> encode_geometry(const uint32_t* xyz, const uint8_t* pulse, size_t n, int depth,
                                     const GeometryOptions& opt = {});
// xyz_out: n x 3; pulse_out: n x 2 when header.pulse (else untouched, may be null).
void decode_geometry(const GeometryHeader& h, const uint8_t* payload, size_t size, uint32_t* xyz_out,
                     uint8_t* pulse_out);

}  // namespace scan
}  // namespace pcstream
