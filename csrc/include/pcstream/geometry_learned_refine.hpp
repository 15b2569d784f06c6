// Adaptive refinement of the learned model's nibble probabilities (learned
// geometry header versions 3 and 4, formats/learned-geometry.md).
//
// A refined stream codes each nibble as four binary decisions, lowest bit
// first. The model's probability of each bit comes from its integer CDF (the
// symbols that agree with the bits already coded); adaptive counts indexed by
// coding step, bit position and the bucket of that probability in the logistic
// domain correct it on the stream at hand (secondary estimation, as in PAQ):
// a model that is systematically over- or under-confident on this cloud is
// repaired after a few hundred decisions, at no cost in the bitstream.
//
// Integer arithmetic only, so encoder and decoder agree on every platform.
// Preconditions: cdf is a 16-symbol CDF with total 2^16 and every symbol
// frequency >= 1 (as nn::softmax_to_cdf produces); step in [0, 4); value < 16.
// Thread safety: one refiner per chunk being coded; not shared between threads.
#pragma once
#include <cstdint>

#include "pcstream/range_coder.hpp"

namespace pcstream::learned {

class NibbleRefiner {
 public:
  static constexpr int kBuckets = 48;            // half a nat each over the logistic range [-12, 12)
  static constexpr uint32_t kPriorWeight = 4;    // the model's probability counts as this many observations
  static constexpr uint32_t kCountLimit = 4096;  // counts are halved past this (slow drift allowed)

  void encode(RangeEncoder& enc, const uint32_t* cdf, int step, uint32_t value);
  uint32_t decode(RangeDecoder& dec, const uint32_t* cdf, int step);

  // The refined 16-bit P(bit k = 1) given the lower bits `prefix`, in [32, 65504] (for tests).
  uint32_t probability(const uint32_t* cdf, int step, int k, uint32_t prefix);

  struct Cell {
    uint32_t ones = 0, total = 0;
  };
  // One binary decision, for coders built on top of the refiner: the model's and
  // the refined P(bit k = 1), and the cell that learn() updates with the outcome.
  struct Decision {
    Cell* cell;
    uint32_t model_p1, p1;
    int bucket;  // of the model's probability, in [0, kBuckets)
  };
  Decision predict(const uint32_t* cdf, int step, int k, uint32_t prefix);
  static void learn(const Decision& d, int bit) { bump(*d.cell, bit); }

 private:
  Cell& cell(const uint32_t* cdf, int step, int k, uint32_t prefix, uint32_t* model_p1, int* bucket);
  static uint32_t refined(const Cell& c, uint32_t model_p1);
  static void bump(Cell& c, int bit);
  Cell cells_[4][4][kBuckets];
};

}  // namespace pcstream::learned
