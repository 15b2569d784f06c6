// Classic octree geometry codec: traversal, contexts and stream layout.
// Design notes: docs/geometry.md; byte layout: formats/geometry-classic.md.
#include "pcstream/geometry_codec.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "octree_codec_common.hpp"
#include "octree_neighbourhood.hpp"
#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/geometry_model.hpp"
#include "pcstream/morton.hpp"
#include "pcstream/range_coder.hpp"

namespace pcstream {
namespace {

using geom::Apm;
using geom::Counter;
using geom::Mixer;
using geom::stretch12;
using octnb::kConf;
using octnb::kFaceNbMask;
using octnb::kNb;
using octnb::kTern6;
using octnb::popcount64;
using octnb::popcount8;

constexpr uint8_t kFlagLossless = 1;   // duplicate counts are coded
constexpr uint8_t kFlagDirect = 2;     // direct mode for isolated nodes may occur
constexpr uint8_t kKnownFlags = kFlagLossless | kFlagDirect;

// ---------------------------------------------------------------------------
// Coders as a template parameter, so that one traversal serves both sides.
struct EncIO {
  RangeEncoder* rc;
  inline int bit(int b, int p1) { rc->encode_bit_p(b, static_cast<uint32_t>(p1)); return b; }
  inline int bypass(int b) { rc->encode_bypass(b); return b; }
  inline void check() const {}
};
struct DecIO {
  RangeDecoder* rc;
  inline int bit(int, int p1) { return rc->decode_bit_p(static_cast<uint32_t>(p1)); }
  inline int bypass(int) { return rc->decode_bypass(); }
  // Reading past the end of the chunk: it was cut short (or is corrupt).
  inline void check() const {
    if (rc->overrun()) fail(ErrorCode::Truncated, "geometry: chunk payload ends before its last level");
  }
};

inline int cbit_p(const Counter& c) { int p = c.p(); return p < 32 ? 32 : p > 65504 ? 65504 : p; }

// ---------------------------------------------------------------------------
// Occupancy model: 8 binary decisions per node, each predicted by several
// context tables mixed in the logistic domain, then refined by an APM.
class OccupancyModel {
 public:
  static constexpr int kInputs = 6;
  OccupancyModel() : OccupancyModel(16) {}
  // hash_bits: log2 of the size of each hashed context table.
  explicit OccupancyModel(int hash_bits)
      : hash_bits_(hash_bits), c1_(256 * 27), c2_(8 * 13 * 13 * 9), c3_(729 * 64),
        c5_(size_t(1) << hash_bits), c6_(size_t(1) << hash_bits),
        mixer_(kInputs, 8 * 4 * 16, 8, 20000), apm_(8 * 729, 7) {}

  // occ4: known occupied child-level voxels of the 4x4x4 block (neighbours
  // only); unk4: voxels whose occupancy is not known yet (later nodes).
  template <class IO>
  uint8_t code(IO& io, uint8_t truth, uint64_t occ4, uint64_t unk4, int p26, int lc, uint32_t pmask) {
    uint32_t partial = 0;
    const uint64_t* self = kNb.block[13];
    size_t i5, i6;
    // Hashed slots are fetched from DRAM: prefetch them two children ahead,
    // for every outcome of the bits in between.
    size_t n5[2], n6[2], f5[4] = {0, 0, 0, 0}, f6s[4] = {0, 0, 0, 0};
    hashed(0, 0, occ4, unk4, lc, pmask, i5, i6);
    hashed(1, 0, occ4, unk4, lc, pmask, n5[0], n6[0]);
    hashed(1, 1, occ4, unk4, lc, pmask, n5[1], n6[1]);
    for (int t = 0; t < 2; ++t) { __builtin_prefetch(&c5_[n5[t]]); __builtin_prefetch(&c6_[n6[t]]); }
    for (int j = 0; j < 8; ++j) {
      if (j == 7 && partial == 0) { partial |= 0x80; break; }  // an occupied node has a child
      uint64_t known = occ4 | self[partial];
      uint64_t unk = unk4 | self[(0xFF << j) & 0xFF];
      // Face states in base 3 (0 empty, 1 occupied, 2 unknown). The three
      // faces inside the node (siblings) come from a table; for the three in
      // neighbours, occ4 and unk4 are disjoint, so their digits are two
      // 6-bit masks combined.
      uint32_t fk = 0, fu = 0;
      for (int a = 0; a < 3; ++a) {
        const int d = kNb.face_out[j][a];
        const int q = kNb.face[j][d];
        fk |= static_cast<uint32_t>((occ4 >> q) & 1) << d;
        fu |= static_cast<uint32_t>((unk4 >> q) & 1) << d;
      }
      int f6 = kTern6.v[fk] + 2 * kTern6.v[fu] + kNb.face_in[j][partial];
      int eo = popcount64(known & kNb.edge[j]);
      int eu = popcount64(unk & kNb.edge[j]);
      int co = popcount64(known & kNb.corner[j]);
      int nsib = popcount8(partial);
      Counter& k1 = c1_[((1u << j) | partial) * 27 + p26];
      Counter& k2 = c2_[((j * 13 + eo) * 13 + eu) * 9 + co];
      Counter& k3 = c3_[(f6 * 8 + j) * 8 + nsib];
      Counter& k5 = c5_[i5];
      Counter& k6 = c6_[i6];
      if (j < 6) {  // t: bit 0 = outcome of child j, bit 1 = of child j + 1
        // The four candidates share everything but two sibling bits.
        const int jn = j + 2;
        const uint64_t around = kNb.around[jn];
        const uint64_t hu = ((unk4 | self[(0xFF << jn) & 0xFF]) & around) * 0xC2B2AE3D27D4EB4Full ^
                            (static_cast<uint64_t>(jn * 4 + lc) * 0x165667B19E3779F9ull);
        const uint64_t hp = static_cast<uint64_t>(pmask) * 0xD6E8FEB86659FD93ull;
        for (uint32_t t = 0; t < 4; ++t) {
          uint32_t pt = partial | ((t & 1) << j) | ((t >> 1) << (j + 1));
          finish_hash(((occ4 | self[pt]) & around) * 0x9E3779B97F4A7C15ull ^ hu, hp, f5[t], f6s[t]);
          __builtin_prefetch(&c5_[f5[t]]);
          __builtin_prefetch(&c6_[f6s[t]]);
        }
      }
      mixer_.add(stretch12(k1.p() >> 4));
      mixer_.add(stretch12(k2.p() >> 4));
      mixer_.add(stretch12(k3.p() >> 4));
      mixer_.add(stretch12(k5.p() >> 4));
      mixer_.add(stretch12(k6.p() >> 4));
      mixer_.add(256);
      int pm = mixer_.mix(((j * 4 + lc) * 4 + kConf.v[k5.n & 255]) * 4 + kConf.v[k6.n & 255]);
      int pa = apm_.refine(pm, j * 729 + f6);
      int p = (pm + 3 * pa + 2) >> 2;
      int b = io.bit((truth >> j) & 1, p);
      mixer_.update(b);
      apm_.update(b);
      k1.update(b, kLimit);
      k2.update(b, kLimit);
      k3.update(b, kLimit);
      k5.update(b, kLimit);
      k6.update(b, kLimit);
      partial |= static_cast<uint32_t>(b) << j;
      i5 = n5[b];
      i6 = n6[b];
      n5[0] = f5[b];
      n5[1] = f5[b | 2];
      n6[0] = f6s[b];
      n6[1] = f6s[b | 2];
    }
    return static_cast<uint8_t>(partial);
  }

  // Slots of the two hashed contexts of child j: its full 26-neighbourhood
  // (known occupied / unknown), and the same plus the parent-level pattern.
  inline void hashed(int j, uint32_t partial, uint64_t occ4, uint64_t unk4, int lc, uint32_t pmask, size_t& i5,
                     size_t& i6) const {
    const uint64_t* self = kNb.block[13];
    uint64_t known = (occ4 | self[partial]) & kNb.around[j];
    uint64_t unk = (unk4 | self[(0xFF << j) & 0xFF]) & kNb.around[j];
    uint64_t h = (known * 0x9E3779B97F4A7C15ull) ^ (unk * 0xC2B2AE3D27D4EB4Full) ^
                 (static_cast<uint64_t>(j * 4 + lc) * 0x165667B19E3779F9ull);
    finish_hash(h, static_cast<uint64_t>(pmask) * 0xD6E8FEB86659FD93ull, i5, i6);
  }
  // h: hash of the 26-neighbourhood; hp: hashed parent-level pattern.
  inline void finish_hash(uint64_t h, uint64_t hp, size_t& i5, size_t& i6) const {
    i5 = static_cast<size_t>((h ^ (h >> 29)) >> (64 - hash_bits_));
    uint64_t h2 = h ^ hp;
    h2 ^= h2 >> 31;
    h2 *= 0x9E3779B97F4A7C15ull;
    i6 = static_cast<size_t>(h2 >> (64 - hash_bits_));
  }

 private:
  static constexpr int kLimit = 255;
  int hash_bits_;
  geom::CounterTable c1_, c2_, c3_, c5_, c6_;
  Mixer mixer_;
  Apm apm_;
};

// Direct coding of the few points of an isolated node, and duplicate counts.
class DirectModel {
 public:
  DirectModel() : flag_(64), npts_(4), bits_(2 * 3 * 24), dup_(4), eg_(2 * 34) {}
  template <class IO>
  int flag(IO& io, int truth, int ctx) { return code(io, flag_[ctx], truth); }
  template <class IO>
  int two_points(IO& io, int truth) { return code(io, npts_[0], truth); }
  // The low `r` bits of each coordinate, most significant bit plane first.
  template <class IO>
  void coords(IO& io, int which, int r, uint32_t* xyz) {
    for (int i = r - 1; i >= 0; --i) {
      int pos = std::min(r - 1 - i, 23);
      for (int a = 0; a < 3; ++a) {
        int b = code(io, bits_[(which * 3 + a) * 24 + pos], (xyz[a] >> i) & 1);
        xyz[a] = (xyz[a] & ~(1u << i)) | (static_cast<uint32_t>(b) << i);
      }
    }
  }
  // Count >= 1: flag (count > 1), then Exp-Golomb of count - 2.
  template <class IO>
  uint32_t count(IO& io, uint32_t truth, int ctx) {
    if (!code(io, dup_[ctx], truth > 1)) return 1;
    uint64_t v = static_cast<uint64_t>(truth) - 2 + 1;  // >= 1
    int nb = 0;
    if (truth) while ((v >> (nb + 1)) != 0) ++nb;  // encoder: nb = floor(log2 v)
    int k = 0;
    for (;; ++k) {
      if (k > 32) fail(ErrorCode::CorruptPayload, "geometry: duplicate count prefix too long");
      int more = code(io, eg_[ctx * 34 + k], k < nb);
      if (!more) break;
    }
    uint64_t val = 1;
    for (int i = k - 1; i >= 0; --i) val = (val << 1) | static_cast<uint64_t>(io.bypass((v >> i) & 1));
    uint64_t c = val - 1 + 2;
    if (c > 0xFFFFFFFFull) fail(ErrorCode::CorruptPayload, "geometry: duplicate count out of range");
    return static_cast<uint32_t>(c);
  }

 private:
  template <class IO>
  static int code(IO& io, Counter& c, int truth) {
    int b = io.bit(truth, cbit_p(c));
    c.update(b, 60);
    return b;
  }
  std::vector<Counter> flag_, npts_, bits_, dup_, eg_;
};

// ---------------------------------------------------------------------------
// Traversal state shared by encoder and decoder.
struct Leaf { uint64_t code; uint32_t count; };

class OctreeState {
 public:
  int depth = 0;         // input bits per coordinate
  int D = 0;             // coded levels
  bool lossless = false, direct = false;
  uint64_t n_out = 0;    // points of the full decode (voxels when lossy)
  int level = 0;         // nodes of this level are known

  std::vector<uint64_t> codes;   // node Morton codes at `level`
  // 27 neighbour indices per node (level < D). Raw buffers reused from level
  // to level: every entry is written before it is read, so no zero fill.
  std::unique_ptr<int32_t[]> nb, nb_next;
  size_t nb_cap = 0, nb_next_cap = 0;
  std::vector<uint8_t> npar;     // occupied children of each node's parent
  std::vector<uint8_t> occ, tocc;
  std::vector<Leaf> direct_pts;  // codes at level D
  std::vector<uint32_t> leaf_counts;  // decoder: counts of tree leaves (lossless, when done)
  uint64_t direct_voxels = 0;

  // Encoder only: distinct leaves (level D) and each node's leaf range.
  std::vector<Leaf> leaves;
  std::vector<uint32_t> lbeg, lend;

  OccupancyModel occ_model;
  DirectModel dmodel;

  void init_root(bool enc) {
    // Hashed context tables sized by the point count (the decoder knows it
    // from the header): about 16 slots per point, 2^12 .. 2^24.
    int hb = 12;
    while (hb < 24 && (uint64_t(1) << (hb - 4)) < n_out) ++hb;
    occ_model = OccupancyModel(hb);
    level = 0;
    codes.assign(1, 0);
    nb.reset(new int32_t[27]);
    nb_cap = 27;
    for (int k = 0; k < 27; ++k) nb[k] = -1;
    nb[13] = 0;
    npar.assign(1, 1);
    if (enc) { lbeg.assign(1, 0); lend.assign(1, static_cast<uint32_t>(leaves.size())); }
  }

  // Codes the occupancy of every node of `level` and moves to level + 1.
  template <bool ENC, class IO>
  void code_level(IO& io) {
    const size_t n_nodes = codes.size();
    const int r = D - level;  // bits per axis below this level (>= 1)
    const int lc = std::min(r - 1, 3);
    const int sh = 3 * (r - 1);
    occ.assign(n_nodes, 0);
    tocc.assign(n_nodes, 0);
    for (size_t n = 0; n < n_nodes; ++n) {
      const int32_t* nbn = &nb[n * 27];
      uint64_t occ4 = 0, unk4 = 0;
      int p26 = 0, p6 = 0;
      uint32_t pmask = 0;
      // Presence and decode order of the neighbours as bit masks first (a
      // fixed, branch-free pass), then only the present ones are visited:
      // an earlier node (smaller index, decoded) contributes its children,
      // a later one unknown voxels.
      uint32_t pres = 0, earl = 0;
      for (int k = 0; k < 27; ++k) {
        const int32_t m = nbn[k];
        pres |= static_cast<uint32_t>(m >= 0) << k;
        earl |= static_cast<uint32_t>(static_cast<size_t>(m) < n) << k;  // false for m < 0
      }
      pres &= ~(1u << 13);
      earl &= pres;
      pmask = pres;
      for (uint32_t bits = earl; bits; bits &= bits - 1) {
        const int k = __builtin_ctz(bits);
        occ4 |= kNb.block[k][occ[static_cast<size_t>(nbn[k])]];
      }
      for (uint32_t bits = pres & ~earl; bits; bits &= bits - 1) unk4 |= kNb.block[__builtin_ctz(bits)][255];
      p26 = popcount64(pmask);
      p6 = popcount64(pmask & kFaceNbMask);
      uint8_t truth = 0;
      if (ENC) {
        for (uint32_t i = lbeg[n]; i < lend[n]; ++i) truth |= uint8_t(1u << ((leaves[i].code >> sh) & 7));
      }
      if (direct && r >= 2 && p6 == 0 && npar[n] <= 2) {
        int ctx = std::min(p26, 7) * 4 + std::min<int>(npar[n], 2) * 2 + (lc == 3);
        int want = 0;
        if (ENC) want = (lend[n] - lbeg[n]) <= 2;
        if (dmodel.flag(io, want, ctx)) {
          code_direct<ENC>(io, n, r);
          continue;
        }
      }
      uint8_t o = occ_model.code(io, truth, occ4, unk4, p26, lc, pmask);
      occ[n] = tocc[n] = o;
      if (!ENC) io.check();
    }
    next_level<ENC>();
  }

  template <bool ENC, class IO>
  void code_direct(IO& io, size_t n, int r) {
    int two = 0;
    if (ENC) two = (lend[n] - lbeg[n]) == 2;
    two = dmodel.two_points(io, two);
    const uint64_t base = codes[n] << (3 * r);
    uint64_t prev = 0;
    for (int p = 0; p <= two; ++p) {
      uint32_t xyz[3] = {0, 0, 0};
      uint32_t cnt = 1;
      if (ENC) {
        const Leaf& lf = leaves[lbeg[n] + p];
        morton_decode(lf.code, xyz[0], xyz[1], xyz[2]);
        cnt = lf.count;
      }
      dmodel.coords(io, p, r, xyz);
      uint64_t code = base | (morton_encode(xyz[0], xyz[1], xyz[2]) & ((uint64_t(1) << (3 * r)) - 1));
      if (lossless) cnt = dmodel.count(io, cnt, 1);
      if (!ENC) {
        io.check();
        if (p == 1 && code <= prev) fail(ErrorCode::CorruptPayload, "geometry: direct points out of order");
        if (direct_voxels >= n_out) fail(ErrorCode::CorruptPayload, "geometry: more points than announced");
      }
      prev = code;
      direct_pts.push_back({code, cnt});
      ++direct_voxels;
      occ[n] |= uint8_t(1u << ((code >> (3 * (r - 1))) & 7));
    }
  }

  template <bool ENC>
  void next_level() {
    const size_t n_nodes = codes.size();
    size_t n_child = 0;
    for (size_t n = 0; n < n_nodes; ++n) n_child += popcount8(tocc[n]);
    if (!ENC && n_child + direct_voxels > n_out)
      fail(ErrorCode::CorruptPayload, "geometry: more voxels than the header announces");
    std::vector<uint32_t> first(n_nodes);
    {
      uint32_t s = 0;
      for (size_t n = 0; n < n_nodes; ++n) { first[n] = s; s += popcount8(tocc[n]); }
    }
    std::vector<uint64_t> ncodes(n_child);
    std::vector<uint8_t> nnpar(n_child);
    const bool need_nb = level + 1 < D;
    if (need_nb && nb_next_cap < n_child * 27) {
      nb_next.reset();  // n_child is bounded by n_out (checked above, decoder)
      nb_next.reset(new int32_t[n_child * 27]);
      nb_next_cap = n_child * 27;
    }
    int32_t* nnb = nb_next.get();
    std::vector<uint32_t> nlbeg, nlend;
    if (ENC) { nlbeg.resize(n_child); nlend.resize(n_child); }
    const int sh = 3 * (D - level - 1);
    size_t c = 0;
    for (size_t n = 0; n < n_nodes; ++n) {
      uint32_t t = tocc[n];
      if (!t) continue;
      int cnt = popcount8(t);
      uint32_t li = ENC ? lbeg[n] : 0;
      for (uint32_t b = t; b; b &= b - 1, ++c) {
        int j = __builtin_ctz(b);
        ncodes[c] = (codes[n] << 3) | static_cast<uint64_t>(j);
        nnpar[c] = static_cast<uint8_t>(cnt);
        if (ENC) {
          nlbeg[c] = li;
          while (li < lend[n] && static_cast<int>((leaves[li].code >> sh) & 7) == j) ++li;
          nlend[c] = li;
        }
        if (need_nb) {
          int32_t* out = &nnb[c * 27];
          const int32_t* pnb = &nb[n * 27];
          for (int k = 0; k < 27; ++k) {
            // Branch-free: -1 unless neighbour m exists and has child jj.
            const int32_t m = pnb[kNb.child_nb_parent[j][k]];
            const uint32_t pm = 0u - static_cast<uint32_t>(m >= 0);
            const size_t mi = static_cast<size_t>(static_cast<uint32_t>(m) & pm);
            const uint32_t tm = tocc[mi] & pm;
            const int jj = kNb.child_nb_bit[j][k];
            const uint32_t has = (tm >> jj) & 1;
            const uint32_t idx = first[mi] + static_cast<uint32_t>(popcount8(tm & ((1u << jj) - 1)));
            out[k] = static_cast<int32_t>(idx | (has - 1));
          }
        }
      }
    }
    codes.swap(ncodes);
    npar.swap(nnpar);
    if (need_nb) {
      nb.swap(nb_next);
      std::swap(nb_cap, nb_next_cap);
    }
    if (ENC) { lbeg.swap(nlbeg); lend.swap(nlend); }
    ++level;
  }

  // Duplicate counts of the tree leaves (lossless, after the last level).
  template <bool ENC, class IO>
  void code_leaf_counts(IO& io) {
    const size_t n = codes.size();
    leaf_counts.assign(n, 1);
    uint64_t total = 0;
    for (const Leaf& d : direct_pts) total += d.count;
    int prev = 0;
    for (size_t i = 0; i < n; ++i) {
      uint32_t truth = ENC ? leaves[lbeg[i]].count : 1;
      uint32_t c = dmodel.count(io, truth, prev);
      prev = c > 1;
      total += c;
      if (!ENC) {
        io.check();
        if (total > n_out) fail(ErrorCode::CorruptPayload, "geometry: more points than the header announces");
      }
      leaf_counts[i] = c;
    }
    if (!ENC && total != n_out) fail(ErrorCode::CorruptPayload, "geometry: point count differs from the header");
  }

  // Voxels at the current level (sorted Morton codes, distinct).
  std::vector<uint64_t> voxel_codes() const {
    std::vector<uint64_t> out(codes);
    if (!direct_pts.empty()) {
      const int sh = 3 * (D - level);
      for (const Leaf& d : direct_pts) out.push_back(d.code >> sh);
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return out;
  }
};

using octree_common::chunk_ranges;

std::vector<uint8_t> write_header(int depth, int D, uint8_t flags, uint64_t n_out) {
  ByteWriter w;
  w.u8(kGeometryFormatVersion);
  w.u8(static_cast<uint8_t>(depth));
  w.u8(static_cast<uint8_t>(D));
  w.u8(flags);
  w.varint(n_out);
  return w.bytes();
}

}  // namespace

// ---------------------------------------------------------------------------
GeometryEncoding encode_geometry(const uint32_t* xyz, size_t n, const GeometryOptions& opt) {
  const int depth = opt.depth;
  octree_common::check_depth(depth, "geometry");
  const int D = opt.levels < 0 ? depth : opt.levels;
  if (D > depth) fail(ErrorCode::InvalidArgument, "geometry: levels must be <= depth");
  octree_common::check_points(xyz, n, depth, "geometry");
  const bool lossless = D == depth;
  GeometryEncoding out;

  // Codes at the coded level, sorted; distinct leaves with counts.
  std::vector<uint64_t> codes = morton_codes(xyz, n);
  const int drop = depth - D;
  if (drop) for (auto& c : codes) c >>= 3 * drop;
  std::vector<uint64_t> sorted;
  out.order = morton_sort_permutation(codes.data(), n, D, &sorted);
  OctreeState st;
  st.depth = depth;
  st.D = D;
  st.lossless = lossless;
  st.direct = opt.direct_mode;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && sorted[j] == sorted[i]) ++j;
    st.leaves.push_back({sorted[i], static_cast<uint32_t>(j - i)});
    i = j;
  }
  if (!lossless) {
    out.voxel_of_point.resize(n);
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0 && sorted[i] != sorted[i - 1]) ++v;
      out.voxel_of_point[out.order[i]] = v;
    }
  }
  st.n_out = lossless ? n : st.leaves.size();
  uint8_t flags = static_cast<uint8_t>((lossless ? kFlagLossless : 0) | (opt.direct_mode ? kFlagDirect : 0));
  out.header = write_header(depth, D, flags, st.n_out);
  if (n == 0) return out;

  st.init_root(true);
  for (auto [lo, hi] : chunk_ranges(D, opt.first_chunk_levels)) {
    RangeEncoder rc;
    EncIO io{&rc};
    for (int l = std::max(lo, 1); l <= hi; ++l) st.code_level<true>(io);
    const bool last = hi == D;
    if (last && lossless) st.code_leaf_counts<true>(io);
    GeometryChunkData ch;
    ch.level_lo = lo;
    ch.level_hi = hi;
    ByteWriter w;
    w.u8(static_cast<uint8_t>(lo));
    w.u8(static_cast<uint8_t>(hi));
    w.bytes(rc.finish());
    ch.payload = std::move(w.bytes());
    ch.point_count = (last && lossless) ? n : st.voxel_codes().size();
    out.chunks.push_back(std::move(ch));
  }
  return out;
}

// ---------------------------------------------------------------------------
class GeometryDecoderImpl {
 public:
  OctreeState st;
  bool done = false, failed = false;
  int next_lo = 1;
};

GeometryDecoder::GeometryDecoder(const uint8_t* header, size_t size, const GeometryLimits& limits)
    : impl_(new GeometryDecoderImpl) {
  ByteReader r(header, size);
  uint8_t ver = r.u8("geometry header version");
  if (ver != kGeometryFormatVersion)
    fail(ErrorCode::UnsupportedCodec, "geometry: header version " + std::to_string(ver) + " is not supported", 0);
  int depth = r.u8("geometry depth");
  int D = r.u8("geometry levels");
  uint8_t flags = r.u8("geometry flags");
  uint64_t n_out = r.varint("geometry point count");
  if (depth > kMortonMaxBits || depth > limits.max_depth)
    fail(ErrorCode::LimitExceeded, "geometry: depth " + std::to_string(depth) + " exceeds the limit", 1);
  if (D > depth) fail(ErrorCode::CorruptPayload, "geometry: coded levels exceed the depth", 2);
  if (flags & ~kKnownFlags) fail(ErrorCode::CorruptPayload, "geometry: reserved flag bits set", 3);
  if (n_out > limits.max_points || n_out > 0xFFFFFFFFull)
    fail(ErrorCode::LimitExceeded, "geometry: " + std::to_string(n_out) + " points exceed the decoder limit", 4);
  const bool lossless = (flags & kFlagLossless) != 0;
  if (lossless != (D == depth)) fail(ErrorCode::CorruptPayload, "geometry: lossless flag disagrees with the levels", 3);
  if (D < 1 && n_out > 1 && !lossless) fail(ErrorCode::CorruptPayload, "geometry: more than one voxel at level 0", 4);
  if (r.remaining()) fail(ErrorCode::CorruptPayload, "geometry: trailing bytes in the header", static_cast<int64_t>(r.pos()));
  OctreeState& st = impl_->st;
  st.depth = depth;
  st.D = D;
  st.lossless = lossless;
  st.direct = (flags & kFlagDirect) != 0;
  st.n_out = n_out;
  if (n_out == 0) {
    impl_->done = true;
    st.level = D;
    st.codes.clear();
  } else {
    st.init_root(false);
    impl_->next_lo = D == 0 ? 0 : 1;
  }
}

GeometryDecoder::~GeometryDecoder() = default;
GeometryDecoder::GeometryDecoder(GeometryDecoder&&) noexcept = default;
GeometryDecoder& GeometryDecoder::operator=(GeometryDecoder&&) noexcept = default;

void GeometryDecoder::feed(const uint8_t* payload, size_t size) {
  GeometryDecoderImpl& d = *impl_;
  if (d.done) fail(ErrorCode::InvalidArgument, "geometry: all chunks were already decoded");
  if (d.failed) fail(ErrorCode::InvalidArgument, "geometry: the decoder failed on an earlier chunk");
  OctreeState& st = d.st;
  ByteReader r(payload, size);
  int lo = r.u8("geometry chunk level_lo");
  int hi = r.u8("geometry chunk level_hi");
  if (lo != d.next_lo || hi < lo || hi > st.D)
    fail(ErrorCode::CorruptPayload, "geometry: chunk levels " + std::to_string(lo) + ".." + std::to_string(hi) +
                                        " do not follow level " + std::to_string(st.level), 0);
  // On failure, restore the last complete level (the models are discarded:
  // a failed decoder accepts no further chunks).
  std::vector<uint64_t> saved_codes = st.codes;
  std::vector<Leaf> saved_direct = st.direct_pts;
  const int saved_level = st.level;
  const uint64_t saved_dv = st.direct_voxels;
  try {
    RangeDecoder rc(r.cursor(), r.remaining());
    DecIO io{&rc};
    for (int l = std::max(lo, 1); l <= hi; ++l) st.code_level<false>(io);
    if (hi == st.D && st.lossless) st.code_leaf_counts<false>(io);
    io.check();
    if (hi == st.D && !st.lossless && st.voxel_codes().size() != st.n_out)
      fail(ErrorCode::CorruptPayload, "geometry: voxel count differs from the header");
  } catch (const Error& e) {
    d.failed = true;
    st.codes.swap(saved_codes);
    st.direct_pts.swap(saved_direct);
    st.level = saved_level;
    st.direct_voxels = saved_dv;
    st.leaf_counts.clear();
    throw;
  }
  d.next_lo = hi + 1;
  if (hi == st.D) d.done = true;
}

int GeometryDecoder::level() const { return impl_->st.level; }
int GeometryDecoder::depth() const { return impl_->st.depth; }
int GeometryDecoder::coded_levels() const { return impl_->st.D; }
bool GeometryDecoder::done() const { return impl_->done; }
uint64_t GeometryDecoder::point_count() const { return impl_->st.n_out; }

namespace {
// Morton decode 9 code bits (3 levels) at a time: entry = x3 | y3 << 8 | z3 << 16.
struct MortonDec9 {
  uint32_t v[512];
  constexpr MortonDec9() : v() {
    for (uint32_t c = 0; c < 512; ++c) {
      uint32_t x = 0, y = 0, z = 0;
      for (int t = 0; t < 3; ++t) {
        x |= ((c >> (3 * t + 2)) & 1) << t;
        y |= ((c >> (3 * t + 1)) & 1) << t;
        z |= ((c >> (3 * t)) & 1) << t;
      }
      v[c] = x | (y << 8) | (z << 16);
    }
  }
};
constexpr MortonDec9 kMortonDec9{};

// Writes `count` copies of the point of `code` at out (3 * count values).
inline uint32_t* put_point(uint32_t* out, uint64_t code, uint32_t count) {
  uint32_t x = 0, y = 0, z = 0;
  for (int s = 0; code; code >>= 9, s += 3) {
    const uint32_t e = kMortonDec9.v[code & 511];
    x |= (e & 7) << s;
    y |= ((e >> 8) & 7) << s;
    z |= ((e >> 16) & 7) << s;
  }
  for (uint32_t k = 0; k < count; ++k, out += 3) {
    out[0] = x;
    out[1] = y;
    out[2] = z;
  }
  return out;
}
}  // namespace

std::vector<uint32_t> GeometryDecoder::points() const {
  const OctreeState& st = impl_->st;
  std::vector<uint32_t> out;
  if (st.n_out == 0) return out;
  if (impl_->done && st.lossless) {
    // Tree leaves are sorted; merge the (sorted) direct points in. The counts
    // sum to n_out (checked when decoding).
    std::vector<Leaf> dp = st.direct_pts;
    auto less = [](const Leaf& a, const Leaf& b) { return a.code < b.code; };
    std::sort(dp.begin(), dp.end(), less);
    out.resize(3 * st.n_out);
    uint32_t* o = out.data();
    size_t i = 0, d = 0;
    const size_t nt = st.codes.size();
    while (i < nt || d < dp.size()) {
      if (d < dp.size() && (i == nt || dp[d].code < st.codes[i])) {
        o = put_point(o, dp[d].code, dp[d].count);
        ++d;
      } else {
        o = put_point(o, st.codes[i], st.leaf_counts[i]);
        ++i;
      }
    }
    return out;
  }
  std::vector<uint64_t> v = st.voxel_codes();
  out.resize(3 * v.size());
  uint32_t* o = out.data();
  for (uint64_t c : v) o = put_point(o, c, 1);
  return out;
}

}  // namespace pcstream
