// Instance adaptation of the learned geometry codec (encoder option --adapt,
// formats/learned-geometry.md "Adapted streams").
//
// The encoder fine-tunes the heads' linear layers on one input: it reads the
// inputs of those layers for every model-coded symbol (collect_head_samples,
// one teacher-forced forward pass with the true codes, as the decoder will see
// them), fits a delta outside the core (numpy), and sends the quantized delta in
// a WGHT payload. adapt_model() applies such a payload to a base model; encoder
// and decoder both build the adapted model through it, so they use the same
// float32 weights bit for bit.
//
// Errors: adapt_model raises the weight decoder's errors (Truncated, BadLength,
// CorruptPayload, UnsupportedCodec, LimitExceeded) for a malformed payload and
// CorruptPayload for a tensor the model does not adapt, a wrong shape, dtype,
// qp or quantizer, names out of order, a magnitude above kMaxAdaptMagnitude.
// collect_head_samples raises InvalidArgument like learned::encode.
// Thread safety: reentrant; results do not depend on `threads`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pcstream/learned_model.hpp"

namespace pcstream::learned {

// The only step of an adaptation delta: 2^-8 (weight coder qp = -32).
constexpr int kAdaptQp = -32;
// Largest |q| of a delta value (|delta| <= 2^12): keeps every weight finite and q * step exact.
constexpr int64_t kMaxAdaptMagnitude = int64_t{1} << 20;

// Tensor names a delta may carry, in the order they must appear (ascending by name).
std::vector<std::string> adaptable_tensors();

// Inputs of the heads' linear layers for every `stride`-th model-coded symbol
// (symbols counted level by level, step by step, in coding order).
struct HeadSamples {
  size_t channels = 0;
  size_t total = 0;               // model-coded symbols before subsampling
  size_t stride = 1;
  std::vector<float> fc1_in;      // rows × channels
  std::vector<float> fc2_in;      // rows × channels
  std::vector<uint8_t> step;      // 0..3
  std::vector<uint8_t> level;     // level L whose codes the symbol codes
  std::vector<uint8_t> symbol;    // the true nibble, 0..15
};

// `max_rows` bounds the rows kept (stride = ceil(total / max_rows)); 0 keeps all.
HeadSamples collect_head_samples(const uint32_t* xyz, size_t n, int depth, const OccupancyModel& model, int threads,
                                 size_t min_learned_voxels, size_t max_rows);

// `base` with the delta of the WGHT payload applied: w = fl32(w_base + fl32(q * 2^-8)).
std::shared_ptr<OccupancyModel> adapt_model(const OccupancyModel& base, const uint8_t* wght, size_t size);

}  // namespace pcstream::learned
