// Codec 3: predictive lossless coding of any per-point field (colour,
// intensity, classification, GPS time, normals, extra properties).
//
// Values are coded in Morton order of the (already decoded) geometry. Each
// value is predicted from previously decoded points: the previous point, the
// nearest earlier neighbour within a window, or the mean of the three nearest.
// Prediction works on "ordered unsigned" integers (attr_common.hpp) modulo
// 2^(8*width), so floats and signed integers round-trip bit-exactly.
// Small alphabets (at most 16 distinct values between min and max) are coded
// as symbols with contexts from the neighbours' values instead of residuals.
// The encoder tries the predictors and keeps the smallest payload.
//
// Payload (version 1): u8 version, u8 value type, u8 components, varint N,
// u8 predictor, u8 flags, per component a mode byte (+ its parameters), then
// the range-coded body. See docs/attributes.md.
//
// Errors: InvalidArgument for bad caller arguments; CorruptPayload /
// Truncated / UnsupportedCodec / LimitExceeded for a bad payload. The decoder
// never allocates more than N * components * width bytes, N given by the
// caller (the geometry), and never trusts counts in the payload.
//
// Thread safety: reentrant; no shared state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/attr_common.hpp"

namespace pcstream {
namespace attr {

constexpr uint16_t kLosslessCodecId = 3;
constexpr uint16_t kLosslessCodecVersion = 1;

struct LosslessOptions {
  // -1: try every predictor and keep the smallest; else 0 previous point,
  // 1 nearest neighbour, 2 mean of the three nearest.
  int predictor = -1;
  // Earlier points searched for neighbours (1..256).
  int window = 32;
};

// `xyz`: N points (x,y,z uint32 < 2^21) in the order of `values`;
// `values`: N * components elements of type `type`, little-endian, interleaved.
std::vector<uint8_t> encode_lossless(const uint32_t* xyz, size_t n, const uint8_t* values,
                                     ValueType type, int components,
                                     const LosslessOptions& opt = LosslessOptions());

// Decodes into `out` (N * components elements). `type` and `components` are
// what the container metadata announces; a payload disagreeing is corrupt.
void decode_lossless(const uint32_t* xyz, size_t n, const uint8_t* payload, size_t size,
                     ValueType type, int components, uint8_t* out);

}  // namespace attr
}  // namespace pcstream
