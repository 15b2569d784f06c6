#include <algorithm>

#include "pcstream/error.hpp"
#include "pcstream/learned_model.hpp"
#include "pcstream/sparse_neighbors.hpp"

namespace pcstream::learned {
namespace {

nn::Matrix lookup(const float* t, size_t rows, size_t cols, const std::vector<int32_t>& idx) {
  nn::Matrix m(idx.size(), cols);
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || static_cast<size_t>(idx[i]) >= rows) fail(ErrorCode::InvalidArgument, "embedding index out of range");
    std::copy_n(t + static_cast<size_t>(idx[i]) * cols, cols, m.row(i));
  }
  return m;
}

}  // namespace

OccupancyModel::OccupancyModel(nn::ModelFile file) : file_(std::move(file)) {
  if (file_.arch != "occ-sparse-v1")
    fail(ErrorCode::UnsupportedCodec, "learned model architecture '" + file_.arch + "' is not supported");
  c_ = file_.param("channels");
  k_ = file_.param("kernel");
  if (c_ < 1 || c_ > 128) fail(ErrorCode::CorruptPayload, "learned model: channels out of range");
  nn::kernel_offsets(k_ == 3 || k_ == 5 ? k_ : -1);
  kk_ = static_cast<size_t>(k_) * k_ * k_;
  const uint32_t C = static_cast<uint32_t>(c_);
  emb_code_ = table("prior.emb_code", 256);
  emb_oct_ = table("target.emb_octant", 8);
  emb_ctx_ = table("ctx.emb_code", 257);
  emb_lo_[0] = table("head1.emb_low", 16);
  emb_lo_[1] = table("head3.emb_low", 16);
  const char* convs[3] = {"conv0", "res.conv1", "res.conv2"};
  for (int i = 0; i < 3; ++i) {
    prior_[i] = layer(std::string("prior.") + convs[i], C, C, true);
    target_[i] = layer(std::string("target.") + convs[i], C, C, true);
  }
  ctx_conv_ = layer("ctx.conv", C, C, true);
  for (int s = 0; s < 4; ++s) {
    head1_[s] = layer("head" + std::to_string(s) + ".fc1", C, C, false);
    head2_[s] = layer("head" + std::to_string(s) + ".fc2", C, kNibble, false);
  }
}

OccupancyModel::OccupancyModel(nn::ModelFile file, const std::array<uint8_t, 32>& adapt_digest)
    : OccupancyModel(std::move(file)) {
  adapted_ = true;
  adapt_digest_ = adapt_digest;
}

const float* OccupancyModel::table(const std::string& name, uint32_t rows) const {
  return file_.get(name, {rows, static_cast<uint32_t>(c_)}).data.data();
}

Layer OccupancyModel::layer(const std::string& name, uint32_t in, uint32_t out, bool conv) const {
  Layer l;
  if (conv)
    l.w = file_.get(name + ".weight", {static_cast<uint32_t>(kk_), in, out}).data.data();
  else
    l.w = file_.get(name + ".weight", {in, out}).data.data();
  l.b = file_.get(name + ".bias", {out}).data.data();
  return l;
}

nn::Matrix OccupancyModel::conv(const nn::Matrix& x, const std::vector<int32_t>& nbr, size_t n_out, Layer l,
                                int threads) const {
  return nn::sparse_conv(x, nbr, n_out, kk_, l.w, l.b, static_cast<size_t>(c_), threads);
}

std::vector<int32_t> OccupancyModel::neighbors(const std::vector<int32_t>& xyz, int threads) const {
  nn::CoordIndex index(xyz.data(), xyz.size() / 3);
  return nn::neighbor_table(index, xyz.data(), xyz.size() / 3, k_, threads);
}

nn::Matrix OccupancyModel::trunk(const std::vector<uint8_t>& parent_codes, const std::vector<int32_t>& parent_nbr,
                                 const std::vector<int32_t>& child_parent, const std::vector<uint8_t>& octant,
                                 const std::vector<int32_t>& child_nbr, int threads) const {
  const size_t np = parent_codes.size(), nc = child_parent.size();
  if (parent_nbr.size() != np * kk_ || child_nbr.size() != nc * kk_ || octant.size() != nc)
    fail(ErrorCode::InvalidArgument, "OccupancyModel::trunk: inconsistent sizes");
  const size_t C = static_cast<size_t>(c_);
  // Prior network on the parents.
  std::vector<int32_t> idx(parent_codes.begin(), parent_codes.end());
  nn::Matrix p = lookup(emb_code_, 256, C, idx);
  p = conv(p, parent_nbr, np, prior_[0], threads);
  nn::relu_inplace(p);
  nn::Matrix h = conv(p, parent_nbr, np, prior_[1], threads);
  nn::relu_inplace(h);
  nn::add_inplace(p, conv(h, parent_nbr, np, prior_[2], threads));
  // Copy to the children with the octant embedding.
  nn::Matrix x(nc, C);
  for (size_t i = 0; i < nc; ++i) {
    if (child_parent[i] < 0 || static_cast<size_t>(child_parent[i]) >= np || octant[i] > 7)
      fail(ErrorCode::InvalidArgument, "OccupancyModel::trunk: bad parent index or octant");
    const float* pr = p.row(static_cast<size_t>(child_parent[i]));
    const float* oe = emb_oct_ + octant[i] * C;
    float* xr = x.row(i);
    for (size_t c = 0; c < C; ++c) xr[c] = pr[c] + oe[c];
  }
  // Target network on the children.
  x = conv(x, child_nbr, nc, target_[0], threads);
  nn::relu_inplace(x);
  h = conv(x, child_nbr, nc, target_[1], threads);
  nn::relu_inplace(h);
  nn::add_inplace(x, conv(h, child_nbr, nc, target_[2], threads));
  return x;
}

nn::Matrix OccupancyModel::context(const std::vector<int32_t>& ctx, const std::vector<int32_t>& child_nbr,
                                   const std::vector<int32_t>& out_rows, int threads) const {
  const size_t nc = ctx.size();
  if (child_nbr.size() != nc * kk_) fail(ErrorCode::InvalidArgument, "OccupancyModel::context: inconsistent sizes");
  nn::Matrix e = lookup(emb_ctx_, 257, static_cast<size_t>(c_), ctx);
  std::vector<int32_t> nbr(out_rows.size() * kk_);
  for (size_t i = 0; i < out_rows.size(); ++i) {
    if (out_rows[i] < 0 || static_cast<size_t>(out_rows[i]) >= nc) fail(ErrorCode::InvalidArgument, "context: bad row");
    std::copy_n(child_nbr.data() + static_cast<size_t>(out_rows[i]) * kk_, kk_, nbr.data() + i * kk_);
  }
  nn::Matrix z = conv(e, nbr, out_rows.size(), ctx_conv_, threads);
  nn::relu_inplace(z);
  return z;
}

void OccupancyModel::head_inputs(int step, nn::Matrix feat, const std::vector<int32_t>& low, int threads,
                                 nn::Matrix* fc1_in, nn::Matrix* fc2_in) const {
  if (step < 0 || step > 3 || feat.cols != static_cast<size_t>(c_))
    fail(ErrorCode::InvalidArgument, "OccupancyModel::head_inputs: bad step or feature width");
  if (step == 1 || step == 3) {
    if (low.size() != feat.rows) fail(ErrorCode::InvalidArgument, "OccupancyModel::head_inputs: low nibbles missing");
    nn::add_inplace(feat, lookup(emb_lo_[step == 1 ? 0 : 1], 16, static_cast<size_t>(c_), low));
  }
  nn::Matrix h = nn::linear(feat, head1_[step].w, head1_[step].b, static_cast<size_t>(c_), threads);
  nn::relu_inplace(h);
  *fc1_in = std::move(feat);
  *fc2_in = std::move(h);
}

nn::Matrix OccupancyModel::logits(int step, nn::Matrix feat, const std::vector<int32_t>& low, int threads) const {
  if (step < 0 || step > 3 || feat.cols != static_cast<size_t>(c_))
    fail(ErrorCode::InvalidArgument, "OccupancyModel::logits: bad step or feature width");
  if (step == 1 || step == 3) {
    if (low.size() != feat.rows) fail(ErrorCode::InvalidArgument, "OccupancyModel::logits: low nibbles missing");
    nn::add_inplace(feat, lookup(emb_lo_[step == 1 ? 0 : 1], 16, static_cast<size_t>(c_), low));
  }
  nn::Matrix h = nn::linear(feat, head1_[step].w, head1_[step].b, static_cast<size_t>(c_), threads);
  nn::relu_inplace(h);
  return nn::linear(h, head2_[step].w, head2_[step].b, kNibble, threads);
}

}  // namespace pcstream::learned
