// Deterministic float32 inference runtime for the learned geometry codec.
//
// Exactly the layers the occupancy model uses: embedding lookup, sparse 3-D
// convolution through a neighbour table (see sparse_neighbors.hpp), linear,
// ReLU, residual add, and softmax to an integer CDF with an own exp.
//
// Determinism contract: encoder and decoder must compute bit-identical
// probabilities. Every output element is a sum in a fixed order (bias first,
// then kernel offsets ascending, then input channels ascending), evaluated in
// plain float32 with -ffp-contract=off and no fast-math. Threads split output
// rows only (parallel_rows.hpp), never a sum, so results are identical for any
// thread count. The SIMD kernels (nn_kernels.hpp) vectorise across output
// channels only, which does not reorder any sum: every instruction set gives
// the same bits. sparse_conv and linear here are the checked entry points;
// the model uses the kernels' plans directly.
//
// Preconditions (checked, InvalidArgument otherwise): shapes agree; indices of
// embeddings are in range; neighbour tables hold -1 or a valid input row.
// Thread safety: functions are reentrant; outputs must not alias inputs unless
// stated.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/big_buffer.hpp"

namespace pcstream::nn {

// Row-major float32 matrix (zero-filled; uninit() leaves the values undefined
// for outputs that are written in full).
struct Matrix {
  size_t rows = 0, cols = 0;
  BigVector<float> data;
  Matrix() = default;
  Matrix(size_t r, size_t c) : rows(r), cols(c), data(r * c, 0.0f) {}
  static Matrix uninit(size_t r, size_t c) {
    Matrix m;
    m.rows = r, m.cols = c;
    m.data.resize(r * c);
    return m;
  }
  float* row(size_t r) { return data.data() + r * cols; }
  const float* row(size_t r) const { return data.data() + r * cols; }
};

// Largest channel count a layer may have (bounds the per-row accumulators).
constexpr size_t kMaxChannels = 256;

// out[i] = table[idx[i]]; idx values must be < table.rows.
Matrix embedding(const Matrix& table, const int32_t* idx, size_t n, int threads = 1);

// Sparse convolution: out[o] = bias + sum_j sum_ci x[nbr[o*K+j]][ci] * w[j][ci][:],
// skipping nbr = -1. w is K*cin*cout floats (offset, input channel, output channel).
Matrix sparse_conv(const Matrix& x, const std::vector<int32_t>& nbr, size_t n_out, size_t K, const float* w,
                   const float* bias, size_t cout, int threads);

// out = bias + x @ w, w is cin*cout floats (input channel major).
Matrix linear(const Matrix& x, const float* w, const float* bias, size_t cout, int threads);

void relu_inplace(Matrix& x);
// a += b (same shape).
void add_inplace(Matrix& a, const Matrix& b);
// out[i] = x[rows[i]].
Matrix gather_rows(const Matrix& x, const int32_t* rows, size_t n, int threads = 1);

// exp(x) for x <= 0 in float32 arithmetic only (range reduction by ln 2,
// degree-6 polynomial, exponent bits); 0 for x < -87. Relative error < 1e-6.
float exp_nonpos(float x);

// Integer CDF of softmax(logits): weights exp_nonpos(l_i - max l) converted by
// the normative probs_to_cdf_row of multisym.hpp (cdf[0] = 0, cdf[n] =
// 2^total_bits, every symbol at least 1). n in [2, 256], 2n <= 2^total_bits <= 2^16.
void softmax_to_cdf(const float* logits, int n, int total_bits, uint32_t* cdf);

}  // namespace pcstream::nn
