// ATTR codec 9, scan-order attributes (formats/scan-order.md).
#include "pcstream/scan_attr.hpp"

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

constexpr int kM = 16;           // pulse classes
constexpr int kKb = 9;           // residual-size buckets 0..8
constexpr int kCache = 16;       // time model: recently used deltas
constexpr int kEscape = kCache;  // time model: symbol of a delta not in the cache
constexpr uint32_t kMaxCell = 1u << 21;
constexpr int kPredictors = 4;
constexpr size_t kTrialPoints = 32768;  // points the encoder codes to compare its options
constexpr int kSymbolVariants = 5;

inline int pulse_class(const AttrGeometry& g, size_t i) {
  if (!g.pulse) return 0;
  const int r = g.pulse[2 * i], n = g.pulse[2 * i + 1];
  return std::min(r, 3) * 4 + std::min(n, 3);
}
inline int kbucket(int64_t r) {
  const uint64_t mag = r < 0 ? 0 - static_cast<uint64_t>(r) : static_cast<uint64_t>(r);
  return std::min(bit_length(mag), kKb - 1);
}

// Per-point context shared by every model: pulse class, nearest earlier point
// in space (x, y, z metric) and its distance band.
struct PointContext {
  std::vector<uint8_t> m;
  std::vector<int32_t> nn;
  std::vector<uint8_t> band;
};

PointContext build_context(const AttrGeometry& g, uint32_t cell) {
  PointContext pc;
  pc.m.resize(g.n);
  pc.nn.assign(g.n, -1);
  pc.band.assign(g.n, 0);
  for (size_t i = 0; i < g.n; ++i) pc.m[i] = static_cast<uint8_t>(pulse_class(g, i));
  if (!cell || !g.xyz) return pc;
  NeighborGrid grid(g.xyz, cell);
  for (size_t i = 0; i < g.n; ++i) {
    const uint32_t* p = g.xyz + 3 * i;
    int64_t nb[2];
    uint64_t d2 = 0;
    grid.query(p[0], p[1], p[2], true, nb, &d2);
    if (nb[0] >= 0) {
      pc.nn[i] = static_cast<int32_t>(nb[0]);
      pc.band[i] = static_cast<uint8_t>(1 + std::min(bit_length(d2) / 2, kKb - 2));
    }
    grid.insert(static_cast<uint32_t>(i));
  }
  return pc;
}

uint32_t default_cell(const AttrGeometry& g) {
  if (!g.xyz || g.n < 2) return 0;
  std::vector<uint32_t> d;
  const size_t step = g.n > 20000 ? g.n / 20000 : 1;
  for (size_t i = 1; i < g.n; i += step) {
    const uint32_t* p = g.xyz + 3 * i;
    const int64_t dx = std::abs(static_cast<int64_t>(p[0]) - p[-3]);
    const int64_t dy = std::abs(static_cast<int64_t>(p[1]) - p[-2]);
    const int64_t v = std::max(dx, dy);
    if (v) d.push_back(static_cast<uint32_t>(std::min<int64_t>(v, kMaxCell)));
  }
  if (d.empty()) return 1;
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return std::min<uint32_t>(kMaxCell, std::max<uint32_t>(1, 2 * d[d.size() / 2]));
}

struct Plan {
  AttrModel model = AttrModel::Residual;
  uint32_t cell = 0;
  int comps = 1;
  uint64_t consts[kMaxAttrComponents] = {0, 0, 0, 0};
  uint8_t which = 0;                                  // pulse-ref: 0 return number, 1 number of returns
  uint64_t base[kMaxAttrComponents] = {0, 0, 0, 0};   // symbol: value offset
  uint8_t bits[kMaxAttrComponents] = {1, 1, 1, 1};    // symbol: bits per symbol
  uint8_t variant = 0;                                // symbol / time: context variant
  uint8_t predictor = 0;                              // residual
  uint8_t inter = 0;                                  // residual: bit 0: components > 0 code r_c - r_(c-1)
};

void write_header(ByteWriter& w, const Plan& p, size_t n) {
  w.u8(kAttrVersion);
  w.u8(static_cast<uint8_t>(p.model));
  w.u8(static_cast<uint8_t>(p.comps));
  w.varint(n);
  w.varint(p.cell);
  switch (p.model) {
    case AttrModel::Constant:
      for (int c = 0; c < p.comps; ++c) w.u64(p.consts[c]);
      break;
    case AttrModel::PulseRef: w.u8(p.which); break;
    case AttrModel::Symbol:
      w.u8(p.variant);
      for (int c = 0; c < p.comps; ++c) { w.u64(p.base[c]); w.u8(p.bits[c]); }
      break;
    case AttrModel::Residual: w.u8(p.predictor); w.u8(p.inter); break;
    case AttrModel::Time: w.u8(p.variant); break;
  }
}

Plan read_header(ByteReader& r, const AttrGeometry& g, int comps) {
  const uint8_t version = r.u8("scan-order attribute version");
  if (version != kAttrVersion)
    fail(ErrorCode::UnsupportedCodec, "scan-order attribute payload version " + std::to_string(version) + " is not supported", 0);
  Plan p;
  const uint8_t model = r.u8("scan-order attribute model");
  if (model >= kAttrModels) fail(ErrorCode::CorruptPayload, "scan-order attribute: unknown model " + std::to_string(model), 1);
  p.model = static_cast<AttrModel>(model);
  p.comps = r.u8("scan-order attribute components");
  if (p.comps != comps)
    fail(ErrorCode::CorruptPayload, "scan-order attribute: payload has " + std::to_string(p.comps) + " components, metadata " +
                                        std::to_string(comps), 2);
  const uint64_t n = r.varint("scan-order attribute point count");
  if (n != g.n)
    fail(ErrorCode::CorruptPayload, "scan-order attribute: payload has " + std::to_string(n) + " points, geometry " +
                                        std::to_string(g.n), 3);
  const uint64_t cell = r.varint("scan-order attribute cell");
  if (cell > kMaxCell) fail(ErrorCode::CorruptPayload, "scan-order attribute: cell above 2^21", r.offset());
  p.cell = static_cast<uint32_t>(cell);
  switch (p.model) {
    case AttrModel::Constant:
      for (int c = 0; c < p.comps; ++c) p.consts[c] = r.u64("scan-order attribute constant");
      break;
    case AttrModel::PulseRef:
      p.which = r.u8("scan-order attribute pulse field");
      if (p.which > 1 || p.comps != 1 || !g.pulse)
        fail(ErrorCode::CorruptPayload, "scan-order attribute: pulse reference without a pulse channel", r.offset());
      break;
    case AttrModel::Symbol:
      p.variant = r.u8("scan-order attribute symbol variant");
      if (p.variant >= kSymbolVariants) fail(ErrorCode::CorruptPayload, "scan-order attribute: unknown symbol variant", r.offset());
      for (int c = 0; c < p.comps; ++c) {
        p.base[c] = r.u64("scan-order attribute symbol base");
        p.bits[c] = r.u8("scan-order attribute symbol bits");
        if (p.bits[c] < 1 || p.bits[c] > 8 || (p.variant == 2 && p.bits[c] > 4))
          fail(ErrorCode::CorruptPayload, "scan-order attribute: symbol bits outside 1..8", r.offset());
      }
      break;
    case AttrModel::Residual:
      p.predictor = r.u8("scan-order attribute predictor");
      p.inter = r.u8("scan-order attribute flags");
      if (p.predictor >= kPredictors) fail(ErrorCode::CorruptPayload, "scan-order attribute: unknown predictor", r.offset());
      if (p.inter > 3) fail(ErrorCode::ReservedBitsSet, "scan-order attribute: reserved flag bits set", r.offset());
      break;
    case AttrModel::Time:
      p.variant = r.u8("scan-order attribute time variant");
      if (p.variant > 1) fail(ErrorCode::CorruptPayload, "scan-order attribute: unknown time variant", r.offset());
      if (p.comps != 1) fail(ErrorCode::CorruptPayload, "scan-order attribute: time model needs one component", r.offset());
      break;
  }
  return p;
}

// --------------------------------------------------------------- body coders

template <bool kEncode, class Coder>
void code_symbols(Coder& coder, const Plan& p, const PointContext& pc, size_t n, uint64_t* v) {
  for (int c = 0; c < p.comps; ++c) {
    const int bits = p.bits[c];
    const int contexts = p.variant >= 2 ? 16 * 16 * kM : 256 * kM;
    const int sh = bits > 4 ? bits - 4 : 0;  // variant 3: top 4 bits of the previous and neighbour symbols
    MixedSymbolModel model(contexts, 256 * kM, bits);
    const uint32_t maxsym = (1u << bits) - 1;
    auto sym_of = [&](size_t j) -> uint32_t {
      const uint64_t s = v[j * p.comps + c] - p.base[c];
      return static_cast<uint32_t>(s > maxsym ? maxsym : s);
    };
    uint32_t prev = 0;
    uint32_t last_m[kM];
    bool seen[kM] = {};
    for (size_t i = 0; i < n; ++i) {
      const uint32_t nbs = pc.nn[i] >= 0 ? sym_of(static_cast<size_t>(pc.nn[i])) : prev;
      const uint32_t same = seen[pc.m[i]] ? last_m[pc.m[i]] : prev;
      int ctx;
      if (p.variant == 0) ctx = static_cast<int>(prev) * kM + pc.m[i];
      else if (p.variant == 1) ctx = static_cast<int>(nbs) * kM + pc.m[i];
      else if (p.variant == 2) ctx = (static_cast<int>(prev) * 16 + static_cast<int>(nbs)) * kM + pc.m[i];
      else if (p.variant == 3) ctx = (static_cast<int>(prev >> sh) * 16 + static_cast<int>(nbs >> sh)) * kM + pc.m[i];
      else ctx = (static_cast<int>(same >> sh) * 16 + static_cast<int>(nbs >> sh)) * kM + pc.m[i];
      // Second opinion: the neighbour's symbol (the previous one for variant 1).
      const int ctx2 = static_cast<int>(p.variant == 1 ? prev : nbs) * kM + pc.m[i];
      uint32_t s;
      if constexpr (kEncode) {
        s = static_cast<uint32_t>(v[i * p.comps + c] - p.base[c]);
        model.encode(coder, ctx, ctx2, s);
      } else {
        s = model.decode(coder, ctx, ctx2);
        v[i * p.comps + c] = p.base[c] + s;
      }
      prev = s;
      last_m[pc.m[i]] = s;
      seen[pc.m[i]] = true;
    }
  }
}

inline int64_t mean_floor(int64_t a, int64_t b) {
  const __int128 s = static_cast<__int128>(a) + b;
  return static_cast<int64_t>(s >= 0 ? s / 2 : -((-s + 1) / 2));
}

template <bool kEncode, class Coder>
void code_residuals(Coder& coder, const Plan& p, const PointContext& pc, size_t n, uint64_t* v) {
  const int C = p.comps;
  ResidualModel model(C * kM * kKb * kKb, C * kKb * kKb);
  std::vector<uint64_t> last_m(static_cast<size_t>(C) * kM, 0);
  std::vector<uint8_t> seen_m(kM, 0);
  int kprev[kMaxAttrComponents] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    const int m = pc.m[i];
    int64_t r0 = 0;  // residual of the previous component of this point
    for (int c = 0; c < C; ++c) {
      const uint64_t prev = i ? v[(i - 1) * C + c] : 0;
      const uint64_t same = seen_m[m] ? last_m[static_cast<size_t>(c) * kM + m] : prev;
      const uint64_t nb = pc.nn[i] >= 0 ? v[static_cast<size_t>(pc.nn[i]) * C + c] : prev;
      uint64_t pred;
      switch (p.predictor) {
        case 0: pred = same; break;
        case 1: pred = prev; break;
        case 2: pred = nb; break;
        default: pred = static_cast<uint64_t>(mean_floor(static_cast<int64_t>(same), static_cast<int64_t>(nb))); break;
      }
      const int aux = (c > 0 && (p.inter & 1)) ? kbucket(r0)
                      : (p.inter & 2) ? kbucket(static_cast<int64_t>(same - nb)) : std::min<int>(pc.band[i], kKb - 1);
      const int ctx = ((c * kM + m) * kKb + kprev[c]) * kKb + aux;
      const int ctx2 = (c * kKb + std::min<int>(pc.band[i], kKb - 1)) * kKb + kbucket(static_cast<int64_t>(same - nb));
      int64_t res;
      if constexpr (kEncode) {
        res = static_cast<int64_t>(v[i * C + c] - pred);
        const int64_t coded = (c > 0 && (p.inter & 1)) ? static_cast<int64_t>(static_cast<uint64_t>(res) - static_cast<uint64_t>(r0)) : res;
        model.encode(coder, ctx, coded, ctx2);
      } else {
        const int64_t coded = model.decode(coder, ctx, ctx2);
        res = (c > 0 && (p.inter & 1)) ? static_cast<int64_t>(static_cast<uint64_t>(coded) + static_cast<uint64_t>(r0)) : coded;
        v[i * C + c] = pred + static_cast<uint64_t>(res);
      }
      r0 = res;  // components > 0 code their residual minus the previous component's
      kprev[c] = kbucket(res);
      last_m[static_cast<size_t>(c) * kM + m] = v[i * C + c];
    }
    seen_m[m] = 1;
  }
}

template <bool kEncode, class Coder>
void code_time(Coder& coder, int variant, const PointContext& pc, size_t n, uint64_t* v) {
  MixedSymbolModel sym(kM * (kCache + 2) * (kCache + 2), (kCache + 2) * (kCache + 2), 5);
  ResidualModel esc(kM);
  uint64_t cache[kCache];
  std::fill(cache, cache + kCache, 0);
  uint64_t prev = 0;
  int prev_sym = 0, prev2_sym = 0;
  for (size_t i = 0; i < n; ++i) {
    const int ctx = (pc.m[i] * (kCache + 2) + prev_sym) * (kCache + 2) + (variant ? prev2_sym : 0);
    const int ctx2 = prev_sym * (kCache + 2) + prev2_sym;
    // Escapes are coded against the most recent non-zero delta (zero deltas are the
    // later returns of a pulse, not the pulse rate).
    uint64_t ref = 0;
    for (int k = 0; k < kCache; ++k)
      if (cache[k]) { ref = cache[k]; break; }
    uint64_t delta;
    int s;
    if constexpr (kEncode) {
      delta = v[i] - prev;
      s = kEscape;
      for (int k = 0; k < kCache; ++k)
        if (cache[k] == delta) { s = k; break; }
      sym.encode(coder, ctx, ctx2, static_cast<uint32_t>(s));
      if (s == kEscape) esc.encode(coder, pc.m[i], static_cast<int64_t>(delta - ref));
    } else {
      s = static_cast<int>(sym.decode(coder, ctx, ctx2));
      if (s > kEscape) fail(ErrorCode::CorruptPayload, "scan-order attribute: invalid time symbol at point " + std::to_string(i));
      delta = s == kEscape ? ref + static_cast<uint64_t>(esc.decode(coder, pc.m[i])) : cache[s];
      v[i] = prev + delta;
    }
    // Move to front (a hit) or insert at the front (an escape).
    const int from = s == kEscape ? kCache - 1 : s;
    for (int k = from; k > 0; --k) cache[k] = cache[k - 1];
    cache[0] = delta;
    prev = v[i];
    prev2_sym = prev_sym;
    prev_sym = s;
  }
}

template <bool kEncode, class Coder>
void code_body(Coder& coder, const Plan& p, const PointContext& pc, size_t n, uint64_t* v) {
  switch (p.model) {
    case AttrModel::Symbol: code_symbols<kEncode>(coder, p, pc, n, v); break;
    case AttrModel::Residual: code_residuals<kEncode>(coder, p, pc, n, v); break;
    case AttrModel::Time: code_time<kEncode>(coder, p.variant, pc, n, v); break;
    default: break;
  }
}

std::vector<uint8_t> encode_plan(const Plan& p, const PointContext& pc, size_t n, const uint64_t* values) {
  ByteWriter w;
  write_header(w, p, n);
  if (p.model == AttrModel::Constant || p.model == AttrModel::PulseRef) return std::move(w.bytes());
  RangeEncoder enc;
  code_body<true>(enc, p, pc, n, const_cast<uint64_t*>(values));  // read only when encoding
  w.bytes(enc.finish());
  return std::move(w.bytes());
}

}  // namespace

std::vector<uint8_t> encode_attr(const AttrGeometry& g, const uint64_t* values, int comps, const AttrOptions& opt) {
  if (comps < 1 || comps > kMaxAttrComponents) fail(ErrorCode::InvalidArgument, "scan-order attribute: components must be 1..4");
  if (opt.model < -1 || opt.model >= kAttrModels) fail(ErrorCode::InvalidArgument, "scan-order attribute: unknown model");
  if (opt.predictor < -1 || opt.predictor >= kPredictors) fail(ErrorCode::InvalidArgument, "scan-order attribute: unknown predictor");
  const size_t n = g.n;
  Plan base;
  base.comps = comps;
  // Constant fields.
  bool constant = true;
  for (size_t i = 1; i < n && constant; ++i)
    for (int c = 0; c < comps; ++c) constant &= values[i * comps + c] == values[c];
  // Fields equal to a pulse field of the geometry.
  int which = -1;
  if (g.pulse && comps == 1) {
    for (int w = 0; w < 2 && which < 0; ++w) {
      bool eq = true;
      for (size_t i = 0; i < n && eq; ++i) eq = values[i] == g.pulse[2 * i + w];
      if (eq) which = w;
    }
  }
  auto allowed = [&](AttrModel m) { return opt.model < 0 || opt.model == static_cast<int>(m); };
  if (constant && allowed(AttrModel::Constant)) {
    Plan p = base;
    p.model = AttrModel::Constant;
    for (int c = 0; c < comps; ++c) p.consts[c] = n ? values[c] : 0;
    return encode_plan(p, PointContext{}, n, values);
  }
  if (which >= 0 && allowed(AttrModel::PulseRef)) {
    Plan p = base;
    p.model = AttrModel::PulseRef;
    p.which = static_cast<uint8_t>(which);
    return encode_plan(p, PointContext{}, n, values);
  }
  if (opt.model == static_cast<int>(AttrModel::Constant) || opt.model == static_cast<int>(AttrModel::PulseRef))
    fail(ErrorCode::InvalidArgument, "scan-order attribute: the values do not fit the requested model");
  base.cell = default_cell(g);
  const PointContext pc = build_context(g, base.cell);
  // Plans are compared on the first kTrialPoints points (coding is causal, so a
  // prefix is a valid trial); the best one then codes every point.
  const size_t trial_n = std::min(n, kTrialPoints);
  std::vector<uint8_t> best;
  Plan best_plan = base;
  size_t best_size = SIZE_MAX;
  auto consider = [&](const Plan& p) {
    auto out = encode_plan(p, pc, trial_n, values);
    if (out.size() < best_size) {
      best_size = out.size();
      best_plan = p;
      best.swap(out);
    }
  };
  // Symbols: every component spans fewer than 256 values.
  if (allowed(AttrModel::Symbol)) {
    Plan p = base;
    p.model = AttrModel::Symbol;
    bool ok = n > 0;
    int maxbits = 0;
    for (int c = 0; c < comps && ok; ++c) {
      // Signed order: values are sign-extended 64-bit integers.
      int64_t lo = static_cast<int64_t>(values[c]), hi = lo;
      for (size_t i = 1; i < n; ++i) {
        const int64_t x = static_cast<int64_t>(values[i * comps + c]);
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
      const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
      if (span > 255) { ok = false; break; }
      p.base[c] = static_cast<uint64_t>(lo);
      p.bits[c] = static_cast<uint8_t>(std::max(1, bit_length(span)));
      maxbits = std::max<int>(maxbits, p.bits[c]);
    }
    if (ok)
      for (int var = 0; var < kSymbolVariants; ++var) {
        if (var == 2 && maxbits > 4) continue;
        p.variant = static_cast<uint8_t>(var);
        consider(p);
      }
  }
  if (allowed(AttrModel::Residual)) {
    Plan p = base;
    p.model = AttrModel::Residual;
    for (int pr = 0; pr < kPredictors; ++pr) {
      if (opt.predictor >= 0 && pr != opt.predictor) continue;
      for (int inter = 0; inter < 4; ++inter) {
        if ((inter & 1) && comps == 1) continue;
        p.predictor = static_cast<uint8_t>(pr);
        p.inter = static_cast<uint8_t>(inter);
        consider(p);
      }
    }
  }
  if (comps == 1 && allowed(AttrModel::Time)) {
    Plan p = base;
    p.model = AttrModel::Time;
    for (int var = 0; var < 2; ++var) {
      p.variant = static_cast<uint8_t>(var);
      consider(p);
    }
  }
  if (trial_n < n) best = encode_plan(best_plan, pc, n, values);
  return best;
}

void decode_attr(const AttrGeometry& g, const uint8_t* payload, size_t size, int comps, uint64_t* out) {
  if (comps < 1 || comps > kMaxAttrComponents) fail(ErrorCode::InvalidArgument, "scan-order attribute: components must be 1..4");
  ByteReader r(payload, size);
  const Plan p = read_header(r, g, comps);
  const size_t n = g.n;
  if (p.model == AttrModel::Constant || p.model == AttrModel::PulseRef) {
    if (r.remaining()) fail(ErrorCode::CorruptPayload, "scan-order attribute: trailing bytes", r.offset());
    for (size_t i = 0; i < n; ++i)
      for (int c = 0; c < comps; ++c)
        out[i * comps + c] = p.model == AttrModel::Constant ? p.consts[c] : g.pulse[2 * i + p.which];
    return;
  }
  if (n && r.remaining() == 0) fail(ErrorCode::Truncated, "scan-order attribute: payload ends before the values", r.offset());
  const PointContext pc = build_context(g, p.model == AttrModel::Time ? 0 : p.cell);
  RangeDecoder dec(r.cursor(), r.remaining());
  code_body<false>(dec, p, pc, n, out);
  dec.check_end("scan-order attribute");
  if (dec.position() != r.remaining())
    fail(ErrorCode::CorruptPayload, "scan-order attribute: trailing bytes after the coded values", r.offset() + dec.position());
}

}  // namespace scan
}  // namespace pcstream
