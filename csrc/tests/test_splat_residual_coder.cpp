#include <algorithm>
#include <random>

#include "pcstream/error.hpp"
#include "pcstream/splat_residual_coder.hpp"
#include "test_harness.hpp"

using namespace pcstream;

TEST_CASE("splat/columns_roundtrip") {
  std::mt19937 rng(7);
  size_t n = 5000;
  int cols = 5;
  std::vector<int32_t> v(n * cols);
  std::vector<uint8_t> side(n);
  for (size_t i = 0; i < n; ++i) {
    side[i] = rng() % 3;
    for (int c = 0; c < cols; ++c)
      v[i * cols + c] = c == 0 ? int32_t(rng() % 256) : c == 1 ? int32_t(rng() % 7) - 3
                      : c == 2 ? (i ? v[(i - 1) * cols + 2] + int32_t(rng() % 3) - 1 : 0)
                      : c == 3 ? (rng() % 50 == 0 ? INT32_MIN + 5 : 0) : INT32_MAX - int32_t(rng() % 10);
  }
  auto p = splat::encode_columns(v.data(), n, cols, side.data(), 3);
  auto d = splat::decode_columns(p.data(), p.size(), n, cols, side.data(), 3);
  CHECK(d == v);
  // Truncated and shape-mismatched payloads give typed errors.
  CHECK_THROWS_CODE((splat::decode_columns(p.data(), p.size() / 2, n, cols, side.data(), 3)), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE((splat::decode_columns(p.data(), p.size(), n + 1, cols, side.data(), 3)), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE((splat::decode_columns(p.data(), 2, n, cols, side.data(), 3)), ErrorCode::Truncated);
}

TEST_CASE("splat/columns_empty") {
  auto p = splat::encode_columns(nullptr, 0, 3, nullptr, 1);
  auto d = splat::decode_columns(p.data(), p.size(), 0, 3, nullptr, 1);
  CHECK(d.empty());
}

TEST_CASE("splat/keys_roundtrip") {
  std::mt19937_64 rng(3);
  std::vector<uint64_t> k(20000);
  for (auto& x : k) x = rng() >> 13;  // 51 bits
  k.push_back((uint64_t{1} << 51) - 1);
  k.push_back((uint64_t{1} << 51) - 1);
  std::sort(k.begin(), k.end());
  auto p = splat::encode_sorted_keys(k.data(), k.size());
  CHECK(splat::decode_sorted_keys(p.data(), p.size(), k.size(), 51) == k);
  CHECK_THROWS_CODE((splat::decode_sorted_keys(p.data(), p.size(), k.size(), 40)), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE((splat::decode_sorted_keys(p.data(), p.size() / 3, k.size(), 51)), ErrorCode::CorruptPayload);
  std::vector<uint64_t> one{(uint64_t{1} << 20) - 1};
  auto q = splat::encode_sorted_keys(one.data(), 1);
  CHECK(splat::decode_sorted_keys(q.data(), q.size(), 1, 20) == one);
}

TEST_CASE("splat/columns_external_prediction") {
  std::mt19937 rng(11);
  size_t n = 3000;
  int cols = 3;
  std::vector<int32_t> v(n * cols), ext(n * cols);
  for (size_t i = 0; i < n * cols; ++i) {
    ext[i] = int32_t(rng() % 1000) - 500;
    v[i] = ext[i] + int32_t(rng() % 3) - 1 + 7;  // close to the external prediction
  }
  auto with = splat::encode_columns(v.data(), n, cols, nullptr, 1, ext.data());
  auto without = splat::encode_columns(v.data(), n, cols, nullptr, 1, nullptr);
  CHECK(with.size() * 3 < without.size());
  CHECK(splat::decode_columns(with.data(), with.size(), n, cols, nullptr, 1, ext.data()) == v);
  // A payload that needs the external prediction cannot be decoded without it.
  CHECK_THROWS_CODE((splat::decode_columns(with.data(), with.size(), n, cols, nullptr, 1, nullptr)),
                    ErrorCode::CorruptPayload);
}
