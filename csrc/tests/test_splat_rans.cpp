// Splat stream v3 core: static-table rANS column coder (splat_rans_coder.hpp).
#include <climits>
#include <cstdint>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/splat_rans_coder.hpp"
#include "pcstream/splat_residual_coder.hpp"
#include "test_harness.hpp"

using namespace pcstream;
namespace R = pcstream::splat::rans;

namespace {

std::vector<int32_t> roundtrip(const std::vector<int32_t>& v, size_t n, int cols, const uint8_t* side, int nside,
                               const int32_t* ext = nullptr) {
  auto p = splat::encode_columns_rans(v.data(), n, cols, side, nside, ext, 1);
  auto p3 = splat::encode_columns_rans(v.data(), n, cols, side, nside, ext, 3);
  CHECK(p == p3);  // bytes independent of the thread count
  auto a = splat::decode_columns_rans(p.data(), p.size(), n, cols, side, nside, ext, 1);
  auto b = splat::decode_columns_rans(p.data(), p.size(), n, cols, side, nside, ext, 2);
  CHECK(a == b);
  return a;
}

uint32_t lcg(uint32_t& x) { x = x * 1664525u + 1013904223u; return x >> 8; }

}  // namespace

TEST_CASE("splat_rans/quantise_counts") {
  std::vector<uint64_t> c(R::kTokens, 0);
  auto f = R::quantise_counts(c);
  for (auto v : f) CHECK(v == 0);  // unused table
  c[5] = 1000;  // one symbol: 4095 plus a companion of 1
  f = R::quantise_counts(c);
  CHECK(f[5] == R::kMaxFreq && f[6] == 1);
  f = R::quantise_counts(c, 4);  // coarse precision: total 16
  CHECK(f[5] == 15 && f[6] == 1);
  c.assign(R::kTokens, 0);
  c[R::kTokens - 1] = 7;  // last symbol alone: the companion sits below it
  f = R::quantise_counts(c);
  CHECK(f[R::kTokens - 1] == R::kMaxFreq && f[R::kTokens - 2] == 1);
  for (int s = 0; s < R::kTokens; ++s) c[s] = s == 0 ? (uint64_t{1} << 40) : 1;  // extreme skew: every symbol >= 1
  f = R::quantise_counts(c);
  uint32_t sum = 0;
  for (int s = 0; s < R::kTokens; ++s) { CHECK(f[s] >= 1 && f[s] <= R::kMaxFreq); sum += f[s]; }
  CHECK(sum == R::kTotal);
  int rb;
  CHECK(R::token_of(15, &rb) == 15 && rb == 0);
  CHECK(R::token_of(16, &rb) == 16 && rb == 3);
  CHECK(R::token_of((uint64_t{1} << 36) - 1, &rb) == R::kTokens - 1 && rb == 34);
}

TEST_CASE("splat_rans/roundtrip_edge_cases") {
  // empty input: one empty slice
  std::vector<int32_t> none;
  CHECK(roundtrip(none, 0, 3, nullptr, 1).empty());
  // one row; constant columns (single-symbol tables at maximum frequency)
  std::vector<int32_t> one = {7, -3};
  CHECK(roundtrip(one, 1, 2, nullptr, 1) == one);
  const size_t n = splat::kSliceRows * 2 + 1001;  // three slices, the last short
  std::vector<int32_t> zeros(n * 2, 0);
  CHECK(roundtrip(zeros, n, 2, nullptr, 1) == zeros);
  // extremes: alternating int32 limits give residuals near 2^32 (the largest tokens, 31+ raw bits)
  std::vector<int32_t> ext(5000);
  for (size_t i = 0; i < ext.size(); ++i) ext[i] = (i % 3 == 0) ? INT32_MIN : (i % 3 == 1 ? INT32_MAX : 0);
  CHECK(roundtrip(ext, ext.size(), 1, nullptr, 1) == ext);
  // mixed: skewed small residuals, a wide uniform column, side classes, many slices
  const int cols = 3;
  std::vector<int32_t> v(n * cols);
  std::vector<uint8_t> side(n);
  uint32_t x = 99;
  for (size_t i = 0; i < n; ++i) {
    v[i * cols] = (lcg(x) % 16 == 0) ? static_cast<int32_t>(lcg(x) % 9) - 4 : 0;
    v[i * cols + 1] = static_cast<int32_t>(lcg(x) % 200000) - 100000;
    v[i * cols + 2] = v[i * cols + 1] / 2 + static_cast<int32_t>(lcg(x) % 5);
    side[i] = static_cast<uint8_t>(lcg(x) % 5);
  }
  CHECK(roundtrip(v, n, cols, side.data(), 5) == v);
  // external prediction (mode 3)
  std::vector<int32_t> e(v.size());
  for (size_t i = 0; i < v.size(); ++i) e[i] = v[i] + static_cast<int32_t>(lcg(x) % 3) - 1;
  CHECK(roundtrip(v, n, cols, side.data(), 5, e.data()) == v);
}

TEST_CASE("splat_rans/sorted_keys") {
  std::vector<uint64_t> none;
  auto p0 = splat::encode_sorted_keys_rans(none.data(), 0, 1);
  CHECK(splat::decode_sorted_keys_rans(p0.data(), p0.size(), 0, 30, 1).empty());
  const size_t n = splat::kSliceRows + 500;  // two slices: the second's deltas continue the first's keys
  std::vector<uint64_t> k(n);
  uint32_t x = 1;
  uint64_t v = 12345;
  for (size_t i = 0; i < n; ++i) { v += (lcg(x) % 4 == 0) ? 0 : (lcg(x) % 64 == 0 ? lcg(x) * 1000ull : lcg(x) % 50); k[i] = v; }
  k[n - 1] = (uint64_t{1} << 62) + 5;  // a huge last gap (61 raw bits)
  auto p = splat::encode_sorted_keys_rans(k.data(), n, 1);
  CHECK(p == splat::encode_sorted_keys_rans(k.data(), n, 2));
  CHECK(splat::decode_sorted_keys_rans(p.data(), p.size(), n, 63, 2) == k);
  CHECK_THROWS_CODE((splat::decode_sorted_keys_rans(p.data(), p.size(), n, 40, 1)), ErrorCode::CorruptPayload);
  for (size_t cut = 0; cut < 400; ++cut) {
    try { splat::decode_sorted_keys_rans(p.data(), cut, n, 63, 1); CHECK(false); } catch (const Error&) {}
  }
  std::vector<uint64_t> unsorted = {5, 3};
  CHECK_THROWS_CODE((splat::encode_sorted_keys_rans(unsorted.data(), 2, 1)), ErrorCode::InvalidArgument);
}

TEST_CASE("splat_rans/corrupt_payloads_give_typed_errors") {
  const size_t n = 3000;
  const int cols = 2;
  std::vector<int32_t> v(n * cols);
  uint32_t x = 5;
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(lcg(x) % 300) - 150;
  auto p = splat::encode_columns_rans(v.data(), n, cols, nullptr, 1, nullptr, 1);
  // shape mismatch; impossible row count for the bytes
  CHECK_THROWS_CODE((splat::decode_columns_rans(p.data(), p.size(), n + 1, cols, nullptr, 1, nullptr, 1)),
                    ErrorCode::CorruptPayload);
  // every truncation and many single-byte corruptions: a typed error or a correct-shape output, never a crash
  int errors = 0;
  for (size_t cut = 0; cut < p.size(); ++cut) {
    try { splat::decode_columns_rans(p.data(), cut, n, cols, nullptr, 1, nullptr, 1); } catch (const Error&) { ++errors; }
  }
  CHECK(errors == static_cast<int>(p.size()));
  for (size_t pos = 0; pos < p.size(); pos += 7) {
    auto q = p;
    q[pos] ^= static_cast<uint8_t>(1 + lcg(x) % 255);
    try {
      auto out = splat::decode_columns_rans(q.data(), q.size(), n, cols, nullptr, 1, nullptr, 2);
      CHECK(out.size() == n * cols);
    } catch (const Error&) {
    }
  }
  // a table whose frequencies do not sum to 4096 / exceed the maximum
  std::vector<int32_t> zero(10, 0);
  auto z = splat::encode_columns_rans(zero.data(), 10, 1, nullptr, 1, nullptr, 1);
  // head: rows, cols, nside, plan (mode, offset) = 5 bytes, then 6 tables: the first used one is
  // [m = 2, shift 5, 127, 1] (10 samples: 7-bit precision is cheapest)
  size_t t0 = 5;
  CHECK(z[t0] == 2 && z[t0 + 1] == 5 && z[t0 + 2] == 127 && z[t0 + 3] == 1);
  auto bad = z;
  bad[t0 + 3] = 2;  // companion frequency 2: the sum exceeds the total
  CHECK_THROWS_CODE((splat::decode_columns_rans(bad.data(), bad.size(), 10, 1, nullptr, 1, nullptr, 1)),
                    ErrorCode::CorruptPayload);
  bad = z;
  bad[t0] = R::kTokens + 1;  // table larger than the alphabet
  CHECK_THROWS_CODE((splat::decode_columns_rans(bad.data(), bad.size(), 10, 1, nullptr, 1, nullptr, 1)),
                    ErrorCode::CorruptPayload);
  bad = z;
  bad[t0 + 4] = R::kTokens + 1;  // table 1 a copy of table 0: valid
  CHECK(splat::decode_columns_rans(bad.data(), bad.size(), 10, 1, nullptr, 1, nullptr, 1) == zero);
  bad[t0 + 4] = R::kTokens + 2;  // a copy from before the first table
  CHECK_THROWS_CODE((splat::decode_columns_rans(bad.data(), bad.size(), 10, 1, nullptr, 1, nullptr, 1)),
                    ErrorCode::CorruptPayload);
  bad = z;
  bad[t0 + 5] = R::kTokens + 1;  // table 2 a copy of the unused table 1
  CHECK_THROWS_CODE((splat::decode_columns_rans(bad.data(), bad.size(), 10, 1, nullptr, 1, nullptr, 1)),
                    ErrorCode::CorruptPayload);
  bad = z;
  bad[t0 + 1] = 9;  // precision below 4 bits
  CHECK_THROWS_CODE((splat::decode_columns_rans(bad.data(), bad.size(), 10, 1, nullptr, 1, nullptr, 1)),
                    ErrorCode::CorruptPayload);
  bad = z;
  bad[t0 + 1] = 7;  // total 32: the frequency 127 exceeds it
  CHECK_THROWS_CODE((splat::decode_columns_rans(bad.data(), bad.size(), 10, 1, nullptr, 1, nullptr, 1)),
                    ErrorCode::CorruptPayload);
  // a huge announced row count is rejected before allocating
  std::vector<uint8_t> tiny = {0x80, 0x80, 0x80, 0x40, 1, 1, 0, 0};
  try {
    splat::decode_columns_rans(tiny.data(), tiny.size(), size_t{1} << 27, 1, nullptr, 1, nullptr, 1);
    CHECK(false);
  } catch (const Error&) {
  }
}
