// Context mixing of the learned model's nibble probabilities with the decoded
// child-level neighbourhood (learned geometry header versions 5 to 8,
// formats/learned-geometry.md).
//
// Each nibble is coded as four binary decisions, lowest bit first, as in the
// refiner (geometry_learned_refine.hpp). For every decision two gated linear
// mixers in the logistic domain combine: the model's probability, the
// refiner's secondary estimate of it, and adaptive counters indexed by the
// occupancy already decoded around the grandchild voxel being predicted (its
// six face neighbours; edge and corner counts; its siblings; hashes of its
// 26 neighbours alone and with the model's confidence, of the whole 4x4x4
// block, and of the parent's code). With a context prior (versions 7 and 8,
// geometry_learned_prior.hpp) the mixer also sees what the prior says of the
// same four hashed contexts. An adaptive probability map on the face
// states refines the mix. The model sees the
// decoded group-1 codes only through its context convolution; the
// counters see every code decoded so far, in coding order, including the
// voxels coded earlier in the same step.
//
// Integer arithmetic only, so encoder and decoder agree on every platform.
// Preconditions: cdf is a 16-symbol CDF with total 2^16 and every symbol
// frequency >= 1; step in [0, 4); value < 16; own_low is the voxel's decoded
// low nibble for steps 1 and 3 (ignored for 0 and 2).
// Thread safety: one mixer per stream being coded; not shared between threads.
#pragma once
#include <cstddef>
#include <cstdint>

#include "pcstream/geometry_learned_prior.hpp"
#include "pcstream/geometry_learned_refine.hpp"
#include "pcstream/geometry_model.hpp"
#include "pcstream/range_coder.hpp"

namespace pcstream::learned {

// What is known of the 4x4x4 block of grandchild voxels around a child voxel
// (bit bx*16 + by*4 + bz, the voxel's own 2x2x2 children in the middle):
// occupied and not yet decoded positions among its neighbours' children. A
// position in neither mask is known to be empty.
struct Neighbourhood {
  uint64_t occupied = 0;
  uint64_t unknown = 0;
  uint32_t lineage = 0;  // the parent's code << 3 | the voxel's octant in it
};

// The encoder's choice for one level of a version 5-8 stream (signalled in the
// stream, so decoders do not depend on it): mix where the child level grew
// from its parent by more than 1/256. Where every voxel has a single child
// (LiDAR at millimetre depths) the octants are near-uniform and the mixer
// costs time for nothing (measured: +0.4 % bits there).
inline bool mix_level(size_t voxels, size_t parents) { return voxels > parents + parents / 256; }

class NeighbourhoodMixer {
 public:
  // One mixer codes all mixed levels of a stream, in order; `points` (the
  // header's point count) sizes its hashed tables. `prior` (may be null) must
  // outlive the mixer.
  explicit NeighbourhoodMixer(uint64_t points, const ContextPrior* prior = nullptr);

  // What the hashed counters have learned, as a context prior of 2^22 slots
  // per table: the counters of table t that saw at least min_count[t]
  // decisions (for building a prior from training clouds). Precondition: the
  // mixer was made with points >= 2^20, so that its tables have 2^22 slots.
  ContextPrior snapshot(const int (&min_count)[ContextPrior::kTables]) const;

  void encode(RangeEncoder& enc, const uint32_t* cdf, int step, uint32_t value, uint32_t own_low,
              const Neighbourhood& nb);
  uint32_t decode(RangeDecoder& dec, const uint32_t* cdf, int step, uint32_t own_low, const Neighbourhood& nb);

 private:
  template <class Coder>
  uint32_t code(Coder& coder, const uint32_t* cdf, int step, uint32_t own_low, const Neighbourhood& nb);

  int hash_bits_;
  const ContextPrior* prior_;
  NibbleRefiner refiner_;
  geom::CounterTable faces_, edges_, siblings_, hood_, hood_model_, block_, lineage_;
  geom::Mixer by_model_, by_faces_;
  geom::Apm apm_;
};

}  // namespace pcstream::learned
