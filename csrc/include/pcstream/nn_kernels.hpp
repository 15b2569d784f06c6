// SIMD kernels of the inference runtime (nn_runtime.hpp), chosen at load time.
//
// Three instruction sets compute bit-identical results: AVX-512, AVX2 and the
// x86-64 baseline (SSE2; plain C++ elsewhere). Every kernel vectorises across
// output channels only and performs, for each output element, exactly the
// float32 operations of the scalar definition in the same order: bias, then
// kernel offsets ascending, then input channels ascending, each term a
// separate multiply then add (no FMA: -ffp-contract=off). Register blocking
// (several output rows × a strip of output channels held in registers) only
// changes which elements are computed together, never an element's sum.
//
// Sparse convolution runs from a ConvPlan: the neighbour table turned, once,
// into (input row, output row) pairs grouped by tiles of output rows and, in a
// tile, by kernel offset. A tile's accumulators stay in cache while its
// offsets are applied in ascending order. The plan validates every index when
// it is built, so applying it to several layers checks nothing again.
//
// Threads split tiles (or rows), never a sum: results are independent of the
// thread count. Thread safety: all functions are reentrant; a built plan is
// immutable and may be shared.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/nn_runtime.hpp"

namespace pcstream::nn {

enum class Isa : int { Baseline = 0, Avx2 = 1, Avx512 = 2 };

const char* isa_name(Isa isa);
// Whether this CPU (and build) can run `isa`. Baseline always can.
bool isa_supported(Isa isa);
// The instruction set the runtime uses: the best supported one, or the one the
// environment variable PCSTREAM_NN_ISA names (baseline | avx2 | avx512) when it
// is supported (for tests and benchmarks; all give the same bits). Read once.
Isa active_isa();

// Input rows of a layer: row i is base + (index ? index[i] : i) * stride.
// `index` lets an embedding table feed a layer without copying rows.
struct RowSource {
  const float* base = nullptr;
  size_t stride = 0;
  const int32_t* index = nullptr;
  const float* row(size_t i) const { return base + (index ? static_cast<size_t>(index[i]) : i) * stride; }
};
inline RowSource rows_of(const Matrix& m) { return {m.data.data(), m.cols, nullptr}; }

struct ConvPlan {
  static constexpr size_t kTile = 64;  // output rows per tile
  size_t n_out = 0, n_in = 0, K = 0;
  // Pairs sorted by (tile, offset, output row); out_rows are plan output rows.
  BigVector<int32_t> in_rows, out_rows;
  // Pairs of tile t and offset j: [start[t*K+j], start[t*K+j+1]).
  std::vector<uint32_t> start;
  size_t tiles() const { return (n_out + kTile - 1) / kTile; }
};

// Plan of a neighbour table `nbr` (table_rows × K, entries -1 or an input row
// < n_in). With a selection (n_out != kAllRows; `select` holds n_out entries,
// each < table_rows, and may be null when n_out is 0), plan output row i is
// table row select[i]; with n_out == kAllRows the plan covers every table row. InvalidArgument on any
// out-of-range entry; LimitExceeded beyond 2^31 pairs.
constexpr size_t kAllRows = ~size_t{0};
ConvPlan make_conv_plan(const int32_t* nbr, size_t table_rows, size_t K, size_t n_in, int threads,
                        const int32_t* select = nullptr, size_t n_out = kAllRows);

// What a layer does with its sums v before writing out[o]: store them, ReLU
// them (v > 0 ? v : 0), add them to out[o] (a residual: out[o] = out[o] + v),
// or add their ReLU (out[o] = out[o] + (v > 0 ? v : 0)).
enum class Epilogue { Store, Relu, AddTo, ReluAddTo };

// Sparse convolution of x (plan.n_in rows of cin channels) by w (K × cin × cout,
// offset, input channel, output channel) + bias into out (plan.n_out × cout;
// resized for Store/Relu, must already have that shape for the adding ones).
// Preconditions (unchecked: callers validate): rows referenced by the plan and
// the RowSource index exist; 1 <= cin, cout <= kMaxChannels; out does not alias x.
void conv_apply(const ConvPlan& plan, RowSource x, size_t cin, const float* w, const float* bias, size_t cout,
                Epilogue ep, Matrix& out, int threads, Isa isa = active_isa());

// out = bias + x @ w for n rows (w: cin × cout), same epilogues and preconditions.
void linear_apply(RowSource x, size_t n, size_t cin, const float* w, const float* bias, size_t cout, Epilogue ep,
                  Matrix& out, int threads, Isa isa = active_isa());

// out[i] = exp_nonpos(x[i]) for 16 values at once (the same operations per lane).
void exp_nonpos16(const float* x, float* out, Isa isa = active_isa());
// softmax_to_cdf(logits, 16, total_bits, cdf) with exp_nonpos16: identical output.
void softmax16_to_cdf(const float* logits, int total_bits, uint32_t* cdf, Isa isa = active_isa());

}  // namespace pcstream::nn
