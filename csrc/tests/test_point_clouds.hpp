// Synthetic point clouds for the C++ tests.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace pcstream_test {

// n points on a sphere shell of radius radius_frac * 2^depth around the cube's
// centre, voxelised at `depth` (x, y, z interleaved; some duplicates). The same
// seed gives the same points.
inline std::vector<uint32_t> sphere_shell(size_t n, int depth, uint32_t seed, double radius_frac) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<uint32_t> p;
  const double r = (1 << depth) * radius_frac, c = (1 << depth) * 0.5;
  for (size_t i = 0; i < n; ++i) {
    double x = g(rng), y = g(rng), z = g(rng), l = std::sqrt(x * x + y * y + z * z) + 1e-12;
    p.insert(p.end(), {uint32_t(c + r * x / l), uint32_t(c + r * y / l), uint32_t(c + r * z / l)});
  }
  return p;
}

}  // namespace pcstream_test
