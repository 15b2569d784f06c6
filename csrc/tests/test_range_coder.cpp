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
