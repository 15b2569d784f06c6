// Splat stream v2 core: sliced column coder and dequantisation kernels.
#include <cmath>
#include <cstdint>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/splat_dequantise.hpp"
#include "pcstream/splat_residual_coder.hpp"
#include "test_harness.hpp"

using namespace pcstream;

TEST_CASE("splat/sliced_columns_roundtrip_threads") {
  const size_t n = splat::kSliceRows + 777;  // two slices
  const int cols = 2;
  std::vector<int32_t> v(n * cols);
  std::vector<uint8_t> side(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i * cols] = static_cast<int32_t>((x >> 8) % 21) - 10;
    v[i * cols + 1] = static_cast<int32_t>(i % 300);
    side[i] = static_cast<uint8_t>(i % 4);
  }
  CHECK(splat::column_slices(n) == 2);
  auto p1 = splat::encode_columns_sliced(v.data(), n, cols, side.data(), 4, nullptr, 1);
  auto p2 = splat::encode_columns_sliced(v.data(), n, cols, side.data(), 4, nullptr, 3);
  CHECK(p1 == p2);
  for (int t : {1, 2, 4}) CHECK(splat::decode_columns_sliced(p1.data(), p1.size(), n, cols, side.data(), 4, nullptr, t) == v);
  // a cut payload: the slice lengths no longer fit; far too short: the row count is impossible
  CHECK_THROWS_CODE((splat::decode_columns_sliced(p1.data(), p1.size() - 1, n, cols, side.data(), 4, nullptr, 2)),
                    ErrorCode::Truncated);
  CHECK_THROWS_CODE((splat::decode_columns_sliced(p1.data(), 12, n, cols, side.data(), 4, nullptr, 2)),
                    ErrorCode::BadLength);

}

TEST_CASE("splat/dequantise_rotations_and_colour") {
  // index 0 dropped, rest zero: identity; index 3 with a large rest is clipped and renormalised
  std::vector<int32_t> c = {0, 0, 0, 0, 3, 1000, -1000, 5};
  std::vector<float> q(8);
  splat::rotations_from_smallest_three(c.data(), 4, c.data() + 1, 4, 2, nullptr, 0.001f, q.data());
  CHECK(q[0] == 1.0f && q[1] == 0.0f && q[2] == 0.0f && q[3] == 0.0f);
  float nn = q[4] * q[4] + q[5] * q[5] + q[6] * q[6] + q[7] * q[7];
  CHECK(std::fabs(nn - 1.0f) < 1e-5f && q[4] >= 0.0f);
  std::vector<int32_t> bad = {4, 0, 0, 0};
  CHECK_THROWS_CODE((splat::rotations_from_smallest_three(bad.data(), 4, bad.data() + 1, 4, 1, nullptr, 1.0f, q.data())),
                    ErrorCode::CorruptPayload);
  const float T[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  std::vector<int32_t> col = {1, 2, 3, -1, -2, -3};
  std::vector<float> out(6);
  splat::dequantise_colour(col.data(), 1, 2, 0.5f, T, out.data());
  CHECK(out[0] == 0.5f && out[2] == 1.5f && out[5] == -1.5f);
}
