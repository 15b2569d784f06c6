// Coding of one tensor's quantized integers with the weight context model
// (formats/weights-chunk.md, "Tensor data"). Internal to weight_*.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "pcstream/range_coder.hpp"
#include "pcstream/weight_coder.hpp"
#include "weight_context.hpp"

namespace pcstream {
namespace weights {
namespace detail {

// log2(x) for x > 0 from IEEE basic operations only (frexp and a series), so encoder
// decisions that compare estimated costs give the same bytes on every platform,
// whatever its libm. Accurate to about 1e-12.
double portable_log2(double x);

// Picks K and the Exp-Golomb order that minimise an order-0 estimate of the
// coded size of `values` (plus a small per-bin cost that favours speed).
TensorParams choose_params(const int64_t* values, uint64_t n);

// `values` holds rows * cols integers with |v| <= kMaxMagnitude.
void encode_tensor(BinEncoder& enc, WeightContexts& ctx, const int64_t* values, uint64_t rows,
                   uint64_t cols, const TensorParams& params);

// Writes rows * cols integers to `values`. Throws CorruptPayload on an impossible
// code (prefix too long, magnitude above kMaxMagnitude). The caller checks the
// decoder for overrun afterwards.
void decode_tensor(BinDecoder& dec, WeightContexts& ctx, int64_t* values, uint64_t rows, uint64_t cols,
                   const TensorParams& params);

// Dependent quantization (trellis): picks quantization indices for `x` (row-major,
// the coding order) minimising squared error + lambda * estimated rate, with
// reconstruction step `delta`. Throws InvalidArgument for non-finite values or
// indices beyond 2^30.
std::vector<int64_t> dq_quantize(const double* x, uint64_t n, double delta);

// Replaces dependent-quantization indices by reconstruction levels (x = level * delta), in place.
void dq_indices_to_levels(int64_t* values, uint64_t n);

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
