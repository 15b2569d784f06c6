// Internal pieces of the RAHT codec (codec 4) shared by the one-payload format
// (version 1, raht.cpp) and the level-range chunks (version 2, raht_levels.cpp):
// colour space, octree with neighbour lookup, per-node butterflies, the
// coefficient entropy model and the top-down coding pass.
//
// Not a public header: no stability promise. Thread safety: no shared state.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "pcstream/attr_common.hpp"
#include "pcstream/byte_io.hpp"
#include "pcstream/raht.hpp"
#include "pcstream/range_coder.hpp"

namespace pcstream {
namespace attr {
namespace raht {

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

// ---- Morton arithmetic -----------------------------------------------------------
// Portable inline popcount (no -mpopcnt, no libgcc call).
inline int popcount64(uint64_t v) {
  v = v - ((v >> 1) & 0x5555555555555555ull);
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((v * 0x0101010101010101ull) >> 56);
}

constexpr uint64_t kAxisMask[3] = {0x1249249249249249ull << 2, 0x1249249249249249ull << 1, 0x1249249249249249ull};

// Moves `code` by `delta` (-1, 0, +1) along `axis` (0 x, 1 y, 2 z) directly on the
// interleaved bits; false when that leaves the grid of `level_mask`.
inline bool step_axis(uint64_t& code, int axis, int delta, uint64_t level_mask) {
  if (delta == 0) return true;
  const uint64_t m = kAxisMask[axis] & level_mask;
  const uint64_t v = code & m;
  uint64_t nv;
  if (delta > 0) {
    if (v == m) return false;
    nv = ((v | ~m) + 1) & m;
  } else {
    if (v == 0) return false;
    nv = (v - 1) & m;
  }
  code = (code & ~m) | nv;
  return true;
}

inline bool neighbour_code(uint64_t code, int dx, int dy, int dz, uint64_t level_mask, uint64_t& out) {
  out = code;
  return step_axis(out, 0, dx, level_mask) && step_axis(out, 1, dy, level_mask) && step_axis(out, 2, dz, level_mask);
}


// ---- octree levels ------------------------------------------------------------
struct Level {
  std::vector<uint64_t> code;     // node Morton codes at this level, sorted
  std::vector<uint32_t> weight;   // points below the node
  // Coding weights: the transform weight of the node in the level range being
  // coded (== weight for one range; see raht_levels.cpp for level ranges).
  std::vector<uint32_t> cw;
  std::vector<uint32_t> first;    // first child in the next level (not for leaves)
  std::vector<uint8_t> nchild;
  // Neighbour lookup: nodes are grouped in blocks of 64 Morton codes (4x4x4
  // cells); an open-addressing table maps a block to its first node and a
  // 64-bit occupancy mask. Neighbours mostly share a few blocks, so this is
  // far more cache friendly than hashing every node.
  std::vector<uint64_t> block_code;
  std::vector<uint64_t> block_mask;
  std::vector<uint32_t> block_start;
  std::vector<uint32_t> table;  // block index + 1
  int table_bits = 0;

  void build_table() {
    for (size_t i = 0; i < code.size(); ++i) {
      const uint64_t b = code[i] >> 6;
      if (block_code.empty() || block_code.back() != b) {
        block_code.push_back(b);
        block_mask.push_back(0);
        block_start.push_back(static_cast<uint32_t>(i));
      }
      block_mask.back() |= 1ull << (code[i] & 63);
    }
    table_bits = 1;
    while ((size_t(1) << table_bits) < 2 * block_code.size() + 2) ++table_bits;
    table.assign(size_t(1) << table_bits, 0);
    const size_t mask = table.size() - 1;
    for (size_t i = 0; i < block_code.size(); ++i) {
      size_t h = hash(block_code[i]);
      while (table[h]) h = (h + 1) & mask;
      table[h] = static_cast<uint32_t>(i + 1);
    }
  }
  inline size_t hash(uint64_t c) const { return static_cast<size_t>((c * 0x9E3779B97F4A7C15ull) >> (64 - table_bits)); }
  inline int64_t find_block(uint64_t b) const {
    const size_t mask = table.size() - 1;
    size_t h = hash(b);
    while (uint32_t v = table[h]) {
      if (block_code[v - 1] == b) return v - 1;
      h = (h + 1) & mask;
    }
    return -1;
  }
  // Index of the node with Morton code c, or -1. `cache` remembers the last
  // block (pass the same variable for a run of nearby lookups).
  inline int64_t find(int64_t& cache, uint64_t c) const {
    const uint64_t b = c >> 6;
    if (cache < 0 || block_code[cache] != b) {
      cache = find_block(b);
      if (cache < 0) return -1;
    }
    const uint64_t m = block_mask[cache];
    const uint64_t bit = 1ull << (c & 63);
    if (!(m & bit)) return -1;
    return block_start[cache] + popcount64(m & (bit - 1));
  }
};

struct Octree {
  int depth = 0;                 // leaves at level `depth`, root at 0
  std::vector<Level> levels;     // size depth + 1
  std::vector<uint32_t> leaf_of; // coding-order point -> leaf index
};


// Builds the octree of the points (Morton order). `depth` < 0: the smallest
// depth holding every code (version 1); else exactly `depth` levels below the
// root (CorruptPayload if a code needs more). Sets cw = weight.
Octree build_octree(const MortonOrder& order, size_t n, int depth = -1);


// ---- prediction geometry ----------------------------------------------------------
struct NeighbourOffset { int dx, dy, dz; };
// 6 face neighbours then 12 edge neighbours.
inline const NeighbourOffset kOffsets[18] = {
    {-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1},
    {-1, -1, 0}, {-1, 1, 0}, {1, -1, 0}, {1, 1, 0}, {-1, 0, -1}, {-1, 0, 1},
    {1, 0, -1}, {1, 0, 1}, {0, -1, -1}, {0, -1, 1}, {0, 1, -1}, {0, 1, 1}};

struct PredictWeights { double parent, face, edge, child_face, child_edge; };
constexpr int kWeightCount = 5;

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
  BinContext node_any[4][3][kActivityBuckets];
  BinContext zero[kMaxComps][kWeightBuckets][kActivityBuckets][3];
  BinContext gt1[kMaxComps][kWeightBuckets][kActivityBuckets][2];
  BinContext gt2[kMaxComps][kWeightBuckets][kActivityBuckets];
  ResidualContexts rest[kMaxComps][2];
};

inline int weight_bucket(uint32_t w) { return std::min(kWeightBuckets - 1, bit_length(w) - 1); }

// Quantised coefficients of one node: q[j][c].
template <bool kEncode>
void code_node(CoefModel& m, int& prev_any, int parent_any, int act, int nhp, const uint8_t* wbs,
               int64_t (*q)[kMaxComps], int comps, RangeEncoder* enc, RangeDecoder* dec) {
  int any = 0;
  if (kEncode) {
    for (int j = 0; j < nhp; ++j)
      for (int c = 0; c < comps; ++c) any |= q[j][c] != 0;
    enc->encode_bit(m.node_any[2 * prev_any + parent_any][nhp > 2 ? 2 : nhp][act], any);
  } else {
    any = dec->decode_bit(m.node_any[2 * prev_any + parent_any][nhp > 2 ? 2 : nhp][act]);
    for (int j = 0; j < nhp; ++j)
      for (int c = 0; c < comps; ++c) q[j][c] = 0;
  }
  prev_any = any;
  if (!any) return;
  int prev_y_nz = 0;
  for (int j = 0; j < nhp; ++j) {
    const int wb = wbs[j];
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
  PredictWeights pw{4.0, 2.0, 1.0, 0.0, 0.0};
};

// State of the top-down pass carried from one level range to the next.
struct TreeState {
  std::vector<double> mean;          // decoded means of the nodes at `level`
  std::vector<uint8_t> parent_nz;    // per node: its parent coded a non-zero coefficient
  std::unique_ptr<CoefModel> model;
  int level = 0;
};

// Root DC: the encoder quantises sums[0] (root_q filled), the decoder uses
// root_q; starts `S` at level 0. `root_weight`: the transform weight of the root.
template <bool kEncode>
void start_tree(const Params& P, double root_weight, const std::vector<double>* root_sums, int64_t* root_q,
                TreeState& S);

// Codes levels S.level .. d_to - 1 (children at S.level + 1 .. d_to) of `t`,
// whose cw must hold the transform weights of these levels. Encoder: `sums`
// per level (children sums with the same weights). `body`: false codes nothing
// (decoder: every coefficient is zero). Returns whether any level had a non-zero
// coefficient (encoder). Leaves S at level d_to.
template <bool kEncode>
bool code_levels(const Octree& t, const Params& P, TreeState& S, int d_to,
                 const std::vector<std::vector<double>>* sums, double rounding, bool body, RangeEncoder* enc,
                 RangeDecoder* dec);

void check_args(ValueType type, int components);

// Shared by both payload versions (raht.cpp): options -> Params (InvalidArgument
// when out of range), the parameter block of the payload header, the root DC,
// the per-leaf attribute sums (Y'CbCr for colour) and the output conversion
// (rounded, clamped, back to RGB) of one decoded mean to element `i` of `out`.
Params params_from_options(const RahtOptions& opt, ValueType type, int components);
void write_params(ByteWriter& w, const Params& P, const RahtOptions& opt);
Params read_params(ByteReader& r, int components);
void read_root_dc(ByteReader& r, int components, int64_t* root_q);
std::vector<double> leaf_sums(const MortonOrder& order, const Octree& t, const uint8_t* values, ValueType type,
                              const Params& P);
void store_mean(const Params& P, ValueType type, const double* m, size_t i, uint8_t* out);
inline double peak_of(ValueType t) { return t == ValueType::U8 ? 255.0 : 65535.0; }

}  // namespace raht
}  // namespace attr
}  // namespace pcstream
