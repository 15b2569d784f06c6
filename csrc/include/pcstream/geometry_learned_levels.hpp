// Octree levels shared by the learned encoder and decoder: Morton keys,
// children of a level, and the per-level coders (coarse binary contexts,
// model-driven nibbles, duplicate counts).
//
// Morton key: bit 3i+2 = x_i, 3i+1 = y_i, 3i = z_i, so a child's octant
// (x&1)<<2 | (y&1)<<1 | (z&1) is its key's low 3 bits and children generated
// parent by parent, octant by octant are in Morton order.
// Thread safety: free functions are reentrant.
#pragma once
#include <cstdint>
#include <vector>

#include "pcstream/geometry_learned_mix.hpp"
#include "pcstream/learned_model.hpp"
#include "pcstream/nn_kernels.hpp"
#include "pcstream/range_coder.hpp"

namespace pcstream::learned {

uint64_t morton_key(uint32_t x, uint32_t y, uint32_t z);
void morton_xyz(uint64_t key, int32_t* xyz);

// Voxels of one level in Morton order and, once known, their occupancy codes.
struct Level {
  std::vector<uint64_t> keys;
  std::vector<uint8_t> codes;
  std::vector<int32_t> xyz() const;
};

// Morton keys of n points (input order). Throws InvalidArgument, prefixed by `who`,
// when depth is outside [1, 21] or a coordinate is outside [0, 2^depth).
std::vector<uint64_t> leaf_keys(const uint32_t* xyz, size_t n, int depth, const char* who);

// Fills levels[depth-1..0] (keys and occupancy codes) from the leaf keys in
// levels[depth].keys (sorted, unique). Precondition: levels.size() == depth + 1.
void build_parent_levels(std::vector<Level>& levels, int depth);

// The octree of n points as the encoder codes it: levels 0..depth with their
// codes (the leaf level has none), the count - 1 of each leaf voxel, and the
// point order (leaf order, stable: decoded point i is input point order[i]).
// Throws as leaf_keys.
struct Octree {
  std::vector<Level> levels;
  std::vector<uint64_t> dup;
  std::vector<int64_t> order;
};
Octree build_octree(const uint32_t* xyz, size_t n, int depth, const char* who);

// The first level the model codes: the first of levels[1..depth-1] with at
// least min_learned_voxels voxels, else depth (everything coarse-coded).
int learned_start_level(const std::vector<Level>& levels, int depth, size_t min_learned_voxels);

// The children of `parent` (whose codes are known): keys, parent row, octant.
Level children_of(const Level& parent, std::vector<int32_t>* child_parent = nullptr,
                  std::vector<uint8_t>* octant = nullptr);

// Adaptive binary contexts for the codes of the coarse levels.
struct CoarseContexts {
  BinContext node[256];
};
void encode_code_coarse(RangeEncoder& enc, CoarseContexts& ctx, uint8_t code);
uint8_t decode_code_coarse(RangeDecoder& dec, CoarseContexts& ctx);

// Codes the occupancy codes of `child` (four model steps). `Symbols` either
// encodes child.codes or fills them from the decoder.
class SymbolIO {
 public:
  virtual ~SymbolIO() = default;
  // Codes symbol `value` (encoder) or returns the decoded one, with an integer CDF over 16 symbols,
  // total 2^16, as coding step `step` (0..3: group 1 low/high nibble, group 2 low/high nibble).
  virtual uint32_t code(const uint32_t* cdf, uint32_t value, int step) = 0;
  // Called once per level before any code(): `voxels` children of `parents`
  // parent voxels. A coder that returns true also uses the decoded child-level
  // neighbourhood: code_level_learned then calls code_with() instead of
  // code(). own_low: the voxel's low nibble (steps 1 and 3).
  virtual bool begin_level(size_t /*voxels*/, size_t /*parents*/) { return false; }
  virtual uint32_t code_with(const uint32_t* cdf, uint32_t value, int step, uint32_t /*own_low*/,
                             const Neighbourhood& /*nb*/) {
    return code(cdf, value, step);
  }
};
// The self neighbour table of a level and its conv plan, carried from one
// level to the next (the children's table is derived from it).
struct NeighborCache {
  BigVector<int32_t> table;
  nn::ConvPlan plan;
};
// `cache`: that of `parent` from the previous level (empty when unknown); on
// return it holds the one of `child` for the next level.
void code_level_learned(const OccupancyModel& model, const Level& parent, Level& child, SymbolIO& io, int threads,
                        NeighborCache& cache);

// Duplicate counts per leaf voxel (count - 1).
struct DupContexts {
  BinContext any;
  BinContext prefix[40];
};
void encode_dup(RangeEncoder& enc, DupContexts& ctx, uint64_t extra);
uint64_t decode_dup(RangeDecoder& dec, DupContexts& ctx);

constexpr int kCdfBits = 16;

}  // namespace pcstream::learned
