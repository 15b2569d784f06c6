#include <algorithm>
#include <cmath>
#include <random>

#include "learned_test_model.hpp"
#include "pcstream/error.hpp"
#include "pcstream/geometry_learned_levels.hpp"
#include "pcstream/geometry_learned_topk.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::learned;

namespace {

const OccupancyModel& topk_model() {
  static OccupancyModel m([] {
    auto f = random_occupancy_model(8, 3, 5);
    auto bytes = nn::write_model_file(f);
    return nn::parse_model_file(bytes.data(), bytes.size());
  }());
  return m;
}

// Distinct voxels of a sphere shell at `depth`.
std::vector<uint32_t> shell(size_t n, int depth) {
  std::mt19937 rng(3);
  std::normal_distribution<double> g;
  std::vector<uint64_t> keys;
  double r = (1 << depth) * 0.4, c = (1 << depth) * 0.5;
  for (size_t i = 0; i < n; ++i) {
    double x = g(rng), y = g(rng), z = g(rng), l = std::sqrt(x * x + y * y + z * z) + 1e-12;
    keys.push_back(morton_key(uint32_t(c + r * x / l), uint32_t(c + r * y / l), uint32_t(c + r * z / l)));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<uint32_t> out;
  int32_t q[3];
  for (auto k : keys) {
    morton_xyz(k, q);
    for (int a = 0; a < 3; ++a) out.push_back(uint32_t(q[a]));
  }
  return out;
}

}  // namespace

TEST_CASE("geometry_learned_topk/exact_k_and_threads") {
  auto v = shell(3000, 6);
  const size_t n = v.size() / 3;
  std::vector<uint64_t> ks = {2 * n, 5 * n};
  auto a = topk_upsample(topk_model(), v.data(), n, 6, ks, 1);
  auto b = topk_upsample(topk_model(), v.data(), n, 6, ks, 2);
  CHECK(a == b);
  CHECK(a.size() == 3 * ks[1]);
  auto one = topk_upsample(topk_model(), v.data(), n, 6, {n}, 2);
  CHECK(one.size() == 3 * n);
  // One child per voxel: each parent appears exactly once.
  for (size_t i = 0; i < n; ++i)
    for (int ax = 0; ax < 3; ++ax) CHECK((one[3 * i + ax] >> 1) == v[3 * i + ax]);
}

TEST_CASE("geometry_learned_topk/ties_by_morton_order") {
  std::vector<uint64_t> keys = {5, 9};
  std::vector<float> p(16, 0.5f);
  auto out = topk_children(keys, p, 3);
  // Each voxel keeps octant 0; the third child is the lowest remaining key.
  CHECK(out.size() == 3 && out[0] == (5u << 3) && out[1] == ((5u << 3) | 1) && out[2] == (9u << 3));
}

TEST_CASE("geometry_learned_topk/bad_k") {
  auto v = shell(200, 5);
  const size_t n = v.size() / 3;
  bool threw = false;
  try {
    topk_upsample(topk_model(), v.data(), n, 5, {n - 1}, 1);
  } catch (const Error& e) {
    threw = e.code() == ErrorCode::CorruptPayload;
  }
  CHECK(threw);
  threw = false;
  try {
    topk_upsample(topk_model(), v.data(), n, 5, {8 * n + 1}, 1);
  } catch (const Error& e) {
    threw = e.code() == ErrorCode::CorruptPayload;
  }
  CHECK(threw);
}
