// Codec 4: lossy colour (or any 1- or 3-component unsigned field) by a
// region-adaptive hierarchical transform (RAHT) on the octree of the decoded
// geometry.
//
// Colour is converted to BT.709 Y'CbCr. The transform runs bottom-up over the
// octree (2-point orthonormal butterflies along z, y, x at every level); the
// coefficients are coded top-down, level by level: each node's children are
// first predicted from the decoded means of the node, its face and edge
// neighbours touching the child, and the child's already decoded neighbours
// at the child level (weighted average, weights in the payload); only the
// difference of the high-pass coefficients to the transformed prediction is
// quantised (uniform with a dead zone) and range coded with adaptive
// contexts, after a per-level "any non-zero" bit.
// Because the transform is orthonormal, the squared error of the output is the
// squared quantisation error of the coefficients (before rounding / clamping).
//
// Quality: q in [0, 100]; luma step = 2^((64 - q) / 8) in value units (q = 64
// gives step 1), chroma step = chroma_scale * luma step.
//
// Determinism: double arithmetic in a fixed order without FMA contraction
// (-ffp-contract=off) gives identical results in encoder and decoder.
//
// Errors: InvalidArgument for bad arguments; CorruptPayload / Truncated /
// UnsupportedCodec for a bad payload; the decoder allocates only in
// proportion to N (given by the geometry).
//
// Thread safety: reentrant; no shared state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pcstream/attr_common.hpp"

namespace pcstream {
namespace attr {

constexpr uint16_t kRahtCodecId = 4;
constexpr uint16_t kRahtCodecVersion = 1;        // one payload for the whole tree
constexpr uint16_t kRahtLevelsCodecVersion = 2;  // one payload per octree level range

struct RahtOptions {
  double quality = 50.0;       // [0, 100]
  double chroma_scale = 3.0;   // chroma step / luma step, in [0.25, 16]
  double deadzone = 0.35;      // rounding offset of the quantiser, in [0, 0.5]
  int predict_min_neighbours = 2;  // predict a node's children only with at least this many neighbours
  bool predict = true;
  // Prediction weights (0..255) of the parent (> 0), its face and edge
  // neighbours, and the already decoded face and edge neighbours of the child.
  int weights[5] = {8, 3, 1, 5, 0};
};

// `values`: N * components (1 or 3) elements of type U8 or U16.
std::vector<uint8_t> encode_raht(const uint32_t* xyz, size_t n, const uint8_t* values, ValueType type,
                                 int components, const RahtOptions& opt = RahtOptions());

void decode_raht(const uint32_t* xyz, size_t n, const uint8_t* payload, size_t size, ValueType type,
                 int components, uint8_t* out);

// ---- version 2: level-range chunks (formats/attributes.md) ------------------
// The coefficients are split by octree level: chunk k holds the levels
// level_lo(k)..level_hi(k) (level_lo(0) = 0, level_lo(k) = level_hi(k-1) + 1,
// the last level_hi = depth), so a decoder that has the geometry down to
// level L and the chunks up to level_hi <= L gets the colour of every level-L
// voxel (the decoded mean of its ancestor at level_hi). To make that possible
// without the finer geometry, the transform weights of the levels of chunk k
// are the numbers of occupied level_hi(k) voxels below each node (points for
// the last chunk); with one chunk this is exactly the version-1 transform.
//
// `xyz`: N points in [0, 2^depth) (depth <= 21); `level_his`: the level_hi of
// every chunk, strictly increasing, >= 1 (unless depth == 0), the last ==
// depth. Returns one payload per chunk. InvalidArgument for bad arguments.
std::vector<std::vector<uint8_t>> encode_raht_levels(const uint32_t* xyz, size_t n, const uint8_t* values,
                                                     ValueType type, int components, int depth,
                                                     const std::vector<int>& level_his,
                                                     const RahtOptions& opt = RahtOptions());

// Progressive decoder of version-2 chunks. Call set_points() with the geometry
// of a level >= the next chunk's level_hi (and >= level()), then feed() the
// chunks in order; values() gives every point of the last set_points() the
// decoded value of its ancestor at level(). Bad payloads, chunks out of order
// or a geometry that disagrees with the chunks give CorruptPayload /
// Truncated / UnsupportedCodec / ReservedBitsSet; after an error the decoder
// keeps its last complete level. Allocation is proportional to the points.
// Thread safety: one instance per thread.
class RahtLevelDecoder {
 public:
  RahtLevelDecoder(ValueType type, int components);
  ~RahtLevelDecoder();
  RahtLevelDecoder(const RahtLevelDecoder&) = delete;
  RahtLevelDecoder& operator=(const RahtLevelDecoder&) = delete;

  // `m` points (integer voxel coordinates at octree `level`, any order, unique
  // unless level is the full depth). InvalidArgument if level < level().
  void set_points(const uint32_t* xyz, size_t m, int level);
  // Decodes the next chunk; returns its level_hi. InvalidArgument before any
  // set_points(); CorruptPayload when the chunk's levels exceed the points' level.
  int feed(const uint8_t* payload, size_t size);
  // m * components values (element type of the constructor) for the points of
  // the last set_points(); InvalidArgument before the first chunk.
  void values(uint8_t* out) const;
  int level() const;   // level_hi of the last decoded chunk; -1 before the first
  int depth() const;   // full depth of the stream; -1 before the first chunk
  bool done() const;   // the last chunk (level_hi == depth) is decoded

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Step of the luma quantiser for a quality, in value units.
double raht_step(double quality);

}  // namespace attr
}  // namespace pcstream
