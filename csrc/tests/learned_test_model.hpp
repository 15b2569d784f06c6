// A random-weight occupancy model for the learned-codec tests.
#pragma once
#include <random>
#include <string>

#include "pcstream/nn_model_file.hpp"

inline pcstream::nn::ModelFile random_occupancy_model(int C, int k, uint32_t seed, const std::string& id = "test-rand") {
  using pcstream::nn::Tensor;
  pcstream::nn::ModelFile m;
  m.id = id;
  m.arch = "occ-sparse-v1";
  m.params = {{"channels", C}, {"kernel", k}};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.4f, 0.4f);
  auto add = [&](const std::string& name, std::vector<uint32_t> shape) {
    Tensor t;
    t.shape = shape;
    size_t n = 1;
    for (auto d : shape) n *= d;
    t.data.resize(n);
    for (auto& v : t.data) v = u(rng);
    m.tensors[name] = t;
  };
  const uint32_t c = static_cast<uint32_t>(C), K = static_cast<uint32_t>(k * k * k);
  add("prior.emb_code", {256, c});
  add("target.emb_octant", {8, c});
  add("ctx.emb_code", {257, c});
  add("head1.emb_low", {16, c});
  add("head3.emb_low", {16, c});
  for (std::string net : {"prior.", "target."})
    for (std::string conv : {"conv0", "res.conv1", "res.conv2"}) {
      add(net + conv + ".weight", {K, c, c});
      add(net + conv + ".bias", {c});
    }
  add("ctx.conv.weight", {K, c, c});
  add("ctx.conv.bias", {c});
  for (int s = 0; s < 4; ++s) {
    std::string h = "head" + std::to_string(s);
    add(h + ".fc1.weight", {c, c});
    add(h + ".fc1.bias", {c});
    add(h + ".fc2.weight", {c, 16});
    add(h + ".fc2.bias", {16});
  }
  return m;
}
