// libFuzzer target for the .pcs container reader, stream parser and verify.
//
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DPCSTREAM_BUILD_FUZZERS=ON
//   cmake --build build-fuzz --target fuzz_container
//   mkdir -p /tmp/pcs-corpus && cp formats/testvectors/*.pcs formats/testvectors/broken/*.pcs /tmp/pcs-corpus/
//   ./build-fuzz/fuzz_container /tmp/pcs-corpus -max_total_time=3600
//
// Without clang, csrc/fuzz/replay_main.cpp drives the same entry point over
// files and random mutations of them (tests/test_cpp_core.py does this under
// ASan/UBSan).
//
// Besides "no crash, no sanitizer report", it checks the invariants of the
// spec: a file that verify() accepts opens, reads and streams without error,
// and the stream delivers exactly the chunks the index lists (minus unknown
// ancillary ones).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "pcstream/container.hpp"

using namespace pcstream;

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Limits L;
  L.max_chunk_bytes = 1 << 20;  // keep the fuzzer's memory small
  L.max_metadata_bytes = 1 << 20;
  L.max_chunks = 1 << 12;
  L.max_points = uint64_t(1) << 32;

  VerifyResult v = verify(data, size, L);

  size_t listed = 0, known = 0;
  bool read_ok = true;
  try {
    ContainerReader r(data, size, L);
    for (size_t i = 0; i < r.entries().size(); ++i) {
      auto p = r.payload(i);
      require(p.second == r.entries()[i].info.payload_length);
      known += is_known_chunk_type(r.entries()[i].info.type);
    }
    listed = r.entries().size();
  } catch (const Error&) {
    read_ok = false;
  }

  // Stream in two pieces at a split point taken from the input itself.
  size_t split = size ? size_t(data[size / 2]) * size / 256 : 0;
  StreamParser sp(L);
  bool stream_ok = true;
  size_t chunks = 0;
  try {
    sp.feed(data, split);
    for (auto& e : sp.take_events()) chunks += e.kind == StreamEvent::Kind::Chunk;
    sp.feed(data + split, size - split);
    for (auto& e : sp.take_events()) chunks += e.kind == StreamEvent::Kind::Chunk;
    sp.finish();
  } catch (const Error& e) {
    stream_ok = false;
    require(sp.last_good_offset() <= size);
  }

  if (v.ok()) {
    require(read_ok && stream_ok);
    require(chunks == known && sp.chunks().size() == listed && listed == v.chunks);
  }
  return 0;
}
