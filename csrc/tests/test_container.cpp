#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "pcstream/container.hpp"
#include "pcstream/crc32c.hpp"
#include "test_harness.hpp"

using namespace pcstream;

namespace {

struct Built {
  std::vector<uint8_t> bytes;
  std::vector<std::vector<uint8_t>> payloads;
};

ChunkInfo info_of(const char* type, uint8_t lo, uint8_t hi, uint64_t points, bool critical = true) {
  ChunkInfo c;
  c.type = chunk_type(type);
  c.critical = critical;
  c.codec_id = 1;
  c.codec_version = 1;
  c.level_lo = lo;
  c.level_hi = hi;
  c.point_count = points;
  c.decoded_size = points * 12;
  return c;
}

Built build(bool with_ancillary = false) {
  Built b;
  ContainerWriter w;
  const char meta[] = "\x81\xa8producer\xaepcstream 0.1.0";
  auto out = w.begin(reinterpret_cast<const uint8_t*>(meta), sizeof(meta) - 1);
  const uint8_t levels[][2] = {{0, 2}, {3, 5}, {6, 8}};
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> p(size_t(10 + 37 * i));
    for (size_t k = 0; k < p.size(); ++k) p[k] = uint8_t(k * 13 + i);
    ChunkInfo c = info_of("GEOM", levels[i][0], levels[i][1], uint64_t(8) << (3 * i));
    if (i == 2) {
      c.has_bounds = true;
      c.bounds = {-1.5, 0, 2, 10, 20.25, 30};
    }
    auto ch = w.add_chunk(c, p.data(), p.size());
    out.insert(out.end(), ch.begin(), ch.end());
    b.payloads.push_back(p);
    if (with_ancillary && i == 0) {
      const uint8_t junk[] = {1, 2, 3};
      auto a = w.add_chunk(info_of("tExt", 0, 0, 0, false), junk, 3);
      out.insert(out.end(), a.begin(), a.end());
    }
  }
  std::vector<uint8_t> attr = {9, 9, 9, 9};
  ChunkInfo ac = info_of("ATTR", 0, 8, 512);
  ac.codec_id = 2;
  auto ch = w.add_chunk(ac, attr.data(), attr.size());
  out.insert(out.end(), ch.begin(), ch.end());
  b.payloads.push_back(attr);
  auto fin = w.finish();
  out.insert(out.end(), fin.begin(), fin.end());
  b.bytes = out;
  return b;
}

void refresh_header_crc(std::vector<uint8_t>& f, size_t at) {
  uint32_t c = crc32c(f.data() + at, 92);
  for (int i = 0; i < 4; ++i) f[at + 92 + i] = uint8_t(c >> (8 * i));
}

uint64_t first_chunk(const std::vector<uint8_t>& f) {
  uint32_t m = uint32_t(f[12]) | uint32_t(f[13]) << 8 | uint32_t(f[14]) << 16 | uint32_t(f[15]) << 24;
  return kFileHeaderSize + m;
}

}  // namespace

TEST_CASE("container signature bytes") {
  const uint8_t want[8] = {0x81, 'P', 'C', 'S', 0x0D, 0x0A, 0x1A, 0x0A};
  CHECK(std::memcmp(kPcsSignature, want, 8) == 0);
  auto b = build();
  CHECK(std::memcmp(b.bytes.data(), want, 8) == 0);
  CHECK(std::memcmp(b.bytes.data() + b.bytes.size() - 8, kPcsFooterMagic, 8) == 0);
}

TEST_CASE("container round trip through reader") {
  auto b = build();
  ContainerReader r(b.bytes.data(), b.bytes.size());
  REQUIRE(r.entries().size() == 4);
  CHECK(r.header().minor == 0);
  CHECK(r.metadata_size() == 25);
  for (size_t i = 0; i < 4; ++i) {
    auto p = r.payload(i);
    CHECK(std::vector<uint8_t>(p.first, p.first + p.second) == b.payloads[i]);
  }
  CHECK(r.entries()[2].info.has_bounds);
  CHECK(r.entries()[2].info.bounds[5] == 30.0);
  CHECK(r.entries()[1].info.level_lo == 3 && r.entries()[1].info.level_hi == 5);
  CHECK(r.entries()[3].info.type == kTypeAttr);
  CHECK_THROWS_CODE(r.payload(4), ErrorCode::InvalidArgument);
  CHECK(verify(b.bytes.data(), b.bytes.size()).ok());
}

TEST_CASE("container writer is deterministic and rejects bad input") {
  CHECK(build().bytes == build().bytes);
  ContainerWriter w;
  w.begin(nullptr, 0);
  uint8_t x = 0;
  CHECK_THROWS_CODE(w.add_chunk(info_of("IN X", 0, 0, 0), &x, 1), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(w.add_chunk(info_of("INDX", 0, 0, 0), &x, 1), ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(w.add_chunk(info_of("GEOM", 3, 2, 0), &x, 1), ErrorCode::InvalidArgument);
  w.add_chunk(info_of("GEOM", 3, 5, 0), &x, 1);
  CHECK_THROWS_CODE(w.add_chunk(info_of("GEOM", 0, 2, 0), &x, 1), ErrorCode::InvalidArgument);
  ChunkInfo nb = info_of("GEOM", 6, 6, 0);
  nb.has_bounds = true;
  nb.bounds = {1, 0, 0, 0, 1, 1};
  CHECK_THROWS_CODE(w.add_chunk(nb, &x, 1), ErrorCode::InvalidArgument);
  w.finish();
  CHECK_THROWS_CODE(w.finish(), ErrorCode::InvalidArgument);
}

TEST_CASE("container empty file") {
  ContainerWriter w;
  auto a = w.begin(nullptr, 0);
  auto f = w.finish();
  a.insert(a.end(), f.begin(), f.end());
  CHECK(a.size() == kFileHeaderSize + kChunkHeaderSize + kChunkCrcSize + kFooterSize);
  ContainerReader r(a.data(), a.size());
  CHECK(r.entries().empty());
  CHECK(verify(a.data(), a.size()).ok());
  StreamParser sp;
  sp.feed(a.data(), a.size());
  sp.finish();
  auto ev = sp.take_events();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == StreamEvent::Kind::Metadata && ev[1].kind == StreamEvent::Kind::End);
}

TEST_CASE("container stream parser byte by byte") {
  auto b = build(true);
  StreamParser sp;
  std::vector<StreamEvent> all;
  for (uint8_t byte : b.bytes) {
    sp.feed(&byte, 1);
    for (auto& e : sp.take_events()) all.push_back(std::move(e));
  }
  sp.finish();
  REQUIRE(all.size() == 1 + 4 + 1);  // the unknown ancillary chunk is skipped
  CHECK(all[0].kind == StreamEvent::Kind::Metadata);
  for (size_t i = 0; i < 4; ++i) CHECK(all[1 + i].payload == b.payloads[i]);
  CHECK(all[5].kind == StreamEvent::Kind::End);
  CHECK(sp.chunks().size() == 5);
  CHECK(sp.last_good_offset() == b.bytes.size());
  CHECK(verify(b.bytes.data(), b.bytes.size()).ok());
}

TEST_CASE("container every prefix gives complete chunks or Truncated") {
  auto b = build();
  ContainerReader full(b.bytes.data(), b.bytes.size());
  for (size_t n = 0; n < b.bytes.size(); ++n) {
    StreamParser sp;
    sp.feed(b.bytes.data(), n);
    size_t chunks = 0;
    for (auto& e : sp.take_events()) chunks += e.kind == StreamEvent::Kind::Chunk;
    bool truncated = false;
    try {
      sp.finish();
    } catch (const Error& e) {
      truncated = e.code() == ErrorCode::Truncated && uint64_t(e.offset()) == sp.last_good_offset();
    }
    CHECK(truncated);
    // Chunks are complete exactly when their end lies within the prefix.
    size_t expect = 0;
    for (auto& e : full.entries()) expect += e.end() <= n;
    CHECK(chunks == expect);
    CHECK(sp.last_good_offset() <= n);
    // Complete-file readers report the missing footer as Truncated too.
    CHECK(verify(b.bytes.data(), n).code == ErrorCode::Truncated);
  }
}

TEST_CASE("container random bit flips never pass silently") {
  auto b = build();
  std::mt19937 rng(1);
  for (int it = 0; it < 3000; ++it) {
    auto f = b.bytes;
    size_t bit = rng() % (f.size() * 8);
    f[bit / 8] ^= uint8_t(1u << (bit % 8));
    VerifyResult v = verify(f.data(), f.size());
    // Every byte is under some CRC except unused flag bits, the unused
    // header word, and bounds bytes of chunks without bounds: those flips are
    // legal and must verify (they are ignored).
    if (v.ok()) {
      ContainerReader r(f.data(), f.size());
      for (size_t i = 0; i < r.entries().size(); ++i) r.payload(i);
    }
    StreamParser sp;
    try {
      sp.feed(f.data(), f.size());
      sp.finish();
    } catch (const Error&) {
    }
  }
}

TEST_CASE("container unknown critical chunk is named, ancillary skipped") {
  ContainerWriter w;
  auto out = w.begin(nullptr, 0);
  uint8_t x = 5;
  auto c = w.add_chunk(info_of("ZZZZ", 0, 0, 0, true), &x, 1);
  out.insert(out.end(), c.begin(), c.end());
  auto f = w.finish();
  out.insert(out.end(), f.begin(), f.end());
  auto v = verify(out.data(), out.size());
  CHECK(v.code == ErrorCode::UnknownCriticalChunk);
  CHECK(v.message.find("ZZZZ") != std::string::npos);
  CHECK_THROWS_CODE(ContainerReader(out.data(), out.size()), ErrorCode::UnknownCriticalChunk);
  StreamParser sp;
  CHECK_THROWS_CODE(sp.feed(out.data(), out.size()), ErrorCode::UnknownCriticalChunk);
  CHECK_THROWS_CODE(sp.finish(), ErrorCode::UnknownCriticalChunk);  // sticky
}

TEST_CASE("container hostile counts hit limits before allocation") {
  auto b = build();
  size_t at = first_chunk(b.bytes);
  auto f = b.bytes;
  uint64_t billions = 5000000000ull;
  for (int i = 0; i < 8; ++i) f[at + 24 + i] = uint8_t(billions >> (8 * i));
  refresh_header_crc(f, at);
  CHECK(verify(f.data(), f.size()).code == ErrorCode::LimitExceeded);
  StreamParser sp;
  CHECK_THROWS_CODE(sp.feed(f.data(), f.size()), ErrorCode::LimitExceeded);

  // Payload length running past the index (below the chunk limit).
  f = b.bytes;
  f[at + 17] = uint8_t(f[at + 17] + 8);  // +2048 bytes
  refresh_header_crc(f, at);
  CHECK(verify(f.data(), f.size()).code == ErrorCode::BadLength);

  // A tiny limit on chunk bytes.
  Limits tight;
  tight.max_chunk_bytes = 8;
  CHECK(verify(b.bytes.data(), b.bytes.size(), tight).code == ErrorCode::LimitExceeded);
  Limits depth;
  depth.max_depth = 4;
  CHECK(verify(b.bytes.data(), b.bytes.size(), depth).code == ErrorCode::LimitExceeded);
  Limits total;
  total.max_total_bytes = 100;
  StreamParser sp2(total);
  CHECK_THROWS_CODE(sp2.feed(b.bytes.data(), b.bytes.size()), ErrorCode::LimitExceeded);
}

TEST_CASE("container signature damage codes") {
  auto b = build();
  auto f = b.bytes;
  f[0] = 0x01;  // high bit stripped
  CHECK(verify(f.data(), f.size()).code == ErrorCode::BadSignature);
  f = b.bytes;
  f[0] = 0x82;  // major version 2
  CHECK(verify(f.data(), f.size()).code == ErrorCode::UnsupportedVersion);
  // CR LF -> LF conversion
  f = b.bytes;
  f.erase(f.begin() + 4);
  CHECK(verify(f.data(), f.size()).code == ErrorCode::BadSignature);
  StreamParser sp;
  const uint8_t text[] = {'p', 'l', 'y'};
  CHECK_THROWS_CODE(sp.feed(text, 3), ErrorCode::BadSignature);
}

TEST_CASE("container reserved vs unused bits") {
  auto b = build();
  size_t at = first_chunk(b.bytes);
  auto f = b.bytes;
  f[at + 4] |= 0x04;  // reserved flag bit 2
  refresh_header_crc(f, at);
  CHECK(verify(f.data(), f.size()).code == ErrorCode::ReservedBitsSet);
  // Unused word at 88..91 is ignored (not part of the index copy).
  f = b.bytes;
  f[at + 88] = 0x5A;
  refresh_header_crc(f, at);
  uint32_t c = crc32c(f.data() + at, size_t(96 + b.payloads[0].size()));
  size_t crc_at = at + 96 + b.payloads[0].size();
  for (int i = 0; i < 4; ++i) f[crc_at + i] = uint8_t(c >> (8 * i));
  CHECK(verify(f.data(), f.size()).ok());
}

// ---------------------------------------------------------------- corpus
// The golden files and the broken corpus of formats/testvectors, read from the
// source tree next to this file (skipped when the tree is not there).
#include <fstream>
#include <iterator>

namespace {

std::string vectors_dir() {
  std::string here = __FILE__;
  size_t cut = here.rfind("csrc/tests/");
  return cut == std::string::npos ? std::string() : here.substr(0, cut) + "formats/testvectors/";
}

bool slurp(const std::string& path, std::vector<uint8_t>& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

// Minimal reader of broken/manifest.json as written by make_vectors.py:
// (file, verify code, verify check) per entry.
struct Expect {
  std::string file, check;
  int code;
};
std::vector<Expect> broken_manifest(const std::string& text) {
  std::vector<Expect> out;
  size_t pos = 0;
  const std::string kf = "\"file\": \"", kv = "\"verify\": [";
  while ((pos = text.find(kf, pos)) != std::string::npos) {
    pos += kf.size();
    Expect e;
    e.file = text.substr(pos, text.find('"', pos) - pos);
    size_t v = text.find(kv, pos);
    if (v == std::string::npos) break;
    v += kv.size();
    while (text[v] == ' ' || text[v] == '\n') ++v;
    e.code = std::atoi(text.c_str() + v);
    size_t q = text.find('"', v) + 1;
    e.check = text.substr(q, text.find('"', q) - q);
    out.push_back(e);
    pos = v;
  }
  return out;
}

}  // namespace

TEST_CASE("container golden files and broken corpus") {
  std::string dir = vectors_dir();
  std::vector<uint8_t> bytes;
  if (dir.empty() || !slurp(dir + "broken/manifest.json", bytes)) {
    std::printf("  (formats/testvectors not found; skipped)\n");
    return;
  }
  for (const char* name : {"v1.0-minimal.pcs", "v1.0-no-metadata.pcs", "v1.0-progressive.pcs", "v1.0-ancillary.pcs",
                           "v1.0-unused-bits.pcs", "v1.0-minor7.pcs", "v1.0-weights.pcs"}) {
    std::vector<uint8_t> f;
    REQUIRE(slurp(dir + name, f));
    CHECK(verify(f.data(), f.size()).ok());
    ContainerReader r(f.data(), f.size());
    for (size_t i = 0; i < r.entries().size(); ++i) r.payload(i);
  }
  auto expects = broken_manifest(std::string(bytes.begin(), bytes.end()));
  CHECK(expects.size() >= 30);
  for (const auto& e : expects) {
    // Metadata content (msgpack) is parsed above the C++ core.
    if (e.check == "metadata" && (e.code == int(ErrorCode::BadMetadata) || e.code == int(ErrorCode::LimitExceeded)))
      continue;
    std::vector<uint8_t> f;
    REQUIRE(slurp(dir + "broken/" + e.file, f));
    VerifyResult v = verify(f.data(), f.size());
    if (int(v.code) != e.code || v.check != e.check)
      std::fprintf(stderr, "%s: got %d/%s, manifest says %d/%s (%s)\n", e.file.c_str(), int(v.code), v.check.c_str(),
                   e.code, e.check.c_str(), v.message.c_str());
    CHECK(int(v.code) == e.code);
    CHECK(v.check == e.check);
  }
}

TEST_CASE("container stream limits on chunk count and metadata") {
  auto b = build();
  Limits few;
  few.max_chunks = 2;
  StreamParser sp(few);
  CHECK_THROWS_CODE(sp.feed(b.bytes.data(), b.bytes.size()), ErrorCode::LimitExceeded);
  size_t chunks = 0;
  for (auto& e : sp.take_events()) chunks += e.kind == StreamEvent::Kind::Chunk;
  CHECK(chunks == 2);  // the chunks before the limit are delivered
  CHECK_THROWS_CODE(ContainerReader(b.bytes.data(), b.bytes.size(), few), ErrorCode::LimitExceeded);
  Limits meta;
  meta.max_metadata_bytes = 4;
  StreamParser sp2(meta);
  CHECK_THROWS_CODE(sp2.feed(b.bytes.data(), 24), ErrorCode::LimitExceeded);
  CHECK(sp2.last_good_offset() == 0);
}

TEST_CASE("container data after the footer") {
  auto b = build();
  auto f = b.bytes;
  f.push_back(0);
  StreamParser sp;
  CHECK_THROWS_CODE(sp.feed(f.data(), f.size()), ErrorCode::BadLength);
  CHECK(sp.last_good_offset() == b.bytes.size());
  CHECK(verify(f.data(), f.size()).code == ErrorCode::Truncated);
}
