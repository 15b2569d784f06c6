#include <cstring>

#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/geometry_learned.hpp"

namespace pcstream::learned {

std::vector<uint8_t> write_header(const Header& h) {
  ByteWriter w;
  w.u8(h.prior     ? (h.adapted ? kHeaderVersionPriorAdapted : kHeaderVersionPrior)
       : h.mixed   ? (h.adapted ? kHeaderVersionMixedAdapted : kHeaderVersionMixed)
       : h.refined ? (h.adapted ? kHeaderVersionRefinedAdapted : kHeaderVersionRefined)
                   : (h.adapted ? kHeaderVersionAdapted : kHeaderVersion));
  w.u8(static_cast<uint8_t>(h.depth));
  w.u8(static_cast<uint8_t>(h.learned_start));
  w.u8(static_cast<uint8_t>(h.model_id.size()));
  w.bytes(reinterpret_cast<const uint8_t*>(h.model_id.data()), h.model_id.size());
  w.bytes(h.model_hash.data(), h.model_hash.size());
  w.varint(h.point_count);
  if (h.adapted) w.bytes(h.adapt_digest.data(), h.adapt_digest.size());
  if (h.prior) w.bytes(h.prior_digest.data(), h.prior_digest.size());
  return w.bytes();
}

Header parse_header(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  uint8_t version = r.u8("learned header version");
  if (version < kHeaderVersion || version > kHeaderVersionPriorAdapted)
    fail(ErrorCode::UnsupportedCodec, "learned geometry header version " + std::to_string(version) + " is not supported", 0);
  Header h;
  h.depth = r.u8("depth");
  if (h.depth < 1 || h.depth > kMaxDepth) fail(ErrorCode::CorruptPayload, "learned geometry: depth out of range", 1);
  h.learned_start = r.u8("learned start");
  if (h.learned_start < 1 || h.learned_start > h.depth)
    fail(ErrorCode::CorruptPayload, "learned geometry: learned start level out of range", 2);
  uint8_t id_len = r.u8("model id length");
  if (id_len == 0 || id_len > 64) fail(ErrorCode::CorruptPayload, "learned geometry: bad model id length", 3);
  const uint8_t* id = r.take(id_len, "model id");
  h.model_id.assign(reinterpret_cast<const char*>(id), id_len);
  std::memcpy(h.model_hash.data(), r.take(32, "model hash"), 32);
  h.point_count = r.varint("point count");
  h.refined = version == kHeaderVersionRefined || version == kHeaderVersionRefinedAdapted;
  h.prior = version == kHeaderVersionPrior || version == kHeaderVersionPriorAdapted;
  h.mixed = h.prior || version == kHeaderVersionMixed || version == kHeaderVersionMixedAdapted;
  // Even versions carry the adaptation digest.
  if (version % 2 == 0) {
    h.adapted = true;
    std::memcpy(h.adapt_digest.data(), r.take(32, "adaptation digest"), 32);
  }
  if (h.prior) std::memcpy(h.prior_digest.data(), r.take(32, "context prior digest"), 32);
  if (r.remaining() != 0) fail(ErrorCode::BadLength, "learned geometry header: trailing bytes", r.offset());
  return h;
}

}  // namespace pcstream::learned
