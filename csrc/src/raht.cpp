#include "pcstream/raht.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "pcstream/byte_io.hpp"

namespace pcstream {
namespace attr {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kFlagColourTransform = 1;
constexpr uint8_t kFlagPredict = 2;
constexpr int kMaxComps = 3;
constexpr int kWeightBuckets = 12;

// ---- colour space (BT.709 Y'CbCr, no offsets) ---------------------------------
inline void rgb_to_ycc(const double* rgb, double* ycc) {
  const double y = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  ycc[0] = y;
  ycc[1] = (rgb[2] - y) / 1.8556;
  ycc[2] = (rgb[0] - y) / 1.5748;
}
inline void ycc_to_rgb(const double* ycc, double* rgb) {
  const double r = ycc[0] + 1.5748 * ycc[2];
  const double b = ycc[0] + 1.8556 * ycc[1];
  rgb[0] = r;
  rgb[1] = (ycc[0] - 0.2126 * r - 0.0722 * b) / 0.7152;
  rgb[2] = b;
}

// ---- octree levels ------------------------------------------------------------
struct Level {
  std::vector<uint64_t> code;     // node Morton codes at this level, sorted
  std::vector<uint32_t> weight;   // points below the node
  std::vector<uint32_t> first;    // first child in the next level (not for leaves)
  std::vector<uint8_t> nchild;
  // Open-addressing table code -> index + 1.
  std::vector<uint32_t> table;
  int table_bits = 0;

  void build_table() {
    table_bits = 1;
    while ((size_t(1) << table_bits) < 2 * code.size() + 2) ++table_bits;
    table.assign(size_t(1) << table_bits, 0);
    const size_t mask = table.size() - 1;
    for (size_t i = 0; i < code.size(); ++i) {
      size_t h = hash(code[i]);
      while (table[h]) h = (h + 1) & mask;
      table[h] = static_cast<uint32_t>(i + 1);
    }
  }
  inline size_t hash(uint64_t c) const { return static_cast<size_t>((c * 0x9E3779B97F4A7C15ull) >> (64 - table_bits)); }
  inline int64_t find(uint64_t c) const {
    const size_t mask = table.size() - 1;
    size_t h = hash(c);
    while (uint32_t v = table[h]) {
      if (code[v - 1] == c) return v - 1;
      h = (h + 1) & mask;
    }
    return -1;
  }
};

struct Octree {
  int depth = 0;                 // leaves at level `depth`, root at 0
  std::vector<Level> levels;     // size depth + 1
  std::vector<uint32_t> leaf_of; // coding-order point -> leaf index
};

Octree build_octree(const MortonOrder& order, size_t n) {
  Octree t;
  uint64_t all = 0;
  for (uint64_t c : order.codes) all |= c;
  int bits = bit_length(all);
  t.depth = (bits + 2) / 3;
  t.levels.resize(t.depth + 1);
  Level& leaves = t.levels[t.depth];
  t.leaf_of.resize(n);
  for (size_t k = 0; k < n; ++k) {
    if (k == 0 || order.codes[k] != order.codes[k - 1]) {
      leaves.code.push_back(order.codes[k]);
      leaves.weight.push_back(0);
    }
    ++leaves.weight.back();
    t.leaf_of[k] = static_cast<uint32_t>(leaves.code.size() - 1);
  }
  for (int d = t.depth - 1; d >= 0; --d) {
    Level& child = t.levels[d + 1];
    Level& lv = t.levels[d];
    for (size_t i = 0; i < child.code.size(); ++i) {
      const uint64_t pc = child.code[i] >> 3;
      if (lv.code.empty() || lv.code.back() != pc) {
        lv.code.push_back(pc);
        lv.weight.push_back(0);
        lv.first.push_back(static_cast<uint32_t>(i));
        lv.nchild.push_back(0);
      }
      lv.weight.back() += child.weight[i];
      ++lv.nchild.back();
    }
  }
  for (int d = 0; d < t.depth; ++d) t.levels[d].build_table();
  return t;
}

// ---- prediction geometry ----------------------------------------------------------
struct NeighbourOffset { int dx, dy, dz; };
// 6 face neighbours then 12 edge neighbours.
const NeighbourOffset kOffsets[18] = {
    {-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1},
    {-1, -1, 0}, {-1, 1, 0}, {1, -1, 0}, {1, 1, 0}, {-1, 0, -1}, {-1, 0, 1},
    {1, 0, -1}, {1, 0, 1}, {0, -1, -1}, {0, -1, 1}, {0, 1, -1}, {0, 1, 1}};

struct PredictWeights { double parent, face, edge; };

// Which neighbours touch child octant o (x bit 4, y bit 2, z bit 1).
inline bool adjacent(int o, const NeighbourOffset& n) {
  const int c[3] = {(o >> 2) & 1, (o >> 1) & 1, o & 1};
  const int d[3] = {n.dx, n.dy, n.dz};
  for (int a = 0; a < 3; ++a)
    if (d[a] != 0 && (d[a] > 0) != (c[a] == 1)) return false;
  return true;
}

// ---- per-node transform -------------------------------------------------------------
// Butterflies of one node, in forward order. A `move` op transfers a lone
// child to the low slot of its pair.
struct Op { uint8_t a, c; bool move; double alpha, beta; uint32_t w; };

struct NodeTransform {
  Op ops[7];
  int nops = 0;
  int nhp = 0;
};

// Plans the butterflies for children weights w[8] (0 = absent).
inline void plan_transform(const uint32_t* w_in, NodeTransform& t) {
  uint64_t w[8];
  for (int s = 0; s < 8; ++s) w[s] = w_in[s];
  t.nops = 0;
  t.nhp = 0;
  for (int b = 1; b <= 4; b <<= 1) {
    for (int a = 0; a < 8; a += 2 * b) {
      const int c = a + b;
      if (w[c] == 0) continue;
      Op& op = t.ops[t.nops++];
      op.a = static_cast<uint8_t>(a);
      op.c = static_cast<uint8_t>(c);
      if (w[a] == 0) {
        op.move = true;
        w[a] = w[c];
      } else {
        op.move = false;
        const double sum = static_cast<double>(w[a] + w[c]);
        op.alpha = std::sqrt(static_cast<double>(w[a]) / sum);
        op.beta = std::sqrt(static_cast<double>(w[c]) / sum);
        op.w = static_cast<uint32_t>(std::min<uint64_t>(w[a] + w[c], UINT32_MAX));
        w[a] += w[c];
        ++t.nhp;
      }
      w[c] = 0;
    }
  }
}

// x[slot][comp] in, hp[j][comp] out (j in op order of non-move ops).
inline void forward(const NodeTransform& t, double (*x)[kMaxComps], double (*hp)[kMaxComps], int comps) {
  int j = 0;
  for (int i = 0; i < t.nops; ++i) {
    const Op& op = t.ops[i];
    if (op.move) {
      for (int c = 0; c < comps; ++c) x[op.a][c] = x[op.c][c];
      continue;
    }
    for (int c = 0; c < comps; ++c) {
      const double a = x[op.a][c], b = x[op.c][c];
      x[op.a][c] = op.alpha * a + op.beta * b;
      hp[j][c] = op.alpha * b - op.beta * a;
    }
    ++j;
  }
}

// x[0] holds the low-pass in; children out in their slots.
inline void inverse(const NodeTransform& t, double (*x)[kMaxComps], double (*hp)[kMaxComps], int comps) {
  int j = t.nhp;
  for (int i = t.nops - 1; i >= 0; --i) {
    const Op& op = t.ops[i];
    if (op.move) {
      for (int c = 0; c < comps; ++c) x[op.c][c] = x[op.a][c];
      continue;
    }
    --j;
    for (int c = 0; c < comps; ++c) {
      const double l = x[op.a][c], h = hp[j][c];
      x[op.a][c] = op.alpha * l - op.beta * h;
      x[op.c][c] = op.beta * l + op.alpha * h;
    }
  }
}

// ---- coefficient entropy model ----------------------------------------------------
constexpr int kActivityBuckets = 6;
struct CoefModel {
  BinContext node_any[2][8][kActivityBuckets];
  BinContext zero[kMaxComps][kWeightBuckets][kActivityBuckets][3];
  BinContext gt1[kMaxComps][kWeightBuckets][kActivityBuckets][2];
  BinContext gt2[kMaxComps][kWeightBuckets][kActivityBuckets];
  ResidualContexts rest[kMaxComps][2];
};

inline int weight_bucket(uint32_t w) { return std::min(kWeightBuckets - 1, bit_length(w) - 1); }

// Quantised coefficients of one node: q[j][c].
template <bool kEncode>
void code_node(CoefModel& m, int& prev_any, int act, const NodeTransform& t, int64_t (*q)[kMaxComps], int comps,
               RangeEncoder* enc, RangeDecoder* dec) {
  const int nhp = t.nhp;
  int any = 0;
  if (kEncode) {
    for (int j = 0; j < nhp; ++j)
      for (int c = 0; c < comps; ++c) any |= q[j][c] != 0;
    enc->encode_bit(m.node_any[prev_any][nhp][act], any);
  } else {
    any = dec->decode_bit(m.node_any[prev_any][nhp][act]);
    for (int j = 0; j < nhp; ++j)
      for (int c = 0; c < comps; ++c) q[j][c] = 0;
  }
  prev_any = any;
  if (!any) return;
  int j = 0;
  int prev_y_nz = 0;
  for (int i = 0; i < t.nops; ++i) {
    if (t.ops[i].move) continue;
    const int wb = weight_bucket(t.ops[i].w);
    int prev_nz = prev_y_nz;
    for (int c = 0; c < comps; ++c) {
      // Context of the zero flag: the previous component of this coefficient
      // (or the previous coefficient's luma for luma).
      const int zc = c == 0 ? prev_nz : 1 + prev_nz;
      const int zctx = std::min(zc, 2);
      int64_t v = kEncode ? q[j][c] : 0;
      uint64_t mag = kEncode ? static_cast<uint64_t>(v < 0 ? -v : v) : 0;
      int nz;
      if (kEncode) { nz = mag != 0; enc->encode_bit(m.zero[c][wb][act][zctx], nz); }
      else nz = dec->decode_bit(m.zero[c][wb][act][zctx]);
      if (nz) {
        int g1;
        if (kEncode) { g1 = mag > 1; enc->encode_bit(m.gt1[c][wb][act][c == 0 ? 0 : 1], g1); }
        else g1 = dec->decode_bit(m.gt1[c][wb][act][c == 0 ? 0 : 1]);
        uint64_t amag = 1;
        if (g1) {
          int g2;
          if (kEncode) { g2 = mag > 2; enc->encode_bit(m.gt2[c][wb][act], g2); }
          else g2 = dec->decode_bit(m.gt2[c][wb][act]);
          amag = 2;
          if (g2) {
            ResidualContexts& rc = m.rest[c][wb > 6];
            if (kEncode) encode_magnitude(*enc, rc, mag - 3, 0);
            else {
              int neg_unused = 0;
              const uint64_t r = decode_magnitude(*dec, rc, neg_unused);
              if (r > (1ull << 40)) fail(ErrorCode::CorruptPayload, "RAHT coefficient out of range");
              amag = 3 + r;
            }
          }
        }
        int neg;
        if (kEncode) { neg = v < 0; enc->encode_bypass(neg); }
        else {
          neg = dec->decode_bypass();
          q[j][c] = neg ? -static_cast<int64_t>(amag) : static_cast<int64_t>(amag);
        }
      }
      prev_nz = nz;
      if (c == 0) prev_y_nz = nz;
    }
    ++j;
  }
}

inline int64_t quantise(double x, double inv_step, double rounding) {
  const double a = std::fabs(x) * inv_step + rounding;
  const double f = std::floor(a);
  const int64_t m = f > 1e15 ? static_cast<int64_t>(1e15) : static_cast<int64_t>(f);
  return x < 0 ? -m : m;
}

inline int64_t zigzag_decode(uint64_t u) { return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1); }
inline uint64_t zigzag_encode(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }

struct Params {
  int comps = 3;
  bool colour = true;
  bool predict = true;
  int min_neighbours = 2;
  double step[kMaxComps] = {1, 1, 1};
  PredictWeights pw{4.0, 2.0, 1.0};
};

// The top-down pass shared by encoder and decoder. Encoder: `sums` holds the
// attribute sums of every node (per level) and `root_q` is filled; decoder:
// `root_q` is given. Output: reconstructed means of the leaves.
template <bool kEncode>
void code_tree(const Octree& t, const Params& P, const std::vector<std::vector<double>>* sums,
               int64_t* root_q, double rounding, std::vector<double>& leaf_mean, RangeEncoder* enc,
               RangeDecoder* dec) {
  const int C = P.comps;
  const Level& root = t.levels[0];
  std::vector<double> mean(C * root.code.size());
  const double sw = std::sqrt(static_cast<double>(root.weight[0]));
  for (int c = 0; c < C; ++c) {
    if (kEncode) {
      const double dc = (*sums)[0][c] / sw;
      const double qd = std::nearbyint(dc / P.step[c]);
      root_q[c] = static_cast<int64_t>(std::max(-1e15, std::min(1e15, qd)));
    }
    mean[c] = static_cast<double>(root_q[c]) * P.step[c] / sw;
  }
  double inv_step[kMaxComps];
  for (int c = 0; c < C; ++c) inv_step[c] = 1.0 / P.step[c];
  CoefModel* model = new CoefModel();
  std::unique_ptr<CoefModel> model_owner(model);
  // Per octant: adjacent neighbour offsets.
  int adj[8][18];
  int nadj[8];
  double adjw[8][18];
  for (int o = 0; o < 8; ++o) {
    nadj[o] = 0;
    for (int k = 0; k < 18; ++k)
      if (adjacent(o, kOffsets[k])) {
        adj[o][nadj[o]] = k;
        adjw[o][nadj[o]] = k < 6 ? P.pw.face : P.pw.edge;
        ++nadj[o];
      }
  }
  std::vector<double> child_mean;
  for (int d = 0; d < t.depth; ++d) {
    const Level& lv = t.levels[d];
    const Level& nx = t.levels[d + 1];
    child_mean.assign(C * nx.code.size(), 0.0);
    const uint32_t limit = (1u << d) - 1;
    int prev_any = 0;
    for (size_t i = 0; i < lv.code.size(); ++i) {
      const uint32_t first = lv.first[i];
      const int nc = lv.nchild[i];
      const double* pm = &mean[C * i];
      if (nc == 1) {
        for (int c = 0; c < C; ++c) child_mean[C * first + c] = pm[c];
        continue;
      }
      uint32_t w[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int slot_of[8];
      for (int k = 0; k < nc; ++k) {
        const int s = static_cast<int>(nx.code[first + k] & 7);
        w[s] = nx.weight[first + k];
        slot_of[k] = s;
      }
      // Prediction of each child's mean.
      double pred[8][kMaxComps];
      int64_t nbr[18];
      int found = 0;
      if (P.predict) {
        uint32_t x, y, z;
        morton_decode(lv.code[i], x, y, z);
        for (int k = 0; k < 18; ++k) {
          const int64_t nx_ = static_cast<int64_t>(x) + kOffsets[k].dx;
          const int64_t ny_ = static_cast<int64_t>(y) + kOffsets[k].dy;
          const int64_t nz_ = static_cast<int64_t>(z) + kOffsets[k].dz;
          nbr[k] = -1;
          if (nx_ < 0 || ny_ < 0 || nz_ < 0 || nx_ > limit || ny_ > limit || nz_ > limit) continue;
          nbr[k] = lv.find(morton_encode(static_cast<uint32_t>(nx_), static_cast<uint32_t>(ny_), static_cast<uint32_t>(nz_)));
          found += nbr[k] >= 0;
        }
      }
      const bool use_pred = P.predict && found >= P.min_neighbours;
      // Activity: mean absolute luma difference of the neighbours to the node,
      // in quantiser steps; large differences predict large coefficients.
      int act = 0;
      if (found) {
        double dsum = 0;
        for (int k = 0; k < 18; ++k)
          if (nbr[k] >= 0) dsum += std::fabs(mean[C * nbr[k]] - pm[0]);
        const double a = dsum / found * inv_step[0] * 4.0;
        act = 1 + (a >= 1) + (a >= 2) + (a >= 4) + (a >= 8);
      }
      for (int k = 0; k < nc; ++k) {
        const int s = slot_of[k];
        if (!use_pred) {
          for (int c = 0; c < C; ++c) pred[s][c] = pm[c];
          continue;
        }
        double acc[kMaxComps];
        double wsum = P.pw.parent;
        for (int c = 0; c < C; ++c) acc[c] = P.pw.parent * pm[c];
        for (int a = 0; a < nadj[s]; ++a) {
          const int64_t j = nbr[adj[s][a]];
          if (j < 0) continue;
          const double wt = adjw[s][a];
          wsum += wt;
          for (int c = 0; c < C; ++c) acc[c] += wt * mean[C * j + c];
        }
        for (int c = 0; c < C; ++c) pred[s][c] = acc[c] / wsum;
      }
      NodeTransform tr;
      plan_transform(w, tr);
      // Low-pass of the prediction: sqrt(W) * weighted mean of the predicted children.
      const double W = static_cast<double>(lv.weight[i]);
      const double sW = std::sqrt(W);
      double x[8][kMaxComps];
      double hp[7][kMaxComps];
      int64_t q[7][kMaxComps];
      double lp_pred[kMaxComps] = {0, 0, 0};
      for (int k = 0; k < nc; ++k) {
        const int s = slot_of[k];
        for (int c = 0; c < C; ++c) lp_pred[c] += static_cast<double>(w[s]) * pred[s][c];
      }
      for (int c = 0; c < C; ++c) lp_pred[c] /= sW;
      if (kEncode) {
        const std::vector<double>& cs = (*sums)[d + 1];
        for (int k = 0; k < nc; ++k) {
          const int s = slot_of[k];
          const double sws = std::sqrt(static_cast<double>(w[s]));
          for (int c = 0; c < C; ++c) x[s][c] = cs[C * (first + k) + c] / sws - sws * pred[s][c];
        }
        forward(tr, x, hp, C);
        for (int j = 0; j < tr.nhp; ++j)
          for (int c = 0; c < C; ++c) q[j][c] = quantise(hp[j][c], inv_step[c], rounding);
      }
      code_node<kEncode>(*model, prev_any, act, tr, q, C, enc, dec);
      for (int j = 0; j < tr.nhp; ++j)
        for (int c = 0; c < C; ++c) hp[j][c] = static_cast<double>(q[j][c]) * P.step[c];
      for (int c = 0; c < C; ++c) x[0][c] = sW * pm[c] - lp_pred[c];
      inverse(tr, x, hp, C);
      for (int k = 0; k < nc; ++k) {
        const int s = slot_of[k];
        const double sws = std::sqrt(static_cast<double>(w[s]));
        for (int c = 0; c < C; ++c) child_mean[C * (first + k) + c] = pred[s][c] + x[s][c] / sws;
      }
    }
    mean.swap(child_mean);
  }
  leaf_mean.swap(mean);
}

void check_args(ValueType type, int components) {
  if (type != ValueType::U8 && type != ValueType::U16)
    fail(ErrorCode::InvalidArgument, "RAHT codec: values must be uint8 or uint16, got " + value_type_name(type));
  if (components != 1 && components != 3)
    fail(ErrorCode::InvalidArgument, "RAHT codec: values must have 1 or 3 components");
}

inline double peak_of(ValueType t) { return t == ValueType::U8 ? 255.0 : 65535.0; }

}  // namespace

double raht_step(double quality) { return std::pow(2.0, (64.0 - quality) / 8.0); }

std::vector<uint8_t> encode_raht(const uint32_t* xyz, size_t n, const uint8_t* values, ValueType type,
                                 int components, const RahtOptions& opt) {
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
  for (int k = 0; k < 3; ++k)
    if (opt.weights[k] < 0 || opt.weights[k] > 255) fail(ErrorCode::InvalidArgument, "RAHT codec: prediction weights must be in [0, 255]");
  if (opt.weights[0] == 0) fail(ErrorCode::InvalidArgument, "RAHT codec: the parent prediction weight must be positive");
  P.pw = {double(opt.weights[0]), double(opt.weights[1]), double(opt.weights[2])};
  const double step = raht_step(opt.quality);
  P.step[0] = step;
  P.step[1] = P.step[2] = components == 3 ? step * opt.chroma_scale : step;

  ByteWriter w;
  w.u8(kFormatVersion);
  w.u8(static_cast<uint8_t>(type));
  w.u8(static_cast<uint8_t>(components));
  w.varint(n);
  w.u8(static_cast<uint8_t>((P.colour ? kFlagColourTransform : 0) | (P.predict ? kFlagPredict : 0)));
  w.u8(static_cast<uint8_t>(P.min_neighbours));
  for (int k = 0; k < 3; ++k) w.u8(static_cast<uint8_t>(opt.weights[k]));
  for (int c = 0; c < components; ++c) w.f64(P.step[c]);
  if (n == 0) return std::move(w.bytes());

  const MortonOrder order = morton_order(xyz, n);
  const Octree t = build_octree(order, n);
  // Attribute sums per node, bottom-up.
  const int C = components;
  std::vector<std::vector<double>> sums(t.depth + 1);
  sums[t.depth].assign(C * t.levels[t.depth].code.size(), 0.0);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order.index(k);
    double v[3], o[3];
    for (int c = 0; c < C; ++c) v[c] = static_cast<double>(load_ordered(values, i * C + c, type));
    if (P.colour) rgb_to_ycc(v, o);
    else o[0] = v[0];
    double* s = &sums[t.depth][C * t.leaf_of[k]];
    for (int c = 0; c < C; ++c) s[c] += o[c];
  }
  for (int d = t.depth - 1; d >= 0; --d) {
    const Level& lv = t.levels[d];
    sums[d].assign(C * lv.code.size(), 0.0);
    for (size_t i = 0; i < lv.code.size(); ++i)
      for (int k = 0; k < lv.nchild[i]; ++k)
        for (int c = 0; c < C; ++c) sums[d][C * i + c] += sums[d + 1][C * (lv.first[i] + k) + c];
  }
  int64_t root_q[kMaxComps] = {0, 0, 0};
  std::vector<double> leaf_mean;
  RangeEncoder enc;
  // The root DC goes in the header, so code the tree first.
  code_tree<true>(t, P, &sums, root_q, opt.deadzone, leaf_mean, &enc, nullptr);
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
  const uint8_t flags = r.u8("RAHT flags");
  if (flags & ~(kFlagColourTransform | kFlagPredict)) fail(ErrorCode::ReservedBitsSet, "RAHT: reserved flag bits set", r.offset() - 1);
  Params P;
  P.comps = components;
  P.colour = (flags & kFlagColourTransform) != 0;
  if (P.colour != (components == 3)) fail(ErrorCode::CorruptPayload, "RAHT: colour transform flag inconsistent with components", r.offset() - 1);
  P.predict = (flags & kFlagPredict) != 0;
  P.min_neighbours = r.u8("RAHT min neighbours");
  if (P.min_neighbours > 18) fail(ErrorCode::CorruptPayload, "RAHT: min neighbours out of range", r.offset() - 1);
  const double pw0 = r.u8("RAHT weights"), pw1 = r.u8("RAHT weights"), pw2 = r.u8("RAHT weights");
  if (pw0 == 0) fail(ErrorCode::CorruptPayload, "RAHT: zero parent prediction weight", r.offset() - 3);
  P.pw = {pw0, pw1, pw2};
  for (int c = 0; c < components; ++c) {
    P.step[c] = r.f64("RAHT step");
    if (!(P.step[c] >= 1e-6 && P.step[c] <= 1e9)) fail(ErrorCode::CorruptPayload, "RAHT: quantiser step out of range", r.offset() - 8);
  }
  if (n == 0) return;
  int64_t root_q[kMaxComps] = {0, 0, 0};
  for (int c = 0; c < components; ++c) {
    root_q[c] = zigzag_decode(r.varint("RAHT DC"));
    if (root_q[c] > (1ll << 50) || root_q[c] < -(1ll << 50)) fail(ErrorCode::CorruptPayload, "RAHT: DC out of range", r.offset());
  }
  const MortonOrder order = morton_order(xyz, n);
  const Octree t = build_octree(order, n);
  std::vector<double> leaf_mean;
  RangeDecoder dec(r.cursor(), r.remaining());
  code_tree<false>(t, P, nullptr, root_q, 0.5, leaf_mean, nullptr, &dec);
  dec.check_end("RAHT attribute");
  const double peak = peak_of(type);
  const int C = components;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order.index(k);
    const double* m = &leaf_mean[C * t.leaf_of[k]];
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
}

}  // namespace attr
}  // namespace pcstream
