#include <algorithm>
#include <random>

#include "pcstream/error.hpp"
#include "pcstream/morton.hpp"
#include "test_harness.hpp"

using namespace pcstream;

TEST_CASE("morton/encode_decode_roundtrip") {
  std::mt19937_64 rng(7);
  bool ok = true;
  for (int i = 0; i < 100000 && ok; ++i) {
    uint32_t x = rng() & 0x1FFFFF, y = rng() & 0x1FFFFF, z = rng() & 0x1FFFFF;
    uint32_t a, b, c;
    morton_decode(morton_encode(x, y, z), a, b, c);
    ok = a == x && b == y && c == z;
  }
  CHECK(ok);
  CHECK(morton_encode(1, 0, 0) == 4);
  CHECK(morton_encode(0, 1, 0) == 2);
  CHECK(morton_encode(0, 0, 1) == 1);
  CHECK(morton_encode(0x1FFFFF, 0x1FFFFF, 0x1FFFFF) == (1ull << 63) - 1);
}

TEST_CASE("morton/monotone_per_axis") {
  std::mt19937 rng(3);
  bool ok = true;
  for (int i = 0; i < 10000 && ok; ++i) {
    uint32_t x = rng() & 0xFFFFF, y = rng() & 0xFFFFF, z = rng() & 0xFFFFF;
    ok = morton_encode(x + 1, y, z) > morton_encode(x, y, z) && morton_encode(x, y + 1, z) > morton_encode(x, y, z) &&
         morton_encode(x, y, z + 1) > morton_encode(x, y, z);
  }
  CHECK(ok);
}

TEST_CASE("morton/sort_stable_permutation") {
  std::mt19937_64 rng(11);
  for (int bits : {0, 1, 5, 10, 18, 21}) {
    size_t n = 5000;
    std::vector<uint64_t> codes(n);
    uint64_t mask = bits == 0 ? 0 : ((1ull << (3 * bits)) - 1);
    for (auto& c : codes) c = rng() & mask & 0xFFF0FF;  // force many duplicates
    std::vector<uint64_t> sorted;
    auto perm = morton_sort_permutation(codes.data(), n, bits, &sorted);
    std::vector<uint32_t> ref(n);
    for (size_t i = 0; i < n; ++i) ref[i] = static_cast<uint32_t>(i);
    std::stable_sort(ref.begin(), ref.end(), [&](uint32_t a, uint32_t b) { return codes[a] < codes[b]; });
    CHECK(perm == ref);
    bool ok = sorted.size() == n;
    for (size_t i = 0; i < n && ok; ++i) ok = sorted[i] == codes[perm[i]];
    CHECK(ok);
  }
  // Full-width keys (the wide packed path and its fallback), with duplicates.
  for (int bits : {11, 18, 21}) {
    for (size_t n : {size_t(3), size_t(5000), size_t(70000)}) {
      std::vector<uint64_t> codes(n);
      uint64_t mask = (1ull << (3 * bits)) - 1;
      for (auto& c : codes) c = rng() & mask;
      for (size_t i = 0; i + 7 < n; i += 7) codes[i] = codes[i + 3];
      std::vector<uint64_t> sorted;
      auto perm = morton_sort_permutation(codes.data(), n, bits, &sorted);
      std::vector<uint32_t> ref(n);
      for (size_t i = 0; i < n; ++i) ref[i] = static_cast<uint32_t>(i);
      std::stable_sort(ref.begin(), ref.end(), [&](uint32_t a, uint32_t b) { return codes[a] < codes[b]; });
      CHECK(perm == ref);
      bool ok = sorted.size() == n;
      for (size_t i = 0; i < n && ok; ++i) ok = sorted[i] == codes[perm[i]];
      CHECK(ok);
    }
  }
  CHECK(morton_sort_permutation(nullptr, 0, 10).empty());
  CHECK_THROWS_CODE(morton_sort_permutation(nullptr, 0, 22), ErrorCode::InvalidArgument);
}
