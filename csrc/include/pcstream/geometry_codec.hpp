// Classic octree geometry codec (GEOM chunk, codec id 1).
//
// Points are integer voxels in [0, 2^depth)^3. The encoder codes the octree
// level by level (breadth-first, nodes in Morton order) with context-mixed
// binary occupancy bits, a direct mode for isolated nodes holding few points
// and, for lossless coding, the duplicate count of every point. Coding can
// stop at a chosen level (lossy): the decoder then returns the occupied voxels
// of that level. The stream is a header plus chunks, each completing a range
// of levels; a prefix of chunks decodes to the deepest level it completes.
// Byte layout: formats/geometry-classic.md.
//
// Errors: encode throws InvalidArgument (depth outside [0, 21], coordinates
// out of range, levels > depth, more than 2^32 - 1 points). The decoder
// throws UnsupportedCodec (unknown header version), LimitExceeded (point
// count or depth above its limits), Truncated/CorruptPayload (payload shorter
// than announced or inconsistent), InvalidArgument (feed after done). After
// an error the decoder keeps the last complete level.
// Thread safety: an encoder call or a decoder object is single-threaded;
// distinct objects may be used from distinct threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace pcstream {

constexpr uint8_t kGeometryFormatVersion = 1;

struct GeometryOptions {
  int depth = 10;        // bits per coordinate, [0, 21]
  int levels = -1;       // coded levels; -1 or == depth: lossless
  bool direct_mode = true;
  int first_chunk_levels = -1;  // levels in the first chunk; -1: automatic
};

struct GeometryChunkData {
  int level_lo = 0, level_hi = 0;
  std::vector<uint8_t> payload;
  uint64_t point_count = 0;  // voxels at level_hi (points incl. duplicates for a lossless final chunk)
};

struct GeometryEncoding {
  std::vector<uint8_t> header;
  std::vector<GeometryChunkData> chunks;
  // decoded[i] == input[order[i]] (lossless; for lossy: input points sorted by voxel)
  std::vector<uint32_t> order;
  // lossy only: index of the decoded voxel of each input point
  std::vector<uint32_t> voxel_of_point;
};

// xyz: n interleaved (x, y, z) coordinates, each < 2^depth.
GeometryEncoding encode_geometry(const uint32_t* xyz, size_t n, const GeometryOptions& opt);

struct GeometryLimits {
  uint64_t max_points = uint64_t(1) << 27;
  int max_depth = 21;
};

class GeometryDecoderImpl;

class GeometryDecoder {
 public:
  GeometryDecoder(const uint8_t* header, size_t size, const GeometryLimits& limits = {});
  ~GeometryDecoder();
  GeometryDecoder(GeometryDecoder&&) noexcept;
  GeometryDecoder& operator=(GeometryDecoder&&) noexcept;

  // Decodes the next chunk (in order). Throws on corrupt input; the decoder
  // then stays at its last complete level and refuses further chunks.
  void feed(const uint8_t* payload, size_t size);
  int level() const;         // deepest complete level
  int depth() const;         // bits per coordinate of the input
  int coded_levels() const;  // level reached when done
  bool done() const;
  uint64_t point_count() const;  // points the header announces for the full decode
  // Voxel coordinates (interleaved x, y, z) of the points at level(), in Morton
  // order; when done and lossless: every point with its duplicates.
  std::vector<uint32_t> points() const;

 private:
  std::unique_ptr<GeometryDecoderImpl> impl_;
};

}  // namespace pcstream
