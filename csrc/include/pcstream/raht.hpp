// Codec 4: lossy colour (or any 1- or 3-component unsigned field) by a
// region-adaptive hierarchical transform (RAHT) on the octree of the decoded
// geometry.
//
// Colour is converted to BT.709 Y'CbCr. The transform runs bottom-up over the
// octree (2-point orthonormal butterflies along z, y, x at every level); the
// coefficients are coded top-down, level by level: each node's children are
// first predicted from the decoded means of the node and its 6 face and 12
// edge neighbours (distance-weighted upsampling), and only the difference of
// the high-pass coefficients to the transformed prediction is quantised
// (uniform, one step per quality) and range coded with adaptive contexts.
// Because the transform is orthonormal, the squared error of the output is the
// squared quantisation error of the coefficients (before rounding / clamping).
//
// Quality: q in [0, 100]; luma step = 2^((64 - q) / 8) in 8-bit units (q = 64
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
  double chroma_scale = 1.0;   // chroma step / luma step, in [0.25, 16]
  double deadzone = 0.5;       // rounding offset of the quantiser, in [0, 0.5]
  int predict_min_neighbours = 2;  // predict a node's children only with at least this many neighbours
  bool predict = true;
  // Prediction weights of the parent, face and edge neighbours (0..255; parent > 0).
  int weights[3] = {4, 2, 1};
};

// `values`: N * components (1 or 3) elements of type U8 or U16.
std::vector<uint8_t> encode_raht(const uint32_t* xyz, size_t n, const uint8_t* values, ValueType type,
                                 int components, const RahtOptions& opt = RahtOptions());

void decode_raht(const uint32_t* xyz, size_t n, const uint8_t* payload, size_t size, ValueType type,
                 int components, uint8_t* out);

// Step of the luma quantiser for a quality, in units of the value type's 8-bit scale.
double raht_step(double quality);

}  // namespace attr
}  // namespace pcstream
