// Coding of one tensor's quantized integers with the weight context model
// (formats/weights-chunk.md, "Tensor data"). Internal to weight_*.cpp.
#pragma once
#include <cstdint>

#include "pcstream/range_coder.hpp"
#include "pcstream/weight_coder.hpp"
#include "weight_context.hpp"

namespace pcstream {
namespace weights {
namespace detail {

// Picks K and the Exp-Golomb order that minimise an order-0 estimate of the
// coded size of `values` (plus a small per-bin cost that favours speed).
TensorParams choose_params(const int64_t* values, uint64_t n);

// `values` holds rows * cols integers with |v| <= kMaxMagnitude.
void encode_tensor(RangeEncoder& enc, WeightContexts& ctx, const int64_t* values, uint64_t rows,
                   uint64_t cols, const TensorParams& params);

// Writes rows * cols integers to `values`. Throws CorruptPayload on an impossible
// code (prefix too long, magnitude above kMaxMagnitude). The caller checks the
// decoder for overrun afterwards.
void decode_tensor(RangeDecoder& dec, WeightContexts& ctx, int64_t* values, uint64_t rows, uint64_t cols,
                   const TensorParams& params);

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
