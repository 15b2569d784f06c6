// ContainerWriter: emits a .pcs file front to back (spec section 10.1).
#include <cstring>

#include "container_internal.hpp"
#include "pcstream/byte_io.hpp"
#include "pcstream/container.hpp"
#include "pcstream/crc32c.hpp"

namespace pcstream {

using namespace container_detail;

std::vector<uint8_t> ContainerWriter::begin(const uint8_t* metadata, size_t n) {
  if (state_ != State::Fresh) fail(ErrorCode::InvalidArgument, "ContainerWriter::begin called twice");
  std::vector<uint8_t> out = encode_file_start(metadata, n);
  state_ = State::Open;
  offset_ = out.size();
  return out;
}

std::vector<uint8_t> ContainerWriter::add_chunk(ChunkInfo info, const uint8_t* payload, size_t n) {
  Frame f = frame_chunk(info, payload, n);
  std::vector<uint8_t> out(kChunkHeaderSize + n + kChunkCrcSize);
  std::memcpy(out.data(), f.header.data(), kChunkHeaderSize);
  if (n) std::memcpy(out.data() + kChunkHeaderSize, payload, n);
  std::memcpy(out.data() + kChunkHeaderSize + n, f.crc.data(), kChunkCrcSize);
  return out;
}

ContainerWriter::Frame ContainerWriter::frame_chunk(ChunkInfo info, const uint8_t* payload, size_t n) {
  if (state_ != State::Open) fail(ErrorCode::InvalidArgument, "ContainerWriter::add_chunk outside begin()..finish()");
  for (uint8_t b : info.type)
    if (!((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')))
      fail(ErrorCode::InvalidArgument, "chunk type '" + chunk_type_name(info.type) + "' must be 4 ASCII letters or digits");
  if (info.type == kTypeIndx) fail(ErrorCode::InvalidArgument, "chunk type INDX is reserved for the index");
  if (entries_.size() >= UINT32_MAX) fail(ErrorCode::InvalidArgument, "too many chunks");
  info.payload_length = n;
  if (!info.has_bounds) info.bounds = {};
  auto header = encode_chunk_header(info);
  // Progressive order rule 2: attributes follow the geometry of their level.
  bool is_geom = info.type == kTypeGeom;
  bool needs_geom = !is_geom && info.level_hi >= 1 && int(info.level_hi) > geom_max_;
  if (is_geom && geom_max_ < 0 && unmet_ > 0)
    fail(ErrorCode::InvalidArgument, "a chunk for level " + std::to_string(unmet_) +
             " was added before any GEOM chunk; add geometry before the chunks that refer to its levels");
  if (needs_geom && geom_max_ >= 0)
    fail(ErrorCode::InvalidArgument, "chunk '" + chunk_type_name(info.type) + "' for level " +
             std::to_string(info.level_hi) + " added before the GEOM chunk of that level");
  // Progressive order rule 1 (spec section 9); a violation is the caller's mistake.
  try {
    check_order(order_, info, int64_t(offset_));
  } catch (const Error& e) {
    fail(ErrorCode::InvalidArgument, std::string(e.what()) + "; add chunks coarse level first");
  }
  if (needs_geom && info.level_hi > unmet_) unmet_ = info.level_hi;
  if (is_geom && int(info.level_hi) > geom_max_) geom_max_ = info.level_hi;
  Frame f;
  f.header = header;
  store_u32(f.crc.data(), crc32c_extend(crc32c(header.data(), header.size()), payload, n));
  IndexEntry e;
  e.offset = offset_;
  e.info = info;
  std::memcpy(e.raw.data(), header.data(), kChunkFieldsSize);
  entries_.push_back(e);
  offset_ += kChunkHeaderSize + uint64_t(n) + kChunkCrcSize;
  return f;
}

std::vector<uint8_t> ContainerWriter::finish() {
  if (state_ != State::Open) fail(ErrorCode::InvalidArgument, "ContainerWriter::finish outside begin()..finish()");
  ChunkInfo idx;
  idx.type = kTypeIndx;
  idx.critical = true;
  idx.codec_id = 0;
  idx.codec_version = kIndexCodecVersion;
  idx.payload_length = kIndexEntrySize * entries_.size();
  idx.point_count = entries_.size();
  idx.decoded_size = idx.payload_length;
  auto header = encode_chunk_header(idx);
  ByteWriter w;
  w.bytes(header.data(), header.size());
  for (const auto& e : entries_) {
    w.u64(e.offset);
    w.bytes(e.raw.data(), e.raw.size());
  }
  w.u32(crc32c(w.bytes().data(), w.size()));
  Footer f;
  f.index_offset = offset_;
  f.index_length = w.size();
  f.entry_count = uint32_t(entries_.size());
  auto footer = encode_footer(f);
  w.bytes(footer.data(), footer.size());
  offset_ += w.size();
  state_ = State::Finished;
  return std::move(w.bytes());
}

}  // namespace pcstream
