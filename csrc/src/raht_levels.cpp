// Codec 4, payload version 2: the RAHT coefficients split into octree level
// ranges, one payload (ATTR chunk) per range (raht.hpp, formats/attributes.md).
#include <algorithm>
#include <cmath>
#include <string>

#include "pcstream/raht.hpp"
#include "raht_tree.hpp"

namespace pcstream {
namespace attr {

using namespace raht;

namespace {

constexpr uint8_t kLevelsVersion = 2;
constexpr uint8_t kChunkHasBody = 1;
constexpr int kMaxDepth = 21;

// Transform weights of the levels of chunk [lo, hi]: occupied level-hi voxels
// below each node (points when hi is the full depth). Level lo - 1 keeps its
// weight: its nodes' transform weights are the sums of their children's.
void set_chunk_weights(Octree& t, int lo, int hi, int depth) {
  Level& leaf = t.levels[hi];
  if (hi == depth) leaf.cw = leaf.weight;
  else leaf.cw.assign(leaf.code.size(), 1);
  for (int d = hi - 1; d >= (lo == 0 ? 0 : lo); --d) {
    Level& lv = t.levels[d];
    const Level& nx = t.levels[d + 1];
    lv.cw.assign(lv.code.size(), 0);
    for (size_t i = 0; i < lv.code.size(); ++i)
      for (int k = 0; k < lv.nchild[i]; ++k) lv.cw[i] += nx.cw[lv.first[i] + k];
  }
}

void check_level_his(int depth, const std::vector<int>& his) {
  if (depth < 0 || depth > kMaxDepth) fail(ErrorCode::InvalidArgument, "RAHT levels: depth must be in [0, 21]");
  if (his.empty() || his.back() != depth)
    fail(ErrorCode::InvalidArgument, "RAHT levels: the last level range must end at the depth");
  for (size_t k = 0; k < his.size(); ++k)
    if (his[k] < 0 || (k > 0 && his[k] <= his[k - 1]))
      fail(ErrorCode::InvalidArgument, "RAHT levels: level_hi values must be increasing and >= 0");
}

size_t count_at(const Octree& t, int hi, int depth) {
  return hi == depth ? t.leaf_of.size() : t.levels[hi].code.size();
}

// The transform of a chunk whose last level is coarser than the points has
// weights in voxels, not points; its coefficients are therefore smaller by
// about sqrt(points per voxel). The chunk's quantiser steps are divided by that
// factor (`density` = 256 * points / voxels at level_hi, in the chunk header)
// so that the error per point matches a one-chunk transform.
constexpr uint64_t kDensityOne = 256;
constexpr uint64_t kMaxDensity = uint64_t(1) << 40;

Params chunk_params(const Params& P, uint64_t density) {
  Params Q = P;
  const double f = std::sqrt(static_cast<double>(kDensityOne) / static_cast<double>(density));
  for (int c = 0; c < P.comps; ++c) Q.step[c] = P.step[c] * f;
  return Q;
}

}  // namespace

std::vector<std::vector<uint8_t>> encode_raht_levels(const uint32_t* xyz, size_t n, const uint8_t* values,
                                                     ValueType type, int components, int depth,
                                                     const std::vector<int>& level_his, const RahtOptions& opt) {
  const Params P = params_from_options(opt, type, components);
  check_level_his(depth, level_his);
  const int C = components;
  const MortonOrder order = morton_order(xyz, n);
  Octree t;
  std::vector<std::vector<double>> sums(depth + 1);
  if (n) {
    for (size_t k = 0; k < n; ++k)
      for (int a = 0; a < 3; ++a)
        if (xyz[3 * k + a] >> depth) fail(ErrorCode::InvalidArgument, "RAHT levels: a coordinate is >= 2^depth");
    t = build_octree(order, n, depth);
    // Sums bottom-up with the weights of each chunk: at the last level of a
    // chunk (but the last) a node is a leaf of weight 1 holding the mean of
    // its subtree under the next chunk's weights.
    std::vector<bool> boundary(depth + 1, false);
    for (size_t k = 0; k + 1 < level_his.size(); ++k) boundary[level_his[k]] = true;
    sums[depth] = leaf_sums(order, t, values, type, P);
    for (int d = depth - 1; d >= 0; --d) {
      Level& lv = t.levels[d];
      const Level& nx = t.levels[d + 1];
      sums[d].assign(C * lv.code.size(), 0.0);
      for (size_t i = 0; i < lv.code.size(); ++i) {
        uint64_t wsum = 0;
        for (int k = 0; k < lv.nchild[i]; ++k) {
          wsum += nx.cw[lv.first[i] + k];
          for (int c = 0; c < C; ++c) sums[d][C * i + c] += sums[d + 1][C * (lv.first[i] + k) + c];
        }
        if (boundary[d]) {
          for (int c = 0; c < C; ++c) sums[d][C * i + c] /= static_cast<double>(wsum);
          lv.cw[i] = 1;
        } else {
          lv.cw[i] = static_cast<uint32_t>(wsum);
        }
      }
    }
  }
  std::vector<std::vector<uint8_t>> out;
  TreeState S;
  int64_t root_q[kMaxComps] = {0, 0, 0};
  int lo = 0;
  for (int hi : level_his) {
    ByteWriter w;
    RangeEncoder enc;
    const size_t count = n ? count_at(t, hi, depth) : 0;
    const uint64_t density =
        count ? std::min<uint64_t>(kMaxDensity, std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(
                                                     static_cast<double>(kDensityOne) * n / count))))
              : kDensityOne;
    const Params Q = chunk_params(P, density);
    if (n && lo == 0) start_tree<true>(Q, static_cast<double>(t.levels[0].cw[0]), &sums[0], root_q, S);
    const bool any = n ? code_levels<true>(t, Q, S, hi, &sums, opt.deadzone, true, &enc, nullptr) : false;
    w.u8(kLevelsVersion);
    w.u8(static_cast<uint8_t>(lo));
    w.u8(static_cast<uint8_t>(hi));
    w.u8(any ? kChunkHasBody : 0);
    w.varint(count);
    w.varint(density);
    if (lo == 0) {
      w.u8(static_cast<uint8_t>(type));
      w.u8(static_cast<uint8_t>(components));
      w.u8(static_cast<uint8_t>(depth));
      write_params(w, P, opt);
      if (n)
        for (int c = 0; c < C; ++c) w.varint(zigzag_encode(root_q[c]));
    }
    if (any) w.bytes(enc.finish());
    out.push_back(std::move(w.bytes()));
    lo = hi + 1;
  }
  return out;
}

struct RahtLevelDecoder::Impl {
  ValueType type;
  int comps;
  Params P;
  int depth = -1;
  int level = -1;
  bool empty = false;  // the stream codes no point
  TreeState S;
  MortonOrder order;
  Octree tree;
  int tree_level = -1;
};

RahtLevelDecoder::RahtLevelDecoder(ValueType type, int components) : impl_(new Impl()) {
  check_args(type, components);
  impl_->type = type;
  impl_->comps = components;
}

RahtLevelDecoder::~RahtLevelDecoder() = default;

int RahtLevelDecoder::level() const { return impl_->level; }
int RahtLevelDecoder::depth() const { return impl_->depth; }
bool RahtLevelDecoder::done() const { return impl_->level >= 0 && impl_->level == impl_->depth; }

void RahtLevelDecoder::set_points(const uint32_t* xyz, size_t m, int level) {
  Impl& I = *impl_;
  if (level < 0 || level > kMaxDepth || level < I.level || (I.depth >= 0 && level > I.depth))
    fail(ErrorCode::InvalidArgument, "RAHT levels: points of level " + std::to_string(level) +
                                         " do not fit the decoded level " + std::to_string(I.level));
  for (size_t k = 0; k < m; ++k)
    for (int a = 0; a < 3; ++a)
      if (xyz[3 * k + a] >> level) fail(ErrorCode::InvalidArgument, "RAHT levels: a coordinate is >= 2^level");
  I.order = morton_order(xyz, m);
  I.tree = m ? build_octree(I.order, m, level) : Octree();
  I.tree_level = level;
}

int RahtLevelDecoder::feed(const uint8_t* payload, size_t size) {
  Impl& I = *impl_;
  ByteReader r(payload, size);
  const uint8_t version = r.u8("RAHT version");
  if (version != kLevelsVersion)
    fail(ErrorCode::UnsupportedCodec, "RAHT level-range payload version " + std::to_string(version) + " unknown", 0);
  const int lo = r.u8("RAHT level_lo");
  const int hi = r.u8("RAHT level_hi");
  const uint8_t flags = r.u8("RAHT chunk flags");
  if (flags & ~kChunkHasBody) fail(ErrorCode::ReservedBitsSet, "RAHT: reserved chunk flag bits set", 3);
  const bool body = (flags & kChunkHasBody) != 0;
  if (lo != I.level + 1 || hi < lo)
    fail(ErrorCode::CorruptPayload, "RAHT chunk of levels " + std::to_string(lo) + ".." + std::to_string(hi) +
                                        " does not follow level " + std::to_string(I.level), 1);
  const uint64_t count = r.varint("RAHT voxel count");
  const uint64_t density = r.varint("RAHT density");
  if (density < 1 || density > kMaxDensity) fail(ErrorCode::CorruptPayload, "RAHT: chunk density out of range", r.offset());
  Params P = I.P;
  int depth = I.depth;
  int64_t root_q[kMaxComps] = {0, 0, 0};
  if (lo == 0) {
    if (r.u8("RAHT value type") != static_cast<uint8_t>(I.type))
      fail(ErrorCode::CorruptPayload, "RAHT payload holds another value type than the metadata announces", r.offset() - 1);
    if (r.u8("RAHT components") != I.comps)
      fail(ErrorCode::CorruptPayload, "RAHT payload holds another component count than the metadata announces", r.offset() - 1);
    depth = r.u8("RAHT depth");
    if (depth > kMaxDepth) fail(ErrorCode::CorruptPayload, "RAHT: depth above 21", r.offset() - 1);
    P = read_params(r, I.comps);
    if (count) read_root_dc(r, I.comps, root_q);
  }
  if (hi > depth) fail(ErrorCode::CorruptPayload, "RAHT: chunk level_hi beyond the stream depth", 2);
  if (I.tree_level < 0) fail(ErrorCode::InvalidArgument, "RAHT levels: set_points() before feed()");
  // The geometry the caller has must reach the chunk's levels (and be the full
  // resolution for the last chunk): else the chunk does not belong to it.
  if (I.tree_level < hi || (hi == depth && I.tree_level != depth) || I.tree_level > depth)
    fail(ErrorCode::CorruptPayload, "RAHT chunk of levels up to " + std::to_string(hi) + " (depth " +
                                        std::to_string(depth) + ") does not fit the geometry of level " +
                                        std::to_string(I.tree_level), 2);
  const bool empty = I.tree.levels.empty();
  const size_t have = empty ? 0 : count_at(I.tree, hi, depth);
  if (count != have)
    fail(ErrorCode::CorruptPayload, "RAHT chunk is for " + std::to_string(count) + " voxels at level " +
                                        std::to_string(hi) + ", the geometry has " + std::to_string(have), 4);
  if (empty && (body || (lo > 0 && !I.empty)))
    fail(ErrorCode::CorruptPayload, "RAHT chunk codes coefficients for an empty geometry", 3);
  // Decode into a copy so that a failure keeps the last complete level.
  TreeState S;
  if (!empty) {
    if (lo > 0) {
      if (I.S.mean.size() != static_cast<size_t>(I.comps) * I.tree.levels[lo - 1].code.size())
        fail(ErrorCode::CorruptPayload, "RAHT: the geometry disagrees with the decoded coarser levels", 0);
      S.mean = I.S.mean;
      S.parent_nz = I.S.parent_nz;
      S.model.reset(new CoefModel(*I.S.model));
      S.level = I.S.level;
    }
    set_chunk_weights(I.tree, lo, hi, depth);
    const Params Q = chunk_params(P, density);
    if (lo == 0) start_tree<false>(Q, static_cast<double>(I.tree.levels[0].cw[0]), nullptr, root_q, S);
    if (body) {
      RangeDecoder dec(r.cursor(), r.remaining());
      code_levels<false>(I.tree, Q, S, hi, nullptr, 0.5, true, nullptr, &dec);
      dec.check_end("RAHT attribute chunk");
    } else {
      code_levels<false>(I.tree, Q, S, hi, nullptr, 0.5, false, nullptr, nullptr);
    }
  }
  if (!body && r.remaining())
    fail(ErrorCode::CorruptPayload, "RAHT: bytes after a chunk without coefficients", r.offset());
  I.S = std::move(S);
  I.P = P;
  I.depth = depth;
  I.level = hi;
  I.empty = empty;
  return hi;
}

void RahtLevelDecoder::values(uint8_t* out) const {
  const Impl& I = *impl_;
  if (I.level < 0) fail(ErrorCode::InvalidArgument, "RAHT levels: no chunk decoded yet");
  const Octree& t = I.tree;
  if (t.levels.empty()) return;
  if (I.S.mean.size() != static_cast<size_t>(I.comps) * t.levels[I.level].code.size())
    fail(ErrorCode::CorruptPayload, "RAHT: the geometry disagrees with the decoded levels", 0);
  // Ancestor at the decoded level of every node at the points' level.
  std::vector<uint32_t> anc(t.levels[I.tree_level].code.size());
  for (size_t j = 0; j < anc.size(); ++j) anc[j] = static_cast<uint32_t>(j);
  std::vector<uint32_t> parent;
  for (int d = I.tree_level - 1; d >= I.level; --d) {
    const Level& lv = t.levels[d];
    parent.resize(t.levels[d + 1].code.size());
    for (size_t i = 0; i < lv.code.size(); ++i)
      for (int k = 0; k < lv.nchild[i]; ++k) parent[lv.first[i] + k] = static_cast<uint32_t>(i);
    for (uint32_t& a : anc) a = parent[a];
  }
  for (size_t k = 0; k < t.leaf_of.size(); ++k)
    store_mean(I.P, I.type, &I.S.mean[static_cast<size_t>(I.comps) * anc[t.leaf_of[k]]], I.order.index(k), out);
}

}  // namespace attr
}  // namespace pcstream
