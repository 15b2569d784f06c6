// Instance adaptation of the learned geometry codec: delta application,
// header version 2, payload validation, head samples.
#include <cmath>
#include <random>

#include "learned_test_model.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_adapt.hpp"
#include "pcstream/sha256.hpp"
#include "pcstream/weight_coder.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::learned;

namespace {

std::shared_ptr<OccupancyModel> base_model() {
  auto f = random_occupancy_model(8, 3, 21);
  auto bytes = nn::write_model_file(f);
  return std::make_shared<OccupancyModel>(nn::parse_model_file(bytes.data(), bytes.size()));
}

std::vector<uint32_t> blob_points(size_t n, int depth, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, (1 << depth) * 0.12);
  std::vector<uint32_t> p;
  const double c = (1 << depth) * 0.5, hi = (1 << depth) - 1;
  for (size_t i = 0; i < 3 * n; ++i) p.push_back(uint32_t(std::fmin(hi, std::fmax(0.0, c + g(rng)))));
  return p;
}

weights::QuantTensor delta(const std::string& name, std::vector<uint64_t> shape, int64_t v, int qp = kAdaptQp) {
  weights::QuantTensor t;
  t.name = name;
  t.shape = shape;
  t.qp = qp;
  size_t n = 1;
  for (auto d : shape) n *= d;
  t.values.assign(n, v);
  return t;
}

}  // namespace

TEST_CASE("geometry_learned_adapt/delta_applied_and_bound") {
  auto base = base_model();
  auto payload = weights::encode_weights({delta("head0.fc2.bias", {16}, 3), delta("head2.fc1.weight", {8, 8}, -5)});
  auto adapted = adapt_model(*base, payload.data(), payload.size());
  CHECK(adapted->adapted() && adapted->id() == base->id() && adapted->hash() == base->hash());
  CHECK(adapted->adapt_digest() == sha256(payload.data(), payload.size()));
  const auto& b0 = base->file().tensors.at("head0.fc2.bias").data;
  const auto& a0 = adapted->file().tensors.at("head0.fc2.bias").data;
  for (size_t i = 0; i < b0.size(); ++i) CHECK(a0[i] == b0[i] + 3.0f / 256.0f);
  CHECK(adapted->file().tensors.at("head1.fc2.bias").data == base->file().tensors.at("head1.fc2.bias").data);

  auto pts = blob_points(4000, 8, 5);
  Encoded e1 = encode(pts.data(), pts.size() / 3, 8, *adapted, 1);
  Encoded e2 = encode(pts.data(), pts.size() / 3, 8, *adapted, 2);
  CHECK(e1.header == e2.header);
  CHECK(e1.header[0] == kHeaderVersionMixedAdapted);
  Encoded refined = encode(pts.data(), pts.size() / 3, 8, *adapted, 1, kLearnedMinVoxels, true, false);
  CHECK(refined.header[0] == kHeaderVersionRefinedAdapted);
  Encoded unrefined = encode(pts.data(), pts.size() / 3, 8, *adapted, 1, kLearnedMinVoxels, false);
  CHECK(unrefined.header[0] == kHeaderVersionAdapted);
  Header h = parse_header(e1.header.data(), e1.header.size());
  CHECK(h.adapted && h.adapt_digest == adapted->adapt_digest());
  for (size_t i = 0; i < e1.chunks.size(); ++i) CHECK(e1.chunks[i].payload == e2.chunks[i].payload);
  Decoder d(e1.header.data(), e1.header.size(), *adapted, 1u << 30, 2);
  for (auto& c : e1.chunks) d.feed(c.payload.data(), c.payload.size());
  CHECK(d.done() && d.points().size() == pts.size());
  // Versions 2/4/6 need the adapted model, versions 1/3/5 the base one.
  CHECK_THROWS_CODE(Decoder(e1.header.data(), e1.header.size(), *base, 1u << 30, 1), ErrorCode::ModelMismatch);
  Encoded plain = encode(pts.data(), pts.size() / 3, 8, *base, 1);
  CHECK(plain.header[0] == kHeaderVersionMixed);
  CHECK_THROWS_CODE(Decoder(plain.header.data(), plain.header.size(), *adapted, 1u << 30, 1), ErrorCode::ModelMismatch);
  CHECK_THROWS_CODE(adapt_model(*adapted, payload.data(), payload.size()), ErrorCode::InvalidArgument);
}

TEST_CASE("geometry_learned_adapt/bad_payloads") {
  auto base = base_model();
  std::vector<std::vector<weights::QuantTensor>> bad = {
      {delta("target.emb_octant", {8, 8}, 1)},                                // not adaptable
      {delta("head0.fc2.bias", {16}, 1, -28)},                                // wrong qp
      {delta("head0.fc2.bias", {8}, 1)},                                      // wrong shape
      {delta("head1.fc2.bias", {16}, 1), delta("head0.fc2.bias", {16}, 1)},   // out of order
      {delta("head0.fc2.bias", {16}, kMaxAdaptMagnitude + 1)},                // too large
  };
  for (auto& ts : bad) {
    auto p = weights::encode_weights(ts);
    CHECK_THROWS_CODE(adapt_model(*base, p.data(), p.size()), ErrorCode::CorruptPayload);
  }
  std::vector<uint8_t> junk(40, 0xA7);
  bool typed = false;
  try {
    adapt_model(*base, junk.data(), junk.size());
  } catch (const Error& err) {
    typed = err.code() != ErrorCode::Internal;
  }
  CHECK(typed);
}

TEST_CASE("geometry_learned_adapt/head_samples") {
  auto base = base_model();
  auto pts = blob_points(3000, 7, 9);
  HeadSamples a = collect_head_samples(pts.data(), pts.size() / 3, 7, *base, 1, 64, 0);
  HeadSamples b = collect_head_samples(pts.data(), pts.size() / 3, 7, *base, 2, 64, 0);
  CHECK(a.stride == 1 && a.step.size() == a.total && a.fc1_in.size() == a.total * 8);
  CHECK(a.fc1_in == b.fc1_in && a.fc2_in == b.fc2_in && a.symbol == b.symbol);
  HeadSamples c = collect_head_samples(pts.data(), pts.size() / 3, 7, *base, 1, 64, a.total / 3);
  CHECK(c.stride == 4 && c.step.size() == (a.total + 3) / 4);
  for (size_t i = 0; i < c.step.size(); ++i) CHECK(c.symbol[i] == a.symbol[4 * i] && c.step[i] == a.step[4 * i]);
  for (float v : a.fc2_in) CHECK(v >= 0.0f);  // after the ReLU
}
