#include <cmath>
#include <random>

#include "pcstream/range_coder.hpp"
#include "test_harness.hpp"

using namespace pcstream;

TEST_CASE("range_coder/binary_roundtrip_mixed") {
  std::mt19937 rng(1);
  std::vector<int> bits(200000), kind(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) {
    kind[i] = rng() % 3;
    bits[i] = (rng() % 100) < (kind[i] == 0 ? 10 : 60);
  }
  RangeEncoder enc;
  BinContext c0, c1;
  for (size_t i = 0; i < bits.size(); ++i) {
    if (kind[i] == 0) enc.encode_bit(c0, bits[i]);
    else if (kind[i] == 1) enc.encode_bit(c1, bits[i]);
    else enc.encode_bypass(bits[i]);
  }
  enc.encode_freq(100, 37, 16);
  auto& out = enc.finish();
  RangeDecoder dec(out.data(), out.size());
  BinContext d0, d1;
  bool ok = true;
  for (size_t i = 0; i < bits.size() && ok; ++i) {
    int b = kind[i] == 0 ? dec.decode_bit(d0) : kind[i] == 1 ? dec.decode_bit(d1) : dec.decode_bypass();
    ok = b == bits[i];
  }
  CHECK(ok);
  uint32_t v = dec.decode_freq_target(16);
  CHECK(v >= 100 && v < 137);
  dec.consume(100, 37);
  CHECK(!dec.overrun());
}

TEST_CASE("range_coder/truncated_payload_overruns") {
  RangeEncoder enc;
  BinContext c;
  for (int i = 0; i < 10000; ++i) enc.encode_bit(c, i % 7 == 0);
  auto out = enc.finish();
  RangeDecoder dec(out.data(), out.size() / 2);
  BinContext d;
  for (int i = 0; i < 10000; ++i) dec.decode_bit(d);
  CHECK(dec.overrun());
}

namespace {

double ideal_bits(const std::vector<int>& bits, double p) {
  double b = 0;
  for (int v : bits) b -= std::log2(v ? p : 1 - p);
  return b;
}

std::vector<int> bernoulli(size_t n, double p, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution d(p);
  std::vector<int> v(n);
  for (auto& b : v) b = d(rng);
  return v;
}

}  // namespace

TEST_CASE("range_coder/context_is_small") {
  CHECK(sizeof(BinContext) == 8);
  BinContext c;
  CHECK(c.p1() == kProbOne / 2);
}

TEST_CASE("range_coder/stationary_overhead_p01_below_1pct") {
  auto bits = bernoulli(1000000, 0.1, 21);
  RangeEncoder enc;
  BinContext c;
  for (int b : bits) enc.encode_bit(c, b);
  auto& out = enc.finish();
  double overhead = out.size() * 8.0 / ideal_bits(bits, 0.1) - 1.0;
  std::fprintf(stderr, "  overhead at p=0.1: %+.3f %%\n", 100 * overhead);
  CHECK(overhead < 0.01);
  RangeDecoder dec(out.data(), out.size());
  BinContext d;
  bool ok = true;
  for (int b : bits) ok = ok && dec.decode_bit(d) == b;
  CHECK(ok);
  CHECK(!dec.overrun());
  CHECK(dec.position() == out.size());
}

TEST_CASE("range_coder/adapts_to_a_switching_source") {
  // Blocks alternating p = 0.05 and 0.5: the coder must track both.
  std::vector<int> bits;
  double ideal = 0;
  for (int blk = 0; blk < 40; ++blk) {
    double p = blk % 2 ? 0.05 : 0.5;
    auto b = bernoulli(5000, p, 100 + blk);
    ideal += ideal_bits(b, p);
    bits.insert(bits.end(), b.begin(), b.end());
  }
  RangeEncoder enc;
  BinContext c;
  for (int b : bits) enc.encode_bit(c, b);
  auto& out = enc.finish();
  CHECK(out.size() * 8.0 < ideal * 1.05);
}

TEST_CASE("range_coder/extreme_probabilities_and_bypass") {
  std::mt19937 rng(5);
  std::vector<uint32_t> ps(100000), vals(ps.size());
  std::vector<int> bits(ps.size()), kind(ps.size());
  RangeEncoder enc;
  for (size_t i = 0; i < ps.size(); ++i) {
    kind[i] = rng() % 4;
    ps[i] = rng() % 2 ? 1 + rng() % 3 : 65535 - rng() % 3;  // nearly certain, either way
    bits[i] = rng() % 2;
    vals[i] = rng();
    if (kind[i] == 0) enc.encode_bit_p(bits[i], ps[i]);
    else if (kind[i] == 1) enc.encode_bypass(bits[i]);
    else if (kind[i] == 2) enc.encode_bits(vals[i], 32);
    else enc.encode_freq(vals[i] & 0xFFF, 1, 12);
  }
  auto& out = enc.finish();
  RangeDecoder dec(out.data(), out.size());
  bool ok = true;
  for (size_t i = 0; i < ps.size() && ok; ++i) {
    if (kind[i] == 0) ok = dec.decode_bit_p(ps[i]) == bits[i];
    else if (kind[i] == 1) ok = dec.decode_bypass() == bits[i];
    else if (kind[i] == 2) ok = dec.decode_bits(32) == vals[i];
    else {
      uint32_t v = dec.decode_freq_target(12);
      ok = v == (vals[i] & 0xFFF);
      dec.consume(v, 1);
    }
  }
  CHECK(ok);
  CHECK(!dec.overrun());
  CHECK(dec.position() == out.size());
}

TEST_CASE("range_coder/carry_propagation_long_ff_runs") {
  // Many near-certain ones keep low_ just below a carry: long 0xFF runs.
  RangeEncoder enc;
  std::vector<int> bits;
  std::mt19937 rng(8);
  for (int i = 0; i < 200000; ++i) bits.push_back(rng() % 1000 == 0);
  for (int b : bits) enc.encode_bit_p(!b, 65535);
  auto& out = enc.finish();
  RangeDecoder dec(out.data(), out.size());
  bool ok = true;
  for (int b : bits) ok = ok && dec.decode_bit_p(65535) == !b;
  CHECK(ok);
  CHECK(!dec.overrun());
}

TEST_CASE("range_coder/empty_stream_and_every_truncation") {
  RangeEncoder e0;
  auto& empty = e0.finish();
  RangeDecoder d0(empty.data(), empty.size());
  CHECK(!d0.overrun());
  auto bits = bernoulli(3000, 0.3, 9);
  RangeEncoder enc;
  BinContext c;
  for (int b : bits) enc.encode_bit(c, b);
  auto out = enc.finish();
  CHECK(enc.bytes_so_far() >= out.size());
  for (size_t cut = 0; cut < out.size(); ++cut) {
    RangeDecoder dec(out.data(), cut);
    BinContext d;
    for (size_t i = 0; i < bits.size(); ++i) dec.decode_bit(d);
    if (!dec.overrun()) { CHECK(!"truncation not detected"); break; }
  }
  RangeDecoder dec(out.data(), out.size());
  CHECK_THROWS_CODE(
      {
        RangeDecoder t(out.data(), out.size() - 1);
        BinContext d;
        for (size_t i = 0; i < bits.size(); ++i) t.decode_bit(d);
        t.check_end("test");
      },
      ErrorCode::CorruptPayload);
}
