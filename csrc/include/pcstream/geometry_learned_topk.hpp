// Top-k upsampling for learned lossy geometry (codec id 10): the decoder
// reconstructs an omitted octree scale from the last decoded one by running the
// occupancy model of learned_model.hpp and keeping the k most probable children.
//
// Per voxel v of level L the model (given level L-1 and its codes) yields the
// nibble distributions of v's occupancy code; the probability of child octant o
// is the marginal of bit o:
//   group 1 (x+y+z even): bits 0-3 from the low-nibble distribution (step 0),
//     bits 4-7 from the high-nibble distribution given the most probable low
//     nibble (step 1);
//   group 2: the same with steps 2 and 3, whose context is the decoder's own
//     predicted group-1 codes (most probable low nibble, then most probable
//     high nibble given it; a predicted code 0 becomes the most probable single
//     child).
// Selection: every voxel keeps its most probable child (a voxel is occupied, so
// it has at least one), then the k - n most probable remaining children; ties
// by Morton key ascending. Everything is float32 in a fixed order with the
// runtime's own exp, so results are identical for any thread count.
//
// Errors: InvalidArgument for coordinates outside [0, 2^level) or level outside
// [1, kMaxDepth - 1]; CorruptPayload when k is outside [n, 8n] (n = distinct
// voxels), which a decoder reports for a damaged count.
// Thread safety: reentrant (the model is immutable).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/learned_model.hpp"

namespace pcstream::learned {

// Probability (8 per voxel, octant order) of each child of the voxels `keys`
// (Morton keys at level L, sorted, distinct; L >= 1).
std::vector<float> child_probabilities(const OccupancyModel& model, const std::vector<uint64_t>& keys, int threads);

// Child keys (Morton order) kept by the top-k rule above, from the voxels
// `keys` and their child probabilities.
std::vector<uint64_t> topk_children(const std::vector<uint64_t>& keys, const std::vector<float>& probs, uint64_t k);

// Upsamples the points `xyz` (n rows at level `level`, duplicates allowed)
// by ks.size() scales, keeping ks[i] voxels at scale level + 1 + i.
// Returns the voxels of level level + ks.size() in Morton order (x, y, z rows).
std::vector<uint32_t> topk_upsample(const OccupancyModel& model, const uint32_t* xyz, size_t n, int level,
                                    const std::vector<uint64_t>& ks, int threads);

}  // namespace pcstream::learned
