#include <algorithm>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/nn_kernels.hpp"
#include "pcstream/nn_runtime.hpp"
#include "pcstream/parallel_rows.hpp"

namespace pcstream::nn {
namespace {

void check_channels(size_t c, const char* what) {
  if (c == 0 || c > kMaxChannels) fail(ErrorCode::InvalidArgument, std::string(what) + ": channel count out of range");
}

}  // namespace

Matrix embedding(const Matrix& table, const int32_t* idx, size_t n, int threads) {
  for (size_t i = 0; i < n; ++i)
    if (idx[i] < 0 || static_cast<size_t>(idx[i]) >= table.rows)
      fail(ErrorCode::InvalidArgument, "embedding: index out of range");
  Matrix out = Matrix::uninit(n, table.cols);
  parallel_rows(n, threads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) std::copy_n(table.row(static_cast<size_t>(idx[i])), table.cols, out.row(i));
  });
  return out;
}

Matrix sparse_conv(const Matrix& x, const std::vector<int32_t>& nbr, size_t n_out, size_t K, const float* w,
                   const float* bias, size_t cout, int threads) {
  check_channels(x.cols, "sparse_conv input");
  check_channels(cout, "sparse_conv output");
  if (K == 0 || nbr.size() != n_out * K) fail(ErrorCode::InvalidArgument, "sparse_conv: neighbour table size mismatch");
  const ConvPlan plan = make_conv_plan(nbr.data(), n_out, K, x.rows, threads);
  Matrix out;
  conv_apply(plan, rows_of(x), x.cols, w, bias, cout, Epilogue::Store, out, threads);
  return out;
}

Matrix linear(const Matrix& x, const float* w, const float* bias, size_t cout, int threads) {
  check_channels(x.cols, "linear input");
  check_channels(cout, "linear output");
  Matrix out;
  linear_apply(rows_of(x), x.rows, x.cols, w, bias, cout, Epilogue::Store, out, threads);
  return out;
}

void relu_inplace(Matrix& x) {
  for (float& v : x.data) v = v > 0.0f ? v : 0.0f;
}

void add_inplace(Matrix& a, const Matrix& b) {
  if (a.rows != b.rows || a.cols != b.cols) fail(ErrorCode::InvalidArgument, "add: shape mismatch");
  for (size_t i = 0; i < a.data.size(); ++i) a.data[i] += b.data[i];
}

Matrix gather_rows(const Matrix& x, const int32_t* rows, size_t n, int threads) { return embedding(x, rows, n, threads); }

}  // namespace pcstream::nn
