// Unit tests of the attribute codecs: value mapping, Morton order, residual
// coder, lossless codec (3) and RAHT codec (4), including corrupt payloads.
#include <cmath>
#include <cstring>
#include <random>

#include "pcstream/attr_common.hpp"
#include "pcstream/attr_lossless.hpp"
#include "pcstream/morton.hpp"
#include "pcstream/raht.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::attr;

namespace {

// A small noisy surface: z = f(x, y), with some duplicate points.
std::vector<uint32_t> surface_points(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> p;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = rng() % 200, y = rng() % 200;
    const uint32_t z = static_cast<uint32_t>(100 + 30 * std::sin(x * 0.05) + (rng() % 3));
    p.insert(p.end(), {x, y, z});
    if (i % 17 == 0 && i + 1 < n) { p.insert(p.end(), {x, y, z}); ++i; }
  }
  return p;
}

}  // namespace

TEST_CASE("attributes/ordered_mapping_roundtrip_and_order") {
  const float fs[] = {-1e30f, -2.5f, -0.0f, 0.0f, 1e-30f, 3.5f, INFINITY};
  uint64_t prev = 0;
  for (int i = 0; i < 7; ++i) {
    const uint64_t o = load_ordered(reinterpret_cast<const uint8_t*>(fs), i, ValueType::F32);
    if (i) CHECK(o > prev);
    prev = o;
    float back;
    store_ordered(reinterpret_cast<uint8_t*>(&back), 0, ValueType::F32, o);
    CHECK(std::memcmp(&back, &fs[i], 4) == 0);
  }
  const int16_t is[] = {-32768, -1, 0, 1, 32767};
  prev = 0;
  for (int i = 0; i < 5; ++i) {
    const uint64_t o = load_ordered(reinterpret_cast<const uint8_t*>(is), i, ValueType::I16);
    if (i) CHECK(o > prev);
    prev = o;
    int16_t back;
    store_ordered(reinterpret_cast<uint8_t*>(&back), 0, ValueType::I16, o);
    CHECK(back == is[i]);
  }
}

TEST_CASE("attributes/morton_order_sorts_stably") {
  const uint32_t pts[] = {3, 3, 3, 0, 0, 0, 3, 3, 3, 1, 0, 0};
  MortonOrder o = morton_order(pts, 4);
  CHECK(!o.identity);
  REQUIRE(o.perm.size() == 4);
  CHECK(o.perm[0] == 1 && o.perm[1] == 3 && o.perm[2] == 0 && o.perm[3] == 2);
  uint32_t x, y, z;
  morton_decode(morton_encode(123456, 7, 2097151), x, y, z);
  CHECK(x == 123456 && y == 7 && z == 2097151);
  const uint32_t bad[] = {1u << 21, 0, 0};
  CHECK_THROWS_CODE(morton_order(bad, 1), ErrorCode::InvalidArgument);
}

TEST_CASE("attributes/residual_coder_extremes") {
  const uint64_t mags[] = {0, 1, 2, 3, 1000, 1ull << 40, ~0ull};
  RangeEncoder enc;
  ResidualContexts ce;
  for (uint64_t m : mags) encode_magnitude(enc, ce, m, m & 1);
  auto& out = enc.finish();
  RangeDecoder dec(out.data(), out.size());
  ResidualContexts cd;
  for (uint64_t m : mags) {
    int neg = 0;
    CHECK(decode_magnitude(dec, cd, neg) == m);
    CHECK(neg == (m ? int(m & 1) : 0));
  }
  CHECK(!dec.overrun());
}

TEST_CASE("attributes/lossless_roundtrip_types") {
  const auto pts = surface_points(3000, 1);
  const size_t n = pts.size() / 3;
  std::mt19937_64 rng(7);
  for (int t = 0; t < kValueTypeCount; ++t) {
    const ValueType type = static_cast<ValueType>(t);
    for (int comps : {1, 3}) {
      std::vector<uint8_t> v(n * comps * value_width(type));
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i % 7 == 0 ? rng() : (i / 64) & 0xFF);
      const auto payload = encode_lossless(pts.data(), n, v.data(), type, comps);
      std::vector<uint8_t> back(v.size());
      decode_lossless(pts.data(), n, payload.data(), payload.size(), type, comps, back.data());
      CHECK(back == v);
    }
  }
}

TEST_CASE("attributes/lossless_small_alphabet_and_constant") {
  const auto pts = surface_points(2000, 2);
  const size_t n = pts.size() / 3;
  std::vector<uint8_t> v(n * 2);
  for (size_t i = 0; i < n; ++i) { v[2 * i] = static_cast<uint8_t>(pts[3 * i] / 50); v[2 * i + 1] = 9; }
  const auto payload = encode_lossless(pts.data(), n, v.data(), ValueType::U8, 2);
  std::vector<uint8_t> back(v.size());
  decode_lossless(pts.data(), n, payload.data(), payload.size(), ValueType::U8, 2, back.data());
  CHECK(back == v);
  CHECK(payload.size() < n / 4);
}

TEST_CASE("attributes/lossless_corrupt_payloads") {
  const auto pts = surface_points(1000, 3);
  const size_t n = pts.size() / 3;
  std::vector<uint8_t> v(n * 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 31);
  const auto payload = encode_lossless(pts.data(), n, v.data(), ValueType::U16, 1);
  std::vector<uint8_t> back(v.size());
  CHECK_THROWS_CODE(decode_lossless(pts.data(), n, payload.data(), 3, ValueType::U16, 1, back.data()), ErrorCode::Truncated);
  CHECK_THROWS_CODE(decode_lossless(pts.data(), n, payload.data(), payload.size() / 2, ValueType::U16, 1, back.data()), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE(decode_lossless(pts.data(), n, payload.data(), payload.size(), ValueType::U8, 1, back.data()), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE(decode_lossless(pts.data(), n - 1, payload.data(), payload.size(), ValueType::U16, 1, back.data()), ErrorCode::CorruptPayload);
  auto bad = payload;
  bad[0] = 99;
  CHECK_THROWS_CODE(decode_lossless(pts.data(), n, bad.data(), bad.size(), ValueType::U16, 1, back.data()), ErrorCode::UnsupportedCodec);
  // Random byte flips: a typed error or some output, never a crash.
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    bad = payload;
    bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    try {
      decode_lossless(pts.data(), n, bad.data(), bad.size(), ValueType::U16, 1, back.data());
    } catch (const Error&) {
    }
  }
}

TEST_CASE("attributes/raht_roundtrip_error_bound") {
  const auto pts = surface_points(4000, 4);
  const size_t n = pts.size() / 3;
  std::vector<uint8_t> rgb(3 * n);
  for (size_t i = 0; i < n; ++i) {
    rgb[3 * i] = static_cast<uint8_t>(pts[3 * i]);
    rgb[3 * i + 1] = static_cast<uint8_t>(128 + 100 * std::sin(pts[3 * i + 1] * 0.1));
    rgb[3 * i + 2] = static_cast<uint8_t>(pts[3 * i + 2]);
  }
  double prev_mse = 1e30;
  size_t prev_size = 0;
  for (double q : {20.0, 40.0, 60.0, 80.0}) {
    RahtOptions opt;
    opt.quality = q;
    const auto payload = encode_raht(pts.data(), n, rgb.data(), ValueType::U8, 3, opt);
    std::vector<uint8_t> out(3 * n);
    decode_raht(pts.data(), n, payload.data(), payload.size(), ValueType::U8, 3, out.data());
    double mse = 0;
    for (size_t i = 0; i < n; ++i) {
      const double y0 = 0.2126 * rgb[3 * i] + 0.7152 * rgb[3 * i + 1] + 0.0722 * rgb[3 * i + 2];
      const double y1 = 0.2126 * out[3 * i] + 0.7152 * out[3 * i + 1] + 0.0722 * out[3 * i + 2];
      mse += (y0 - y1) * (y0 - y1);
    }
    mse /= n;
    CHECK(std::sqrt(mse) <= raht_step(q) + 0.5);
    CHECK(mse <= prev_mse + 1e-9);
    CHECK(payload.size() >= prev_size);
    prev_mse = mse;
    prev_size = payload.size();
    // Deterministic.
    CHECK(encode_raht(pts.data(), n, rgb.data(), ValueType::U8, 3, opt) == payload);
  }
}

TEST_CASE("attributes/raht_corrupt_payloads") {
  const auto pts = surface_points(2000, 6);
  const size_t n = pts.size() / 3;
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(pts[3 * i] + pts[3 * i + 1]);
  RahtOptions opt;
  opt.quality = 60;
  const auto payload = encode_raht(pts.data(), n, v.data(), ValueType::U8, 1, opt);
  std::vector<uint8_t> out(n);
  CHECK_THROWS_CODE(decode_raht(pts.data(), n, payload.data(), 4, ValueType::U8, 1, out.data()), ErrorCode::Truncated);
  CHECK_THROWS_CODE(decode_raht(pts.data(), n, payload.data(), payload.size() / 2, ValueType::U8, 1, out.data()), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE(decode_raht(pts.data(), n, payload.data(), payload.size(), ValueType::U16, 1, out.data()), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE(decode_raht(pts.data(), n, payload.data(), payload.size(), ValueType::U8, 3, out.data()), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE(encode_raht(pts.data(), n, v.data(), ValueType::F32, 1, opt), ErrorCode::InvalidArgument);
  std::mt19937 rng(9);
  for (int trial = 0; trial < 200; ++trial) {
    auto bad = payload;
    bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    try {
      decode_raht(pts.data(), n, bad.data(), bad.size(), ValueType::U8, 1, out.data());
    } catch (const Error&) {
    }
  }
}
