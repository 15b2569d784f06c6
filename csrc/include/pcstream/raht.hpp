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
#include <vector>

#include "pcstream/attr_common.hpp"

namespace pcstream {
namespace attr {

constexpr uint16_t kRahtCodecId = 4;
constexpr uint16_t kRahtCodecVersion = 1;

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

// Step of the luma quantiser for a quality, in value units.
double raht_step(double quality);

}  // namespace attr
}  // namespace pcstream
