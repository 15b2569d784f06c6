#include <algorithm>
#include <random>

#include "pcstream/error.hpp"
#include "pcstream/morton.hpp"
#include "pcstream/octree.hpp"
#include "test_harness.hpp"

using namespace pcstream;

TEST_CASE("octree/build_expand_roundtrip") {
  std::mt19937_64 rng(5);
  for (int depth : {1, 2, 7, 10, 21}) {
    size_t n = 3000;
    std::vector<uint64_t> codes(n);
    uint64_t mask = (1ull << (3 * depth)) - 1;
    for (auto& c : codes) c = rng() & mask;
    for (size_t i = 0; i < 500; ++i) codes[i] = codes[i + 1000];  // duplicates
    std::sort(codes.begin(), codes.end());
    Octree t = build_octree(codes.data(), n, depth);
    CHECK(t.occupancy.size() == size_t(depth));
    CHECK(t.occupancy[0].size() == 1);
    CHECK(expand_octree(t.occupancy, depth) == t.leaves);
    CHECK(octree_points(t) == codes);
  }
}

TEST_CASE("octree/simple_levels") {
  // Points (0,0,0) and (1,1,1) at depth 1: one root with children 0 and 7.
  uint64_t codes[2] = {morton_encode(0, 0, 0), morton_encode(1, 1, 1)};
  Octree t = build_octree(codes, 2, 1);
  REQUIRE(t.occupancy.size() == 1);
  CHECK(t.occupancy[0][0] == 0x81);
  CHECK(t.counts == std::vector<uint32_t>({1, 1}));
}

TEST_CASE("octree/empty_and_corrupt") {
  Octree t = build_octree(nullptr, 0, 10);
  CHECK(t.leaves.empty());
  std::vector<std::vector<uint8_t>> bad = {{0x01}, {0x00}};
  CHECK_THROWS_CODE(expand_octree(bad, 2), ErrorCode::CorruptPayload);
  std::vector<std::vector<uint8_t>> short_level = {{0x03}, {0x01}};
  CHECK_THROWS_CODE(expand_octree(short_level, 2), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE(build_octree(nullptr, 0, 22), ErrorCode::InvalidArgument);
}
