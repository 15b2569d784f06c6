// Codec 4, payload version 1: the whole RAHT tree in one payload (the
// level-range chunks of version 2 are in raht_levels.cpp).
#include "pcstream/raht.hpp"

#include "pcstream/byte_io.hpp"
#include "raht_tree.hpp"

namespace pcstream {
namespace attr {

namespace {
constexpr uint8_t kFormatVersion = 1;
}  // namespace

namespace raht {
Params params_from_options(const RahtOptions& opt, ValueType type, int components) {
  check_args(type, components);
  if (!(opt.quality >= 0 && opt.quality <= 100)) fail(ErrorCode::InvalidArgument, "RAHT codec: quality must be in [0, 100]");
  if (!(opt.chroma_scale >= 0.25 && opt.chroma_scale <= 16)) fail(ErrorCode::InvalidArgument, "RAHT codec: chroma_scale must be in [0.25, 16]");
  if (!(opt.deadzone >= 0 && opt.deadzone <= 0.5)) fail(ErrorCode::InvalidArgument, "RAHT codec: deadzone must be in [0, 0.5]");
  if (opt.predict_min_neighbours < 0 || opt.predict_min_neighbours > 18) fail(ErrorCode::InvalidArgument, "RAHT codec: predict_min_neighbours must be in [0, 18]");
  Params P;
  P.comps = components;
  P.colour = components == 3;
  P.predict = opt.predict;
  P.min_neighbours = opt.predict_min_neighbours;
  for (int k = 0; k < kWeightCount; ++k)
    if (opt.weights[k] < 0 || opt.weights[k] > 255) fail(ErrorCode::InvalidArgument, "RAHT codec: prediction weights must be in [0, 255]");
  if (opt.weights[0] == 0) fail(ErrorCode::InvalidArgument, "RAHT codec: the parent prediction weight must be positive");
  P.pw = {double(opt.weights[0]), double(opt.weights[1]), double(opt.weights[2]), double(opt.weights[3]), double(opt.weights[4])};
  const double step = raht_step(opt.quality);
  P.step[0] = step;
  P.step[1] = P.step[2] = components == 3 ? step * opt.chroma_scale : step;
  return P;
}

void write_params(ByteWriter& w, const Params& P, const RahtOptions& opt) {
  w.u8(static_cast<uint8_t>((P.colour ? kFlagColourTransform : 0) | (P.predict ? kFlagPredict : 0)));
  w.u8(static_cast<uint8_t>(P.min_neighbours));
  for (int k = 0; k < kWeightCount; ++k) w.u8(static_cast<uint8_t>(opt.weights[k]));
  for (int c = 0; c < P.comps; ++c) w.f64(P.step[c]);
}

Params read_params(ByteReader& r, int components) {
  const uint8_t flags = r.u8("RAHT flags");
  if (flags & ~(kFlagColourTransform | kFlagPredict)) fail(ErrorCode::ReservedBitsSet, "RAHT: reserved flag bits set", r.offset() - 1);
  Params P;
  P.comps = components;
  P.colour = (flags & kFlagColourTransform) != 0;
  if (P.colour != (components == 3)) fail(ErrorCode::CorruptPayload, "RAHT: colour transform flag inconsistent with components", r.offset() - 1);
  P.predict = (flags & kFlagPredict) != 0;
  P.min_neighbours = r.u8("RAHT min neighbours");
  if (P.min_neighbours > 18) fail(ErrorCode::CorruptPayload, "RAHT: min neighbours out of range", r.offset() - 1);
  double pw[kWeightCount];
  for (int k = 0; k < kWeightCount; ++k) pw[k] = r.u8("RAHT weights");
  if (pw[0] == 0) fail(ErrorCode::CorruptPayload, "RAHT: zero parent prediction weight", r.offset() - kWeightCount);
  P.pw = {pw[0], pw[1], pw[2], pw[3], pw[4]};
  for (int c = 0; c < components; ++c) {
    P.step[c] = r.f64("RAHT step");
    if (!(P.step[c] >= 1e-6 && P.step[c] <= 1e9)) fail(ErrorCode::CorruptPayload, "RAHT: quantiser step out of range", r.offset() - 8);
  }
  return P;
}

void read_root_dc(ByteReader& r, int components, int64_t* root_q) {
  for (int c = 0; c < components; ++c) {
    root_q[c] = zigzag_decode(r.varint("RAHT DC"));
    if (root_q[c] > (1ll << 50) || root_q[c] < -(1ll << 50)) fail(ErrorCode::CorruptPayload, "RAHT: DC out of range", r.offset());
  }
}

std::vector<double> leaf_sums(const MortonOrder& order, const Octree& t, const uint8_t* values, ValueType type,
                              const Params& P) {
  const int C = P.comps;
  std::vector<double> sums(C * t.levels[t.depth].code.size(), 0.0);
  for (size_t k = 0; k < t.leaf_of.size(); ++k) {
    const size_t i = order.index(k);
    double v[3], o[3];
    for (int c = 0; c < C; ++c) v[c] = static_cast<double>(load_ordered(values, i * C + c, type));
    if (P.colour) rgb_to_ycc(v, o);
    else o[0] = v[0];
    double* s = &sums[C * t.leaf_of[k]];
    for (int c = 0; c < C; ++c) s[c] += o[c];
  }
  return sums;
}

void store_mean(const Params& P, ValueType type, const double* m, size_t i, uint8_t* out) {
  const double peak = peak_of(type);
  const int C = P.comps;
  double v[3];
  if (P.colour) ycc_to_rgb(m, v);
  else v[0] = m[0];
  for (int c = 0; c < C; ++c) {
    double x = std::nearbyint(v[c]);
    if (!(x >= 0)) x = 0;  // also NaN
    if (x > peak) x = peak;
    store_ordered(out, i * C + c, type, static_cast<uint64_t>(x));
  }
}

}  // namespace raht

using namespace raht;

double raht_step(double quality) { return std::pow(2.0, (64.0 - quality) / 8.0); }

std::vector<uint8_t> encode_raht(const uint32_t* xyz, size_t n, const uint8_t* values, ValueType type,
                                 int components, const RahtOptions& opt) {
  const Params P = params_from_options(opt, type, components);

  ByteWriter w;
  w.u8(kFormatVersion);
  w.u8(static_cast<uint8_t>(type));
  w.u8(static_cast<uint8_t>(components));
  w.varint(n);
  write_params(w, P, opt);
  if (n == 0) return std::move(w.bytes());

  const MortonOrder order = morton_order(xyz, n);
  const Octree t = build_octree(order, n);
  // Attribute sums per node, bottom-up.
  const int C = components;
  std::vector<std::vector<double>> sums(t.depth + 1);
  sums[t.depth] = leaf_sums(order, t, values, type, P);
  for (int d = t.depth - 1; d >= 0; --d) {
    const Level& lv = t.levels[d];
    sums[d].assign(C * lv.code.size(), 0.0);
    for (size_t i = 0; i < lv.code.size(); ++i)
      for (int k = 0; k < lv.nchild[i]; ++k)
        for (int c = 0; c < C; ++c) sums[d][C * i + c] += sums[d + 1][C * (lv.first[i] + k) + c];
  }
  int64_t root_q[kMaxComps] = {0, 0, 0};
  RangeEncoder enc;
  // The root DC goes in the header, so code the tree first.
  TreeState S;
  start_tree<true>(P, static_cast<double>(t.levels[0].weight[0]), &sums[0], root_q, S);
  code_levels<true>(t, P, S, t.depth, &sums, opt.deadzone, true, &enc, nullptr);
  for (int c = 0; c < C; ++c) w.varint(zigzag_encode(root_q[c]));
  w.bytes(enc.finish());
  return std::move(w.bytes());
}

void decode_raht(const uint32_t* xyz, size_t n, const uint8_t* payload, size_t size, ValueType type,
                 int components, uint8_t* out) {
  check_args(type, components);
  ByteReader r(payload, size);
  const uint8_t version = r.u8("RAHT version");
  if (version != kFormatVersion) fail(ErrorCode::UnsupportedCodec, "RAHT payload version " + std::to_string(version) + " unknown", 0);
  if (r.u8("RAHT value type") != static_cast<uint8_t>(type))
    fail(ErrorCode::CorruptPayload, "RAHT payload holds another value type than the metadata announces", 1);
  if (r.u8("RAHT components") != components)
    fail(ErrorCode::CorruptPayload, "RAHT payload holds another component count than the metadata announces", 2);
  const uint64_t count = r.varint("RAHT point count");
  if (count != n)
    fail(ErrorCode::CorruptPayload, "RAHT payload is for " + std::to_string(count) + " points, the geometry has " + std::to_string(n), r.offset());
  const Params P = read_params(r, components);
  if (n == 0) return;
  int64_t root_q[kMaxComps] = {0, 0, 0};
  read_root_dc(r, components, root_q);
  const MortonOrder order = morton_order(xyz, n);
  const Octree t = build_octree(order, n);
  RangeDecoder dec(r.cursor(), r.remaining());
  TreeState S;
  start_tree<false>(P, static_cast<double>(t.levels[0].weight[0]), nullptr, root_q, S);
  code_levels<false>(t, P, S, t.depth, nullptr, 0.5, true, nullptr, &dec);
  const std::vector<double>& leaf_mean = S.mean;
  dec.check_end("RAHT attribute");
  for (size_t k = 0; k < n; ++k) store_mean(P, type, &leaf_mean[components * t.leaf_of[k]], order.index(k), out);
}

}  // namespace attr
}  // namespace pcstream