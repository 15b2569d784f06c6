// Fast octree geometry codec (GEOM chunk, codec id 11): lossless, several
// points per voxel allowed.
//
// Same octree as the classic codec (breadth-first, nodes in Morton order,
// one occupancy byte per node); the encoder picks per level how the bytes are
// coded: as 8-bit symbols with static-table rANS (tables stored in the level
// record; one table, or one per number of occupied face neighbours on levels
// 1..K), or as eight adaptive binary decisions per node on the classic
// codec's range coder (context: occupied neighbours adjacent to the child and
// the bits so far; no tables, for small or structured levels). Deep levels of
// splat scenes and sparse scans are isolated branches where neighbours carry
// no information: one table lookup a node there. Several times faster than
// codec 1 at ~1-3 % more bytes. Duplicate counts are a list of the leaves
// holding more than one point. Byte layout: formats/geometry-fast.md.
//
// Errors: encode throws InvalidArgument (depth outside [0, 21], coordinates
// out of range, more than 2^32 - 1 points, context_levels > depth). The
// decoder throws UnsupportedCodec (header version), LimitExceeded (point
// count or depth above its limits), Truncated (payload shorter than a field
// it announces), CorruptPayload (inconsistent tables, counts or rANS state,
// trailing bytes), InvalidArgument (feed after done / after a failure).
// Every count is checked against the header's point count before
// allocation. After an error the decoder keeps the last complete chunk.
// Thread safety: an encoder call or a decoder object is single-threaded;
// distinct objects may be used from distinct threads. Bytes do not depend on
// anything but the input points and options.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pcstream/geometry_codec.hpp"

namespace pcstream {

constexpr uint8_t kFastGeometryVersion = 1;
constexpr int kFastProbBits = 15;      // rANS probability precision (tables scaled to 2^15)
constexpr int kFastNbContexts = 7;     // occupied face neighbours 0..6

struct FastGeometryOptions {
  int depth = 10;               // bits per coordinate, [0, 21]
  int context_levels = -1;      // K: levels 1..K may use neighbour contexts; -1: chosen by the encoder
  int first_chunk_levels = -1;  // levels in the first chunk; -1: automatic (as codec 1)
  bool adaptive = true;         // allow the adaptive binary mode (smaller, slower to decode)
};

// xyz: n interleaved (x, y, z) coordinates, each < 2^depth. Returns the header,
// the chunks and `order` (decoded[i] == input[order[i]], a stable Morton sort).
GeometryEncoding encode_geometry_fast(const uint32_t* xyz, size_t n, const FastGeometryOptions& opt);

class FastGeometryDecoderImpl;

// Progressive decoder with the interface of GeometryDecoder.
class FastGeometryDecoder {
 public:
  FastGeometryDecoder(const uint8_t* header, size_t size, const GeometryLimits& limits = {});
  ~FastGeometryDecoder();
  FastGeometryDecoder(FastGeometryDecoder&&) noexcept;
  FastGeometryDecoder& operator=(FastGeometryDecoder&&) noexcept;

  void feed(const uint8_t* payload, size_t size);  // next chunk, in order
  int level() const;             // deepest complete level
  int depth() const;
  int coded_levels() const;      // == depth (lossless only)
  int context_levels() const;    // K of the header
  bool done() const;
  uint64_t point_count() const;  // points announced by the header
  // Voxel coordinates (x, y, z interleaved) at level() in Morton order; when
  // done, every point with its duplicates.
  std::vector<uint32_t> points() const;

 private:
  std::unique_ptr<FastGeometryDecoderImpl> impl_;
};

}  // namespace pcstream
