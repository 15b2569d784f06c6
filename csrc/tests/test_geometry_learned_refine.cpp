#include <random>
#include <vector>

#include "pcstream/geometry_learned_refine.hpp"
#include "random_cdf.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::learned;

TEST_CASE("geometry_learned_refine/roundtrip_random_cdfs") {
  std::mt19937 rng(7);
  std::vector<std::vector<uint32_t>> cdfs;
  std::vector<uint32_t> values;
  RangeEncoder enc;
  NibbleRefiner er;
  for (int i = 0; i < 5000; ++i) {
    cdfs.push_back(random_cdf(rng));
    values.push_back(rng() % 16);
    er.encode(enc, cdfs.back().data(), i % 4, values.back());
  }
  std::vector<uint8_t> bytes = enc.finish();
  RangeDecoder dec(bytes.data(), bytes.size());
  NibbleRefiner dr;
  for (int i = 0; i < 5000; ++i) CHECK(dr.decode(dec, cdfs[i].data(), i % 4) == values[i]);
}

TEST_CASE("geometry_learned_refine/starts_at_the_model_and_learns_a_bias") {
  std::vector<uint32_t> cdf(17);
  for (int s = 0; s <= 16; ++s) cdf[s] = static_cast<uint32_t>(s) * 4096u;  // uniform model
  NibbleRefiner r;
  const uint32_t p0 = r.probability(cdf.data(), 0, 0, 0);
  CHECK(p0 == 32768u);  // no observations: the model probability
  RangeEncoder enc;
  for (int i = 0; i < 400; ++i) r.encode(enc, cdf.data(), 0, 1u);  // bit 0 always one
  const uint32_t p1 = r.probability(cdf.data(), 0, 0, 0);
  CHECK(p1 > 64000u && p1 <= 65504u);
  CHECK(r.probability(cdf.data(), 1, 0, 0) == 32768u);  // other steps keep their own counts
}

TEST_CASE("geometry_learned_refine/probabilities_stay_codable_for_extreme_models") {
  std::vector<uint32_t> cdf(17);
  cdf[0] = 0;
  for (int s = 0; s < 16; ++s) cdf[s + 1] = cdf[s] + (s == 5 ? 65536u - 15u : 1u);  // nearly certain symbol 5
  NibbleRefiner r;
  for (int k = 0; k < 4; ++k)
    for (uint32_t prefix = 0; prefix < (1u << k); ++prefix) {
      uint32_t p = r.probability(cdf.data(), 2, k, prefix);
      CHECK(p >= 32u && p <= 65504u);
    }
  RangeEncoder enc;
  for (uint32_t v = 0; v < 16; ++v) r.encode(enc, cdf.data(), 3, v);  // the unlikely symbols still code
  std::vector<uint8_t> bytes = enc.finish();
  RangeDecoder dec(bytes.data(), bytes.size());
  NibbleRefiner d;
  for (uint32_t v = 0; v < 16; ++v) CHECK(d.decode(dec, cdf.data(), 3) == v);
}
