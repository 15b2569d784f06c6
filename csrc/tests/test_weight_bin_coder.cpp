// The weight coder's branch-free binary coder must write and read exactly the bytes
// of the core range coder (the format is defined on the latter).
#include <random>
#include <vector>

#include "../src/weight_bin_coder.hpp"
#include "pcstream/range_coder.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using pcstream::weights::detail::BinDecoder;
using pcstream::weights::detail::BinEncoder;

namespace {

struct Op {
  int kind;  // 0 adaptive-probability decision, 1 bypass bits
  uint32_t p1;
  uint32_t value;
  int nbits;
};

// Skewed and near-equiprobable decisions, extreme probabilities and bypass runs, so
// carries, 0xFF runs and double renormalisations all occur.
std::vector<Op> random_ops(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  std::vector<Op> ops(n);
  for (auto& op : ops) {
    op.kind = rng() % 8 == 0;
    if (op.kind) {
      op.nbits = 1 + static_cast<int>(rng() % 24);
      op.value = rng() & ((1u << op.nbits) - 1);
    } else {
      const uint32_t r = rng() % 4;
      op.p1 = r == 0 ? 32 + rng() % 64 : r == 1 ? 65504 - rng() % 64 : 1 + rng() % 65535;
      const uint32_t t = rng() & 0xFFFF;
      op.value = r == 3 ? (rng() & 1) : (t < op.p1 ? 1u : 0u);
      op.nbits = 1;
    }
  }
  return ops;
}

}  // namespace

TEST_CASE("weights/bin_coder_matches_core_range_coder") {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    const std::vector<Op> ops = random_ops(seed, 20000);
    RangeEncoder ref;
    BinEncoder fast;
    for (const Op& op : ops) {
      if (op.kind) { ref.encode_bits(op.value, op.nbits); fast.encode_bits(op.value, op.nbits); }
      else { ref.encode_bit_p(static_cast<int>(op.value), op.p1); fast.encode_bit_p(static_cast<int>(op.value), op.p1); }
    }
    const std::vector<uint8_t> bytes = ref.finish();
    REQUIRE(fast.finish() == bytes);
    RangeDecoder dref(bytes.data(), bytes.size());
    BinDecoder dfast(bytes.data(), bytes.size());
    bool same = true;
    for (const Op& op : ops) {
      if (op.kind) {
        same &= dfast.decode_bits(op.nbits) == op.value && dref.decode_bits(op.nbits) == op.value;
      } else {
        same &= dfast.decode_bit_p(op.p1) == static_cast<int>(op.value) &&
                dref.decode_bit_p(op.p1) == static_cast<int>(op.value);
      }
    }
    CHECK(same);
    CHECK(!dfast.overrun());
    // Truncation is detected the same way.
    BinDecoder cut(bytes.data(), bytes.size() / 2);
    for (const Op& op : ops) op.kind ? (void)cut.decode_bits(op.nbits) : (void)cut.decode_bit_p(op.p1);
    CHECK(cut.overrun());
  }
}
