#include <random>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned_mix.hpp"
#include "pcstream/geometry_learned_prior.hpp"
#include "pcstream/sha256.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::learned;

namespace {

ContextPrior random_prior(uint32_t seed, int hash_bits, int per_table) {
  std::mt19937 rng(seed);
  ContextPrior p;
  p.hash_bits = hash_bits;
  for (auto& t : p.st) {
    t.assign(size_t{1} << hash_bits, 0);
    for (int i = 0; i < per_table; ++i) t[rng() % t.size()] = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  }
  return p;
}

// A uniform model over all 16 nibbles; the neighbourhood decides the value.
struct Sample {
  Neighbourhood nb;
  uint32_t value;
};
std::vector<Sample> patterned(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.nb.occupied = (static_cast<uint64_t>(rng() % 64) * 0x0101010101ull) << (rng() % 16);
    s.value = static_cast<uint32_t>(__builtin_popcountll(s.nb.occupied & 0x0000F0F00F0F0000ull) & 15);
    out.push_back(s);
  }
  return out;
}

size_t coded_size(const std::vector<Sample>& samples, const ContextPrior* prior) {
  std::vector<uint32_t> cdf(17);
  for (int s = 0; s <= 16; ++s) cdf[s] = static_cast<uint32_t>(s) * 4096u;
  RangeEncoder enc;
  NeighbourhoodMixer m(samples.size(), prior);
  for (const Sample& s : samples) m.encode(enc, cdf.data(), 0, s.value, 0, s.nb);
  std::vector<uint8_t> bytes = enc.finish();
  RangeDecoder dec(bytes.data(), bytes.size());
  NeighbourhoodMixer d(samples.size(), prior);
  for (const Sample& s : samples) CHECK(d.decode(dec, cdf.data(), 0, 0, s.nb) == s.value);
  return bytes.size();
}

}  // namespace

TEST_CASE("geometry_learned_prior/write_parse_roundtrip") {
  ContextPrior p = random_prior(1, 14, 500);
  std::vector<uint8_t> b = write_context_prior(p);
  CHECK(p.digest == sha256(b.data(), b.size()));
  ContextPrior q = parse_context_prior(b.data(), b.size());
  CHECK(q.hash_bits == 14);
  CHECK(q.digest == p.digest);
  for (int t = 0; t < ContextPrior::kTables; ++t) CHECK(q.st[t] == p.st[t]);
}

TEST_CASE("geometry_learned_prior/rejects_damaged_files") {
  ContextPrior p = random_prior(2, 12, 100);
  const std::vector<uint8_t> good = write_context_prior(p);
  for (size_t cut = 0; cut < good.size(); cut += 7) {
    bool threw = false;
    try {
      parse_context_prior(good.data(), cut);
    } catch (const Error& e) {
      threw = e.code() == ErrorCode::Truncated || e.code() == ErrorCode::BadLength;
    }
    CHECK(threw);
  }
  std::vector<uint8_t> b = good;
  b[0] = 'X';
  CHECK_THROWS_CODE(parse_context_prior(b.data(), b.size()), ErrorCode::BadSignature);
  b = good;
  b[4] = 2;
  CHECK_THROWS_CODE(parse_context_prior(b.data(), b.size()), ErrorCode::UnsupportedVersion);
  b = good;
  b[5] = 30;
  CHECK_THROWS_CODE(parse_context_prior(b.data(), b.size()), ErrorCode::CorruptPayload);
  b = good;
  b[6] = 3;
  CHECK_THROWS_CODE(parse_context_prior(b.data(), b.size()), ErrorCode::CorruptPayload);
  b = good;
  b.push_back(0);
  CHECK_THROWS_CODE(parse_context_prior(b.data(), b.size()), ErrorCode::BadLength);
  // A count larger than the slots, and a slot gap past the table.
  const uint8_t huge_count[] = {'P', 'C', 'S', 'P', 1, 12, 4, 0xFF, 0xFF, 0x01};
  CHECK_THROWS_CODE(parse_context_prior(huge_count, sizeof huge_count), ErrorCode::BadLength);
  const uint8_t far_slot[] = {'P', 'C', 'S', 'P', 1, 12, 4, 1, 0x80, 0x20, 5, 0, 0, 0};
  CHECK_THROWS_CODE(parse_context_prior(far_slot, sizeof far_slot), ErrorCode::CorruptPayload);
}

TEST_CASE("geometry_learned_prior/a_learned_prior_codes_smaller") {
  // A prior snapshotted after one stream of a pattern helps a second stream
  // of it; streams with any prior still round-trip.
  const std::vector<Sample> train = patterned(5, 30000), test = patterned(6, 3000);
  std::vector<uint32_t> cdf(17);
  for (int s = 0; s <= 16; ++s) cdf[s] = static_cast<uint32_t>(s) * 4096u;
  NeighbourhoodMixer trainer(uint64_t{1} << 20);
  RangeEncoder sink;
  for (const Sample& s : train) trainer.encode(sink, cdf.data(), 0, s.value, 0, s.nb);
  const int min_count[ContextPrior::kTables] = {2, 2, 2, 2};
  ContextPrior learned = trainer.snapshot(min_count);
  std::vector<uint8_t> bytes = write_context_prior(learned);
  ContextPrior parsed = parse_context_prior(bytes.data(), bytes.size());
  ContextPrior noise = random_prior(3, 16, 20000);
  const size_t plain = coded_size(test, nullptr), with_prior = coded_size(test, &parsed);
  CHECK(with_prior * 10 < plain * 9);
  coded_size(test, &noise);
}

TEST_CASE("geometry_learned_prior/snapshot_needs_full_tables") {
  NeighbourhoodMixer small(1000);
  const int min_count[ContextPrior::kTables] = {1, 1, 1, 1};
  CHECK_THROWS_CODE(small.snapshot(min_count), ErrorCode::InvalidArgument);
}
