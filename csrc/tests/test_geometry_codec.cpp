#include <algorithm>
#include <random>

#include "pcstream/error.hpp"
#include "pcstream/geometry_codec.hpp"
#include "pcstream/morton.hpp"
#include "test_harness.hpp"

using namespace pcstream;

namespace {

std::vector<uint32_t> random_cloud(size_t n, int depth, uint32_t seed, bool surface) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> p;
  uint32_t lim = depth == 0 ? 1 : (1u << depth);
  for (size_t i = 0; i < n; ++i) {
    uint32_t x = rng() % lim, y = rng() % lim, z = rng() % lim;
    if (surface) z = (x / 2 + y / 3) % lim;  // a plane: dense-like structure
    p.insert(p.end(), {x, y, z});
  }
  for (size_t i = 0; i + 20 < n; i += 17) std::copy_n(&p[3 * (i + 3)], 3, &p[3 * i]);  // duplicates
  return p;
}

std::vector<uint32_t> decode_all(const GeometryEncoding& e, size_t chunks = ~size_t(0)) {
  GeometryDecoder d(e.header.data(), e.header.size());
  for (size_t i = 0; i < e.chunks.size() && i < chunks; ++i) d.feed(e.chunks[i].payload.data(), e.chunks[i].payload.size());
  return d.points();
}

}  // namespace

TEST_CASE("geometry/lossless_roundtrip_depths") {
  for (int depth : {0, 1, 2, 5, 10, 16, 21}) {
    for (bool surface : {false, true}) {
      auto p = random_cloud(2000, depth, 10 + depth, surface);
      GeometryOptions o;
      o.depth = depth;
      auto e = encode_geometry(p.data(), p.size() / 3, o);
      auto q = decode_all(e);
      REQUIRE(q.size() == p.size());
      bool ok = true;
      for (size_t i = 0; i < e.order.size() && ok; ++i)
        for (int k = 0; k < 3; ++k) ok = ok && q[3 * i + k] == p[3 * e.order[i] + k];
      CHECK(ok);
      CHECK(e.chunks.back().point_count == p.size() / 3);
    }
  }
}

TEST_CASE("geometry/prefix_and_lossy_levels") {
  auto p = random_cloud(3000, 12, 3, true);
  size_t n = p.size() / 3;
  GeometryOptions o;
  o.depth = 12;
  auto e = encode_geometry(p.data(), n, o);
  for (size_t c = 1; c <= e.chunks.size(); ++c) {
    GeometryDecoder d(e.header.data(), e.header.size());
    for (size_t i = 0; i < c; ++i) d.feed(e.chunks[i].payload.data(), e.chunks[i].payload.size());
    int L = e.chunks[c - 1].level_hi;
    CHECK(d.level() == L);
    auto q = d.points();
    if (c == e.chunks.size()) continue;
    std::vector<uint64_t> ref;
    for (size_t i = 0; i < n; ++i) ref.push_back(morton_encode(p[3 * i], p[3 * i + 1], p[3 * i + 2]) >> (3 * (12 - L)));
    std::sort(ref.begin(), ref.end());
    ref.erase(std::unique(ref.begin(), ref.end()), ref.end());
    REQUIRE(q.size() == 3 * ref.size());
    CHECK(q.size() / 3 == e.chunks[c - 1].point_count);
    bool ok = true;
    for (size_t i = 0; i < ref.size() && ok; ++i) ok = morton_encode(q[3 * i], q[3 * i + 1], q[3 * i + 2]) == ref[i];
    CHECK(ok);
  }
  o.levels = 7;
  auto el = encode_geometry(p.data(), n, o);
  auto ql = decode_all(el);
  bool ok = el.voxel_of_point.size() == n;
  for (size_t i = 0; i < n && ok; ++i)
    for (int k = 0; k < 3; ++k) ok = ok && ql[3 * el.voxel_of_point[i] + k] == (p[3 * i + k] >> 5);
  CHECK(ok);
}

TEST_CASE("geometry/empty_and_single") {
  GeometryOptions o;
  o.depth = 10;
  auto e = encode_geometry(nullptr, 0, o);
  CHECK(e.chunks.empty());
  CHECK(decode_all(e).empty());
  uint32_t one[3] = {1023, 0, 512};
  auto e1 = encode_geometry(one, 1, o);
  CHECK(decode_all(e1) == std::vector<uint32_t>({1023, 0, 512}));
}

TEST_CASE("geometry/invalid_arguments_and_limits") {
  uint32_t bad[3] = {1024, 0, 0};
  GeometryOptions o;
  o.depth = 10;
  CHECK_THROWS_CODE(encode_geometry(bad, 1, o), ErrorCode::InvalidArgument);
  o.depth = 22;
  CHECK_THROWS_CODE(encode_geometry(bad, 1, o), ErrorCode::InvalidArgument);
  auto p = random_cloud(500, 10, 1, false);
  o.depth = 10;
  auto e = encode_geometry(p.data(), p.size() / 3, o);
  GeometryLimits lim;
  lim.max_points = 100;
  CHECK_THROWS_CODE(GeometryDecoder(e.header.data(), e.header.size(), lim), ErrorCode::LimitExceeded);
  std::vector<uint8_t> h = e.header;
  h[0] = 9;
  CHECK_THROWS_CODE(GeometryDecoder(h.data(), h.size()), ErrorCode::UnsupportedCodec);
  CHECK_THROWS_CODE(GeometryDecoder(e.header.data(), 2), ErrorCode::Truncated);
  // Out-of-order chunk.
  GeometryDecoder d(e.header.data(), e.header.size());
  CHECK_THROWS_CODE(d.feed(e.chunks[1].payload.data(), e.chunks[1].payload.size()), ErrorCode::CorruptPayload);
}

TEST_CASE("geometry/corruption_never_crashes") {
  auto p = random_cloud(1500, 10, 9, true);
  GeometryOptions o;
  o.depth = 10;
  auto e = encode_geometry(p.data(), p.size() / 3, o);
  std::mt19937 rng(4);
  int errors = 0, fine = 0;
  for (int trial = 0; trial < 300; ++trial) {
    auto chunks = e.chunks;
    auto& c = chunks[rng() % chunks.size()].payload;
    if (trial % 2) c.resize(rng() % c.size());
    else c[rng() % c.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    try {
      GeometryDecoder d(e.header.data(), e.header.size());
      for (auto& ch : chunks) d.feed(ch.payload.data(), ch.payload.size());
      (void)d.points();
      ++fine;
    } catch (const Error& err) {
      ++errors;
      CHECK(err.code() == ErrorCode::CorruptPayload || err.code() == ErrorCode::Truncated);
    }
  }
  CHECK(errors > 0);
}
