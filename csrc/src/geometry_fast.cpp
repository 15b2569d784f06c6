// Fast octree geometry codec (codec 11): traversal, per-level mode choice and
// stream layout (coding pieces in geometry_fast_internal.hpp). Byte layout:
// formats/geometry-fast.md.
#include "pcstream/geometry_fast.hpp"

#include <algorithm>
#include <string>

#include "geometry_fast_internal.hpp"
#include "octree_codec_common.hpp"
#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/morton.hpp"

namespace pcstream {
namespace {

using namespace fastgeom;

using octree_common::chunk_ranges;

std::vector<uint8_t> write_header(int depth, int K, uint64_t n) {
  ByteWriter w;
  w.u8(kFastGeometryVersion);
  w.u8(static_cast<uint8_t>(depth));
  w.u8(static_cast<uint8_t>(K));
  w.varint(n);
  return w.bytes();
}


}  // namespace

// ---------------------------------------------------------------------------
GeometryEncoding encode_geometry_fast(const uint32_t* xyz, size_t n, const FastGeometryOptions& opt) {
  const int D = opt.depth;
  octree_common::check_depth(D, "fast geometry");
  if (opt.context_levels > D) fail(ErrorCode::InvalidArgument, "fast geometry: context_levels must be <= depth");
  octree_common::check_points(xyz, n, D, "fast geometry");
  GeometryEncoding out;
  std::vector<uint64_t> sorted;
  {
    std::vector<uint64_t> codes = morton_codes(xyz, n);
    out.order = morton_sort_permutation(codes.data(), n, D, &sorted);
  }
  if (n == 0) {
    out.header = write_header(D, 0, 0);
    return out;
  }
  // Levels bottom-up: nodes[l] (Morton codes at level l), occ[l] for l < D, leaf counts.
  std::vector<std::vector<uint64_t>> nodes(static_cast<size_t>(D) + 1);
  std::vector<std::vector<uint8_t>> occ(static_cast<size_t>(D));
  std::vector<uint32_t> counts;
  {
    std::vector<uint64_t>& leaves = nodes[D];
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && sorted[j] == sorted[i]) ++j;
      leaves.push_back(sorted[i]);
      counts.push_back(static_cast<uint32_t>(j - i));
      i = j;
    }
  }
  for (int l = D; l > 0; --l) {
    const std::vector<uint64_t>& ch = nodes[l];
    std::vector<uint64_t>& par = nodes[l - 1];
    std::vector<uint8_t>& o = occ[l - 1];
    for (size_t i = 0; i < ch.size(); ++i) {
      const uint64_t p = ch[i] >> 3;
      if (par.empty() || par.back() != p) { par.push_back(p); o.push_back(0); }
      o.back() |= static_cast<uint8_t>(1u << (ch[i] & 7));
    }
  }
  // Neighbour patterns of the nodes at levels 0 .. Kmax - 1 (Kmax = D when the encoder chooses K).
  const int Kmax = opt.context_levels < 0 ? D : opt.context_levels;
  std::vector<std::vector<uint8_t>> pat(static_cast<size_t>(Kmax));
  {
    std::vector<int32_t> nb(6, -1), nb_next;
    if (Kmax > 0) pat[0].assign(1, 0);
    for (int l = 1; l < Kmax; ++l) {
      nb_next.resize(nodes[l].size() * 6);
      pat[l].resize(nodes[l].size());
      child_neighbours(nodes[l - 1].size(), occ[l - 1].data(), nb.data(), nb_next.data(), pat[l].data());
      nb.swap(nb_next);
    }
  }
  // Per level l (the occupancy bytes of the nodes at l - 1): estimated bytes of each mode.
  // Decoding speed counts too: the 7-table mode must save 0.5 %, the adaptive one 3 %
  // (it makes eight binary decisions a node).
  std::vector<std::vector<EncTable>> plain(static_cast<size_t>(D) + 1), ctx(static_cast<size_t>(D) + 1);
  std::vector<std::vector<uint8_t>> adaptive(static_cast<size_t>(D) + 1);
  std::vector<uint8_t> mode(static_cast<size_t>(D) + 1, kModeStatic);
  std::vector<double> cost_plain(static_cast<size_t>(D) + 1, 0.0), cost_nb(static_cast<size_t>(D) + 1, 0.0);
  std::vector<uint8_t> mode_nb(static_cast<size_t>(D) + 1, kModeStaticNb);
  for (int l = 1; l <= D; ++l) {
    const size_t m = nodes[l - 1].size();
    double bp = 0, bc = 0;
    plain[l] = level_tables(occ[l - 1].data(), nullptr, m, 1, &bp);
    cost_plain[l] = bp / 8;
    if (l > Kmax) continue;
    ctx[l] = level_tables(occ[l - 1].data(), pat[l - 1].data(), m, kFastNbContexts, &bc);
    cost_nb[l] = bc / 8 * 1.005;
    // The adaptive coder is tried where neighbours tell something or the level is small.
    if (opt.adaptive && (bc < 0.99 * bp || m < 200000)) {
      RangeEncoder rc;
      EncBits io{&rc};
      std::vector<uint8_t> tmp(occ[l - 1]);
      code_tree(io, tmp.data(), pat[l - 1].data(), m);
      adaptive[l] = rc.finish();
      const double ca = static_cast<double>(adaptive[l].size()) * 1.03;
      if (ca < cost_nb[l]) { cost_nb[l] = ca; mode_nb[l] = kModeAdaptive; }
    }
  }
  int K = Kmax;
  if (opt.context_levels < 0) {  // the prefix of levels where neighbour information pays most
    double acc = 0, best = 0;
    K = 0;
    for (int l = 1; l <= D; ++l) {
      acc += cost_plain[l] - cost_nb[l];
      if (acc > best) { best = acc; K = l; }
    }
  }
  for (int l = 1; l <= K; ++l)
    mode[l] = cost_nb[l] < cost_plain[l] || opt.context_levels >= 0 ? mode_nb[l] : kModeStatic;
  out.header = write_header(D, K, n);

  for (auto [lo, hi] : chunk_ranges(D, opt.first_chunk_levels)) {
    ByteWriter w;
    w.u8(static_cast<uint8_t>(lo));
    w.u8(static_cast<uint8_t>(hi));
    for (int l = std::max(lo, 1); l <= hi; ++l) {
      w.u8(mode[l]);
      std::vector<uint8_t> data;
      if (mode[l] == kModeAdaptive) {
        data = std::move(adaptive[l]);
      } else {
        const bool nbctx = mode[l] == kModeStaticNb;
        const std::vector<EncTable>& tabs = nbctx ? ctx[l] : plain[l];
        for (const EncTable& t : tabs) write_table(w, t);
        data = rans_encode(occ[l - 1].data(), nbctx ? pat[l - 1].data() : nullptr, nodes[l - 1].size(), tabs);
      }
      w.varint(data.size());
      w.bytes(data);
    }
    if (hi == D) {
      size_t m = 0;
      for (uint32_t c : counts) m += c > 1;
      w.varint(m);
      int64_t prev = -1;
      for (size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] < 2) continue;
        w.varint(static_cast<uint64_t>(static_cast<int64_t>(i) - prev - 1));
        w.varint(counts[i] - 2);
        prev = static_cast<int64_t>(i);
      }
    }
    GeometryChunkData ch;
    ch.level_lo = lo;
    ch.level_hi = hi;
    ch.payload = std::move(w.bytes());
    ch.point_count = hi == D ? n : nodes[hi].size();
    out.chunks.push_back(std::move(ch));
  }
  return out;
}

// ---------------------------------------------------------------------------
class FastGeometryDecoderImpl {
 public:
  int depth = 0, K = 0;
  uint64_t n_out = 0;
  int level = 0;                  // nodes of this level are known
  bool done = false, failed = false;
  int next_lo = 1;
  std::vector<uint64_t> codes;    // Morton codes of the nodes at `level`
  std::vector<int32_t> nb;        // 6 face neighbours per node (level < K)
  std::vector<uint8_t> pat;       // face-neighbour occupancy pattern per node (level < K)
  std::vector<uint32_t> counts;   // points per leaf (done)
  std::vector<DecTable> tabs;     // scratch, reused across levels

  void decode_level(ByteReader& r);
  void decode_counts(ByteReader& r);
};

void FastGeometryDecoderImpl::decode_level(ByteReader& r) {
  const int l = level + 1;
  const int64_t mode_at = r.offset();
  const uint8_t mode = r.u8("fast geometry: level mode");
  if (mode > kModeAdaptive || (mode == kModeStaticNb && l > K))
    fail(ErrorCode::CorruptPayload, "fast geometry: level mode " + std::to_string(mode) + " not allowed at level " +
                                        std::to_string(l), mode_at);
  const bool nbctx = mode == kModeStaticNb;
  const int nctx = nbctx ? kFastNbContexts : 1;
  if (mode != kModeAdaptive) {
    if (tabs.size() < static_cast<size_t>(nctx)) tabs.resize(static_cast<size_t>(nctx));
    for (int c = 0; c < nctx; ++c) read_table(r, tabs[c]);
  }
  const int64_t at = r.offset();
  const uint64_t len = r.varint("fast geometry: data length");
  if (len > r.remaining()) fail(ErrorCode::Truncated, "fast geometry: level data exceeds the chunk", at);
  const uint8_t* d = r.cursor();
  const int64_t base = r.offset();
  r.skip(static_cast<size_t>(len), "fast geometry: level data");
  const size_t m = codes.size();
  std::vector<uint8_t> occ(m);
  if (mode == kModeAdaptive) {
    RangeDecoder rc(d, static_cast<size_t>(len));
    DecBits io{&rc};
    code_tree(io, occ.data(), l <= K ? pat.data() : nullptr, m);
    if (rc.overrun()) fail(ErrorCode::Truncated, "fast geometry: adaptive level data ends early", base);
    if (rc.position() != len)
      fail(ErrorCode::CorruptPayload, "fast geometry: trailing bytes after the adaptive level data", base);
  } else {
    if (len < 4) fail(ErrorCode::CorruptPayload, "fast geometry: rANS data shorter than its state", at);
    uint32_t x = static_cast<uint32_t>(d[0]) | (static_cast<uint32_t>(d[1]) << 8) |
                 (static_cast<uint32_t>(d[2]) << 16) | (static_cast<uint32_t>(d[3]) << 24);
    if (x < kRansLow || x >= (kRansLow << 8))
      fail(ErrorCode::CorruptPayload, "fast geometry: rANS state out of range", base);
    size_t pos = 4;
    for (size_t i = 0; i < m; ++i) {
      const DecTable& t = tabs[nbctx ? kNbc.count[pat[i]] : 0];
      if (!t.used) fail(ErrorCode::CorruptPayload, "fast geometry: node context has no table", at);
      const uint32_t slot = x & kSlotMask;
      const uint8_t s = t.slot[slot];
      x = t.f15[s] * (x >> kFastProbBits) + slot - t.c15[s];
      while (x < kRansLow) {
        if (pos >= len) fail(ErrorCode::Truncated, "fast geometry: rANS data ends early", base + static_cast<int64_t>(len));
        x = (x << 8) | d[pos++];
      }
      occ[i] = s;
    }
    if (x != kRansLow || pos != len)
      fail(ErrorCode::CorruptPayload, "fast geometry: rANS data does not end in the initial state", base);
  }
  uint64_t n_child = 0;
  for (size_t i = 0; i < m; ++i) n_child += static_cast<uint64_t>(pop8(occ[i]));
  if (n_child > n_out) fail(ErrorCode::CorruptPayload, "fast geometry: more voxels than the header's point count", at);
  std::vector<uint64_t> next(static_cast<size_t>(n_child));
  size_t c = 0;
  for (size_t i = 0; i < m; ++i)
    for (uint32_t b = occ[i]; b; b &= b - 1) next[c++] = (codes[i] << 3) | static_cast<uint64_t>(__builtin_ctz(b));
  if (l < K) {
    std::vector<int32_t> nn(static_cast<size_t>(n_child) * 6);
    std::vector<uint8_t> np(static_cast<size_t>(n_child));
    child_neighbours(m, occ.data(), nb.data(), nn.data(), np.data());
    nb.swap(nn);
    pat.swap(np);
  } else {
    nb.clear();
    pat.clear();
  }
  codes.swap(next);
  level = l;
}

void FastGeometryDecoderImpl::decode_counts(ByteReader& r) {
  const size_t leaves = codes.size();
  const int64_t at = r.offset();
  const uint64_t m = r.varint("fast geometry: duplicate list length");
  if (m > leaves) fail(ErrorCode::CorruptPayload, "fast geometry: more duplicate entries than leaves", at);
  std::vector<uint32_t> cnt(leaves, 1);
  uint64_t total = leaves;
  int64_t idx = -1;
  for (uint64_t k = 0; k < m; ++k) {
    const uint64_t gap = r.varint("fast geometry: duplicate gap");
    if (gap >= leaves || static_cast<uint64_t>(idx + 1) + gap >= leaves)
      fail(ErrorCode::CorruptPayload, "fast geometry: duplicate entry beyond the last leaf", r.offset());
    idx += static_cast<int64_t>(gap) + 1;
    const uint64_t extra = r.varint("fast geometry: duplicate count");
    if (extra >= n_out || total + extra + 1 > n_out)
      fail(ErrorCode::CorruptPayload, "fast geometry: more points than the header announces", r.offset());
    total += extra + 1;
    cnt[static_cast<size_t>(idx)] = static_cast<uint32_t>(extra + 2);
  }
  if (total != n_out) fail(ErrorCode::CorruptPayload, "fast geometry: point count differs from the header", at);
  counts.swap(cnt);
}

FastGeometryDecoder::FastGeometryDecoder(const uint8_t* header, size_t size, const GeometryLimits& limits)
    : impl_(new FastGeometryDecoderImpl) {
  ByteReader r(header, size);
  const uint8_t ver = r.u8("fast geometry header version");
  if (ver != kFastGeometryVersion)
    fail(ErrorCode::UnsupportedCodec, "fast geometry: header version " + std::to_string(ver) + " is not supported", 0);
  const int depth = r.u8("fast geometry depth");
  const int K = r.u8("fast geometry context levels");
  const uint64_t n = r.varint("fast geometry point count");
  if (depth > kMortonMaxBits || depth > limits.max_depth)
    fail(ErrorCode::LimitExceeded, "fast geometry: depth " + std::to_string(depth) + " exceeds the limit", 1);
  if (K > depth) fail(ErrorCode::CorruptPayload, "fast geometry: context levels exceed the depth", 2);
  if (n > limits.max_points || n > 0xFFFFFFFFull)
    fail(ErrorCode::LimitExceeded, "fast geometry: " + std::to_string(n) + " points exceed the decoder limit", 3);
  if (r.remaining()) fail(ErrorCode::CorruptPayload, "fast geometry: trailing bytes in the header", static_cast<int64_t>(r.pos()));
  FastGeometryDecoderImpl& d = *impl_;
  d.depth = depth;
  d.K = K;
  d.n_out = n;
  if (n == 0) {
    d.done = true;
    d.level = depth;
    return;
  }
  d.codes.assign(1, 0);
  if (K > 0) { d.nb.assign(6, -1); d.pat.assign(1, 0); }
  d.next_lo = depth == 0 ? 0 : 1;
}

FastGeometryDecoder::~FastGeometryDecoder() = default;
FastGeometryDecoder::FastGeometryDecoder(FastGeometryDecoder&&) noexcept = default;
FastGeometryDecoder& FastGeometryDecoder::operator=(FastGeometryDecoder&&) noexcept = default;

void FastGeometryDecoder::feed(const uint8_t* payload, size_t size) {
  FastGeometryDecoderImpl& d = *impl_;
  if (d.done) fail(ErrorCode::InvalidArgument, "fast geometry: all chunks were already decoded");
  if (d.failed) fail(ErrorCode::InvalidArgument, "fast geometry: the decoder failed on an earlier chunk");
  ByteReader r(payload, size);
  const int lo = r.u8("fast geometry chunk level_lo");
  const int hi = r.u8("fast geometry chunk level_hi");
  if (lo != d.next_lo || hi < lo || hi > d.depth)
    fail(ErrorCode::CorruptPayload, "fast geometry: chunk levels " + std::to_string(lo) + ".." + std::to_string(hi) +
                                        " do not follow level " + std::to_string(d.level), 0);
  // On failure, go back to the state at the start of the chunk.
  std::vector<uint64_t> saved_codes = d.codes;
  std::vector<int32_t> saved_nb = d.nb;
  std::vector<uint8_t> saved_pat = d.pat;
  const int saved_level = d.level;
  try {
    for (int l = std::max(lo, 1); l <= hi; ++l) d.decode_level(r);
    if (hi == d.depth) d.decode_counts(r);
    if (r.remaining())
      fail(ErrorCode::CorruptPayload, "fast geometry: " + std::to_string(r.remaining()) + " trailing bytes in the chunk",
           static_cast<int64_t>(r.pos()));
  } catch (const Error&) {
    d.failed = true;
    d.codes.swap(saved_codes);
    d.nb.swap(saved_nb);
    d.pat.swap(saved_pat);
    d.level = saved_level;
    d.counts.clear();
    throw;
  }
  d.next_lo = hi + 1;
  if (hi == d.depth) d.done = true;
}

int FastGeometryDecoder::level() const { return impl_->level; }
int FastGeometryDecoder::depth() const { return impl_->depth; }
int FastGeometryDecoder::coded_levels() const { return impl_->depth; }
int FastGeometryDecoder::context_levels() const { return impl_->K; }
bool FastGeometryDecoder::done() const { return impl_->done; }
uint64_t FastGeometryDecoder::point_count() const { return impl_->n_out; }

std::vector<uint32_t> FastGeometryDecoder::points() const {
  const FastGeometryDecoderImpl& d = *impl_;
  std::vector<uint32_t> out;
  if (d.n_out == 0) return out;
  const bool full = d.done;
  out.resize(3 * (full ? d.n_out : d.codes.size()));
  uint32_t* o = out.data();
  for (size_t i = 0; i < d.codes.size(); ++i) {
    uint32_t x, y, z;
    morton_decode(d.codes[i], x, y, z);
    const uint32_t k = full ? d.counts[i] : 1;
    for (uint32_t t = 0; t < k; ++t, o += 3) { o[0] = x; o[1] = y; o[2] = z; }
  }
  return out;
}

}  // namespace pcstream
