// Unit tests of the scan-order codecs: integer models, neighbour grid, GEOM codec 8
// and ATTR codec 9 round trips, and damaged payloads.
#include <cstring>
#include <random>

#include "pcstream/range_coder.hpp"
#include "pcstream/scan_attr.hpp"
#include "pcstream/scan_geometry.hpp"
#include "pcstream/scan_models.hpp"
#include "pcstream/scan_neighbors.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::scan;

namespace {

struct Scan {
  std::vector<uint32_t> xyz;
  std::vector<uint8_t> pulse;
  int depth = 16;
};

// A zig-zag "scan line" pattern with multi-return pulses.
Scan make_scan(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Scan s;
  uint32_t x = 1000, y = 1000;
  for (size_t i = 0; i < n;) {
    const int nr = 1 + rng() % 3;
    x = (x + 40 + rng() % 5) % 60000;
    y = (y + (rng() % 3)) % 60000;
    for (int r = 1; r <= nr && i < n; ++r, ++i) {
      s.xyz.insert(s.xyz.end(), {x + r, y, 3000u - 50u * r + rng() % 7});
      s.pulse.insert(s.pulse.end(), {static_cast<uint8_t>(r), static_cast<uint8_t>(nr)});
    }
  }
  return s;
}

}  // namespace

TEST_CASE("scan/residual_model_roundtrip_extremes") {
  const int64_t vals[] = {0, 1, -1, 7, -8, 123456789, -987654321, INT64_MAX, INT64_MIN, INT64_MIN + 1};
  RangeEncoder enc;
  ResidualModel m(3);
  for (int rep = 0; rep < 3; ++rep)
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); ++i) m.encode(enc, static_cast<int>(i % 3), vals[i]);
  auto bytes = enc.finish();
  RangeDecoder dec(bytes.data(), bytes.size());
  ResidualModel d(3);
  for (int rep = 0; rep < 3; ++rep)
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); ++i) CHECK(d.decode(dec, static_cast<int>(i % 3)) == vals[i]);
  CHECK(!dec.overrun());
}

TEST_CASE("scan/neighbor_grid_finds_nearest_earlier") {
  const std::vector<uint32_t> p = {0, 0, 0, 10, 0, 0, 3, 1, 0, 100, 100, 0};
  NeighborGrid g(p.data(), 8);
  g.insert(0);
  g.insert(1);
  int64_t nb[2];
  uint64_t d2;
  g.query(3, 1, 0, false, nb, &d2);
  CHECK(nb[0] == 0 && nb[1] == 1 && d2 == 10);
  g.query(100, 100, 0, false, nb, &d2);
  CHECK(nb[0] == -1);
}

TEST_CASE("scan/geometry_roundtrip_with_and_without_pulse") {
  const Scan s = make_scan(3000, 7);
  const size_t n = s.pulse.size() / 2;
  for (int with_pulse = 0; with_pulse < 2; ++with_pulse) {
    const uint8_t* pl = with_pulse ? s.pulse.data() : nullptr;
    const auto header = geometry_header(n, s.depth, pl != nullptr);
    const auto payload = encode_geometry(s.xyz.data(), pl, n, s.depth);
    const GeometryHeader h = parse_geometry_header(header.data(), header.size(), 1u << 20);
    CHECK(h.n == n && h.depth == s.depth && h.pulse == (with_pulse != 0));
    std::vector<uint32_t> xyz(3 * n);
    std::vector<uint8_t> pulse(2 * n);
    decode_geometry(h, payload.data(), payload.size(), xyz.data(), pulse.data());
    CHECK(xyz == s.xyz);
    if (with_pulse) CHECK(pulse == s.pulse);
  }
}

TEST_CASE("scan/geometry_rejects_bad_input_and_damage") {
  const Scan s = make_scan(500, 3);
  const size_t n = s.pulse.size() / 2;
  std::vector<uint32_t> big = s.xyz;
  big[4] = 1u << s.depth;
  CHECK_THROWS_CODE(encode_geometry(big.data(), nullptr, n, s.depth), ErrorCode::InvalidArgument);
  const auto header = geometry_header(n, s.depth, true);
  CHECK_THROWS_CODE(parse_geometry_header(header.data(), header.size(), n - 1), ErrorCode::LimitExceeded);
  const auto payload = encode_geometry(s.xyz.data(), s.pulse.data(), n, s.depth);
  const GeometryHeader h = parse_geometry_header(header.data(), header.size(), n);
  std::vector<uint32_t> xyz(3 * n);
  std::vector<uint8_t> pulse(2 * n);
  for (size_t cut : {size_t(0), size_t(1), payload.size() / 2, payload.size() - 1}) {
    bool thrown = false;
    try {
      decode_geometry(h, payload.data(), cut, xyz.data(), pulse.data());
    } catch (const Error& e) {
      thrown = e.code() == ErrorCode::Truncated || e.code() == ErrorCode::CorruptPayload;
    }
    CHECK(thrown);
  }
  std::vector<uint8_t> bad = payload;
  bad[0] = 9;  // unknown z mode
  CHECK_THROWS_CODE(decode_geometry(h, bad.data(), bad.size(), xyz.data(), pulse.data()), ErrorCode::CorruptPayload);
}

TEST_CASE("scan/attr_models_roundtrip") {
  const Scan s = make_scan(2000, 11);
  const size_t n = s.pulse.size() / 2;
  AttrGeometry g;
  g.xyz = s.xyz.data();
  g.pulse = s.pulse.data();
  g.n = n;
  std::mt19937_64 rng(5);
  std::vector<uint64_t> intensity(n), rgb(3 * n), flags(n), time(n), retn(n), cst(2 * n, 42), wild(n);
  double t = 1e5;
  for (size_t i = 0; i < n; ++i) {
    intensity[i] = 100 + s.xyz[3 * i + 2] % 50 + rng() % 5;
    for (int c = 0; c < 3; ++c) rgb[3 * i + c] = 30000 + 100 * c + rng() % 300;
    flags[i] = rng() % 3;
    if (s.pulse[2 * i] == 1) t += 1e-5 * (1 + rng() % 2);
    std::memcpy(&time[i], &t, 8);
    retn[i] = s.pulse[2 * i];
    wild[i] = rng();
  }
  struct Case { const std::vector<uint64_t>* v; int comps; };
  for (const Case& c : {Case{&intensity, 1}, Case{&rgb, 3}, Case{&flags, 1}, Case{&time, 1}, Case{&retn, 1},
                        Case{&cst, 2}, Case{&wild, 1}}) {
    const auto payload = encode_attr(g, c.v->data(), c.comps);
    std::vector<uint64_t> out(n * c.comps);
    decode_attr(g, payload.data(), payload.size(), c.comps, out.data());
    CHECK(out == *c.v);
  }
  // Every model and predictor on its own.
  for (int model = 2; model <= 4; ++model)
    for (int pred = -1; pred < 4; ++pred) {
      if (model != 3 && pred >= 0) continue;
      AttrOptions opt;
      opt.model = model;
      opt.predictor = pred;
      const auto payload = encode_attr(g, flags.data(), 1, opt);
      std::vector<uint64_t> out(n);
      decode_attr(g, payload.data(), payload.size(), 1, out.data());
      CHECK(out == flags);
    }
}

TEST_CASE("scan/attr_damage_gives_typed_errors") {
  const Scan s = make_scan(800, 2);
  AttrGeometry g;
  g.xyz = s.xyz.data();
  g.pulse = s.pulse.data();
  g.n = s.pulse.size() / 2;
  std::vector<uint64_t> v(g.n);
  for (size_t i = 0; i < g.n; ++i) v[i] = (i * 37) % 1000;
  const auto payload = encode_attr(g, v.data(), 1);
  std::vector<uint64_t> out(g.n);
  CHECK_THROWS_CODE(decode_attr(g, payload.data(), payload.size(), 2, out.data()), ErrorCode::CorruptPayload);
  CHECK_THROWS_CODE(decode_attr(g, payload.data(), 3, 1, out.data()), ErrorCode::Truncated);
  auto bad = payload;
  bad[0] = 2;
  CHECK_THROWS_CODE(decode_attr(g, bad.data(), bad.size(), 1, out.data()), ErrorCode::UnsupportedCodec);
  bad = payload;
  bad.push_back(0);
  CHECK_THROWS_CODE(decode_attr(g, bad.data(), bad.size(), 1, out.data()), ErrorCode::CorruptPayload);
  AttrGeometry no_pulse = g;
  no_pulse.pulse = nullptr;
  std::vector<uint64_t> r(g.n);
  for (size_t i = 0; i < g.n; ++i) r[i] = s.pulse[2 * i + 1];
  const auto ref = encode_attr(g, r.data(), 1);
  CHECK(ref.size() < 16);
  CHECK_THROWS_CODE(decode_attr(no_pulse, ref.data(), ref.size(), 1, out.data()), ErrorCode::CorruptPayload);
}
