#include "pcstream/geometry_learned_refine.hpp"

#include "pcstream/geometry_model.hpp"

namespace pcstream::learned {

NibbleRefiner::Cell& NibbleRefiner::cell(const uint32_t* cdf, int step, int k, uint32_t prefix, uint32_t* model_p1,
                                         int* bucket) {
  // The model's P(bit k = 1 | lower bits) from the frequencies of the symbols that agree
  // with `prefix`: prefix | t << k, bit k being t's lowest bit.
  uint32_t all = 0, one = 0;
  for (uint32_t t = 0; t < (16u >> k); ++t) {
    const uint32_t s = prefix | t << k;
    const uint32_t f = cdf[s + 1] - cdf[s];
    all += f;
    one += f & (0u - (t & 1u));
  }
  uint32_t p = all ? static_cast<uint32_t>((static_cast<uint64_t>(one) << 16) / all) : 32768u;
  p = p < 1u ? 1u : p > 65535u ? 65535u : p;
  *model_p1 = p;
  int b = (geom::stretch12(static_cast<int>(p >> 4)) + 3072) * kBuckets / 6144;
  b = b < 0 ? 0 : b >= kBuckets ? kBuckets - 1 : b;
  *bucket = b;
  return cells_[step & 3][k & 3][b];
}

// (ones + w * p_model) / (total + w): the model's probability is a prior worth w observations.
uint32_t NibbleRefiner::refined(const Cell& c, uint32_t model_p1) {
  const uint64_t q = (static_cast<uint64_t>(c.ones) * 65536u + static_cast<uint64_t>(kPriorWeight) * model_p1) /
                     (static_cast<uint64_t>(c.total) + kPriorWeight);
  return q < 32u ? 32u : q > 65504u ? 65504u : static_cast<uint32_t>(q);
}

void NibbleRefiner::bump(Cell& c, int bit) {
  c.ones += bit ? 1u : 0u;
  if (++c.total >= kCountLimit) {
    c.ones >>= 1;
    c.total >>= 1;
  }
}

uint32_t NibbleRefiner::probability(const uint32_t* cdf, int step, int k, uint32_t prefix) {
  return predict(cdf, step, k, prefix).p1;
}

NibbleRefiner::Decision NibbleRefiner::predict(const uint32_t* cdf, int step, int k, uint32_t prefix) {
  Decision d;
  d.cell = &cell(cdf, step, k, prefix, &d.model_p1, &d.bucket);
  d.p1 = refined(*d.cell, d.model_p1);
  return d;
}

void NibbleRefiner::encode(RangeEncoder& enc, const uint32_t* cdf, int step, uint32_t value) {
  for (int k = 0; k < 4; ++k) {
    const int bit = static_cast<int>(value >> k & 1u);
    const Decision d = predict(cdf, step, k, value & ((1u << k) - 1u));
    enc.encode_bit_p(bit, d.p1);
    learn(d, bit);
  }
}

uint32_t NibbleRefiner::decode(RangeDecoder& dec, const uint32_t* cdf, int step) {
  uint32_t prefix = 0;
  for (int k = 0; k < 4; ++k) {
    const Decision d = predict(cdf, step, k, prefix);
    const int bit = dec.decode_bit_p(d.p1);
    learn(d, bit);
    prefix |= static_cast<uint32_t>(bit) << k;
  }
  return prefix;
}

}  // namespace pcstream::learned
