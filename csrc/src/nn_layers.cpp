#include <algorithm>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/nn_runtime.hpp"
#include "pcstream/parallel_rows.hpp"

namespace pcstream::nn {
namespace {

void check_channels(size_t c, const char* what) {
  if (c == 0 || c > kMaxChannels) fail(ErrorCode::InvalidArgument, std::string(what) + ": channel count out of range");
}

// acc[co] += xv * w[co]: independent lanes, so vectorisation keeps each sum's order.
inline void axpy(float* acc, float xv, const float* w, size_t cout) {
  for (size_t co = 0; co < cout; ++co) acc[co] += xv * w[co];
}

}  // namespace

Matrix embedding(const Matrix& table, const int32_t* idx, size_t n) {
  Matrix out(n, table.cols);
  for (size_t i = 0; i < n; ++i) {
    if (idx[i] < 0 || static_cast<size_t>(idx[i]) >= table.rows)
      fail(ErrorCode::InvalidArgument, "embedding: index out of range");
    std::copy_n(table.row(static_cast<size_t>(idx[i])), table.cols, out.row(i));
  }
  return out;
}

// Output rows [b, e) of a sparse convolution. Compiled for AVX2 and for the
// baseline ISA (chosen at load time): each lane performs the same float32
// multiply then add (no FMA: -ffp-contract=off), so both give identical bits.
// (A compile-time channel count was measured slower with GCC 12: keep it runtime.)
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void conv_rows(const Matrix& x, const int32_t* nbr, size_t b, size_t e, size_t K, const float* w, const float* bias,
               size_t co_n, Matrix& out) {
  const size_t cin = x.cols;
  float acc[kMaxChannels];
  for (size_t o = b; o < e; ++o) {
  const int32_t* nb = nbr + o * K;
  for (size_t co = 0; co < co_n; ++co) acc[co] = bias[co];
  for (size_t j = 0; j < K; ++j) {
    if (nb[j] < 0) continue;
    const float* xi = x.row(static_cast<size_t>(nb[j]));
    const float* wj = w + j * cin * co_n;
    for (size_t ci = 0; ci < cin; ++ci) {
      const float xv = xi[ci];
      const float* wr = wj + ci * co_n;
      for (size_t co = 0; co < co_n; ++co) acc[co] += xv * wr[co];
    }
  }
  std::copy_n(acc, co_n, out.row(o));
  }
}

Matrix sparse_conv(const Matrix& x, const std::vector<int32_t>& nbr, size_t n_out, size_t K, const float* w,
                   const float* bias, size_t cout, int threads) {
  check_channels(x.cols, "sparse_conv input");
  check_channels(cout, "sparse_conv output");
  if (nbr.size() != n_out * K) fail(ErrorCode::InvalidArgument, "sparse_conv: neighbour table size mismatch");
  for (int32_t i : nbr)
    if (i < -1 || (i >= 0 && static_cast<size_t>(i) >= x.rows))
      fail(ErrorCode::InvalidArgument, "sparse_conv: neighbour index out of range");
  Matrix out(n_out, cout);
  parallel_rows(n_out, threads,
                [&](size_t b, size_t e) { conv_rows(x, nbr.data(), b, e, K, w, bias, cout, out); });
  return out;
}

Matrix linear(const Matrix& x, const float* w, const float* bias, size_t cout, int threads) {
  check_channels(x.cols, "linear input");
  check_channels(cout, "linear output");
  const size_t cin = x.cols;
  Matrix out(x.rows, cout);
  parallel_rows(x.rows, threads, [&](size_t b, size_t e) {
    float acc[kMaxChannels];
    for (size_t r = b; r < e; ++r) {
      for (size_t co = 0; co < cout; ++co) acc[co] = bias[co];
      const float* xr = x.row(r);
      for (size_t ci = 0; ci < cin; ++ci) axpy(acc, xr[ci], w + ci * cout, cout);
      std::copy_n(acc, cout, out.row(r));
    }
  });
  return out;
}

void relu_inplace(Matrix& x) {
  for (float& v : x.data) v = v > 0.0f ? v : 0.0f;
}

void add_inplace(Matrix& a, const Matrix& b) {
  if (a.rows != b.rows || a.cols != b.cols) fail(ErrorCode::InvalidArgument, "add: shape mismatch");
  for (size_t i = 0; i < a.data.size(); ++i) a.data[i] += b.data[i];
}

Matrix gather_rows(const Matrix& x, const int32_t* rows, size_t n) { return embedding(x, rows, n); }

}  // namespace pcstream::nn
