// libFuzzer entry point for the context prior parser of the learned codec
// (formats/learned-geometry.md, "Context prior"): the input is a .pcsp file.
//
// Any pcstream::Error is an expected outcome; crashes, hangs and sanitizer reports
// are bugs. A file that parses must serialise back to the same values, and a mixer
// started from it must code a few decisions.
// Build: cmake -DPCSTREAM_BUILD_FUZZERS=ON -DCMAKE_CXX_COMPILER=clang++
// Without clang, csrc/fuzz/replay_main.cpp drives it (tests/test_cpp_core.py, ASan/UBSan).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned_mix.hpp"
#include "pcstream/geometry_learned_prior.hpp"

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pcstream::learned;
  try {
    ContextPrior p = parse_context_prior(data, size);
    ContextPrior copy = p;
    const std::vector<uint8_t> again = write_context_prior(copy);
    const ContextPrior q = parse_context_prior(again.data(), again.size());
    for (int t = 0; t < ContextPrior::kTables; ++t) require(q.st[t] == p.st[t]);
    // A short mixed stream reading the prior: every slot value must be usable.
    std::vector<uint32_t> cdf(17);
    for (int s = 0; s <= 16; ++s) cdf[s] = static_cast<uint32_t>(s) * 4096u;
    pcstream::RangeEncoder enc;
    NeighbourhoodMixer m(1000, &p);
    Neighbourhood nb;
    for (uint32_t i = 0; i < 64; ++i) {
      nb.occupied = uint64_t{0x9E3779B97F4A7C15} * (i + 1);
      m.encode(enc, cdf.data(), static_cast<int>(i % 4), i % 16, 1 + i % 15, nb);
    }
  } catch (const pcstream::Error&) {
  }
  return 0;
}
