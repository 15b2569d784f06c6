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

// Layout: magic, version, hash bits, table count; per table the count of
// nonzero slots, their slot gaps (varints), then their values (int8), two
// runs that general-purpose compressors shrink well.
std::vector<uint8_t> write_context_prior(ContextPrior& p) {
  if (p.hash_bits < kMinHashBits || p.hash_bits > kMaxHashBits)
    fail(ErrorCode::InvalidArgument, "context prior: hash bits must be in [12, 22]");
  const size_t slots = size_t{1} << p.hash_bits;
  ByteWriter w;
  w.bytes(kMagic, 4);
  w.u8(kVersion);
  w.u8(static_cast<uint8_t>(p.hash_bits));
  w.u8(ContextPrior::kTables);
  for (const auto& t : p.st) {
    if (t.size() != slots) fail(ErrorCode::InvalidArgument, "context prior: a table has the wrong size");
    size_t count = 0;
    for (int8_t v : t) count += v != 0;
    w.varint(count);
    size_t next = 0;
    for (size_t i = 0; i < slots; ++i)
      if (t[i] != 0) {
        w.varint(i - next);
        next = i + 1;
      }
    for (int8_t v : t)
      if (v != 0) w.u8(static_cast<uint8_t>(v));
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
  std::vector<uint32_t> where;
  for (auto& t : p.st) {
    // Each nonzero slot takes at least 2 bytes (gap, value); no more of them than slots.
    const uint64_t count = r.checked_count(r.varint("context prior slot count"), 2, "context prior slots");
    if (count > slots) fail(ErrorCode::BadLength, "context prior: more values than slots", r.offset());
    where.resize(count);
    uint64_t next = 0;
    for (auto& s : where) {
      const uint64_t slot = next + r.varint("context prior slot gap");
      if (slot >= slots) fail(ErrorCode::CorruptPayload, "context prior: slot out of range", r.offset());
      s = static_cast<uint32_t>(slot);
      next = slot + 1;
    }
    const uint8_t* v = r.take(count, "context prior values");
    t.assign(slots, 0);
    for (size_t i = 0; i < count; ++i) t[where[i]] = static_cast<int8_t>(v[i]);
  }
  if (r.remaining() != 0) fail(ErrorCode::BadLength, "context prior: trailing bytes", r.offset());
  p.digest = sha256(data, size);
  return p;
}

}  // namespace pcstream::learned
