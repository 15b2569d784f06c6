#include "pcstream/geometry_learned_levels.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/morton.hpp"
#include "octree_neighbourhood.hpp"
#include "pcstream/nn_kernels.hpp"
#include "pcstream/parallel_rows.hpp"
#include "pcstream/sparse_neighbors.hpp"

namespace pcstream::learned {

uint64_t morton_key(uint32_t x, uint32_t y, uint32_t z) { return morton_encode(x, y, z); }

void morton_xyz(uint64_t key, int32_t* xyz) {
  uint32_t x, y, z;
  morton_decode(key, x, y, z);
  xyz[0] = static_cast<int32_t>(x);
  xyz[1] = static_cast<int32_t>(y);
  xyz[2] = static_cast<int32_t>(z);
}

std::vector<int32_t> Level::xyz() const {
  std::vector<int32_t> out(3 * keys.size());
  for (size_t i = 0; i < keys.size(); ++i) morton_xyz(keys[i], out.data() + 3 * i);
  return out;
}

std::vector<uint64_t> leaf_keys(const uint32_t* xyz, size_t n, int depth, const char* who) {
  if (depth < 1 || depth > kMaxDepth)
    fail(ErrorCode::InvalidArgument, std::string(who) + ": depth must be in [1, 21]");
  const uint32_t lim = 1u << depth;
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    if (xyz[3 * i] >= lim || xyz[3 * i + 1] >= lim || xyz[3 * i + 2] >= lim)
      fail(ErrorCode::InvalidArgument,
           std::string(who) + ": coordinate outside [0, 2^depth) at point " + std::to_string(i));
    keys[i] = morton_key(xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]);
  }
  return keys;
}

void build_parent_levels(std::vector<Level>& levels, int depth) {
  for (int L = depth - 1; L >= 0; --L) {
    Level& up = levels[L];
    for (uint64_t k : levels[L + 1].keys) {
      uint64_t pk = k >> 3;
      if (up.keys.empty() || up.keys.back() != pk) { up.keys.push_back(pk); up.codes.push_back(0); }
      up.codes.back() = static_cast<uint8_t>(up.codes.back() | (1u << (k & 7)));
    }
  }
}

Octree build_octree(const uint32_t* xyz, size_t n, int depth, const char* who) {
  std::vector<uint64_t> keys = leaf_keys(xyz, n, depth, who);
  Octree t;
  t.order.resize(n);
  std::iota(t.order.begin(), t.order.end(), int64_t{0});
  std::stable_sort(t.order.begin(), t.order.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  t.levels.resize(static_cast<size_t>(depth) + 1);
  std::vector<uint64_t>& leaves = t.levels[static_cast<size_t>(depth)].keys;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = keys[static_cast<size_t>(t.order[i])];
    if (!leaves.empty() && leaves.back() == k) {
      ++t.dup.back();
      continue;
    }
    leaves.push_back(k);
    t.dup.push_back(0);
  }
  build_parent_levels(t.levels, depth);
  return t;
}

int learned_start_level(const std::vector<Level>& levels, int depth, size_t min_learned_voxels) {
  for (int L = 1; L < depth; ++L)
    if (levels[static_cast<size_t>(L)].keys.size() >= min_learned_voxels) return L;
  return depth;
}

Level children_of(const Level& parent, std::vector<int32_t>* child_parent, std::vector<uint8_t>* octant) {
  Level ch;
  size_t n = 0;
  for (uint8_t c : parent.codes) n += static_cast<size_t>(__builtin_popcount(c));
  ch.keys.reserve(n);
  if (child_parent) { child_parent->clear(); child_parent->reserve(n); }
  if (octant) { octant->clear(); octant->reserve(n); }
  for (size_t p = 0; p < parent.keys.size(); ++p)
    for (int o = 0; o < 8; ++o)
      if (parent.codes[p] >> o & 1) {
        ch.keys.push_back(parent.keys[p] << 3 | static_cast<uint64_t>(o));
        if (child_parent) child_parent->push_back(static_cast<int32_t>(p));
        if (octant) octant->push_back(static_cast<uint8_t>(o));
      }
  return ch;
}

void encode_code_coarse(RangeEncoder& enc, CoarseContexts& ctx, uint8_t code) {
  int node = 1;
  for (int b = 7; b >= 0; --b) {
    int bit = code >> b & 1;
    enc.encode_bit(ctx.node[node], bit);
    node = node * 2 + bit;
  }
}

uint8_t decode_code_coarse(RangeDecoder& dec, CoarseContexts& ctx) {
  int node = 1;
  for (int b = 7; b >= 0; --b) node = node * 2 + dec.decode_bit(ctx.node[node]);
  return static_cast<uint8_t>(node & 0xFF);
}

void code_level_learned(const OccupancyModel& model, const Level& parent, Level& child, SymbolIO& io, int threads,
                        NeighborCache& cache) {
  std::vector<int32_t> cp;
  std::vector<uint8_t> oct;
  Level gen = children_of(parent, &cp, &oct);
  const bool decoding = child.codes.empty();
  if (decoding) {
    child.keys = std::move(gen.keys);
    child.codes.assign(child.keys.size(), 0);
  } else if (gen.keys != child.keys) {
    fail(ErrorCode::Internal, "code_level_learned: child level inconsistent with parent codes");
  }
  const size_t nc = child.keys.size(), np = parent.keys.size();
  const size_t kk = static_cast<size_t>(model.kernel()) * model.kernel() * model.kernel();
  if (cache.table.size() != np * kk || cache.plan.n_out != np || cache.plan.n_in != np || cache.plan.K != kk) {
    const std::vector<int32_t> t = model.neighbors(parent.xyz(), threads);
    cache.table.assign(t.begin(), t.end());
    cache.plan = nn::make_conv_plan(cache.table.data(), np, kk, np, threads);
  }
  // The children's table follows from the parents' (no hashing).
  NeighborCache next;
  next.table = nn::child_neighbor_table(cache.table, parent.codes, model.kernel(), threads);
  next.plan = nn::make_conv_plan(next.table.data(), nc, kk, nc, threads);
  nn::Matrix x = model.trunk(parent.codes, cache.plan, cp, oct, next.plan, threads);

  // Parity of x+y+z: of the octant bits, the key's low 3 bits.
  std::vector<int32_t> group[2];
  for (size_t i = 0; i < nc; ++i) group[__builtin_parityll(child.keys[i] & 7)].push_back(static_cast<int32_t>(i));

  // The CDFs of a step are computed for all rows at once (in parallel), then coded in order.
  constexpr size_t kRow = kNibble + 1;
  BigVector<uint32_t> cdfs;
  auto step_cdfs = [&](const nn::Matrix& logits) {
    cdfs.resize(logits.rows * kRow);
    nn::parallel_rows(logits.rows, threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) nn::softmax16_to_cdf(logits.row(i), kCdfBits, cdfs.data() + i * kRow);
    });
  };
  // Which bits of each child's code are coded so far (child.codes holds them: the
  // decoder writes each low nibble as soon as it is decoded), for coders that look
  // at the decoded neighbourhood.
  const bool with_nb = io.begin_level(nc, np);
  std::vector<uint8_t> known;
  int cols[27] = {};
  if (with_nb) {
    known.assign(nc, 0);
    const int r = model.kernel() / 2, kw = model.kernel();
    for (int k = 0; k < 27; ++k)
      cols[k] = ((k / 9 - 1 + r) * kw + ((k / 3) % 3 - 1 + r)) * kw + (k % 3 - 1 + r);
  }
  auto neighbourhood = [&](int32_t row) {
    Neighbourhood nb;
    const size_t r = static_cast<size_t>(row);
    nb.lineage = static_cast<uint32_t>(parent.codes[static_cast<size_t>(cp[r])]) << 3 | oct[r];
    const int32_t* t = next.table.data() + r * kk;
    for (int k = 0; k < 27; ++k) {
      const int32_t m = t[cols[k]];
      if (m < 0 || k == 13) continue;  // an absent voxel has no children: known empty
      const uint8_t kn = known[static_cast<size_t>(m)];
      nb.occupied |= octnb::kNb.block[k][child.codes[static_cast<size_t>(m)] & kn];
      nb.unknown |= octnb::kNb.block[k][~kn & 0xFFu];
    }
    return nb;
  };
  auto code_one = [&](const uint32_t* cdf, uint32_t value, int step, int32_t row, uint32_t own_low) {
    if (!with_nb) return io.code(cdf, value, step);
    const uint32_t v = io.code_with(cdf, value, step, own_low, neighbourhood(row));
    known[static_cast<size_t>(row)] = step & 1 ? 0xFF : 0x0F;
    return v;
  };
  auto code_nibbles = [&](int step, const nn::Matrix& feat, const std::vector<int32_t>& rows) {
    std::vector<int32_t> low(rows.size());
    step_cdfs(model.logits(step, feat, {}, threads));
    for (size_t i = 0; i < rows.size(); ++i) {
      low[i] = static_cast<int32_t>(code_one(cdfs.data() + i * kRow, child.codes[rows[i]] & 15u, step, rows[i], 0));
      if (decoding) child.codes[rows[i]] = static_cast<uint8_t>(low[i]);
    }
    step_cdfs(model.logits(step + 1, feat, low, threads));
    for (size_t i = 0; i < rows.size(); ++i) {
      uint32_t h = code_one(cdfs.data() + i * kRow, child.codes[rows[i]] >> 4, step + 1, rows[i],
                            static_cast<uint32_t>(low[i]));
      uint32_t code = static_cast<uint32_t>(low[i]) | h << 4;
      if (code == 0) fail(ErrorCode::CorruptPayload, "learned geometry: decoded an empty occupancy code");
      child.codes[rows[i]] = static_cast<uint8_t>(code);
    }
  };
  code_nibbles(0, nn::gather_rows(x, group[0].data(), group[0].size(), threads), group[0]);
  std::vector<int32_t> ctx(nc, kCtxUnknown);
  for (int32_t r : group[0]) ctx[r] = child.codes[r];
  nn::Matrix f2 = nn::gather_rows(x, group[1].data(), group[1].size(), threads);
  x = nn::Matrix();
  const nn::ConvPlan ctx_plan =
      nn::make_conv_plan(next.table.data(), nc, kk, nc, threads, group[1].data(), group[1].size());
  model.add_context(ctx, ctx_plan, f2, threads);
  code_nibbles(2, f2, group[1]);
  cache = std::move(next);
}

void encode_dup(RangeEncoder& enc, DupContexts& ctx, uint64_t extra) {
  enc.encode_bit(ctx.any, extra != 0);
  if (!extra) return;
  int nbits = 64 - __builtin_clzll(extra);
  for (int i = 0; i < nbits - 1; ++i) enc.encode_bit(ctx.prefix[i < 39 ? i : 39], 1);
  if (nbits < 64) enc.encode_bit(ctx.prefix[nbits - 1 < 39 ? nbits - 1 : 39], 0);
  for (int i = nbits - 2; i >= 0; --i) enc.encode_bypass(static_cast<int>(extra >> i & 1));
}

uint64_t decode_dup(RangeDecoder& dec, DupContexts& ctx) {
  if (!dec.decode_bit(ctx.any)) return 0;
  int nbits = 1;
  while (nbits < 64 && dec.decode_bit(ctx.prefix[nbits - 1 < 39 ? nbits - 1 : 39])) ++nbits;
  uint64_t v = 1;
  for (int i = nbits - 2; i >= 0; --i) v = v << 1 | static_cast<uint64_t>(dec.decode_bypass());
  return v;
}

}  // namespace pcstream::learned
