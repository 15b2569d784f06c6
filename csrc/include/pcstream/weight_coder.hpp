// DeepCABAC-style coder for tensors of quantized neural-network weights: the
// payload of a `WGHT` chunk (codec id 5), specified byte for byte in
// formats/weights-chunk.md.
//
// Each tensor is a row-major array of signed integers q (the quantized weights;
// the real value is q * step_for_qp(qp)). The tensor is seen as rows x cols with
// rows = shape[0] (output channels / filters) and cols = the product of the other
// dimensions. Every row starts with an all-zero flag; the weights of a non-zero
// row are binarized as significance, sign, unary "greater than k" flags and an
// Exp-Golomb remainder, all coded with adaptive binary contexts of the core's
// range coder. Contexts are selected from the magnitudes of the previous weights
// of the row, the co-located weight of the previous row and a running activity of
// the column (see weight_context.hpp).
//
// Errors: encode_weights throws InvalidArgument for values or shapes outside the
// documented limits; decode_weights throws Truncated / BadLength / CorruptPayload /
// UnsupportedCodec / LimitExceeded for any malformed payload and never allocates
// from a count before checking it against `WeightDecodeLimits`.
//
// Thread safety: the functions are re-entrant; they share no state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pcstream/error.hpp"

namespace pcstream {
namespace weights {

constexpr uint8_t kFormatVersion = 1;
constexpr int kMaxDims = 8;
constexpr size_t kMaxNameBytes = 4096;
// |q| above this is rejected: keeps the Exp-Golomb prefix short and q * step exact in double.
constexpr int64_t kMaxMagnitude = (int64_t{1} << 47) - 1;
constexpr int kMinQp = -256;
constexpr int kMaxQp = 255;

// Element type of the tensor the caller reconstructs (numbering frozen by the format).
enum class DType : uint8_t {
  Float16 = 1, Float32 = 2, Float64 = 3, BFloat16 = 4,
  Int8 = 16, Int16 = 17, Int32 = 18, Int64 = 19, UInt8 = 20, Bool = 21,
};
bool dtype_is_valid(uint8_t code);
bool dtype_is_integer(DType d);

struct QuantTensor {
  std::string name;            // UTF-8, at most kMaxNameBytes bytes, unique within a payload
  DType dtype = DType::Float32;
  std::vector<uint64_t> shape;  // at most kMaxDims dims; an empty shape is a scalar
  int32_t qp = 0;               // step = step_for_qp(qp); integer dtypes must use qp = 0 (step 1)
  // Quantizer::Uniform: `values` are the coded integers (x = value * step).
  // Quantizer::Dependent (encoder input): `real` holds the float values, which the
  // encoder quantizes with a trellis; `values` is ignored. Decoded dependent tensors
  // carry reconstruction levels in `values` (x = value * reconstruction_step).
  uint8_t quantizer = 0;
  std::vector<int64_t> values;  // row-major, size == product(shape), |v| <= kMaxMagnitude
  std::vector<double> real;     // dependent quantization input only
};

enum Quantizer : uint8_t { kUniform = 0, kDependent = 1 };

struct WeightEncodeOptions {
  int32_t base_qp = 0;  // written to the header; each tensor stores qp - base_qp
};

struct WeightDecodeLimits {
  uint64_t max_elements = uint64_t{1} << 26;  // all tensors together (8 bytes each decoded)
  uint32_t max_tensors = 1u << 16;
};

// 2^(qp/4), computed exactly as the format specifies (power of two times one of
// four fixed constants), so every platform dequantizes identically.
double step_for_qp(int qp);

// Distance between reconstruction levels: step_for_qp(qp) for uniform quantization,
// step_for_qp(qp) * 9/16 for dependent quantization (its two interleaved quantizers
// then reach the error of uniform quantization at the same qp with fewer bits).
double reconstruction_step(int qp, uint8_t quantizer);

// Encodes the tensors in the given order. Throws InvalidArgument on a bad tensor.
std::vector<uint8_t> encode_weights(const std::vector<QuantTensor>& tensors,
                                    const WeightEncodeOptions& options = {});

// Decodes a payload produced by encode_weights. `base_qp` (optional out) receives
// the header's base qp.
std::vector<QuantTensor> decode_weights(const uint8_t* data, size_t size,
                                        const WeightDecodeLimits& limits = {},
                                        int32_t* base_qp = nullptr);

}  // namespace weights
}  // namespace pcstream
