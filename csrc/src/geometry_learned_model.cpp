#include <algorithm>

#include "pcstream/error.hpp"
#include "pcstream/learned_model.hpp"
#include "pcstream/nn_kernels.hpp"
#include "pcstream/parallel_rows.hpp"
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
  return trunk(parent_codes, nn::make_conv_plan(parent_nbr.data(), np, kk_, np, threads), child_parent, octant,
               nn::make_conv_plan(child_nbr.data(), nc, kk_, nc, threads), threads);
}

nn::Matrix OccupancyModel::trunk(const std::vector<uint8_t>& parent_codes, const nn::ConvPlan& pplan,
                                 const std::vector<int32_t>& child_parent, const std::vector<uint8_t>& octant,
                                 const nn::ConvPlan& cplan, int threads) const {
  const size_t np = parent_codes.size(), nc = child_parent.size();
  if (pplan.n_out != np || pplan.n_in != np || pplan.K != kk_ || cplan.n_out != nc || cplan.n_in != nc ||
      cplan.K != kk_ || octant.size() != nc)
    fail(ErrorCode::InvalidArgument, "OccupancyModel::trunk: inconsistent sizes");
  const size_t C = static_cast<size_t>(c_);
  using nn::Epilogue;
  // Prior network on the parents; the first layer reads the code embedding in place.
  std::vector<int32_t> idx(parent_codes.begin(), parent_codes.end());
  nn::Matrix p, h;
  nn::conv_apply(pplan, nn::RowSource{emb_code_, C, idx.data()}, C, prior_[0].w, prior_[0].b, C, Epilogue::Relu, p,
                 threads);
  nn::conv_apply(pplan, nn::rows_of(p), C, prior_[1].w, prior_[1].b, C, Epilogue::Relu, h, threads);
  nn::conv_apply(pplan, nn::rows_of(h), C, prior_[2].w, prior_[2].b, C, Epilogue::AddTo, p, threads);
  // Copy to the children with the octant embedding.
  for (size_t i = 0; i < nc; ++i)
    if (child_parent[i] < 0 || static_cast<size_t>(child_parent[i]) >= np || octant[i] > 7)
      fail(ErrorCode::InvalidArgument, "OccupancyModel::trunk: bad parent index or octant");
  nn::Matrix x = nn::Matrix::uninit(nc, C);
  nn::parallel_rows(nc, threads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const float* pr = p.row(static_cast<size_t>(child_parent[i]));
      const float* oe = emb_oct_ + octant[i] * C;
      float* xr = x.row(i);
      for (size_t c = 0; c < C; ++c) xr[c] = pr[c] + oe[c];
    }
  });
  // Target network on the children (x's buffer is reused for the hidden layer).
  nn::conv_apply(cplan, nn::rows_of(x), C, target_[0].w, target_[0].b, C, Epilogue::Relu, p, threads);
  nn::conv_apply(cplan, nn::rows_of(p), C, target_[1].w, target_[1].b, C, Epilogue::Relu, x, threads);
  nn::conv_apply(cplan, nn::rows_of(x), C, target_[2].w, target_[2].b, C, Epilogue::AddTo, p, threads);
  return p;
}

nn::Matrix OccupancyModel::context(const std::vector<int32_t>& ctx, const std::vector<int32_t>& child_nbr,
                                   const std::vector<int32_t>& out_rows, int threads) const {
  const size_t nc = ctx.size();
  if (child_nbr.size() != nc * kk_) fail(ErrorCode::InvalidArgument, "OccupancyModel::context: inconsistent sizes");
  for (int32_t r : out_rows)
    if (r < 0 || static_cast<size_t>(r) >= nc) fail(ErrorCode::InvalidArgument, "context: bad row");
  // Only the rows `out_rows` of the table.
  const nn::ConvPlan plan = nn::make_conv_plan(child_nbr.data(), nc, kk_, nc, threads, out_rows.data(), out_rows.size());
  nn::Matrix z(out_rows.size(), static_cast<size_t>(c_));
  add_context(ctx, plan, z, threads);  // 0 + relu(v) == relu(v): relu gives +0 or a positive v
  return z;
}

void OccupancyModel::add_context(const std::vector<int32_t>& ctx, const nn::ConvPlan& plan, nn::Matrix& feat,
                                 int threads) const {
  const size_t C = static_cast<size_t>(c_);
  if (plan.n_in != ctx.size() || plan.K != kk_ || feat.rows != plan.n_out || feat.cols != C)
    fail(ErrorCode::InvalidArgument, "OccupancyModel::add_context: inconsistent sizes");
  for (int32_t v : ctx)
    if (v < 0 || v > kCtxUnknown) fail(ErrorCode::InvalidArgument, "embedding index out of range");
  // The input rows are read from the embedding in place.
  nn::conv_apply(plan, nn::RowSource{emb_ctx_, C, ctx.data()}, C, ctx_conv_.w, ctx_conv_.b, C, nn::Epilogue::ReluAddTo,
                 feat, threads);
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

nn::Matrix OccupancyModel::logits(int step, const nn::Matrix& feat, const std::vector<int32_t>& low, int threads) const {
  if (step < 0 || step > 3 || feat.cols != static_cast<size_t>(c_))
    fail(ErrorCode::InvalidArgument, "OccupancyModel::logits: bad step or feature width");
  const size_t C = static_cast<size_t>(c_), n = feat.rows;
  nn::Matrix with_low;
  const nn::Matrix* in = &feat;
  if (step == 1 || step == 3) {
    if (low.size() != n) fail(ErrorCode::InvalidArgument, "OccupancyModel::logits: low nibbles missing");
    const float* emb = emb_lo_[step == 1 ? 0 : 1];
    for (size_t i = 0; i < n; ++i)
      if (low[i] < 0 || low[i] >= kNibble) fail(ErrorCode::InvalidArgument, "embedding index out of range");
    with_low = nn::Matrix::uninit(n, C);
    nn::parallel_rows(n, threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        const float* f = feat.row(i);
        const float* em = emb + static_cast<size_t>(low[i]) * C;
        float* o = with_low.row(i);
        for (size_t c = 0; c < C; ++c) o[c] = f[c] + em[c];
      }
    });
    in = &with_low;
  }
  nn::Matrix h, out;
  nn::linear_apply(nn::rows_of(*in), n, C, head1_[step].w, head1_[step].b, C, nn::Epilogue::Relu, h, threads);
  nn::linear_apply(nn::rows_of(h), n, C, head2_[step].w, head2_[step].b, kNibble, nn::Epilogue::Store, out, threads);
  return out;
}

}  // namespace pcstream::learned
