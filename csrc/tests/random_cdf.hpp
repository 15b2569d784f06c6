// Test helper: a 16-symbol CDF (total 2^16, every frequency >= 1) from random
// weights, as the learned codec's coders expect.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

inline std::vector<uint32_t> random_cdf(std::mt19937& rng) {
  std::vector<uint32_t> w(16), cdf(17, 0);
  uint32_t sum = 0;
  for (auto& v : w) sum += (v = 1 + rng() % 5000);
  uint32_t acc = 0;
  for (int s = 0; s < 16; ++s) {
    acc += 1 + static_cast<uint32_t>(static_cast<uint64_t>(w[s]) * (65536 - 16) / sum);
    cdf[s + 1] = acc;
  }
  cdf[16] = 65536;  // the rounding slack goes to the last symbol
  return cdf;
}
