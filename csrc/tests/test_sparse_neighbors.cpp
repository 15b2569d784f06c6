#include <algorithm>
#include <array>
#include <random>
#include <set>
#include <tuple>

#include "pcstream/error.hpp"
#include "pcstream/sparse_neighbors.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::nn;

namespace {
std::vector<int32_t> random_coords(size_t n, int range, uint32_t seed) {
  std::mt19937 rng(seed);
  std::set<std::tuple<int, int, int>> seen;
  std::vector<int32_t> xyz;
  while (seen.size() < n) {
    auto t = std::make_tuple(int(rng() % range), int(rng() % range), int(rng() % range));
    if (seen.insert(t).second) { xyz.push_back(std::get<0>(t)); xyz.push_back(std::get<1>(t)); xyz.push_back(std::get<2>(t)); }
  }
  return xyz;
}
}  // namespace

TEST_CASE("sparse_neighbors/table_matches_brute_force") {
  for (int k : {3, 5}) {
    auto xyz = random_coords(500, 12, 7 + k);
    CoordIndex idx(xyz.data(), 500);
    auto off = kernel_offsets(k);
    auto table = neighbor_table(idx, xyz.data(), 500, k, 2);
    bool ok = true;
    for (size_t o = 0; o < 500 && ok; ++o)
      for (size_t j = 0; j < off.size(); ++j) {
        int32_t want = -1;
        for (size_t i = 0; i < 500; ++i)
          if (xyz[3 * i] == xyz[3 * o] + off[j][0] && xyz[3 * i + 1] == xyz[3 * o + 1] + off[j][1] &&
              xyz[3 * i + 2] == xyz[3 * o + 2] + off[j][2])
            want = static_cast<int32_t>(i);
        if (table[o * off.size() + j] != want) { ok = false; break; }
      }
    CHECK(ok);
    CHECK(table[0 * off.size() + off.size() / 2] == 0);  // centre offset is the voxel itself
    auto pairs = neighbor_pairs(table, 500, k);
    CHECK(pairs.offset_start.size() == off.size() + 1);
    CHECK(pairs.offset_start[off.size() / 2 + 1] - pairs.offset_start[off.size() / 2] == 500);
    size_t valid = 0;
    for (auto v : table) valid += v >= 0;
    CHECK(pairs.in_rows.size() == valid);
  }
}

TEST_CASE("sparse_neighbors/parent_map_and_errors") {
  std::vector<int32_t> parents = {0, 0, 0, 1, 2, 3};
  CoordIndex pidx(parents.data(), 2);
  std::vector<int32_t> children = {1, 0, 1, 3, 5, 6, 9, 9, 9};
  std::vector<uint8_t> oct(3);
  auto pm = parent_map(pidx, children.data(), 3, 1, oct.data());
  CHECK(pm[0] == 0 && pm[1] == 1 && pm[2] == -1);
  CHECK(oct[0] == 5 && oct[1] == 6);
  std::vector<int32_t> dup = {1, 2, 3, 1, 2, 3};
  CHECK_THROWS_CODE(CoordIndex(dup.data(), 2), ErrorCode::InvalidArgument);
  std::vector<int32_t> neg = {-1, 0, 0};
  CHECK_THROWS_CODE(CoordIndex(neg.data(), 1), ErrorCode::InvalidArgument);
  CHECK(pidx.find(-1, 0, 0) == -1 && pidx.find(1 << 22, 0, 0) == -1);
  CHECK_THROWS_CODE(kernel_offsets(4), ErrorCode::InvalidArgument);
}

namespace {
// Children of voxels `xyz` with occupancy `codes`, parent by parent, octant ascending.
std::vector<int32_t> children_xyz(const std::vector<int32_t>& xyz, const std::vector<uint8_t>& codes) {
  std::vector<int32_t> out;
  for (size_t p = 0; p < codes.size(); ++p)
    for (int o = 0; o < 8; ++o)
      if (codes[p] >> o & 1)
        out.insert(out.end(), {2 * xyz[3 * p] + (o >> 2 & 1), 2 * xyz[3 * p + 1] + (o >> 1 & 1), 2 * xyz[3 * p + 2] + (o & 1)});
  return out;
}
template <class A, class B>
bool same(const A& a, const B& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
std::vector<int32_t> hashed_table(const std::vector<int32_t>& xyz, int k) {
  CoordIndex idx(xyz.data(), xyz.size() / 3);
  return neighbor_table(idx, xyz.data(), xyz.size() / 3, k, 1);
}
}  // namespace

TEST_CASE("sparse_neighbors/child_table_equals_hash_table") {
  // Random parents with random codes (a few at the top of the coordinate range,
  // where neighbours fall outside it): the derived child table equals the
  // hashed one entry for entry, for k = 3 and 5, any thread count, two generations.
  std::mt19937 rng(11);
  for (int k : {3, 5}) {
    std::vector<int32_t> pxyz;
    std::vector<uint8_t> codes;
    std::set<std::array<int32_t, 3>> seen;
    const int32_t top = (1 << (kMaxCoordBits - 1)) - 1;
    for (int i = 0; i < 3000; ++i) {
      std::array<int32_t, 3> c = {int32_t(rng() % 24), int32_t(rng() % 24), int32_t(rng() % 6)};
      if (i % 50 == 0) c = {top - int32_t(rng() % 3), int32_t(rng() % 3), top};
      if (!seen.insert(c).second) continue;
      pxyz.insert(pxyz.end(), c.begin(), c.end());
      codes.push_back(uint8_t(1 + rng() % 255));
    }
    const auto ptab = hashed_table(pxyz, k);
    const auto cxyz = children_xyz(pxyz, codes);
    const auto ref = hashed_table(cxyz, k);
    CHECK(same(child_neighbor_table(ptab, codes, k, 1), ref));
    CHECK(same(child_neighbor_table(ptab, codes, k, 2), ref));
    std::vector<uint8_t> ccodes(cxyz.size() / 3);
    for (auto& c : ccodes) c = uint8_t(1 + rng() % 255);
    // Children of the top parents would leave the range: give them no children.
    for (size_t i = 0; i < ccodes.size(); ++i)
      if (cxyz[3 * i + 2] > top) ccodes[i] = 0;
    CHECK(same(child_neighbor_table(ref, ccodes, k, 2), hashed_table(children_xyz(cxyz, ccodes), k)));
  }
  std::vector<int32_t> bad(27, 5);
  CHECK_THROWS_CODE(child_neighbor_table(bad, std::vector<uint8_t>{1}, 3, 1), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(child_neighbor_table(bad, std::vector<uint8_t>{1, 1}, 3, 1), ErrorCode::InvalidArgument);
}
