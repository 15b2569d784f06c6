#include <cmath>
#include <random>

#include "pcstream/weight_coder.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::weights;

namespace {

QuantTensor make(const std::string& name, std::vector<uint64_t> shape, std::vector<int64_t> v, int qp = -32) {
  QuantTensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.values = std::move(v);
  t.qp = qp;
  return t;
}

std::vector<int64_t> laplace(size_t n, double scale, double zero_fraction, uint32_t seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> e(1.0 / scale);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int64_t> v(n);
  for (auto& x : v) {
    if (u(rng) < zero_fraction) { x = 0; continue; }
    int64_t m = static_cast<int64_t>(std::llround(e(rng)));
    x = (rng() & 1) ? m : -m;
  }
  return v;
}

bool same(const std::vector<QuantTensor>& a, const std::vector<QuantTensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].dtype != b[i].dtype || a[i].shape != b[i].shape || a[i].qp != b[i].qp ||
        a[i].values != b[i].values)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("weights/step_for_qp_is_exact_power_of_two_quarter") {
  CHECK(step_for_qp(-32) == std::ldexp(1.0, -8));
  CHECK(step_for_qp(0) == 1.0);
  CHECK(step_for_qp(4) == 2.0);
  CHECK(step_for_qp(-1) == std::ldexp(0x1.ae89f995ad3adp+0, -1));
  CHECK(std::fabs(step_for_qp(-30) - std::pow(2.0, -7.5)) < 1e-15);
}

TEST_CASE("weights/roundtrip_mixed_tensors") {
  std::vector<QuantTensor> in;
  in.push_back(make("dense", {64, 32}, laplace(64 * 32, 8.0, 0.0, 1)));
  in.push_back(make("sparse", {16, 8, 3, 3}, laplace(16 * 8 * 9, 1.0, 0.97, 2), -30));
  in.push_back(make("zeros", {100, 7}, std::vector<int64_t>(700, 0)));
  in.push_back(make("one", {1}, {-5}));
  in.push_back(make("scalar", {}, {3}));
  in.push_back(make("empty", {0, 4}, {}));
  std::vector<int64_t> huge = laplace(50, 1000.0, 0.2, 3);
  huge[7] = kMaxMagnitude;
  huge[9] = -kMaxMagnitude;
  in.push_back(make("huge", {5, 10}, huge));
  QuantTensor ints = make("counter", {3}, {0, 1, 123456789});
  ints.dtype = DType::Int64;
  ints.qp = 0;
  in.push_back(ints);
  WeightEncodeOptions opt;
  opt.base_qp = -32;
  auto bytes = encode_weights(in, opt);
  int32_t base = 0;
  auto out = decode_weights(bytes.data(), bytes.size(), {}, &base);
  CHECK(base == -32);
  CHECK(same(in, out));
  // Deterministic bytes.
  CHECK(encode_weights(in, opt) == bytes);
}

TEST_CASE("weights/sparse_tensor_is_cheap") {
  std::vector<QuantTensor> in{make("d", {256, 256}, laplace(65536, 1.0, 0.99, 4))};
  auto bytes = encode_weights(in);
  CHECK(bytes.size() * 8 < 65536 / 5);  // well under 0.2 bits per weight
  std::vector<QuantTensor> z{make("z", {1000, 1000}, std::vector<int64_t>(1000000, 0))};
  CHECK(encode_weights(z).size() < 64);
}

TEST_CASE("weights/encoder_rejects_bad_input") {
  CHECK_THROWS_CODE(encode_weights({make("a", {2}, {1})}), ErrorCode::InvalidArgument);  // size mismatch
  CHECK_THROWS_CODE(encode_weights({make("a", {1}, {kMaxMagnitude + 1})}), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(encode_weights({make("a", {1}, {1}), make("a", {1}, {1})}), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(encode_weights({make("a", {1}, {1}, 1000)}), ErrorCode::InvalidArgument);
  QuantTensor i = make("i", {1}, {1}, -4);
  i.dtype = DType::Int32;
  CHECK_THROWS_CODE(encode_weights({i}), ErrorCode::InvalidArgument);
}

TEST_CASE("weights/corrupt_headers_give_typed_errors") {
  auto bytes = encode_weights({make("w", {4, 4}, laplace(16, 3.0, 0.1, 5))});
  auto bad = bytes;
  bad[0] = 2;
  CHECK_THROWS_CODE(decode_weights(bad.data(), bad.size()), ErrorCode::UnsupportedCodec);
  bad = bytes;
  bad[1] = 1;
  CHECK_THROWS_CODE(decode_weights(bad.data(), bad.size()), ErrorCode::ReservedBitsSet);
  CHECK_THROWS_CODE(decode_weights(bytes.data(), 0), ErrorCode::Truncated);
  // A huge tensor count must be rejected before anything is allocated.
  std::vector<uint8_t> hostile{1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f};
  CHECK_THROWS_CODE(decode_weights(hostile.data(), hostile.size()), ErrorCode::LimitExceeded);
  std::vector<uint8_t> many{1, 0, 0, 0xff, 0x0f};
  CHECK_THROWS_CODE(decode_weights(many.data(), many.size()), ErrorCode::BadLength);
  // One tensor with 2^40 x 2^40 elements.
  std::vector<uint8_t> big{1, 0, 0, 1, 1, 'x', 2, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0};
  CHECK_THROWS_CODE(decode_weights(big.data(), big.size()), ErrorCode::LimitExceeded);
  WeightDecodeLimits lim;
  lim.max_elements = 10;
  CHECK_THROWS_CODE(decode_weights(bytes.data(), bytes.size(), lim), ErrorCode::LimitExceeded);
}

TEST_CASE("weights/truncations_and_bit_flips_never_crash") {
  auto bytes = encode_weights({make("w", {32, 48}, laplace(32 * 48, 4.0, 0.3, 6)), make("b", {32}, laplace(32, 2.0, 0.0, 7))});
  int typed = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    try {
      decode_weights(bytes.data(), n);
    } catch (const Error&) {
      ++typed;
    }
  }
  CHECK(typed == static_cast<int>(bytes.size()));  // every truncation is detected
  std::mt19937 rng(8);
  for (int i = 0; i < 300; ++i) {
    auto bad = bytes;
    bad[rng() % bad.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    try {
      decode_weights(bad.data(), bad.size());
    } catch (const Error&) {
    }
  }
}

#include "../src/weight_tensor_codec.hpp"

TEST_CASE("weights/dependent_quantization_roundtrip_and_error") {
  std::mt19937 rng(9);
  std::normal_distribution<double> g(0.0, 0.03);
  const uint64_t rows = 40, cols = 50;
  QuantTensor t;
  t.name = "dq";
  t.shape = {rows, cols};
  t.qp = -32;
  t.quantizer = kDependent;
  t.real.resize(rows * cols);
  for (auto& v : t.real) v = g(rng);
  for (uint64_t j = 0; j < cols; ++j) t.real[7 * cols + j] = 0.0;  // an all-zero row
  const double delta = reconstruction_step(-32, kDependent);
  CHECK(delta == std::ldexp(1.0, -8) * 0.5625);
  std::vector<int64_t> levels = detail::dq_quantize(t.real.data(), t.real.size(), delta);
  detail::dq_indices_to_levels(levels.data(), levels.size());
  QuantTensor u = make("u", {rows, cols}, laplace(rows * cols, 2.0, 0.5, 10));
  auto bytes = encode_weights({t, u});
  auto out = decode_weights(bytes.data(), bytes.size());
  REQUIRE(out.size() == 2);
  CHECK(out[0].quantizer == kDependent && out[1].quantizer == kUniform);
  CHECK(out[0].values == levels);  // the coded indices survive the state-dependent contexts
  CHECK(out[1].values == u.values);
  double se_dq = 0, se_uni = 0, step = step_for_qp(-32);
  for (size_t i = 0; i < t.real.size(); ++i) {
    double e = t.real[i] - static_cast<double>(levels[i]) * delta;
    double eu = t.real[i] - std::nearbyint(t.real[i] / step) * step;
    se_dq += e * e;
    se_uni += eu * eu;
  }
  CHECK(se_dq <= 1.1 * se_uni);
  for (uint64_t j = 0; j < cols; ++j) CHECK(out[0].values[7 * cols + j] == 0);
}

TEST_CASE("weights/dq_levels_follow_state_machine") {
  // Indices 1, 1, -2, 0, 3: states 0 -> 2 -> 3 -> 3 -> 3 -> 1.
  std::vector<int64_t> v{1, 1, -2, 0, 3};
  detail::dq_indices_to_levels(v.data(), v.size());
  std::vector<int64_t> expect{2, 1, -3, 0, 5};
  CHECK(v == expect);
}
