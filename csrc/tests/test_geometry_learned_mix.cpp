#include <random>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_mix.hpp"
#include "random_cdf.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::learned;

namespace {

struct Item {
  std::vector<uint32_t> cdf;
  uint32_t value, own_low;
  int step;
  Neighbourhood nb;
};

std::vector<Item> random_items(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::vector<Item> items;
  for (int i = 0; i < n; ++i) {
    Item it;
    it.cdf = random_cdf(rng);
    it.step = static_cast<int>(rng() % 4);
    it.value = rng() % 16;
    it.own_low = 1 + rng() % 15;
    const uint64_t a = (static_cast<uint64_t>(rng()) << 32) | rng(), b = (static_cast<uint64_t>(rng()) << 32) | rng();
    it.nb.occupied = a & ~b;  // disjoint masks, as the coder builds them
    it.nb.unknown = b;
    items.push_back(it);
  }
  return items;
}

}  // namespace

TEST_CASE("geometry_learned_mix/roundtrip_random_inputs") {
  const std::vector<Item> items = random_items(11, 6000);
  RangeEncoder enc;
  NeighbourhoodMixer em(items.size());
  for (const Item& it : items) em.encode(enc, it.cdf.data(), it.step, it.value, it.own_low, it.nb);
  std::vector<uint8_t> bytes = enc.finish();
  RangeDecoder dec(bytes.data(), bytes.size());
  NeighbourhoodMixer dm(items.size());
  for (const Item& it : items) CHECK(dm.decode(dec, it.cdf.data(), it.step, it.own_low, it.nb) == it.value);
}

TEST_CASE("geometry_learned_mix/learns_from_the_neighbourhood") {
  // A useless (uniform) model; the value is a function of the neighbourhood:
  // the mixer must code it in far fewer than 4 bits per nibble.
  std::vector<uint32_t> cdf(17);
  for (int s = 0; s <= 16; ++s) cdf[s] = static_cast<uint32_t>(s) * 4096u;
  std::mt19937 rng(3);
  RangeEncoder enc;
  NeighbourhoodMixer m(20000);
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    Neighbourhood nb;
    nb.occupied = (static_cast<uint64_t>(rng()) << 32) | rng();
    const uint32_t value = static_cast<uint32_t>(__builtin_popcountll(nb.occupied & 0x0000F0F00F0F0000ull) & 15);
    m.encode(enc, cdf.data(), 0, value, 0, nb);
  }
  const size_t bytes = enc.finish().size();
  CHECK(bytes * 8 < static_cast<size_t>(n) * 3);
}

TEST_CASE("geometry_learned_mix/garbage_decodes_without_crashing") {
  const std::vector<Item> items = random_items(5, 2000);
  std::mt19937 rng(9);
  std::vector<uint8_t> junk(300);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  RangeDecoder dec(junk.data(), junk.size());
  NeighbourhoodMixer m(items.size());
  for (const Item& it : items) CHECK(m.decode(dec, it.cdf.data(), it.step, it.own_low, it.nb) < 16u);
  CHECK(dec.overrun());
}

TEST_CASE("geometry_learned_mix/level_rule") {
  CHECK(mix_level(4000, 1000));
  CHECK(!mix_level(1000, 1000));  // one child each: near-uniform octants
  CHECK(!mix_level(1003, 1000));
  CHECK(mix_level(1010, 1000));
}

TEST_CASE("geometry_learned_mix/header_versions") {
  Header h;
  h.depth = 9;
  h.learned_start = 3;
  h.model_id = "m";
  h.point_count = 77;
  for (int adapted = 0; adapted < 2; ++adapted) {
    h.adapted = adapted != 0;
    h.mixed = true;
    std::vector<uint8_t> b = write_header(h);
    CHECK(b[0] == (adapted ? kHeaderVersionMixedAdapted : kHeaderVersionMixed));
    Header p = parse_header(b.data(), b.size());
    CHECK(p.mixed && !p.refined && p.adapted == h.adapted && p.point_count == 77);
    h.prior = true;
    h.prior_digest.fill(0xAB);
    b = write_header(h);
    CHECK(b[0] == (adapted ? kHeaderVersionPriorAdapted : kHeaderVersionPrior));
    p = parse_header(b.data(), b.size());
    CHECK(p.mixed && p.prior && p.prior_digest == h.prior_digest && p.adapted == h.adapted);
    CHECK_THROWS_CODE(parse_header(b.data(), b.size() - 1), ErrorCode::Truncated);
    h.prior = false;
    b[0] = 9;  // the next version: not supported
    CHECK_THROWS_CODE(parse_header(b.data(), b.size()), ErrorCode::UnsupportedCodec);
  }
}
