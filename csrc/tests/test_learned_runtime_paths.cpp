// The learned codec end to end with models whose channel counts take the SIMD
// kernels (16, 32): the same bytes for any thread count, and a lossless round
// trip. (Other instruction sets: tests/test_learned_runtime.py runs the codec
// under PCSTREAM_NN_ISA in subprocesses.)
#include <cmath>
#include <random>

#include "learned_test_model.hpp"
#include "pcstream/geometry_learned.hpp"
#include "test_harness.hpp"
#include "test_point_clouds.hpp"

using namespace pcstream;
using namespace pcstream::learned;

namespace {

std::vector<uint32_t> shell(size_t n, int depth, uint32_t seed) {
  return pcstream_test::sphere_shell(n, depth, seed, 0.4);
}

}  // namespace

TEST_CASE("learned_runtime/simd_channels_same_bytes_any_threads") {
  const auto pts = shell(20000, 10, 5);
  const size_t n = pts.size() / 3;
  for (int channels : {16, 32}) {
    auto f = random_occupancy_model(channels, 3, 40 + channels);
    auto bytes = nn::write_model_file(f);
    OccupancyModel m(nn::parse_model_file(bytes.data(), bytes.size()));
    const Encoded e1 = encode(pts.data(), n, 10, m, 1);
    for (int threads : {2, 3}) {
      const Encoded e = encode(pts.data(), n, 10, m, threads);
      bool same = e.header == e1.header && e.chunks.size() == e1.chunks.size();
      for (size_t i = 0; same && i < e.chunks.size(); ++i) same = e.chunks[i].payload == e1.chunks[i].payload;
      CHECK(same);
    }
    Decoder d(e1.header.data(), e1.header.size(), m, 1u << 30, 2);
    for (auto& c : e1.chunks) d.feed(c.payload.data(), c.payload.size());
    REQUIRE(d.done());
    const auto dec = d.points();
    REQUIRE(dec.size() == pts.size());
    bool ok = true;
    for (size_t i = 0; i < n; ++i)
      for (int a = 0; a < 3; ++a) ok = ok && dec[3 * i + a] == pts[3 * static_cast<size_t>(e1.order[i]) + a];
    CHECK(ok);
  }
}
