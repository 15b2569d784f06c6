#include "pcstream/geometry_learned_prior.hpp"

#include <string>

#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/sha256.hpp"

namespace pcstream::learned {
namespace {
constexpr uint8_t kMagic[4] = {'P', 'C', 'S', 'P'};
constexpr uint8_t kVersion = 1;
constexpr int kMinHashBits = 12, kMaxHashBits = 22;
}  // namespace

// Layout: magic, version, hash bits, table count; per table the entry count,
// then the slot gaps (varints), the probabilities (u16) and the counts (u8) as
// three runs, which general-purpose compressors shrink well.
std::vector<uint8_t> write_context_prior(ContextPrior& p) {
  if (p.hash_bits < kMinHashBits || p.hash_bits > kMaxHashBits)
    fail(ErrorCode::InvalidArgument, "context prior: hash bits must be in [12, 22]");
  ByteWriter w;
  w.bytes(kMagic, 4);
  w.u8(kVersion);
  w.u8(static_cast<uint8_t>(p.hash_bits));
  w.u8(ContextPrior::kTables);
  for (const auto& t : p.tables) {
    w.varint(t.size());
    uint64_t next = 0;
    for (const auto& e : t) {
      if (e.slot < next || e.slot >> p.hash_bits)
        fail(ErrorCode::InvalidArgument, "context prior: slots must increase and fit the hash bits");
      w.varint(e.slot - next);
      next = uint64_t{e.slot} + 1;
    }
    for (const auto& e : t) w.u16(e.q);
    for (const auto& e : t) w.u8(e.n);
  }
  std::vector<uint8_t> out = w.bytes();
  p.digest = sha256(out.data(), out.size());
  return out;
}

ContextPrior parse_context_prior(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  const uint8_t* magic = r.take(4, "context prior magic");
  for (int i = 0; i < 4; ++i)
    if (magic[i] != kMagic[i]) fail(ErrorCode::BadSignature, "not a context prior (magic PCSP)", 0);
  const uint8_t version = r.u8("context prior version");
  if (version != kVersion)
    fail(ErrorCode::UnsupportedVersion, "context prior version " + std::to_string(version) + " is not supported", 4);
  ContextPrior p;
  p.hash_bits = r.u8("context prior hash bits");
  if (p.hash_bits < kMinHashBits || p.hash_bits > kMaxHashBits)
    fail(ErrorCode::CorruptPayload, "context prior: hash bits outside [12, 22]", 5);
  if (r.u8("context prior table count") != ContextPrior::kTables)
    fail(ErrorCode::CorruptPayload, "context prior: wrong table count", 6);
  const uint64_t slots = uint64_t{1} << p.hash_bits;
  for (auto& t : p.tables) {
    // Each entry takes at least 4 bytes (gap, q, n); no more entries than slots.
    const uint64_t count = r.checked_count(r.varint("context prior entry count"), 4, "context prior entries");
    if (count > slots) fail(ErrorCode::BadLength, "context prior: more entries than slots", r.offset());
    t.resize(count);
    uint64_t next = 0;
    for (auto& e : t) {
      const uint64_t slot = next + r.varint("context prior slot gap");
      if (slot >= slots) fail(ErrorCode::CorruptPayload, "context prior: slot out of range", r.offset());
      e.slot = static_cast<uint32_t>(slot);
      next = slot + 1;
    }
    r.require(3 * count, "context prior counters");
    for (auto& e : t) e.q = r.u16();
    for (auto& e : t) e.n = r.u8();
  }
  if (r.remaining() != 0) fail(ErrorCode::BadLength, "context prior: trailing bytes", r.offset());
  p.digest = sha256(data, size);
  return p;
}

}  // namespace pcstream::learned
