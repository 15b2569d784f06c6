#include "pcstream/geometry_learned_topk.hpp"

#include <algorithm>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_levels.hpp"

namespace pcstream::learned {
namespace {

// softmax of 16 logits in float32, fixed order, the runtime's exp.
void softmax16(const float* l, float* p) {
  float m = l[0];
  for (int i = 1; i < kNibble; ++i) m = std::max(m, l[i]);
  float s = 0.0f;
  for (int i = 0; i < kNibble; ++i) {
    float d = l[i] - m;
    p[i] = (d == d) ? nn::exp_nonpos(d) : 0.0f;  // NaN logit -> weight 0
    s += p[i];
  }
  const float inv = s > 0.0f ? 1.0f / s : 0.0f;
  for (int i = 0; i < kNibble; ++i) p[i] *= inv;
}

// Marginals of the four bits of a nibble into out[0..3]; returns the most
// probable value (lowest on ties), excluding 0 when `nonzero`.
int nibble_marginals(const float* p, bool nonzero, float* out) {
  for (int b = 0; b < 4; ++b) {
    float s = 0.0f;
    for (int v = 0; v < kNibble; ++v)
      if (v >> b & 1) s += p[v];
    out[b] = s;
  }
  int best = nonzero ? 1 : 0;
  for (int v = best + 1; v < kNibble; ++v)
    if (p[v] > p[best]) best = v;
  return best;
}

}  // namespace

std::vector<float> child_probabilities(const OccupancyModel& model, const std::vector<uint64_t>& keys, int threads) {
  const size_t n = keys.size();
  std::vector<float> probs(8 * n, 0.0f);
  if (n == 0) return probs;
  Level parent;
  for (uint64_t k : keys) {
    uint64_t pk = k >> 3;
    if (parent.keys.empty() || parent.keys.back() != pk) {
      parent.keys.push_back(pk);
      parent.codes.push_back(0);
    }
    parent.codes.back() = static_cast<uint8_t>(parent.codes.back() | 1u << (k & 7));
  }
  std::vector<int32_t> cp;
  std::vector<uint8_t> oct;
  Level child = children_of(parent, &cp, &oct);
  if (child.keys != keys) fail(ErrorCode::Internal, "child_probabilities: keys must be sorted and distinct");
  std::vector<int32_t> cxyz = child.xyz();
  std::vector<int32_t> child_nbr = model.neighbors(cxyz, threads);
  nn::Matrix x = model.trunk(parent.codes, model.neighbors(parent.xyz(), threads), cp, oct, child_nbr, threads);

  std::vector<int32_t> group[2];
  for (size_t i = 0; i < n; ++i) group[(cxyz[3 * i] + cxyz[3 * i + 1] + cxyz[3 * i + 2]) & 1].push_back(static_cast<int32_t>(i));

  std::vector<int32_t> ctx(n, kCtxUnknown);
  float p[kNibble];
  // Steps `step` (low) and step + 1 (high) for the rows of one group; fills
  // the probabilities and returns the predicted codes.
  auto predict = [&](int step, const nn::Matrix& feat, const std::vector<int32_t>& rows) {
    std::vector<int32_t> low(rows.size()), code(rows.size());
    nn::Matrix lo = model.logits(step, feat, {}, threads);
    for (size_t i = 0; i < rows.size(); ++i) {
      softmax16(lo.row(i), p);
      low[i] = nibble_marginals(p, false, &probs[8 * static_cast<size_t>(rows[i])]);
    }
    nn::Matrix hi = model.logits(step + 1, feat, low, threads);
    for (size_t i = 0; i < rows.size(); ++i) {
      softmax16(hi.row(i), p);
      int h = nibble_marginals(p, low[i] == 0, &probs[8 * static_cast<size_t>(rows[i]) + 4]);
      code[i] = low[i] | h << 4;
    }
    return code;
  };
  std::vector<int32_t> code1 = predict(0, nn::gather_rows(x, group[0].data(), group[0].size()), group[0]);
  for (size_t i = 0; i < group[0].size(); ++i) ctx[group[0][i]] = code1[i];
  nn::Matrix f2 = nn::gather_rows(x, group[1].data(), group[1].size());
  nn::add_inplace(f2, model.context(ctx, child_nbr, group[1], threads));
  predict(2, f2, group[1]);
  for (float& v : probs)
    if (!(v >= 0.0f)) v = 0.0f;  // no NaN reaches the comparisons below
  return probs;
}

std::vector<uint64_t> topk_children(const std::vector<uint64_t>& keys, const std::vector<float>& probs, uint64_t k) {
  const size_t n = keys.size();
  if (probs.size() != 8 * n) fail(ErrorCode::Internal, "topk_children: 8 probabilities per voxel expected");
  if (k < n || k > 8 * static_cast<uint64_t>(n))
    fail(ErrorCode::CorruptPayload, "learned lossy geometry: " + std::to_string(k) + " children for " +
                                        std::to_string(n) + " voxels (must be between 1 and 8 per voxel)");
  std::vector<uint8_t> keep(8 * n, 0);
  std::vector<uint32_t> rest;
  rest.reserve(7 * n);
  for (size_t v = 0; v < n; ++v) {
    int best = 0;
    for (int o = 1; o < 8; ++o)
      if (probs[8 * v + o] > probs[8 * v + best]) best = o;
    keep[8 * v + best] = 1;
    for (int o = 0; o < 8; ++o)
      if (o != best) rest.push_back(static_cast<uint32_t>(8 * v + o));
  }
  const size_t extra = static_cast<size_t>(k - n);
  // Index order = Morton order of the children, so lower index wins ties.
  auto before = [&](uint32_t a, uint32_t b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); };
  if (extra > 0 && extra < rest.size()) std::nth_element(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(extra), rest.end(), before);
  for (size_t i = 0; i < extra; ++i) keep[rest[i]] = 1;
  std::vector<uint64_t> out;
  out.reserve(static_cast<size_t>(k));
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) out.push_back(keys[i >> 3] << 3 | static_cast<uint64_t>(i & 7));
  return out;
}

std::vector<uint32_t> topk_upsample(const OccupancyModel& model, const uint32_t* xyz, size_t n, int level,
                                    const std::vector<uint64_t>& ks, int threads) {
  if (level < 1 || level + static_cast<int>(ks.size()) > kMaxDepth)
    fail(ErrorCode::InvalidArgument, "topk_upsample: level out of range");
  const uint32_t lim = 1u << level;
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t* q = xyz + 3 * i;
    if (q[0] >= lim || q[1] >= lim || q[2] >= lim)
      fail(ErrorCode::InvalidArgument, "topk_upsample: coordinates outside [0, 2^level)");
    keys[i] = morton_key(q[0], q[1], q[2]);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (uint64_t k : ks) {
    if (keys.empty()) {
      if (k != 0) fail(ErrorCode::CorruptPayload, "learned lossy geometry: children of an empty level");
      continue;
    }
    keys = topk_children(keys, child_probabilities(model, keys, threads), k);
  }
  std::vector<uint32_t> out(3 * keys.size());
  int32_t c[3];
  for (size_t i = 0; i < keys.size(); ++i) {
    morton_xyz(keys[i], c);
    for (int a = 0; a < 3; ++a) out[3 * i + a] = static_cast<uint32_t>(c[a]);
  }
  return out;
}

}  // namespace pcstream::learned
