#include <cmath>
#include <cstring>
#include <random>

#include "learned_test_model.hpp"
#include "pcstream/error.hpp"
#include "pcstream/nn_model_file.hpp"
#include "pcstream/nn_runtime.hpp"
#include "pcstream/sha256.hpp"
#include "pcstream/sparse_neighbors.hpp"
#include "test_harness.hpp"

using namespace pcstream;
using namespace pcstream::nn;

TEST_CASE("sha256/known_vectors") {
  auto hex = [](const std::array<uint8_t, 32>& h) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (auto b : h) { s += d[b >> 4]; s += d[b & 15]; }
    return s;
  };
  CHECK(hex(sha256(nullptr, 0)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex(sha256(reinterpret_cast<const uint8_t*>("abc"), 3)) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(hex(sha256(reinterpret_cast<const uint8_t*>(m.data()), m.size())) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("nn_runtime/exp_accuracy") {
  double worst = 0;
  for (int i = 0; i <= 86990; ++i) {
    float x = -static_cast<float>(i) * 0.001f;
    double ref = std::exp(static_cast<double>(x));
    double rel = std::fabs(exp_nonpos(x) - ref) / ref;
    worst = rel > worst ? rel : worst;
  }
  if (worst >= 2e-6) std::fprintf(stderr, "exp worst rel error %g\n", worst);
  CHECK(worst < 2e-6);
  CHECK(exp_nonpos(0.0f) == 1.0f);
  CHECK(exp_nonpos(-100.0f) == 0.0f);
  CHECK(exp_nonpos(std::nanf("")) == 0.0f);
}

TEST_CASE("nn_runtime/softmax_cdf") {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 8.0f);
  for (int t = 0; t < 2000; ++t) {
    float logits[16];
    for (auto& v : logits) v = g(rng);
    if (t == 0) for (auto& v : logits) v = 0.0f;
    if (t == 1) { for (auto& v : logits) v = -1e30f; logits[3] = 1e30f; }
    uint32_t cdf[17];
    softmax_to_cdf(logits, 16, 16, cdf);
    bool ok = cdf[0] == 0 && cdf[16] == 65536;
    for (int i = 0; i < 16; ++i) ok = ok && cdf[i + 1] > cdf[i];
    CHECK(ok);
  }
}

TEST_CASE("nn_runtime/layers_exact_across_threads") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const size_t n = 9000, C = 16;
  std::vector<int32_t> xyz;
  for (size_t i = 0; i < n; ++i) { xyz.push_back(int32_t(i % 30)); xyz.push_back(int32_t(i / 30 % 30)); xyz.push_back(int32_t(i / 900)); }
  CoordIndex idx(xyz.data(), n);
  auto nbr = neighbor_table(idx, xyz.data(), n, 3, 1);
  CHECK(nbr == neighbor_table(idx, xyz.data(), n, 3, 2));
  Matrix x(n, C);
  for (auto& v : x.data) v = u(rng);
  std::vector<float> w(27 * C * C), b(C);
  for (auto& v : w) v = u(rng);
  for (auto& v : b) v = u(rng);
  Matrix a1 = sparse_conv(x, nbr, n, 27, w.data(), b.data(), C, 1);
  Matrix a2 = sparse_conv(x, nbr, n, 27, w.data(), b.data(), C, 2);
  CHECK(std::memcmp(a1.data.data(), a2.data.data(), a1.data.size() * 4) == 0);
  // Reference for one row in double precision.
  double ref = b[3];
  for (size_t j = 0; j < 27; ++j)
    if (nbr[100 * 27 + j] >= 0)
      for (size_t ci = 0; ci < C; ++ci) ref += double(x.row(nbr[100 * 27 + j])[ci]) * w[(j * C + ci) * C + 3];
  CHECK(std::fabs(a1.row(100)[3] - ref) < 1e-4);
  Matrix l1 = linear(x, w.data(), b.data(), C, 1), l2 = linear(x, w.data(), b.data(), C, 2);
  CHECK(std::memcmp(l1.data.data(), l2.data.data(), l1.data.size() * 4) == 0);
  std::vector<int32_t> bad = nbr;
  bad[5] = static_cast<int32_t>(n);
  CHECK_THROWS_CODE(sparse_conv(x, bad, n, 27, w.data(), b.data(), C, 1), ErrorCode::InvalidArgument);
}

TEST_CASE("nn_model_file/roundtrip_and_corruption") {
  ModelFile m = random_occupancy_model(4, 3, 1);
  auto bytes = write_model_file(m);
  ModelFile r = parse_model_file(bytes.data(), bytes.size());
  CHECK(r.id == m.id && r.hash == m.hash && r.arch == m.arch && r.param("channels") == 4);
  CHECK(r.tensors.at("prior.emb_code").data == m.tensors.at("prior.emb_code").data);
  auto flip = bytes;
  flip[flip.size() - 3] ^= 1;
  CHECK_THROWS_CODE(parse_model_file(flip.data(), flip.size()), ErrorCode::ChecksumMismatch);
  CHECK_THROWS_CODE(parse_model_file(bytes.data(), 20), ErrorCode::Truncated);
  auto magic = bytes;
  magic[0] = 'X';
  CHECK_THROWS_CODE(parse_model_file(magic.data(), magic.size()), ErrorCode::BadSignature);
  // Every truncation point gives a typed error, never a crash.
  for (size_t cut = 0; cut < bytes.size(); cut += 97) {
    bool typed = false;
    try { parse_model_file(bytes.data(), cut); } catch (const Error&) { typed = true; }
    CHECK(typed);
  }
}
