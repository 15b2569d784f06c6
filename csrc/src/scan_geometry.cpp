// GEOM codec 8, scan-order geometry (formats/scan-order.md).
#include "pcstream/scan_geometry.hpp"

#include <algorithm>
#include <string>

#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/range_coder.hpp"
#include "pcstream/scan_models.hpp"
#include "pcstream/scan_neighbors.hpp"

namespace pcstream {
namespace scan {
namespace {

constexpr int kM = 16;        // pulse contexts
constexpr int kK = 22;        // residual bit-length classes (coordinates < 2^21 => k <= 22)
constexpr int kBands = 12;    // z prediction bands (0: last z, 1: same pulse, 2..: neighbour distance)
constexpr int kZK = 12;
constexpr int kA = 3;         // x/y activity: previous residual bit length classes       // z context: mean x/y residual bit length classes
constexpr uint32_t kMaxCell = 1u << 21;
constexpr size_t kTrialPoints = 32768;  // points the encoder codes to compare its options
constexpr uint8_t kActivityFlag = 0x80;  // mode byte: x contexts include the previous x residual size

inline int pulse_ctx(int r, int n) { return std::min(r, 3) * 4 + std::min(n, 3); }
inline int clampk(int k) { return k < kK ? k : kK - 1; }

// Everything the encoder and the decoder update identically.
struct State {
  explicit State(const uint32_t* xyz, uint32_t cell)
      : grid(xyz, cell), pn(256, 8), pr(512, 8), rx(kM * kA, kK * 2), ry(kM * kK * kA, kK * kK), rz(kM * kZK * kBands, kBands * kK) {}
  NeighborGrid grid;
  SymbolModel pn, pr;
  ResidualModel rx, ry, rz;
  Median5 mx[kM], my[kM], mz[kM];
  int64_t zlast[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t px = 0, py = 0, pz = 0;
  int prev_r = 1, prev_n = 1;
  int ax = 0, ay = 0;                      // activity classes of the previous x / y residuals
  int kxp = 0;                             // bit length of the previous x residual
};

// Codes (kEncode) or decodes every point; the one body keeps both sides in step.
template <bool kEncode, class Coder>
void code_points(Coder& coder, uint32_t* xyz, uint8_t* pulse, size_t n, int depth, int z_mode, bool activity,
                 uint32_t cell) {
  State s(xyz, cell);
  const int64_t limit = static_cast<int64_t>(1) << depth;
  for (size_t i = 0; i < n; ++i) {
    int r = 1, nr = 1;
    if (pulse) {
      const int cn = std::min(s.prev_n, 15) * 16 + std::min(s.prev_r, 15);
      if constexpr (kEncode) {
        nr = pulse[2 * i + 1];
        s.pn.encode(coder, cn, static_cast<uint32_t>(nr));
      } else {
        nr = static_cast<int>(s.pn.decode(coder, cn));
        pulse[2 * i + 1] = static_cast<uint8_t>(nr);
      }
      const int cr = ((std::min(nr, 15) * 16 + std::min(s.prev_r, 15)) << 1) | (s.prev_n == nr);
      if constexpr (kEncode) {
        r = pulse[2 * i];
        s.pr.encode(coder, cr, static_cast<uint32_t>(r));
      } else {
        r = static_cast<int>(s.pr.decode(coder, cr));
        pulse[2 * i] = static_cast<uint8_t>(r);
      }
    }
    const int m = pulse ? pulse_ctx(r, nr) : 0;
    const int l = std::min(r, 7);
    uint32_t* p = xyz + 3 * i;
    auto code = [&](ResidualModel& model, int ctx, int ctx2, int64_t pred, int axis) -> int64_t {
      int64_t res;
      if constexpr (kEncode) {
        res = static_cast<int64_t>(p[axis]) - pred;
        model.encode(coder, ctx, res, ctx2);
      } else {
        res = model.decode(coder, ctx, ctx2);
        const uint64_t v = static_cast<uint64_t>(pred) + static_cast<uint64_t>(res);
        if (v >= static_cast<uint64_t>(limit))
          fail(ErrorCode::CorruptPayload, "scan-order geometry: decoded coordinate outside 2^depth at point " +
                                              std::to_string(i));
        p[axis] = static_cast<uint32_t>(v);
      }
      return res;
    };
    // x, then y (context: x residual size), then z.
    const int64_t rxv = code(s.rx, m * kA + (activity ? s.ax : 0), s.kxp * 2 + (r > 1), s.px + s.mx[m].median(), 0);
    const int kx = bit_length(rxv < 0 ? 0 - static_cast<uint64_t>(rxv) : static_cast<uint64_t>(rxv));
    const int spread_y = clampk(bit_length(s.my[m].spread()));
    const int64_t ryv = code(s.ry, (m * kK + clampk(kx)) * kA + (rxv > 0 ? 1 : (rxv < 0 ? 2 : 0)), spread_y * kK + clampk(kx), s.py + s.my[m].median(), 1);
    const int ky = bit_length(ryv < 0 ? 0 - static_cast<uint64_t>(ryv) : static_cast<uint64_t>(ryv));
    const int kxy = std::min((kx + ky + 1) / 2, kZK - 1);
    int64_t zpred;
    int band = 0;
    const bool same_pulse = pulse && r > 1 && r == s.prev_r + 1 && nr == s.prev_n;
    if (z_mode == 0 || (z_mode == 2 && same_pulse)) {
      zpred = z_mode == 0 ? s.zlast[l] : s.pz + s.mz[m].median();
      band = z_mode == 0 ? 0 : 1;
    } else {
      int64_t nb[2];
      uint64_t d2 = 0;
      s.grid.query(p[0], p[1], 0, false, nb, &d2);
      if (nb[0] >= 0) {
        zpred = xyz[3 * static_cast<size_t>(nb[0]) + 2];
        band = 2 + std::min(bit_length(d2) / 2, kBands - 3);
      } else {
        zpred = s.zlast[l];
      }
    }
    const int64_t zdis = zpred - s.zlast[l];  // disagreement of the prediction with the last z of the level
    const int kdis = clampk(bit_length(zdis < 0 ? 0 - static_cast<uint64_t>(zdis) : static_cast<uint64_t>(zdis)));
    const int64_t rzv = code(s.rz, (m * kZK + kxy) * kBands + band, band * kK + kdis, zpred, 2);
    (void)rzv;
    s.mx[m].push(static_cast<int64_t>(p[0]) - s.px);
    s.my[m].push(static_cast<int64_t>(p[1]) - s.py);
    s.mz[m].push(static_cast<int64_t>(p[2]) - s.pz);
    s.px = p[0]; s.py = p[1]; s.pz = p[2];
    s.zlast[l] = p[2];
    s.prev_r = r; s.prev_n = nr;
    s.kxp = clampk(kx);
    s.ax = kx <= 4 ? 0 : (kx <= 7 ? 1 : 2);
    s.ay = ky <= 4 ? 0 : (ky <= 7 ? 1 : 2);
    s.grid.insert(static_cast<uint32_t>(i));
  }
}

uint32_t default_cell(const uint32_t* xyz, size_t n) {
  std::vector<uint32_t> d;
  const size_t step = n > 20000 ? n / 20000 : 1;
  for (size_t i = 1; i < n; i += step) {
    const int64_t dx = std::abs(static_cast<int64_t>(xyz[3 * i]) - xyz[3 * i - 3]);
    const int64_t dy = std::abs(static_cast<int64_t>(xyz[3 * i + 1]) - xyz[3 * i - 2]);
    const int64_t v = std::max(dx, dy);
    if (v) d.push_back(static_cast<uint32_t>(std::min<int64_t>(v, kMaxCell)));
  }
  if (d.empty()) return 1;
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return std::max<uint32_t>(1, d[d.size() / 2]);
}

std::vector<uint8_t> encode_with(const uint32_t* xyz, const uint8_t* pulse, size_t n, int depth, int z_mode,
                                 bool activity, uint32_t cell) {
  ByteWriter w;
  w.u8(static_cast<uint8_t>(z_mode | (activity ? kActivityFlag : 0)));
  w.varint(cell);
  RangeEncoder enc;
  // The coder only reads xyz/pulse when encoding.
  code_points<true>(enc, const_cast<uint32_t*>(xyz), const_cast<uint8_t*>(pulse), n, depth, z_mode, activity, cell);
  w.bytes(enc.finish());
  return std::move(w.bytes());
}

}  // namespace

std::vector<uint8_t> geometry_header(uint64_t n, int depth, bool pulse) {
  if (depth < 0 || depth > kMaxDepth) fail(ErrorCode::InvalidArgument, "scan-order geometry: depth must be in 0..21");
  ByteWriter w;
  w.u8(kGeometryVersion);
  w.u8(static_cast<uint8_t>(depth));
  w.u8(pulse ? 1 : 0);
  w.varint(n);
  return std::move(w.bytes());
}

GeometryHeader parse_geometry_header(const uint8_t* data, size_t size, uint64_t max_points) {
  ByteReader r(data, size);
  const uint8_t version = r.u8("scan-order geometry header version");
  if (version != kGeometryVersion)
    fail(ErrorCode::UnsupportedCodec, "scan-order geometry header version " + std::to_string(version) + " is not supported");
  GeometryHeader h;
  h.depth = r.u8("scan-order geometry depth");
  if (h.depth > kMaxDepth) fail(ErrorCode::CorruptPayload, "scan-order geometry: depth above 21", 1);
  const uint8_t flags = r.u8("scan-order geometry flags");
  if (flags & ~1u) fail(ErrorCode::ReservedBitsSet, "scan-order geometry: reserved flag bits set", 2);
  h.pulse = flags & 1;
  h.n = r.varint("scan-order geometry point count");
  if (h.n > max_points)
    fail(ErrorCode::LimitExceeded, "scan-order geometry: " + std::to_string(h.n) + " points exceed the limit of " +
                                       std::to_string(max_points));
  if (r.remaining()) fail(ErrorCode::BadLength, "scan-order geometry header: trailing bytes", r.offset());
  return h;
}

std::vector<uint8_t> encode_geometry(const uint32_t* xyz, const uint8_t* pulse, size_t n, int depth,
                                     const GeometryOptions& opt) {
  if (depth < 0 || depth > kMaxDepth) fail(ErrorCode::InvalidArgument, "scan-order geometry: depth must be in 0..21");
  const uint64_t limit = static_cast<uint64_t>(1) << depth;
  for (size_t i = 0; i < 3 * n; ++i)
    if (xyz[i] >= limit) fail(ErrorCode::InvalidArgument, "scan-order geometry: coordinate outside [0, 2^depth)");
  if (opt.z_mode < -1 || opt.z_mode >= kZModes) fail(ErrorCode::InvalidArgument, "scan-order geometry: z_mode must be -1..2");
  if (opt.cell > kMaxCell) fail(ErrorCode::InvalidArgument, "scan-order geometry: cell must be at most 2^21");
  std::vector<uint32_t> cells;
  if (opt.cell) {
    cells.push_back(opt.cell);
  } else {
    const uint32_t c = default_cell(xyz, n);
    cells = {c, std::min<uint32_t>(2 * c, kMaxCell), std::min<uint32_t>(4 * c, kMaxCell)};
  }
  // Options are compared on the first kTrialPoints points (coding is causal); the
  // best one then codes every point.
  const size_t trial_n = std::min(n, kTrialPoints);
  std::vector<uint8_t> best;
  int best_zm = 0, best_act = 0;
  uint32_t best_cell = cells[0];
  for (int zm = 0; zm < kZModes; ++zm) {
    if (opt.z_mode >= 0 && zm != opt.z_mode) continue;
    // Mode 2 differs from mode 1 only on later returns of a pulse, where it predicts
    // better in practice: the automatic search skips mode 1.
    if (opt.z_mode < 0 && zm == 1) continue;
    for (uint32_t c : cells) {
      if (zm == 0 && c != cells[0]) continue;  // mode 0 does not use the grid
      for (int act = 0; act < 2; ++act) {
        auto out = encode_with(xyz, pulse, trial_n, depth, zm, act == 1, c);
        if (best.empty() || out.size() < best.size()) {
          best.swap(out);
          best_zm = zm;
          best_act = act;
          best_cell = c;
        }
      }
    }
  }
  if (trial_n < n) best = encode_with(xyz, pulse, n, depth, best_zm, best_act == 1, best_cell);
  return best;
}

void decode_geometry(const GeometryHeader& h, const uint8_t* payload, size_t size, uint32_t* xyz_out,
                     uint8_t* pulse_out) {
  ByteReader r(payload, size);
  const uint8_t mode = r.u8("scan-order geometry mode");
  const uint8_t z_mode = mode & 0x7F;
  if (z_mode >= kZModes) fail(ErrorCode::CorruptPayload, "scan-order geometry: unknown z mode " + std::to_string(z_mode), 0);
  const uint64_t cell = r.varint("scan-order geometry cell");
  if (cell < 1 || cell > kMaxCell) fail(ErrorCode::CorruptPayload, "scan-order geometry: cell outside 1..2^21", 1);
  if (h.n && r.remaining() == 0) fail(ErrorCode::Truncated, "scan-order geometry: payload ends before the points", r.offset());
  RangeDecoder dec(r.cursor(), r.remaining());
  code_points<false>(dec, xyz_out, h.pulse ? pulse_out : nullptr, static_cast<size_t>(h.n), h.depth, z_mode,
                     (mode & kActivityFlag) != 0, static_cast<uint32_t>(cell));
  dec.check_end("scan-order geometry");
  if (dec.position() != r.remaining())
    fail(ErrorCode::CorruptPayload, "scan-order geometry: trailing bytes after the coded points", r.offset() + dec.position());
}

}  // namespace scan
}  // namespace pcstream
