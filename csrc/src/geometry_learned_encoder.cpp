#include <algorithm>
#include <memory>
#include <numeric>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_levels.hpp"
#include "pcstream/geometry_learned_refine.hpp"
#include "pcstream/multisym.hpp"

namespace pcstream::learned {
namespace {

class EncodeIO : public SymbolIO {
 public:
  // mixer: the stream's context mixer (version 5/6), carried from level to level; else null.
  // refine: the refiner codes the levels the mixer does not (versions 3-6).
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

// Fans one level out to two coders (the model runs once): the stream with and
// the stream without the context prior, while the encoder has not chosen yet.
class FanoutIO : public SymbolIO {
 public:
  FanoutIO(SymbolIO& a, SymbolIO& b) : a_(a), b_(b) {}
  uint32_t code(const uint32_t* cdf, uint32_t value, int step) override {
    a_.code(cdf, value, step);
    return b_.code(cdf, value, step);
  }
  bool begin_level(size_t voxels, size_t parents) override {
    const bool use = a_.begin_level(voxels, parents);
    return b_.begin_level(voxels, parents) && use;
  }
  uint32_t code_with(const uint32_t* cdf, uint32_t value, int step, uint32_t own_low,
                     const Neighbourhood& nb) override {
    a_.code_with(cdf, value, step, own_low, nb);
    return b_.code_with(cdf, value, step, own_low, nb);
  }

 private:
  SymbolIO &a_, &b_;
};

// The levels of one cloud, leaf keys sorted, with duplicate counts.
struct Octree {
  std::vector<Level> levels;  // levels[L]: voxels of level L with their codes (leaf level: no codes)
  std::vector<uint64_t> dup;  // count - 1 per leaf
  std::vector<int64_t> order;
};

Octree build_octree(const uint32_t* xyz, size_t n, int depth, const char* who) {
  std::vector<uint64_t> keys = leaf_keys(xyz, n, depth, who);
  Octree t;
  t.order.resize(n);
  std::iota(t.order.begin(), t.order.end(), int64_t{0});
  std::stable_sort(t.order.begin(), t.order.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  t.levels.resize(static_cast<size_t>(depth) + 1);
  for (size_t i = 0; i < n; ++i) {
    uint64_t k = keys[t.order[i]];
    if (!t.levels[depth].keys.empty() && t.levels[depth].keys.back() == k) { ++t.dup.back(); continue; }
    t.levels[depth].keys.push_back(k);
    t.dup.push_back(0);
  }
  build_parent_levels(t.levels, depth);
  return t;
}

int learned_start_level(const Octree& t, int depth, size_t min_learned_voxels) {
  for (int L = 1; L < depth; ++L)
    if (t.levels[L].keys.size() >= min_learned_voxels) return L;
  return depth;
}

}  // namespace

Encoded encode(const uint32_t* xyz, size_t n, int depth, const OccupancyModel& model, int threads,
               size_t min_learned_voxels, bool refine, bool mix, const ContextPrior* prior, PriorUse use_prior) {
  Octree tree = build_octree(xyz, n, depth, "learned encode");
  std::vector<Level>& levels = tree.levels;
  Encoded out;
  out.order = std::move(tree.order);

  Header h;
  h.depth = depth;
  h.learned_start = learned_start_level(tree, depth, min_learned_voxels);
  h.model_id = model.id();
  h.model_hash = model.hash();
  h.point_count = n;
  h.adapted = model.adapted();
  h.adapt_digest = model.adapt_digest();
  h.refined = refine && !mix;
  h.mixed = refine && mix;
  if (!h.mixed || !prior) use_prior = PriorUse::Never;
  // Auto needs a level to judge by before the last one; without one it codes no prior.
  if (use_prior == PriorUse::Auto && h.learned_start >= depth - 1) use_prior = PriorUse::Never;
  if (use_prior == PriorUse::Always) h.prior = true;
  if (prior) h.prior_digest = prior->digest;
  if (n == 0) {
    h.prior = false;
    out.header = write_header(h);
    return out;
  }

  auto make_chunk = [&](RangeEncoder& enc, int lo, int hi) {
    if (hi == depth) {
      DupContexts dc;
      for (uint64_t d : tree.dup) encode_dup(enc, dc, d);
    }
    Chunk c;
    c.level_lo = lo;
    c.level_hi = hi;
    c.point_count = hi == depth ? n : levels[hi].keys.size();
    c.payload = enc.finish();
    return c;
  };
  {
    RangeEncoder enc;
    CoarseContexts cc;
    for (int L = 0; L < h.learned_start; ++L)
      for (uint8_t code : levels[L].codes) encode_code_coarse(enc, cc, code);
    out.chunks.push_back(make_chunk(enc, 1, h.learned_start));
  }
  NeighborCache nbr_cache;
  // Stream 0 without the prior, stream 1 with it; Auto codes both until the last level.
  std::unique_ptr<NeighbourhoodMixer> mixers[2];
  std::vector<Chunk> chunks[2];
  const bool both = use_prior == PriorUse::Auto;
  if (h.mixed) {
    if (use_prior != PriorUse::Always) mixers[0].reset(new NeighbourhoodMixer(n));
    if (use_prior != PriorUse::Never) mixers[1].reset(new NeighbourhoodMixer(n, prior));
  }
  int pick = h.prior ? 1 : 0;
  for (int L = h.learned_start; L < depth; ++L) {
    const bool last = L == depth - 1;
    if (both && !last) {
      RangeEncoder enc0, enc1;
      EncodeIO io0(enc0, true, mixers[0].get()), io1(enc1, true, mixers[1].get());
      FanoutIO io(io0, io1);
      code_level_learned(model, levels[L - 1], levels[L], io, threads, nbr_cache);
      chunks[0].push_back(make_chunk(enc0, L + 1, L + 1));
      chunks[1].push_back(make_chunk(enc1, L + 1, L + 1));
      continue;
    }
    if (both) {  // the last level: keep the stream that is smaller so far
      size_t size[2] = {0, 0};
      for (int s = 0; s < 2; ++s)
        for (const Chunk& c : chunks[s]) size[s] += c.payload.size();
      pick = size[1] < size[0] ? 1 : 0;
      h.prior = pick == 1;
    }
    RangeEncoder enc;
    EncodeIO io(enc, h.refined || h.mixed, mixers[pick].get());
    code_level_learned(model, levels[L - 1], levels[L], io, threads, nbr_cache);
    chunks[pick].push_back(make_chunk(enc, L + 1, L + 1));
  }
  for (Chunk& c : chunks[pick]) out.chunks.push_back(std::move(c));
  out.header = write_header(h);
  return out;
}

ContextPrior build_context_prior(const std::vector<TrainingCloud>& clouds, const OccupancyModel& model, int threads,
                                 int min_count) {
  NeighbourhoodMixer mixer(uint64_t{1} << 40);  // the largest tables
  for (const TrainingCloud& c : clouds) {
    Octree tree = build_octree(c.xyz, c.n, c.depth, "context prior");
    if (c.n == 0) continue;
    const int start = learned_start_level(tree, c.depth, kLearnedMinVoxels);
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
