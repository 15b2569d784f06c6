// The occupancy model "occ-sparse-v1" of the learned geometry codec, evaluated
// with the deterministic runtime (nn_runtime.hpp). Python twin:
// python/pcstream/learn/model.py (same tensor names and layouts).
//
// One scale: the parents (voxels of level t-1 with their known 8-bit
// occupancy codes) and the children (voxels of level t, whose codes are to be
// coded). Network, C channels, k×k×k kernels:
//   P  = emb_code[parent code];  P = relu(conv(P));  P = P + conv(relu(conv(P)))      (prior)
//   X  = P[parent of child] + emb_octant[octant];  X = relu(conv(X));  X = X + conv(relu(conv(X)))  (target)
//   group 1 = children with even x+y+z, group 2 = odd:
//   step 0: low nibble of group 1   = head0(X)
//   step 1: high nibble of group 1  = head1(X + emb_lo1[low nibble])
//   Z = relu(conv(emb_ctx[group-1 code, or 256 for group 2]))   (outputs at group 2 only)
//   step 2: low nibble of group 2   = head2(X + Z)
//   step 3: high nibble of group 2  = head3(X + Z + emb_lo2[low nibble])
//   head_s(f) = linear(relu(linear(f)))  -> 16 logits.
//
// Thread safety: a constructed model is immutable; methods are reentrant.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pcstream/nn_kernels.hpp"
#include "pcstream/nn_model_file.hpp"
#include "pcstream/nn_runtime.hpp"

namespace pcstream::learned {

constexpr int kNibble = 16;
constexpr int kCtxUnknown = 256;  // context index of a voxel whose code is not known yet

struct Layer {
  const float* w = nullptr;
  const float* b = nullptr;
};

class OccupancyModel {
 public:
  explicit OccupancyModel(nn::ModelFile file);
  // A model adapted to one input (geometry_learned_adapt.hpp): `file` holds the
  // base weights plus the decoded delta, keeps the base id and hash, and
  // `adapt_digest` is the SHA-256 of the WGHT payload that carried the delta.
  OccupancyModel(nn::ModelFile file, const std::array<uint8_t, 32>& adapt_digest);
  OccupancyModel(const OccupancyModel&) = delete;
  OccupancyModel& operator=(const OccupancyModel&) = delete;

  const std::string& id() const { return file_.id; }
  const std::array<uint8_t, 32>& hash() const { return file_.hash; }
  int channels() const { return c_; }
  int kernel() const { return k_; }
  const nn::ModelFile& file() const { return file_; }
  bool adapted() const { return adapted_; }
  const std::array<uint8_t, 32>& adapt_digest() const { return adapt_digest_; }

  // Self neighbour table (rows × k^3) of a voxel set, for trunk() and context().
  std::vector<int32_t> neighbors(const std::vector<int32_t>& xyz, int threads) const;
  // Child features X (nc × C). parent_nbr / child_nbr: neighbors() of the parent
  // and child voxels; child_parent[i] indexes the parents; octant[i] in 0..7.
  nn::Matrix trunk(const std::vector<uint8_t>& parent_codes, const std::vector<int32_t>& parent_nbr,
                   const std::vector<int32_t>& child_parent, const std::vector<uint8_t>& octant,
                   const std::vector<int32_t>& child_nbr, int threads) const;
  // trunk() with the neighbour tables already turned into conv plans
  // (nn_kernels.hpp): parent_plan maps parents to parents, child_plan children
  // to children; both with this model's k^3 offsets.
  nn::Matrix trunk(const std::vector<uint8_t>& parent_codes, const nn::ConvPlan& parent_plan,
                   const std::vector<int32_t>& child_parent, const std::vector<uint8_t>& octant,
                   const nn::ConvPlan& child_plan, int threads) const;
  // Context features Z at the rows `out_rows` (group 2) from the codes of all
  // children (ctx[i] = code, or kCtxUnknown).
  nn::Matrix context(const std::vector<int32_t>& ctx, const std::vector<int32_t>& child_nbr,
                     const std::vector<int32_t>& out_rows, int threads) const;
  // feat += context(ctx, child_nbr, out_rows) where `plan` is the plan of
  // child_nbr restricted to out_rows (feat: out_rows.size() × C). Same bits.
  void add_context(const std::vector<int32_t>& ctx, const nn::ConvPlan& plan, nn::Matrix& feat, int threads) const;
  // 16 logits per row for coding step 0..3; `feat` rows are X (plus Z for
  // steps 2, 3); `low` (steps 1, 3) holds the decoded low nibbles.
  nn::Matrix logits(int step, const nn::Matrix& feat, const std::vector<int32_t>& low, int threads) const;
  // The inputs of head `step`'s two linear layers for the same arguments as
  // logits(): fc1_in = feat (+ low-nibble embedding), fc2_in = relu(fc1(fc1_in)).
  void head_inputs(int step, nn::Matrix feat, const std::vector<int32_t>& low, int threads, nn::Matrix* fc1_in,
                   nn::Matrix* fc2_in) const;

 private:
  Layer layer(const std::string& name, uint32_t in, uint32_t out, bool conv) const;
  const float* table(const std::string& name, uint32_t rows) const;

  nn::ModelFile file_;
  bool adapted_ = false;
  std::array<uint8_t, 32> adapt_digest_{};
  int c_ = 0, k_ = 0;
  size_t kk_ = 0;
  const float* emb_code_ = nullptr;
  const float* emb_oct_ = nullptr;
  const float* emb_ctx_ = nullptr;
  const float* emb_lo_[2] = {nullptr, nullptr};
  Layer prior_[3], target_[3], ctx_conv_;
  Layer head1_[4], head2_[4];
};

}  // namespace pcstream::learned
