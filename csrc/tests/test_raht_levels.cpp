// Unit tests of RAHT level-range chunks (codec 4 version 2): full decode against
// version 1, decoding with the coarse geometry only, chunk order and damage.
#include <algorithm>
#include <cmath>
#include <random>

#include "pcstream/raht.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::attr;

namespace {

std::vector<uint32_t> blob_points(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> p;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = rng() % 128, y = rng() % 128;
    p.insert(p.end(), {x, y, static_cast<uint32_t>(64 + 20 * std::sin(x * 0.07) + rng() % 2)});
  }
  return p;
}

std::vector<uint8_t> colours(const std::vector<uint32_t>& p) {
  std::vector<uint8_t> c(p.size());
  for (size_t i = 0; i < p.size(); ++i) c[i] = static_cast<uint8_t>(p[i] * 2 + (i % 7));
  return c;
}

}  // namespace

TEST_CASE("raht_levels/one_range_matches_version_1") {
  const auto pts = blob_points(3000, 1);
  const size_t n = pts.size() / 3;
  const auto rgb = colours(pts);
  RahtOptions opt;
  opt.quality = 40;
  const auto v1 = encode_raht(pts.data(), n, rgb.data(), ValueType::U8, 3, opt);
  const auto v2 = encode_raht_levels(pts.data(), n, rgb.data(), ValueType::U8, 3, 7, {7}, opt);
  REQUIRE(v2.size() == 1);
  std::vector<uint8_t> a(3 * n), b(3 * n);
  decode_raht(pts.data(), n, v1.data(), v1.size(), ValueType::U8, 3, a.data());
  RahtLevelDecoder dec(ValueType::U8, 3);
  dec.set_points(pts.data(), n, 7);
  CHECK(dec.feed(v2[0].data(), v2[0].size()) == 7);
  CHECK(dec.done());
  dec.values(b.data());
  CHECK(a == b);
}

TEST_CASE("raht_levels/coarse_geometry_and_order") {
  const auto pts = blob_points(3000, 2);
  const size_t n = pts.size() / 3;
  const auto rgb = colours(pts);
  RahtOptions opt;
  opt.quality = 45;
  const std::vector<int> his = {3, 5, 7};
  const auto chunks = encode_raht_levels(pts.data(), n, rgb.data(), ValueType::U8, 3, 7, his, opt);
  REQUIRE(chunks.size() == 3);
  // Voxels of level 3 (unique), decoded with the first chunk only.
  std::vector<uint32_t> vox;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t v[3] = {pts[3 * i] >> 4, pts[3 * i + 1] >> 4, pts[3 * i + 2] >> 4};
    bool seen = false;
    for (size_t j = 0; j < vox.size() && !seen; j += 3) seen = vox[j] == v[0] && vox[j + 1] == v[1] && vox[j + 2] == v[2];
    if (!seen) vox.insert(vox.end(), v, v + 3);
  }
  RahtLevelDecoder coarse(ValueType::U8, 3);
  coarse.set_points(vox.data(), vox.size() / 3, 3);
  CHECK_THROWS_CODE(coarse.feed(chunks[1].data(), chunks[1].size()), ErrorCode::CorruptPayload);  // out of order
  CHECK(coarse.feed(chunks[0].data(), chunks[0].size()) == 3);
  CHECK_THROWS_CODE(coarse.feed(chunks[1].data(), chunks[1].size()), ErrorCode::CorruptPayload);  // geometry too coarse
  std::vector<uint8_t> cv(vox.size());
  coarse.values(cv.data());
  // The full-resolution decoder after chunk 0 gives every point its level-3 voxel colour.
  RahtLevelDecoder full(ValueType::U8, 3);
  full.set_points(pts.data(), n, 7);
  full.feed(chunks[0].data(), chunks[0].size());
  std::vector<uint8_t> fv(3 * n);
  full.values(fv.data());
  for (size_t i = 0; i < n; i += 37) {
    size_t j = 0;
    while (!(vox[j] == pts[3 * i] >> 4 && vox[j + 1] == pts[3 * i + 1] >> 4 && vox[j + 2] == pts[3 * i + 2] >> 4)) j += 3;
    CHECK(std::equal(cv.begin() + j, cv.begin() + j + 3, fv.begin() + 3 * i));
  }
  full.feed(chunks[1].data(), chunks[1].size());
  full.feed(chunks[2].data(), chunks[2].size());
  CHECK(full.done() && full.level() == 7 && full.depth() == 7);
}

TEST_CASE("raht_levels/bad_arguments_and_damage") {
  const auto pts = blob_points(1500, 3);
  const size_t n = pts.size() / 3;
  const auto v = colours(pts);
  RahtOptions opt;
  CHECK_THROWS_CODE(encode_raht_levels(pts.data(), n, v.data(), ValueType::U8, 1, 7, {5}, opt), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(encode_raht_levels(pts.data(), n, v.data(), ValueType::U8, 1, 7, {5, 5, 7}, opt), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(encode_raht_levels(pts.data(), n, v.data(), ValueType::U8, 1, 6, {6}, opt), ErrorCode::InvalidArgument);
  const auto chunks = encode_raht_levels(pts.data(), n, v.data(), ValueType::U8, 1, 7, {4, 7}, opt);
  std::mt19937 rng(5);
  std::vector<uint8_t> out(n);
  for (int trial = 0; trial < 200; ++trial) {
    auto bad = chunks;
    auto& c = bad[rng() % bad.size()];
    if (trial % 3 == 0) c.resize(rng() % c.size());
    else c[rng() % c.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    RahtLevelDecoder dec(ValueType::U8, 1);
    dec.set_points(pts.data(), n, 7);
    try {
      for (const auto& p : bad) dec.feed(p.data(), p.size());
      dec.values(out.data());
    } catch (const Error&) {
    }
  }
}
