#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "pcstream/multisym.hpp"
#include "test_harness.hpp"

using namespace pcstream;

namespace {

std::vector<float> random_probs(std::mt19937& rng, size_t n, int K, float peak) {
  std::vector<float> p(n * K);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (size_t r = 0; r < n; ++r) {
    int hot = static_cast<int>(rng() % K);
    for (int k = 0; k < K; ++k) p[r * K + k] = u(rng) + (k == hot ? peak : 0.0f);
  }
  return p;
}

std::vector<int32_t> sample(std::mt19937& rng, const std::vector<float>& p, size_t n, int K) {
  std::vector<int32_t> s(n);
  for (size_t r = 0; r < n; ++r) {
    double tot = 0;
    for (int k = 0; k < K; ++k) tot += p[r * K + k];
    double x = std::uniform_real_distribution<double>(0, tot)(rng);
    int k = 0;
    for (; k < K - 1; ++k) {
      x -= p[r * K + k];
      if (x < 0) break;
    }
    s[r] = k;
  }
  return s;
}

bool cdf_valid(const uint32_t* c, int K, int P) {
  if (c[0] != 0 || c[K] != (1u << P)) return false;
  for (int i = 0; i < K; ++i)
    if (c[i + 1] <= c[i]) return false;
  return true;
}

}  // namespace

TEST_CASE("multisym/cdf_valid_for_many_shapes") {
  std::mt19937 rng(3);
  for (int P : {1, 4, 8, 12, 15, 16}) {
    for (int K : {1, 2, 3, 16, 17, 255, 256, 1000, 4096}) {
      if (K > (1 << P)) continue;
      auto p = random_probs(rng, 20, K, 50.0f);
      if (K > 1) p[3 * K] = 0.0f;  // zero entries still get frequency 1
      std::vector<uint32_t> cdf(20 * (K + 1));
      probs_to_cdf(p.data(), 20, K, P, cdf.data());
      bool ok = true;
      for (int r = 0; r < 20; ++r) ok = ok && cdf_valid(&cdf[r * (K + 1)], K, P);
      CHECK(ok);
    }
  }
}

TEST_CASE("multisym/cdf_proportional_and_exact") {
  // Exactly representable proportions give the exact integer frequencies.
  float p[4] = {0.5f, 0.25f, 0.125f, 0.125f};
  uint32_t cdf[5];
  probs_to_cdf_row(p, 4, 10, cdf);
  // A = 1020: g = 510, 255, 127.5->128, 128 -> sum 1021, R=-1 on g[0].
  CHECK(cdf[1] == 510);
  CHECK(cdf[2] == 510 + 256);
  CHECK(cdf[4] == 1024);
  // K == 2^P: every symbol gets frequency 1.
  float q[4] = {1, 0, 0, 0};
  probs_to_cdf_row(q, 4, 2, cdf);
  CHECK(cdf[1] == 1 && cdf[2] == 2 && cdf[3] == 3 && cdf[4] == 4);
}

TEST_CASE("multisym/cdf_large_negative_remainder_fallback") {
  // Many tied tiny values rounding up: the remainder exceeds the max entry.
  const int K = 40000;
  std::vector<float> p(K, 1.0f);
  std::vector<uint32_t> cdf(K + 1);
  probs_to_cdf_row(p.data(), K, 16, cdf.data());
  CHECK(cdf_valid(cdf.data(), K, 16));
}

TEST_CASE("multisym/cdf_threads_identical") {
  std::mt19937 rng(5);
  const size_t n = 10000;
  const int K = 37;
  auto p = random_probs(rng, n, K, 3.0f);
  std::vector<uint32_t> a(n * (K + 1)), b(n * (K + 1));
  probs_to_cdf(p.data(), n, K, 16, a.data(), 1);
  probs_to_cdf(p.data(), n, K, 16, b.data(), 2);
  CHECK(a == b);
}

TEST_CASE("multisym/invalid_rows") {
  uint32_t cdf[5];
  float nan_row[4] = {0.1f, std::numeric_limits<float>::quiet_NaN(), 0.2f, 0.3f};
  float neg_row[4] = {0.1f, -0.1f, 0.2f, 0.3f};
  float zero_row[4] = {0, 0, -0.0f, 0};
  float inf_row[4] = {0.1f, std::numeric_limits<float>::infinity(), 0.2f, 0.3f};
  float big_row[4] = {3e38f, 3e38f, 3e38f, 3e38f};
  float tiny_row[4] = {1e-45f, 0, 0, 0};
  CHECK_THROWS_CODE(probs_to_cdf_row(nan_row, 4, 16, cdf), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(probs_to_cdf_row(neg_row, 4, 16, cdf), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(probs_to_cdf_row(zero_row, 4, 16, cdf), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(probs_to_cdf_row(inf_row, 4, 16, cdf), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(probs_to_cdf_row(big_row, 4, 16, cdf), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(probs_to_cdf_row(tiny_row, 4, 16, cdf), ErrorCode::InvalidArgument);  // flushed: all zero
  float small_row[4] = {1e-20f, 0, 3e-20f, 0};
  probs_to_cdf_row(small_row, 4, 16, cdf);
  CHECK(cdf_valid(cdf, 4, 16) && cdf[2] - cdf[1] == 1 && cdf[1] == 16384);
  CHECK_THROWS_CODE(probs_to_cdf_row(tiny_row, 4, 17, cdf), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(probs_to_cdf_row(tiny_row, 4, 0, cdf), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(probs_to_cdf_row(tiny_row, 4, 1, cdf), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(probs_to_cdf_row(tiny_row, 0, 8, cdf), ErrorCode::InvalidArgument);
}

TEST_CASE("multisym/roundtrip_probs_and_cdf") {
  std::mt19937 rng(7);
  for (int K : {2, 16, 256}) {
    const size_t n = 5000;
    auto p = random_probs(rng, n, K, 10.0f);
    auto s = sample(rng, p, n, K);
    for (int P : {12, 16}) {
      auto bytes = encode_symbols_probs(s.data(), p.data(), n, K, P);
      std::vector<int32_t> out(n, -1);
      decode_symbols_probs(bytes.data(), bytes.size(), p.data(), n, K, P, out.data());
      CHECK(out == s);
      std::vector<uint32_t> cdf(n * (K + 1));
      probs_to_cdf(p.data(), n, K, P, cdf.data());
      auto bytes2 = encode_symbols_cdf(s.data(), cdf.data(), n, K, P);
      CHECK(bytes2 == bytes);
      std::fill(out.begin(), out.end(), -1);
      decode_symbols_cdf(bytes2.data(), bytes2.size(), cdf.data(), n, K, P, out.data());
      CHECK(out == s);
    }
  }
}

TEST_CASE("multisym/interleaved_with_binary") {
  std::mt19937 rng(9);
  const int K = 16;
  const size_t n = 2000;
  auto p = random_probs(rng, n, K, 5.0f);
  auto s = sample(rng, p, n, K);
  RangeEncoder enc;
  BinContext c;
  for (size_t i = 0; i < n; ++i) {
    enc.encode_bit(c, s[i] & 1);
    encode_symbols_probs(enc, &s[i], &p[i * K], 1, K, 16);
  }
  auto& out = enc.finish();
  RangeDecoder dec(out.data(), out.size());
  BinContext d;
  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    int b = dec.decode_bit(d);
    int32_t v;
    decode_symbols_probs(dec, &p[i * K], 1, K, 16, &v);
    ok = ok && v == s[i] && b == (s[i] & 1);
  }
  CHECK(ok);
  CHECK(!dec.overrun());
}

TEST_CASE("multisym/zero_frequency_cdf_entries") {
  // Integer CDFs may give a symbol frequency 0: codable symbols still round-trip.
  uint32_t cdf[5] = {0, 0, 30000, 30000, 65536};
  int32_t s[6] = {1, 3, 1, 1, 3, 3};
  std::vector<uint32_t> rows;
  for (int i = 0; i < 6; ++i) rows.insert(rows.end(), cdf, cdf + 5);
  auto bytes = encode_symbols_cdf(s, rows.data(), 6, 4, 16);
  int32_t out[6];
  decode_symbols_cdf(bytes.data(), bytes.size(), rows.data(), 6, 4, 16, out);
  CHECK(std::memcmp(out, s, sizeof s) == 0);
  int32_t z = 0;
  CHECK_THROWS_CODE(encode_symbols_cdf(&z, rows.data(), 1, 4, 16), ErrorCode::InvalidArgument);
  uint32_t bad[5] = {0, 40000, 30000, 50000, 65536};
  CHECK_THROWS_CODE(encode_symbols_cdf(s, bad, 1, 4, 16), ErrorCode::InvalidArgument);
  int32_t o;
  CHECK_THROWS_CODE(decode_symbols_cdf(bytes.data(), bytes.size(), bad, 1, 4, 16, &o), ErrorCode::InvalidArgument);
  int32_t big = 4;
  CHECK_THROWS_CODE(encode_symbols_cdf(&big, rows.data(), 1, 4, 16), ErrorCode::InvalidArgument);
}

TEST_CASE("multisym/truncated_and_trailing_bytes") {
  std::mt19937 rng(11);
  const int K = 16;
  const size_t n = 3000;
  auto p = random_probs(rng, n, K, 2.0f);
  auto s = sample(rng, p, n, K);
  auto bytes = encode_symbols_probs(s.data(), p.data(), n, K, 16);
  std::vector<int32_t> out(n);
  for (size_t cut : {size_t{0}, size_t{1}, bytes.size() / 2, bytes.size() - 1}) {
    CHECK_THROWS_CODE(decode_symbols_probs(bytes.data(), cut, p.data(), n, K, 16, out.data()),
                      ErrorCode::CorruptPayload);
  }
  auto longer = bytes;
  longer.push_back(0);
  CHECK_THROWS_CODE(decode_symbols_probs(longer.data(), longer.size(), p.data(), n, K, 16, out.data()),
                    ErrorCode::CorruptPayload);
  // Bit flips: either a typed error or some decoded symbols, never a crash.
  for (int t = 0; t < 50; ++t) {
    auto bad = bytes;
    bad[rng() % bad.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    try {
      decode_symbols_probs(bad.data(), bad.size(), p.data(), n, K, 16, out.data());
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::CorruptPayload);
    }
    bool in_range = true;
    for (auto v : out) in_range = in_range && v >= 0 && v < K;
    CHECK(in_range);
  }
}

TEST_CASE("multisym/near_ideal_rate") {
  // Coded size stays within 0.5 % + a few bytes of the model's cross-entropy.
  std::mt19937 rng(13);
  const int K = 256;
  const size_t n = 20000;
  auto p = random_probs(rng, n, K, 100.0f);
  auto s = sample(rng, p, n, K);
  double bits = 0;
  for (size_t r = 0; r < n; ++r) {
    double tot = 0;
    for (int k = 0; k < K; ++k) tot += p[r * K + k];
    bits -= std::log2(p[r * K + s[r]] / tot);
  }
  auto bytes = encode_symbols_probs(s.data(), p.data(), n, K, 16);
  CHECK(bytes.size() * 8.0 < bits * 1.005 + 64);
}

#include "../src/multisym_kernels.hpp"

TEST_CASE("multisym/simd_kernels_match_generic") {
  using namespace pcstream::detail;
  const Kernels& gk = generic_kernels();
  const Kernels& bk = best_kernels();
  std::fprintf(stderr, "  multisym kernels: %s\n", bk.name);
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const float specials[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 1e-38f, 1.1754944e-38f, 3e38f, 1e-30f, 1e30f,
                            std::numeric_limits<float>::infinity(), -1.0f,
                            std::numeric_limits<float>::quiet_NaN()};
  int mismatches = 0, rows = 0;
  for (int K : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 63, 64, 100, 255, 256, 257, 1000, 5000}) {
    for (int P : {8, 12, 16}) {
      if (K > (1 << P)) continue;
      for (int t = 0; t < 30; ++t) {
        std::vector<float> p(K);
        float scale = std::pow(10.0f, static_cast<float>(static_cast<int>(rng() % 60) - 30));
        for (auto& v : p) v = u(rng) * (rng() % 4 == 0 ? 0.0f : scale);
        if (t % 3 == 0) p[rng() % K] = specials[rng() % (sizeof specials / sizeof specials[0])];
        if (t % 5 == 0) p[rng() % K] = 1000.0f * scale;
        std::vector<uint32_t> g1(row_scratch_size(K)), g2(row_scratch_size(K)), c1(K + 1), c2(K + 1);
        const char* e1 = gk.row_freqs(p.data(), K, P, g1.data());
        const char* e2 = bk.row_freqs(p.data(), K, P, g2.data());
        ++rows;
        if ((e1 == nullptr) != (e2 == nullptr)) { ++mismatches; continue; }
        if (e1) continue;
        gk.prefix(g1.data(), K, c1.data());
        bk.prefix(g2.data(), K, c2.data());
        if (c1 != c2 || !cdf_valid(c1.data(), K, P)) { ++mismatches; continue; }
        if (!gk.cdf_ok(c1.data(), K, 1u << P) || !bk.cdf_ok(c1.data(), K, 1u << P)) ++mismatches;
        for (int q = 0; q < 20; ++q) {
          uint32_t v = rng() % (1u << P);
          if (gk.count_le(c1.data(), K, v) != bk.count_le(c1.data(), K, v)) ++mismatches;
        }
      }
    }
  }
  CHECK(mismatches == 0);
  CHECK(rows > 1000);
}

TEST_CASE("multisym/cdf_ok_rejects_unsigned_wrap") {
  using namespace pcstream::detail;
  for (const Kernels* k : {&generic_kernels(), &best_kernels()}) {
    std::vector<uint32_t> c(18);
    for (int i = 0; i <= 17; ++i) c[i] = i * 65536u / 17;
    c[17] = 65536;
    CHECK(k->cdf_ok(c.data(), 17, 65536));
    c[9] = 0x80000000u;
    CHECK(!k->cdf_ok(c.data(), 17, 65536));
    c[9] = c[8] - 1;
    CHECK(!k->cdf_ok(c.data(), 17, 65536));
  }
}
