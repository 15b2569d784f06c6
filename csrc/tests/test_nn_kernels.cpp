// The SIMD kernels against a plain scalar definition and against each other:
// bit-exact for every instruction set this CPU runs, channel count, epilogue
// and thread count.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "pcstream/error.hpp"
#include "pcstream/nn_kernels.hpp"
#include "pcstream/nn_runtime.hpp"
#include "pcstream/sparse_neighbors.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::nn;

namespace {

std::vector<Isa> isas() {
  std::vector<Isa> v;
  for (Isa i : {Isa::Baseline, Isa::Avx2, Isa::Avx512})
    if (isa_supported(i)) v.push_back(i);
  return v;
}

bool same_bits(const Matrix& a, const Matrix& b) {
  return a.rows == b.rows && a.cols == b.cols && std::memcmp(a.data.data(), b.data.data(), a.data.size() * 4) == 0;
}

// The documented sum order, one element at a time.
Matrix ref_conv(const Matrix& x, const std::vector<int32_t>& nbr, size_t n_out, size_t K, const float* w,
                const float* bias, size_t cout) {
  Matrix out(n_out, cout);
  for (size_t o = 0; o < n_out; ++o)
    for (size_t co = 0; co < cout; ++co) {
      float acc = bias[co];
      for (size_t j = 0; j < K; ++j) {
        if (nbr[o * K + j] < 0) continue;
        const float* xi = x.row(static_cast<size_t>(nbr[o * K + j]));
        for (size_t ci = 0; ci < x.cols; ++ci) acc += xi[ci] * w[(j * x.cols + ci) * cout + co];
      }
      out.row(o)[co] = acc;
    }
  return out;
}

Matrix ref_linear(const Matrix& x, const float* w, const float* bias, size_t cout) {
  Matrix out(x.rows, cout);
  for (size_t r = 0; r < x.rows; ++r)
    for (size_t co = 0; co < cout; ++co) {
      float acc = bias[co];
      for (size_t ci = 0; ci < x.cols; ++ci) acc += x.row(r)[ci] * w[ci * cout + co];
      out.row(r)[co] = acc;
    }
  return out;
}

Matrix random_matrix(size_t r, size_t c, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Matrix m(r, c);
  for (auto& v : m.data) v = u(rng);
  // Some exact zeros and negative zeros (their signs must survive as in the scalar code).
  for (size_t i = 0; i < m.data.size(); i += 37) m.data[i] = (i / 37) % 2 ? 0.0f : -0.0f;
  return m;
}

}  // namespace

TEST_CASE("nn_kernels/isa_detection") {
  CHECK(isa_supported(Isa::Baseline));
  CHECK(isa_supported(active_isa()));
  std::fprintf(stderr, "  active ISA: %s\n", isa_name(active_isa()));
}

TEST_CASE("nn_kernels/conv_and_linear_exact_across_isas") {
  std::mt19937 rng(17);
  // A clustered voxel set: rows with many and with few neighbours.
  std::vector<int32_t> xyz;
  const size_t n = 2600;
  for (size_t i = 0; i < n; ++i) {
    if (i % 3 == 0) xyz.insert(xyz.end(), {int32_t(i % 14), int32_t(i / 14 % 14), int32_t(i / 196)});
    else xyz.insert(xyz.end(), {int32_t(100 + 3 * (i % 40)), int32_t(7 * (i / 40 % 40)), int32_t(i / 1600 + 50)});
  }
  CoordIndex idx(xyz.data(), n);
  const auto nbr = neighbor_table(idx, xyz.data(), n, 3, 1);
  const size_t K = 27;
  const std::pair<size_t, size_t> shapes[] = {{4, 4}, {8, 8}, {16, 16}, {32, 32}, {64, 64}, {32, 16}, {16, 48}, {24, 24}, {48, 80}};
  for (auto [cin, cout] : shapes) {
    Matrix x = random_matrix(n, cin, rng);
    Matrix wm = random_matrix(K * cin, cout, rng), bm = random_matrix(1, cout, rng);
    const Matrix rc = ref_conv(x, nbr, n, K, wm.data.data(), bm.data.data(), cout);
    const Matrix rl = ref_linear(x, wm.data.data(), bm.data.data(), cout);
    const ConvPlan plan = make_conv_plan(nbr.data(), n, K, n, 2);
    Matrix residual = random_matrix(n, cout, rng);
    for (Isa isa : isas())
      for (int threads : {1, 2}) {
        Matrix c;
        conv_apply(plan, rows_of(x), cin, wm.data.data(), bm.data.data(), cout, Epilogue::Store, c, threads, isa);
        CHECK(same_bits(c, rc));
        Matrix cr;
        conv_apply(plan, rows_of(x), cin, wm.data.data(), bm.data.data(), cout, Epilogue::Relu, cr, threads, isa);
        Matrix ca = residual;
        conv_apply(plan, rows_of(x), cin, wm.data.data(), bm.data.data(), cout, Epilogue::AddTo, ca, threads, isa);
        Matrix l;
        linear_apply(rows_of(x), n, cin, wm.data.data(), bm.data.data(), cout, Epilogue::Store, l, threads, isa);
        CHECK(same_bits(l, rl));
        Matrix lr, la = residual, lz = residual;
        linear_apply(rows_of(x), n, cin, wm.data.data(), bm.data.data(), cout, Epilogue::Relu, lr, threads, isa);
        linear_apply(rows_of(x), n, cin, wm.data.data(), bm.data.data(), cout, Epilogue::AddTo, la, threads, isa);
        Matrix cz = residual;
        conv_apply(plan, rows_of(x), cin, wm.data.data(), bm.data.data(), cout, Epilogue::ReluAddTo, cz, threads, isa);
        linear_apply(rows_of(x), n, cin, wm.data.data(), bm.data.data(), cout, Epilogue::ReluAddTo, lz, threads, isa);
        bool ok = true;
        auto same = [](float a, float b) { return std::memcmp(&a, &b, 4) == 0; };
        for (size_t i = 0; i < rc.data.size(); ++i) {
          const float relu = rc.data[i] > 0.0f ? rc.data[i] : 0.0f, add = residual.data[i] + rc.data[i];
          const float lrelu = rl.data[i] > 0.0f ? rl.data[i] : 0.0f, ladd = residual.data[i] + rl.data[i];
          ok = ok && same(relu, cr.data[i]) && same(add, ca.data[i]) && same(residual.data[i] + relu, cz.data[i]);
          ok = ok && same(lrelu, lr.data[i]) && same(ladd, la.data[i]) && same(residual.data[i] + lrelu, lz.data[i]);
        }
        CHECK(ok);
        if (!same_bits(c, rc) || !same_bits(l, rl) || !ok)
          std::fprintf(stderr, "  mismatch: %s, %zu -> %zu channels, %d threads\n", isa_name(isa), cin, cout, threads);
      }
  }
}

TEST_CASE("nn_kernels/plan_selected_rows_and_row_source_index") {
  std::mt19937 rng(23);
  std::vector<int32_t> xyz;
  const size_t n = 700, C = 32;
  for (size_t i = 0; i < n; ++i) xyz.insert(xyz.end(), {int32_t(i % 9), int32_t(i / 9 % 9), int32_t(i / 81)});
  CoordIndex idx(xyz.data(), n);
  const auto nbr = neighbor_table(idx, xyz.data(), n, 3, 1);
  // Every third row, read through an embedding table by index.
  std::vector<int32_t> sel, code(n);
  for (size_t i = 0; i < n; i += 3) sel.push_back(static_cast<int32_t>(i));
  for (auto& c : code) c = static_cast<int32_t>(rng() % 10);
  Matrix table = random_matrix(10, C, rng), w = random_matrix(27 * C, C, rng), b = random_matrix(1, C, rng);
  Matrix x = embedding(table, code.data(), n);
  std::vector<int32_t> sub;
  for (int32_t s : sel) sub.insert(sub.end(), nbr.begin() + s * 27, nbr.begin() + s * 27 + 27);
  const Matrix ref = ref_conv(x, sub, sel.size(), 27, w.data.data(), b.data.data(), C);
  const ConvPlan plan = make_conv_plan(nbr.data(), n, 27, n, 1, sel.data(), sel.size());
  for (Isa isa : isas()) {
    Matrix out;
    conv_apply(plan, RowSource{table.data.data(), C, code.data()}, C, w.data.data(), b.data.data(), C, Epilogue::Store,
               out, 1, isa);
    CHECK(same_bits(out, ref));
  }
  std::vector<int32_t> bad = nbr;
  bad[40] = static_cast<int32_t>(n);
  CHECK_THROWS_CODE(make_conv_plan(bad.data(), n, 27, n, 1), ErrorCode::InvalidArgument);
  bad[40] = -2;
  CHECK_THROWS_CODE(make_conv_plan(bad.data(), n, 27, n, 2), ErrorCode::InvalidArgument);
  std::vector<int32_t> bad_sel = {0, static_cast<int32_t>(n)};
  CHECK_THROWS_CODE(make_conv_plan(nbr.data(), n, 27, n, 1, bad_sel.data(), 2), ErrorCode::InvalidArgument);
}

TEST_CASE("nn_kernels/exp_and_softmax_exact") {
  std::vector<float> xs;
  for (int i = 0; i <= 200000; ++i) xs.push_back(-static_cast<float>(i) * 0.000437f);
  const float specials[] = {0.0f, -0.0f, 1.0f, 3e38f, -87.0f, std::nextafter(-87.0f, -100.0f), std::nextafter(-87.0f, 0.0f),
                            -1e-45f, -1e-30f, -0.34657359f, -0.69314718f, -1e30f,
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN()};
  for (float s : specials) xs.push_back(s);
  while (xs.size() % 16) xs.push_back(-1.0f);
  for (Isa isa : isas()) {
    bool ok = true;
    for (size_t i = 0; i < xs.size(); i += 16) {
      float e[16];
      exp_nonpos16(xs.data() + i, e, isa);
      for (int l = 0; l < 16; ++l) {
        const float r = exp_nonpos(xs[i + l]);
        ok = ok && std::memcmp(&r, &e[l], 4) == 0;
      }
    }
    CHECK(ok);
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0.0f, 10.0f);
    for (int t = 0; t < 3000 && ok; ++t) {
      float logits[16];
      for (auto& v : logits) v = g(rng);
      if (t % 5 == 0) logits[1 + t % 15] = std::numeric_limits<float>::quiet_NaN();
      if (t % 7 == 0) logits[(t + 3) % 16] = -0.0f;
      uint32_t a[17], b[17];
      softmax_to_cdf(logits, 16, 16, a);
      softmax16_to_cdf(logits, 16, b, isa);
      ok = std::memcmp(a, b, sizeof a) == 0;
    }
    CHECK(ok);
    // A NaN first logit makes every weight 0: both versions refuse the row alike.
    float nan_first[16] = {std::numeric_limits<float>::quiet_NaN()};
    uint32_t c[17];
    CHECK_THROWS_CODE(softmax_to_cdf(nan_first, 16, 16, c), ErrorCode::InvalidArgument);
    CHECK_THROWS_CODE(softmax16_to_cdf(nan_first, 16, c, isa), ErrorCode::InvalidArgument);
  }
}
