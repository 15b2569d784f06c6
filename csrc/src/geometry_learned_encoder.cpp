#include <memory>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_levels.hpp"
#include "pcstream/geometry_learned_refine.hpp"
#include "pcstream/multisym.hpp"

namespace pcstream::learned {
namespace {

class EncodeIO : public SymbolIO {
 public:
  // mixer: the stream's context mixer (versions 5-8), carried from level to level; else null.
  // refine: the refiner codes the levels the mixer does not (versions 3-8).
  EncodeIO(RangeEncoder& e, bool refine, NeighbourhoodMixer* mixer) : enc_(e), refine_(refine), mixer_(mixer) {}
  uint32_t code(const uint32_t* cdf, uint32_t value, int step) override {
    if (refine_)
      refiner_.encode(enc_, cdf, step, value);
    else
      encode_symbol(enc_, cdf, static_cast<int>(value), kCdfBits);
    return value;
  }
  bool begin_level(size_t voxels, size_t parents) override {
    if (!mixer_) return false;
    const bool use = mix_level(voxels, parents);
    enc_.encode_bypass(use);
    return use;
  }
  uint32_t code_with(const uint32_t* cdf, uint32_t value, int step, uint32_t own_low,
                     const Neighbourhood& nb) override {
    mixer_->encode(enc_, cdf, step, value, own_low, nb);
    return value;
  }

 private:
  RangeEncoder& enc_;
  bool refine_;
  NibbleRefiner refiner_;  // fresh per level (versions 3/4 and unmixed levels)
  NeighbourhoodMixer* mixer_;
};

}  // namespace

Encoded encode(const uint32_t* xyz, size_t n, int depth, const OccupancyModel& model, int threads,
               size_t min_learned_voxels, bool refine, bool mix, const ContextPrior* prior) {
  Octree tree = build_octree(xyz, n, depth, "learned encode");
  std::vector<Level>& levels = tree.levels;
  Encoded out;
  out.order = std::move(tree.order);

  Header h;
  h.depth = depth;
  h.learned_start = learned_start_level(tree.levels, depth, min_learned_voxels);
  h.model_id = model.id();
  h.model_hash = model.hash();
  h.point_count = n;
  h.adapted = model.adapted();
  h.adapt_digest = model.adapt_digest();
  h.refined = refine && !mix;
  h.mixed = refine && mix;
  h.prior = h.mixed && prior;
  if (h.prior) h.prior_digest = prior->digest;
  out.header = write_header(h);
  if (n == 0) return out;

  auto finish_chunk = [&](RangeEncoder& enc, int lo, int hi) {
    if (hi == depth) {
      DupContexts dc;
      for (uint64_t d : tree.dup) encode_dup(enc, dc, d);
    }
    Chunk c;
    c.level_lo = lo;
    c.level_hi = hi;
    c.point_count = hi == depth ? n : levels[hi].keys.size();
    c.payload = enc.finish();
    out.chunks.push_back(std::move(c));
  };
  {
    RangeEncoder enc;
    CoarseContexts cc;
    for (int L = 0; L < h.learned_start; ++L)
      for (uint8_t code : levels[L].codes) encode_code_coarse(enc, cc, code);
    finish_chunk(enc, 1, h.learned_start);
  }
  NeighborCache nbr_cache;
  std::unique_ptr<NeighbourhoodMixer> mixer;
  if (h.mixed) mixer.reset(new NeighbourhoodMixer(n, h.prior ? prior : nullptr));
  for (int L = h.learned_start; L < depth; ++L) {
    RangeEncoder enc;
    EncodeIO io(enc, h.refined || h.mixed, mixer.get());
    code_level_learned(model, levels[L - 1], levels[L], io, threads, nbr_cache);
    finish_chunk(enc, L + 1, L + 1);
  }
  return out;
}

ContextPrior build_context_prior(const std::vector<TrainingCloud>& clouds, const OccupancyModel& model, int threads,
                                 const int (&min_count)[ContextPrior::kTables]) {
  NeighbourhoodMixer mixer(uint64_t{1} << 40);  // the largest tables
  for (const TrainingCloud& c : clouds) {
    if (c.n == 0) continue;
    Octree tree = build_octree(c.xyz, c.n, c.depth, "context prior");
    const int start = learned_start_level(tree.levels, c.depth, kLearnedMinVoxels);
    NeighborCache nbr_cache;
    for (int L = start; L < c.depth; ++L) {
      RangeEncoder enc;
      EncodeIO io(enc, true, &mixer);
      code_level_learned(model, tree.levels[L - 1], tree.levels[L], io, threads, nbr_cache);
    }
  }
  return mixer.snapshot(min_count);
}

}  // namespace pcstream::learned
