#include <cmath>
#include <random>

#include "learned_test_model.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_levels.hpp"
#include "test_harness.hpp"
#include "test_point_clouds.hpp"

using namespace pcstream;
using namespace pcstream::learned;

namespace {

// Points on a sphere shell, voxelised at `depth`, with some duplicates.
std::vector<uint32_t> sphere(size_t n, int depth, uint32_t seed) {
  return pcstream_test::sphere_shell(n, depth, seed, 0.45);
}

const OccupancyModel& test_model() {
  static OccupancyModel m([] {
    auto f = random_occupancy_model(8, 3, 11);
    auto bytes = nn::write_model_file(f);
    return nn::parse_model_file(bytes.data(), bytes.size());
  }());
  return m;
}

std::vector<uint32_t> decode_all(const Encoded& e, const OccupancyModel& m, int threads) {
  Decoder d(e.header.data(), e.header.size(), m, 1u << 30, threads);
  CHECK(d.chunks_expected() == e.chunks.size());
  for (auto& c : e.chunks) d.feed(c.payload.data(), c.payload.size());
  CHECK(d.done());
  return d.points();
}

}  // namespace

TEST_CASE("geometry_learned/morton") {
  int32_t xyz[3];
  morton_xyz(morton_key(1234567, 7, 2097151), xyz);
  CHECK(xyz[0] == 1234567 && xyz[1] == 7 && xyz[2] == 2097151);
  CHECK(morton_key(1, 0, 0) == 4 && morton_key(0, 1, 0) == 2 && morton_key(0, 0, 1) == 1);
}

TEST_CASE("geometry_learned/roundtrip_and_threads") {
  auto pts = sphere(6000, 8, 1);
  const size_t n = pts.size() / 3;
  Encoded e1 = encode(pts.data(), n, 8, test_model(), 1);
  Encoded e2 = encode(pts.data(), n, 8, test_model(), 2);
  CHECK(e1.header == e2.header && e1.chunks.size() == e2.chunks.size());
  for (size_t i = 0; i < e1.chunks.size() && i < e2.chunks.size(); ++i) CHECK(e1.chunks[i].payload == e2.chunks[i].payload);
  CHECK(e1.chunks.size() > 2);
  auto dec = decode_all(e1, test_model(), 2);
  REQUIRE(dec.size() == pts.size());
  bool ok = true;
  for (size_t i = 0; i < n; ++i)
    for (int a = 0; a < 3; ++a) ok = ok && dec[3 * i + a] == pts[3 * static_cast<size_t>(e1.order[i]) + a];
  CHECK(ok);
}

TEST_CASE("geometry_learned/edge_cases") {
  for (size_t n : {0, 1, 5}) {
    auto pts = sphere(n, 3, 2);
    Encoded e = encode(pts.data(), n, 3, test_model(), 1);
    CHECK(decode_all(e, test_model(), 1).size() == 3 * n);
  }
  std::vector<uint32_t> bad = {8, 0, 0};
  CHECK_THROWS_CODE(encode(bad.data(), 1, 3, test_model(), 1), ErrorCode::InvalidArgument);
}

TEST_CASE("geometry_learned/model_mismatch_and_corruption") {
  auto pts = sphere(3000, 7, 3);
  Encoded e = encode(pts.data(), pts.size() / 3, 7, test_model(), 1);
  auto other_file = random_occupancy_model(8, 3, 12);
  auto bytes = nn::write_model_file(other_file);
  OccupancyModel other(nn::parse_model_file(bytes.data(), bytes.size()));
  CHECK_THROWS_CODE(Decoder(e.header.data(), e.header.size(), other, 1u << 30, 1), ErrorCode::ModelMismatch);
  CHECK_THROWS_CODE(Decoder(e.header.data(), e.header.size(), test_model(), 10, 1), ErrorCode::LimitExceeded);
  // Truncated and garbled chunks raise typed errors.
  for (int mode = 0; mode < 2; ++mode) {
    bool typed = false;
    try {
      Decoder d(e.header.data(), e.header.size(), test_model(), 1u << 30, 1);
      for (auto c : e.chunks) {
        if (mode == 0) c.payload.resize(c.payload.size() / 2);
        else for (size_t i = 0; i < c.payload.size(); i += 3) c.payload[i] ^= 0x5A;
        d.feed(c.payload.data(), c.payload.size());
      }
    } catch (const Error& err) {
      typed = err.code() == ErrorCode::CorruptPayload;
    }
    CHECK(typed);
  }
}
