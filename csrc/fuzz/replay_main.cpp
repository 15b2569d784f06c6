// Driver for fuzz_*.cpp targets without libFuzzer: runs the target on each
// file given, then (with -mutate N) on N deterministic random mutations of
// them. Used by tests/test_cpp_core.py under ASan/UBSan.
//
//   replay [-mutate N] [-seed S] file...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void run(const std::vector<uint8_t>& v) {
  // A fresh heap copy of exactly size bytes lets ASan catch any over-read.
  uint8_t* p = static_cast<uint8_t*>(std::malloc(v.size() ? v.size() : 1));
  if (!v.empty()) std::memcpy(p, v.data(), v.size());
  LLVMFuzzerTestOneInput(p, v.size());
  std::free(p);
}

void mutate(std::vector<uint8_t>& v, std::mt19937_64& rng) {
  static const uint64_t interesting[] = {0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF,
                                         0x100000000ull, 0x7FFFFFFFFFFFFFFFull, ~0ull};
  int n = 1 + int(rng() % 4);
  for (int k = 0; k < n; ++k) {
    size_t size = v.size();
    switch (rng() % 6) {
      case 0:  // bit flip
        if (size) v[rng() % size] ^= uint8_t(1u << (rng() % 8));
        break;
      case 1:  // random byte
        if (size) v[rng() % size] = uint8_t(rng());
        break;
      case 2:  // truncate
        if (size) v.resize(rng() % size);
        break;
      case 3: {  // interesting little-endian integer
        unsigned width = 1u << (rng() % 4);
        if (size >= width) {
          size_t at = rng() % (size - width + 1);
          uint64_t x = interesting[rng() % (sizeof(interesting) / sizeof(interesting[0]))];
          for (unsigned i = 0; i < width; ++i) v[at + i] = uint8_t(x >> (8 * i));
        }
        break;
      }
      case 4:  // insert bytes
        v.insert(v.begin() + std::ptrdiff_t(size ? rng() % size : 0), size_t(1 + rng() % 8), uint8_t(rng()));
        break;
      default:  // delete a range
        if (size) {
          size_t at = rng() % size, len = 1 + rng() % 16;
          v.erase(v.begin() + std::ptrdiff_t(at), v.begin() + std::ptrdiff_t(std::min(size, at + len)));
        }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  uint64_t seed = 1;
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "-mutate") && i + 1 < argc) {
      mutations = std::atol(argv[++i]);
    } else if (!std::strcmp(argv[i], "-seed") && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::ifstream f(argv[i], std::ios::binary);
      if (!f) {
        std::fprintf(stderr, "cannot read %s\n", argv[i]);
        return 2;
      }
      corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
  }
  for (const auto& v : corpus) run(v);
  std::mt19937_64 rng(seed);
  for (long i = 0; i < mutations && !corpus.empty(); ++i) {
    std::vector<uint8_t> v = corpus[rng() % corpus.size()];
    mutate(v, rng);
    run(v);
  }
  std::printf("replayed %zu files and %ld mutations\n", corpus.size(), mutations);
  return 0;
}
