#include "pcstream/attr_lossless.hpp"

#include <algorithm>
#include <memory>

#include "pcstream/byte_io.hpp"

namespace pcstream {
namespace attr {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr int kMaxComponents = 64;
constexpr int kMaxWindow = 256;
constexpr int kMaxAlphabet = 16;
constexpr int kResidualClasses = 32;
constexpr uint8_t kFlagComponentResidual = 1;  // components > 0 code r_c - r_0

enum Mode : uint8_t { kConstant = 0, kResidual = 1, kSymbol = 2 };

struct ComponentPlan {
  Mode mode = kResidual;
  uint64_t base = 0;    // constant value, or symbol offset
  int alphabet = 0;     // symbols: values base .. base + alphabet - 1
};

// Up to three nearest earlier points (in coding order) of every point.
struct Neighbours {
  std::vector<int32_t> idx;  // 3 per point, -1 when absent
};

Neighbours find_neighbours(const std::vector<uint32_t>& pos, size_t n, int window) {
  Neighbours nb;
  nb.idx.assign(3 * n, -1);
  for (size_t k = 1; k < n; ++k) {
    const int64_t x = pos[3 * k], y = pos[3 * k + 1], z = pos[3 * k + 2];
    uint64_t d[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
    int32_t id[3] = {-1, -1, -1};
    const size_t lo = k > static_cast<size_t>(window) ? k - window : 0;
    for (size_t j = k; j-- > lo;) {
      const int64_t dx = x - pos[3 * j], dy = y - pos[3 * j + 1], dz = z - pos[3 * j + 2];
      const uint64_t dist = static_cast<uint64_t>(dx * dx + dy * dy + dz * dz);
      if (dist >= d[2]) continue;
      int s = 2;
      while (s > 0 && dist < d[s - 1]) { d[s] = d[s - 1]; id[s] = id[s - 1]; --s; }
      d[s] = dist;
      id[s] = static_cast<int32_t>(j);
    }
    for (int s = 0; s < 3; ++s) nb.idx[3 * k + s] = id[s];
  }
  return nb;
}

struct Shape {
  size_t n;
  int comps;
  int width_bits;
  uint64_t mask;
  uint64_t top;
};

inline uint64_t predict(const std::vector<uint64_t>& vals, const Neighbours& nb, size_t k, int c,
                        int comps, int predictor) {
  if (k == 0) return 0;
  const int32_t* id = &nb.idx[3 * k];
  if (predictor == 0 || id[0] < 0) return vals[(k - 1) * comps + c];
  if (predictor == 1) return vals[static_cast<size_t>(id[0]) * comps + c];
  unsigned __int128 sum = 0;
  int cnt = 0;
  for (int s = 0; s < 3 && id[s] >= 0; ++s, ++cnt) sum += vals[static_cast<size_t>(id[s]) * comps + c];
  return static_cast<uint64_t>((sum + cnt / 2) / cnt);
}

// Per-component adaptive state.
struct ComponentState {
  std::vector<ResidualContexts> res;
  std::vector<BinContext> sym;
  std::vector<uint8_t> info;  // per point: residual bit length or symbol
};

// Shared by encoder and decoder so that both run the exact same model.
template <bool kEncode>
void code_body(const Shape& sh, const std::vector<ComponentPlan>& plan, int predictor, uint8_t flags,
               const Neighbours& nb, std::vector<uint64_t>& vals, RangeEncoder* enc, RangeDecoder* dec) {
  const size_t n = sh.n;
  const int C = sh.comps;
  std::vector<ComponentState> st(C);
  for (int c = 0; c < C; ++c) {
    st[c].info.assign(n, 0);
    if (plan[c].mode == kResidual) st[c].res.resize(kResidualClasses);
    if (plan[c].mode == kSymbol) st[c].sym.resize(static_cast<size_t>(plan[c].alphabet + 1) * (plan[c].alphabet + 1) * 16);
  }
  const bool comp_res = (flags & kFlagComponentResidual) && plan[0].mode == kResidual;
  std::vector<uint64_t> r0(1);
  for (size_t k = 0; k < n; ++k) {
    const int32_t nn = nb.idx[3 * k];
    const size_t ref = nn >= 0 ? static_cast<size_t>(nn) : (k ? k - 1 : 0);
    uint64_t res0 = 0;
    for (int c = 0; c < C; ++c) {
      const ComponentPlan& p = plan[c];
      uint64_t& v = vals[k * C + c];
      if (p.mode == kConstant) {
        if (!kEncode) v = p.base;
        continue;
      }
      if (p.mode == kSymbol) {
        const int A = p.alphabet;
        const int s_nn = k ? st[c].info[ref] : A;
        const int s_prev = k ? st[c].info[k - 1] : A;
        BinContext* ctx = &st[c].sym[(static_cast<size_t>(s_nn) * (A + 1) + s_prev) * 16];
        const int nbits = bit_length(static_cast<uint64_t>(A - 1));
        int node = 1;
        if (kEncode) {
          const int s = static_cast<int>(v - p.base);
          for (int b = nbits - 1; b >= 0; --b) {
            const int bit = (s >> b) & 1;
            enc->encode_bit(ctx[node], bit);
            node = 2 * node + bit;
          }
          st[c].info[k] = static_cast<uint8_t>(s);
        } else {
          for (int b = nbits - 1; b >= 0; --b) node = 2 * node + dec->decode_bit(ctx[node]);
          const int s = node - (1 << nbits);
          if (s >= A) fail(ErrorCode::CorruptPayload, "lossless attribute: symbol outside the alphabet");
          st[c].info[k] = static_cast<uint8_t>(s);
          v = p.base + static_cast<uint64_t>(s);
        }
        continue;
      }
      // Residual mode.
      const uint64_t pred = predict(vals, nb, k, c, C, predictor);
      const bool use_r0 = comp_res && c > 0;
      const int ctx_a = k ? st[c].info[ref] : 0;
      const int ctx_b = use_r0 ? st[0].info[k] : (k ? st[c].info[k - 1] : 0);
      const int cls = std::min(kResidualClasses - 1, (ctx_a + ctx_b + 1) >> 1);
      ResidualContexts& rc = st[c].res[cls];
      if (kEncode) {
        uint64_t r = (v - pred) & sh.mask;
        if (c == 0) res0 = r;
        uint64_t coded = use_r0 ? ((r - res0) & sh.mask) : r;
        const int neg = (coded & sh.top) != 0;
        const uint64_t mag = neg ? ((~coded + 1) & sh.mask) : coded;
        // |-2^(W-1)| = 2^(W-1) still fits in 64 bits.
        encode_magnitude(*enc, rc, mag, neg);
        st[c].info[k] = static_cast<uint8_t>(bit_length(mag));
      } else {
        int neg = 0;
        const uint64_t mag = decode_magnitude(*dec, rc, neg);
        if (mag > sh.top || (mag == sh.top && !neg) || (neg && mag == 0))
          fail(ErrorCode::CorruptPayload, "lossless attribute: residual out of range");
        const uint64_t coded = neg ? ((~mag + 1) & sh.mask) : mag;
        const uint64_t r = use_r0 ? ((coded + res0) & sh.mask) : coded;
        if (c == 0) res0 = r;
        v = (pred + r) & sh.mask;
        st[c].info[k] = static_cast<uint8_t>(bit_length(mag));
      }
    }
  }
}

Shape make_shape(size_t n, ValueType type, int comps) {
  Shape sh;
  sh.n = n;
  sh.comps = comps;
  sh.width_bits = 8 * value_width(type);
  sh.mask = sh.width_bits == 64 ? ~0ull : (1ull << sh.width_bits) - 1;
  sh.top = 1ull << (sh.width_bits - 1);
  return sh;
}

void check_components(int components) {
  if (components < 1 || components > kMaxComponents)
    fail(ErrorCode::InvalidArgument, "attribute components must be in [1, 64]");
}

}  // namespace

std::vector<uint8_t> encode_lossless(const uint32_t* xyz, size_t n, const uint8_t* values,
                                     ValueType type, int components, const LosslessOptions& opt) {
  check_components(components);
  value_width(type);
  if (opt.window < 1 || opt.window > kMaxWindow) fail(ErrorCode::InvalidArgument, "lossless attribute: window must be in [1, 256]");
  if (opt.predictor < -1 || opt.predictor > 2) fail(ErrorCode::InvalidArgument, "lossless attribute: predictor must be -1, 0, 1 or 2");
  const Shape sh = make_shape(n, type, components);
  const MortonOrder order = morton_order(xyz, n);
  std::vector<uint32_t> pos(3 * n);
  std::vector<uint64_t> vals(n * components);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order.index(k);
    for (int a = 0; a < 3; ++a) pos[3 * k + a] = xyz[3 * i + a];
    for (int c = 0; c < components; ++c) vals[k * components + c] = load_ordered(values, i * components + c, type);
  }
  // Plan each component: constant, small alphabet or residuals.
  std::vector<ComponentPlan> plan(components);
  for (int c = 0; c < components; ++c) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t k = 0; k < n; ++k) {
      lo = std::min(lo, vals[k * components + c]);
      hi = std::max(hi, vals[k * components + c]);
    }
    if (n == 0 || lo == hi) {
      plan[c].mode = kConstant;
      plan[c].base = n ? lo : 0;
    } else if (hi - lo < static_cast<uint64_t>(kMaxAlphabet)) {
      plan[c].mode = kSymbol;
      plan[c].base = lo;
      plan[c].alphabet = static_cast<int>(hi - lo + 1);
    }
  }
  const Neighbours nb = find_neighbours(pos, n, opt.window);
  bool any_residual = false;
  for (auto& p : plan) any_residual |= p.mode == kResidual;
  std::vector<int> preds = opt.predictor >= 0 ? std::vector<int>{opt.predictor}
                           : any_residual      ? std::vector<int>{0, 1, 2}
                                               : std::vector<int>{1};
  std::vector<uint8_t> flag_options = {0};
  if (components > 1 && plan[0].mode == kResidual) flag_options.push_back(kFlagComponentResidual);

  std::vector<uint8_t> best;
  int best_pred = 0;
  uint8_t best_flags = 0;
  for (int pr : preds) {
    for (uint8_t fl : flag_options) {
      RangeEncoder enc;
      std::vector<uint64_t> v = vals;
      code_body<true>(sh, plan, pr, fl, nb, v, &enc, nullptr);
      std::vector<uint8_t>& body = enc.finish();
      if (best.empty() || body.size() < best.size()) {
        best = body;
        best_pred = pr;
        best_flags = fl;
      }
    }
  }
  ByteWriter w;
  w.u8(kFormatVersion);
  w.u8(static_cast<uint8_t>(type));
  w.u8(static_cast<uint8_t>(components));
  w.varint(n);
  w.u8(static_cast<uint8_t>(best_pred));
  w.u8(best_flags);
  w.varint(static_cast<uint64_t>(opt.window));
  for (int c = 0; c < components; ++c) {
    w.u8(plan[c].mode);
    if (plan[c].mode == kConstant) w.varint(plan[c].base);
    if (plan[c].mode == kSymbol) {
      w.varint(plan[c].base);
      w.u8(static_cast<uint8_t>(plan[c].alphabet));
    }
  }
  w.bytes(best);
  return std::move(w.bytes());
}

void decode_lossless(const uint32_t* xyz, size_t n, const uint8_t* payload, size_t size,
                     ValueType type, int components, uint8_t* out) {
  check_components(components);
  value_width(type);
  ByteReader r(payload, size);
  const uint8_t version = r.u8("lossless attribute version");
  if (version != kFormatVersion)
    fail(ErrorCode::UnsupportedCodec, "lossless attribute payload version " + std::to_string(version) + " unknown", 0);
  const uint8_t type_code = r.u8("lossless attribute type");
  if (type_code != static_cast<uint8_t>(type))
    fail(ErrorCode::CorruptPayload, "lossless attribute payload holds another value type than the metadata announces", 1);
  const int comps = r.u8("lossless attribute components");
  if (comps != components)
    fail(ErrorCode::CorruptPayload, "lossless attribute payload holds another component count than the metadata announces", 2);
  const uint64_t count = r.varint("lossless attribute point count");
  if (count != n)
    fail(ErrorCode::CorruptPayload, "lossless attribute payload is for " + std::to_string(count) +
             " points, the geometry has " + std::to_string(n), r.offset());
  const int predictor = r.u8("lossless attribute predictor");
  if (predictor > 2) fail(ErrorCode::CorruptPayload, "lossless attribute: unknown predictor", r.offset() - 1);
  const uint8_t flags = r.u8("lossless attribute flags");
  if (flags & ~kFlagComponentResidual) fail(ErrorCode::ReservedBitsSet, "lossless attribute: reserved flag bits set", r.offset() - 1);
  const uint64_t window = r.varint("lossless attribute window");
  if (window < 1 || window > kMaxWindow) fail(ErrorCode::CorruptPayload, "lossless attribute: window out of range", r.offset());
  const Shape sh = make_shape(n, type, components);
  std::vector<ComponentPlan> plan(components);
  for (int c = 0; c < components; ++c) {
    const uint8_t mode = r.u8("lossless attribute component mode");
    if (mode > kSymbol) fail(ErrorCode::CorruptPayload, "lossless attribute: unknown component mode", r.offset() - 1);
    plan[c].mode = static_cast<Mode>(mode);
    if (mode == kConstant || mode == kSymbol) {
      plan[c].base = r.varint("lossless attribute base value");
      if (plan[c].base > sh.mask) fail(ErrorCode::CorruptPayload, "lossless attribute: base value wider than the type", r.offset());
    }
    if (mode == kSymbol) {
      plan[c].alphabet = r.u8("lossless attribute alphabet");
      if (plan[c].alphabet < 2 || plan[c].alphabet > kMaxAlphabet || plan[c].base + plan[c].alphabet - 1 > sh.mask)
        fail(ErrorCode::CorruptPayload, "lossless attribute: alphabet size out of range", r.offset() - 1);
    }
  }
  // The body is never empty for a non-trivial payload: at least the coder's flush.
  const MortonOrder order = morton_order(xyz, n);
  std::vector<uint32_t> pos(3 * n);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order.index(k);
    for (int a = 0; a < 3; ++a) pos[3 * k + a] = xyz[3 * i + a];
  }
  const Neighbours nb = find_neighbours(pos, n, static_cast<int>(window));
  std::vector<uint64_t> vals(n * components);
  RangeDecoder dec(r.cursor(), r.remaining());
  code_body<false>(sh, plan, predictor, flags, nb, vals, nullptr, &dec);
  dec.check_end("lossless attribute");
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order.index(k);
    for (int c = 0; c < components; ++c) store_ordered(out, i * components + c, type, vals[k * components + c]);
  }
}

}  // namespace attr
}  // namespace pcstream
