// Fast octree geometry codec (codec 11, geometry_fast.hpp): round trips, progressive
// prefixes, duplicate counts, and typed errors on damaged headers and payloads.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/geometry_fast.hpp"
#include "pcstream/morton.hpp"
#include "test_harness.hpp"

using namespace pcstream;

namespace {

uint32_t lcg(uint32_t& x) { x = x * 1664525u + 1013904223u; return x >> 8; }

// Clustered points plus exact duplicates.
std::vector<uint32_t> cloud(size_t n, int depth, uint32_t seed) {
  std::vector<uint32_t> p;
  const uint32_t lim = depth >= 32 ? 0xFFFFFFFFu : (1u << depth);
  uint32_t cx = 0, cy = 0, cz = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i % 50 == 0) { cx = lcg(seed) % lim; cy = lcg(seed) % lim; cz = lcg(seed) % lim; }
    if (i % 17 == 5 && i >= 3) { p.insert(p.end(), p.end() - 3, p.end()); continue; }
    const uint32_t r = std::max<uint32_t>(1, lim / 64);
    p.push_back(std::min(lim - 1, cx + lcg(seed) % r));
    p.push_back(std::min(lim - 1, cy + lcg(seed) % r));
    p.push_back(std::min(lim - 1, cz + lcg(seed) % r));
  }
  return p;
}

std::vector<uint32_t> decode_all(const GeometryEncoding& e, uint64_t max_points = uint64_t(1) << 27) {
  GeometryLimits lim;
  lim.max_points = max_points;
  FastGeometryDecoder d(e.header.data(), e.header.size(), lim);
  for (const auto& c : e.chunks) {
    d.feed(c.payload.data(), c.payload.size());
    if (!d.done()) CHECK(d.points().size() == 3 * c.point_count);
  }
  CHECK(d.done());
  return d.points();
}

std::vector<uint32_t> sorted_input(const std::vector<uint32_t>& p, const GeometryEncoding& e) {
  std::vector<uint32_t> out;
  for (uint32_t i : e.order) out.insert(out.end(), &p[3 * i], &p[3 * i + 3]);
  return out;
}

GeometryEncoding enc(const std::vector<uint32_t>& p, int depth, int K = -1, bool adaptive = true) {
  FastGeometryOptions o;
  o.depth = depth;
  o.context_levels = K;
  o.adaptive = adaptive;
  return encode_geometry_fast(p.data(), p.size() / 3, o);
}

}  // namespace

TEST_CASE("geometry_fast/roundtrip") {
  for (int depth : {1, 3, 8, 12, 21}) {
    for (int K : {-1, 0, 2, depth}) {
      if (K > depth) continue;
      for (bool adaptive : {true, false}) {
        auto p = cloud(3000, depth, 7u + static_cast<uint32_t>(depth));
        auto e = enc(p, depth, K, adaptive);
        CHECK(decode_all(e) == sorted_input(p, e));
        auto again = enc(p, depth, K, adaptive);
        CHECK(again.header == e.header && again.chunks.size() == e.chunks.size());
        for (size_t i = 0; i < e.chunks.size() && i < again.chunks.size(); ++i)
          CHECK(again.chunks[i].payload == e.chunks[i].payload);  // deterministic
      }
    }
  }
}

TEST_CASE("geometry_fast/edge_cases") {
  // empty cloud: header only, decoder done at once
  std::vector<uint32_t> none;
  auto e = enc(none, 10);
  CHECK(e.chunks.empty());
  FastGeometryDecoder d0(e.header.data(), e.header.size());
  CHECK(d0.done() && d0.points().empty() && d0.level() == 10);
  // depth 0: every point is the root voxel
  std::vector<uint32_t> zeros(3 * 5, 0);
  e = enc(zeros, 0);
  CHECK(e.chunks.size() == 1 && decode_all(e) == zeros);
  // one point; one voxel with many duplicates (single-symbol tables)
  std::vector<uint32_t> one = {5, 6, 7};
  e = enc(one, 3);
  CHECK(decode_all(e) == one);
  std::vector<uint32_t> dup;
  for (int i = 0; i < 1000; ++i) dup.insert(dup.end(), {1, 2, 3});
  e = enc(dup, 21);
  CHECK(decode_all(e) == dup);
  // corners of the largest cube (coordinates 0 and 2^21 - 1)
  const uint32_t m = (1u << 21) - 1;
  std::vector<uint32_t> corners = {0, 0, 0, m, m, m, 0, m, 0, m, 0, m, m, m, m};
  e = enc(corners, 21, 21);
  CHECK(decode_all(e) == sorted_input(corners, e));
  // a full 8^3 block: every neighbour context in use
  std::vector<uint32_t> block;
  for (uint32_t x = 0; x < 8; ++x)
    for (uint32_t y = 0; y < 8; ++y)
      for (uint32_t z = 0; z < 8; ++z) block.insert(block.end(), {x, y, z});
  e = enc(block, 3, 3);
  CHECK(decode_all(e) == sorted_input(block, e));
}

TEST_CASE("geometry_fast/invalid_arguments") {
  std::vector<uint32_t> p = {8, 0, 0};
  CHECK_THROWS_CODE(enc(p, 3), ErrorCode::InvalidArgument);    // coordinate >= 2^depth
  CHECK_THROWS_CODE(enc(p, 22), ErrorCode::InvalidArgument);   // depth > 21
  CHECK_THROWS_CODE(enc(p, 5, 6), ErrorCode::InvalidArgument); // K > depth
}

TEST_CASE("geometry_fast/bad_headers") {
  auto p = cloud(500, 9, 3);
  auto e = enc(p, 9);
  auto h = e.header;
  auto make = [](std::vector<uint8_t> hh) { FastGeometryDecoder d(hh.data(), hh.size()); };
  auto v = h; v[0] = 2;
  CHECK_THROWS_CODE(make(v), ErrorCode::UnsupportedCodec);
  v = h; v[1] = 22;
  CHECK_THROWS_CODE(make(v), ErrorCode::LimitExceeded);
  v = h; v[2] = 10;  // K > depth
  CHECK_THROWS_CODE(make(v), ErrorCode::CorruptPayload);
  v = h; v.push_back(0);
  CHECK_THROWS_CODE(make(v), ErrorCode::CorruptPayload);
  v = h; v.resize(3);
  CHECK_THROWS_CODE(make(v), ErrorCode::Truncated);
  GeometryLimits lim;
  lim.max_points = 499;  // header announces 500
  CHECK_THROWS_CODE(FastGeometryDecoder(h.data(), h.size(), lim), ErrorCode::LimitExceeded);
}

TEST_CASE("geometry_fast/damaged_payloads") {
  auto p = cloud(2000, 10, 11);
  auto e = enc(p, 10);
  REQUIRE(e.chunks.size() >= 2);
  auto feed_all = [&](size_t which, const std::vector<uint8_t>& payload) {
    FastGeometryDecoder d(e.header.data(), e.header.size());
    for (size_t i = 0; i < e.chunks.size(); ++i) {
      const auto& c = i == which ? payload : e.chunks[i].payload;
      d.feed(c.data(), c.size());
    }
  };
  const size_t last = e.chunks.size() - 1;
  // truncation at every length of the last chunk: a typed error, never a crash
  for (size_t len = 0; len < e.chunks[last].payload.size(); ++len) {
    std::vector<uint8_t> t(e.chunks[last].payload.begin(), e.chunks[last].payload.begin() + len);
    bool thrown = false;
    try { feed_all(last, t); } catch (const Error& err) {
      thrown = err.code() == ErrorCode::Truncated || err.code() == ErrorCode::CorruptPayload;
    }
    CHECK(thrown);
  }
  // every single-byte flip of the first chunk: decodes to something or fails with a typed error
  for (size_t i = 0; i < e.chunks[0].payload.size(); ++i) {
    std::vector<uint8_t> b = e.chunks[0].payload;
    b[i] ^= static_cast<uint8_t>(1u << (i % 8));
    try { feed_all(0, b); } catch (const Error&) {}
  }
  // trailing byte, wrong level range
  std::vector<uint8_t> t = e.chunks[last].payload;
  t.push_back(0);
  CHECK_THROWS_CODE(feed_all(last, t), ErrorCode::CorruptPayload);
  t = e.chunks[0].payload;
  t[0] = 2;
  CHECK_THROWS_CODE(feed_all(0, t), ErrorCode::CorruptPayload);
  // a failed decoder keeps its last complete level and refuses more chunks
  FastGeometryDecoder d(e.header.data(), e.header.size());
  d.feed(e.chunks[0].payload.data(), e.chunks[0].payload.size());
  const int lvl = d.level();
  std::vector<uint8_t> bad(e.chunks[1].payload.begin(), e.chunks[1].payload.begin() + 5);
  CHECK_THROWS_CODE(d.feed(bad.data(), bad.size()), ErrorCode::Truncated);
  CHECK(d.level() == lvl && d.points().size() == 3 * e.chunks[0].point_count);
  CHECK_THROWS_CODE(d.feed(e.chunks[1].payload.data(), e.chunks[1].payload.size()), ErrorCode::InvalidArgument);
}

TEST_CASE("geometry_fast/hostile_counts") {
  // A one-point stream whose header claims more points than the duplicate record gives.
  std::vector<uint32_t> one = {1, 1, 1};
  auto e = enc(one, 1);
  REQUIRE(e.chunks.size() == 1);
  std::vector<uint8_t> h = e.header;
  h[3] = 2;  // n = 2
  FastGeometryDecoder d(h.data(), h.size());
  CHECK_THROWS_CODE(d.feed(e.chunks[0].payload.data(), e.chunks[0].payload.size()), ErrorCode::CorruptPayload);
  // duplicate list longer than the leaves
  std::vector<uint8_t> c = e.chunks[0].payload;
  c.back() = 5;  // q = 5 > 1 leaf
  FastGeometryDecoder d2(e.header.data(), e.header.size());
  CHECK_THROWS_CODE(d2.feed(c.data(), c.size()), ErrorCode::CorruptPayload);
}
