// Instance adaptation of the learned geometry codec: head-input samples for the
// encoder's fit and the application of a WGHT delta to a model.
#include "pcstream/geometry_learned_adapt.hpp"

#include <cmath>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_levels.hpp"
#include "pcstream/sha256.hpp"
#include "pcstream/weight_coder.hpp"

namespace pcstream::learned {
namespace {

void append_rows(HeadSamples& s, size_t& counter, int step, int level, const nn::Matrix& a, const nn::Matrix& b,
                 const std::vector<uint8_t>& codes, const std::vector<int32_t>& rows) {
  const size_t C = s.channels;
  for (size_t i = 0; i < rows.size(); ++i, ++counter) {
    if (counter % s.stride != 0) continue;
    s.fc1_in.insert(s.fc1_in.end(), a.row(i), a.row(i) + C);
    s.fc2_in.insert(s.fc2_in.end(), b.row(i), b.row(i) + C);
    s.step.push_back(static_cast<uint8_t>(step));
    s.level.push_back(static_cast<uint8_t>(level));
    uint8_t code = codes[static_cast<size_t>(rows[i])];
    s.symbol.push_back(static_cast<uint8_t>(step == 0 || step == 2 ? code & 15 : code >> 4));
  }
}

}  // namespace

std::vector<std::string> adaptable_tensors() {
  std::vector<std::string> names;
  for (int s = 0; s < 4; ++s)
    for (const char* layer : {"fc1", "fc2"})
      for (const char* part : {"bias", "weight"})
        names.push_back("head" + std::to_string(s) + "." + layer + "." + part);
  return names;  // already ascending: "bias" < "weight", "fc1" < "fc2", head0 < head3
}

HeadSamples collect_head_samples(const uint32_t* xyz, size_t n, int depth, const OccupancyModel& model, int threads,
                                 size_t min_learned_voxels, size_t max_rows) {
  const std::vector<Level> levels = build_octree(xyz, n, depth, "learned adapt").levels;
  HeadSamples s;
  s.channels = static_cast<size_t>(model.channels());
  if (n == 0) return s;
  const int start = learned_start_level(levels, depth, min_learned_voxels);
  for (int L = start; L < depth; ++L) s.total += 2 * levels[L].keys.size();
  s.stride = max_rows == 0 || s.total <= max_rows ? 1 : (s.total + max_rows - 1) / max_rows;
  size_t counter = 0;
  std::vector<int32_t> parent_nbr;
  for (int L = start; L < depth; ++L) {
    const Level& parent = levels[L - 1];
    const Level& child = levels[L];
    std::vector<int32_t> cp;
    std::vector<uint8_t> oct;
    children_of(parent, &cp, &oct);
    if (parent_nbr.empty()) parent_nbr = model.neighbors(parent.xyz(), threads);
    std::vector<int32_t> cxyz = child.xyz();
    std::vector<int32_t> child_nbr = model.neighbors(cxyz, threads);
    nn::Matrix x = model.trunk(parent.codes, parent_nbr, cp, oct, child_nbr, threads);
    std::vector<int32_t> group[2];
    for (size_t i = 0; i < child.keys.size(); ++i)
      group[(cxyz[3 * i] + cxyz[3 * i + 1] + cxyz[3 * i + 2]) & 1].push_back(static_cast<int32_t>(i));
    std::vector<int32_t> ctx(child.keys.size(), kCtxUnknown);
    for (int32_t r : group[0]) ctx[r] = child.codes[r];
    for (int g = 0; g < 2; ++g) {
      nn::Matrix f = nn::gather_rows(x, group[g].data(), group[g].size());
      if (g == 1) nn::add_inplace(f, model.context(ctx, child_nbr, group[1], threads));
      std::vector<int32_t> low(group[g].size());
      for (size_t i = 0; i < low.size(); ++i) low[i] = child.codes[group[g][i]] & 15;
      for (int half = 0; half < 2; ++half) {
        nn::Matrix a, b;
        model.head_inputs(2 * g + half, f, half ? low : std::vector<int32_t>{}, threads, &a, &b);
        append_rows(s, counter, 2 * g + half, L, a, b, child.codes, group[g]);
      }
    }
    parent_nbr = std::move(child_nbr);
  }
  return s;
}

std::shared_ptr<OccupancyModel> adapt_model(const OccupancyModel& base, const uint8_t* wght, size_t size) {
  if (base.adapted()) fail(ErrorCode::InvalidArgument, "adapt_model: the base model is already adapted");
  const std::vector<std::string> names = adaptable_tensors();
  nn::ModelFile file = base.file();
  weights::WeightDecodeLimits lim;
  lim.max_tensors = static_cast<uint32_t>(names.size());
  lim.max_elements = 0;
  for (const auto& name : names) lim.max_elements += file.tensors.at(name).data.size();
  std::vector<weights::QuantTensor> delta = weights::decode_weights(wght, size, lim);
  const double step = weights::step_for_qp(kAdaptQp);
  size_t next = 0;  // index in `names` of the first name still allowed
  for (const auto& t : delta) {
    auto it = std::find(names.begin() + static_cast<std::ptrdiff_t>(next), names.end(), t.name);
    if (it == names.end())
      fail(ErrorCode::CorruptPayload, "learned adaptation: tensor '" + t.name.substr(0, 64) +
                                          "' is not adaptable or out of order");
    next = static_cast<size_t>(it - names.begin()) + 1;
    if (t.dtype != weights::DType::Float32 || t.quantizer != weights::kUniform || t.qp != kAdaptQp)
      fail(ErrorCode::CorruptPayload, "learned adaptation: tensor '" + t.name + "' must be float32, uniform, qp -32");
    nn::Tensor& m = file.tensors.at(t.name);
    if (t.shape.size() != m.shape.size() || !std::equal(m.shape.begin(), m.shape.end(), t.shape.begin(),
                                                        [](uint32_t a, uint64_t b) { return a == b; }))
      fail(ErrorCode::CorruptPayload, "learned adaptation: tensor '" + t.name + "' has the wrong shape");
    for (size_t i = 0; i < m.data.size(); ++i) {
      int64_t q = t.values[i];
      if (q > kMaxAdaptMagnitude || q < -kMaxAdaptMagnitude)
        fail(ErrorCode::CorruptPayload, "learned adaptation: delta of '" + t.name + "' out of range");
      const float d = static_cast<float>(static_cast<double>(q) * step);  // exact: |q| < 2^24
      const float w = m.data[i] + d;
      if (!std::isfinite(w)) fail(ErrorCode::CorruptPayload, "learned adaptation: non-finite weight");
      m.data[i] = w;
    }
  }
  return std::make_shared<OccupancyModel>(std::move(file), sha256(wght, size));
}

}  // namespace pcstream::learned
