// Encoding and validation of the fixed .pcs structures (formats/pcs-v1.md).
#include <cmath>
#include <cstring>

#include "container_internal.hpp"
#include "pcstream/byte_io.hpp"
#include "pcstream/container.hpp"
#include "pcstream/crc32c.hpp"

namespace pcstream {

using namespace container_detail;

const uint8_t kPcsSignature[8] = {0x80 | kPcsMajor, 'P', 'C', 'S', 0x0D, 0x0A, 0x1A, 0x0A};
const uint8_t kPcsFooterMagic[8] = {0x81, 'P', 'C', 'S', 'E', 'N', 'D', 0x0A};

ChunkType chunk_type(const char* s) {
  return ChunkType{uint8_t(s[0]), uint8_t(s[1]), uint8_t(s[2]), uint8_t(s[3])};
}
const ChunkType kTypeGeom = chunk_type("GEOM");
const ChunkType kTypeAttr = chunk_type("ATTR");
const ChunkType kTypeWght = chunk_type("WGHT");
const ChunkType kTypeSplt = chunk_type("SPLT");
const ChunkType kTypeIndx = chunk_type("INDX");

std::string chunk_type_name(const ChunkType& t) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : t) {
    if (b >= 0x20 && b < 0x7F && b != '\\') {
      s.push_back(char(b));
    } else {
      s += "\\x";
      s.push_back(hex[b >> 4]);
      s.push_back(hex[b & 15]);
    }
  }
  return s;
}

bool is_known_chunk_type(const ChunkType& t) noexcept {
  return t == kTypeGeom || t == kTypeAttr || t == kTypeWght || t == kTypeSplt || t == kTypeIndx;
}

namespace container_detail {

uint64_t checked_add(uint64_t a, uint64_t b, int64_t offset) {
  if (a > UINT64_MAX - b) fail(ErrorCode::BadLength, "length overflows 64 bits", offset);
  return a + b;
}

uint32_t type_key(const ChunkType& t) { return load_u32(t.data()); }

void check_order(LevelOrderState& last_, const ChunkInfo& c, int64_t offset) {
  auto key = std::make_pair(type_key(c.type), c.stream_id);
  auto it = last_.find(key);
  if (it != last_.end() && (c.level_lo < it->second.first || c.level_hi < it->second.second))
    fail(ErrorCode::BadIndex,
         "chunk '" + chunk_type_name(c.type) + "' stream " + std::to_string(c.stream_id) + " levels " +
             std::to_string(c.level_lo) + ".." + std::to_string(c.level_hi) +
             " come after finer levels: not progressive order",
         offset);
  last_[key] = {c.level_lo, c.level_hi};
}

}  // namespace container_detail

namespace {

void check_bounds_valid(const ChunkInfo& c, ErrorCode code, int64_t offset) {
  if (!c.has_bounds) return;
  for (double v : c.bounds)
    if (!std::isfinite(v)) fail(code, "chunk bounds are not finite", offset);
  for (int a = 0; a < 3; ++a)
    if (c.bounds[a] > c.bounds[a + 3]) fail(code, "chunk bounds have min > max", offset);
}

// Fields 0..87 of a chunk header (no CRC, no validation).
ChunkInfo decode_fields(const uint8_t* p) {
  ByteReader r(p, kChunkFieldsSize);
  ChunkInfo c;
  std::memcpy(c.type.data(), r.take(4, "type"), 4);
  uint16_t flags = r.u16();
  c.critical = flags & 1u;
  c.has_bounds = (flags >> 1) & 1u;
  c.unused_flags = uint8_t(flags >> 8);
  c.codec_id = r.u16();
  c.codec_version = r.u16();
  c.level_lo = r.u8();
  c.level_hi = r.u8();
  c.stream_id = r.u32();
  c.payload_length = r.u64();
  c.point_count = r.u64();
  c.decoded_size = r.u64();
  for (auto& b : c.bounds) b = r.f64();
  return c;
}

// Rules 2-4 of spec 6.1 on decoded fields (`flags` as stored).
void validate_fields(const ChunkInfo& c, uint16_t flags, int64_t offset, const Limits& L) {
  if (flags & 0x00FCu)
    fail(ErrorCode::ReservedBitsSet, "chunk '" + chunk_type_name(c.type) + "': reserved flag bits set", offset);
  if (c.level_lo > c.level_hi)
    fail(ErrorCode::BadLength, "chunk level_lo > level_hi", offset);
  check_bounds_valid(c, ErrorCode::BadLength, offset);
  if (c.payload_length > L.max_chunk_bytes)
    fail(ErrorCode::LimitExceeded, "chunk payload of " + std::to_string(c.payload_length) +
             " bytes exceeds max_chunk_bytes " + std::to_string(L.max_chunk_bytes), offset);
  if (c.point_count > L.max_points)
    fail(ErrorCode::LimitExceeded, "chunk claims " + std::to_string(c.point_count) +
             " points, above max_points " + std::to_string(L.max_points), offset);
  if (c.level_hi > L.max_depth)
    fail(ErrorCode::LimitExceeded, "chunk level " + std::to_string(c.level_hi) + " exceeds max_depth " +
             std::to_string(L.max_depth), offset);
  if (c.decoded_size > L.max_decoded_bytes)
    fail(ErrorCode::LimitExceeded, "chunk decoded size " + std::to_string(c.decoded_size) +
             " exceeds max_decoded_bytes", offset);
  // Keeps offset + chunk size arithmetic far from overflow whatever the limits.
  if (c.payload_length > (uint64_t(1) << 62)) fail(ErrorCode::BadLength, "chunk payload length absurd", offset);
}

uint16_t stored_flags(const uint8_t* p) { return uint16_t(p[4] | (p[5] << 8)); }

}  // namespace

// ----------------------------------------------------------------- encoding

std::vector<uint8_t> encode_file_start(const uint8_t* metadata, size_t n, uint16_t minor) {
  if (n > UINT32_MAX) fail(ErrorCode::InvalidArgument, "metadata larger than 4 GiB");
  ByteWriter w;
  w.bytes(kPcsSignature, 8);
  w.u16(minor);
  w.u16(0);  // flags
  w.u32(uint32_t(n));
  w.u32(crc32c(metadata, n));
  w.u32(crc32c(w.bytes().data(), w.size()));
  w.bytes(metadata, n);
  return std::move(w.bytes());
}

std::array<uint8_t, kChunkHeaderSize> encode_chunk_header(const ChunkInfo& c) {
  if (c.level_lo > c.level_hi) fail(ErrorCode::InvalidArgument, "chunk level_lo > level_hi");
  check_bounds_valid(c, ErrorCode::InvalidArgument, -1);
  ByteWriter w;
  w.bytes(c.type.data(), 4);
  w.u16(uint16_t((c.critical ? 1u : 0u) | (c.has_bounds ? 2u : 0u) | (uint16_t(c.unused_flags) << 8)));
  w.u16(c.codec_id);
  w.u16(c.codec_version);
  w.u8(c.level_lo);
  w.u8(c.level_hi);
  w.u32(c.stream_id);
  w.u64(c.payload_length);
  w.u64(c.point_count);
  w.u64(c.decoded_size);
  for (double b : c.bounds) w.f64(c.has_bounds ? b : 0.0);
  w.u32(0);  // unused
  w.u32(crc32c(w.bytes().data(), w.size()));
  std::array<uint8_t, kChunkHeaderSize> out;
  std::memcpy(out.data(), w.bytes().data(), kChunkHeaderSize);
  return out;
}

std::array<uint8_t, kFooterSize> encode_footer(const Footer& f) {
  ByteWriter w;
  w.u64(f.index_offset);
  w.u64(f.index_length);
  w.u32(f.entry_count);
  w.u32(crc32c(w.bytes().data(), w.size()));
  w.bytes(kPcsFooterMagic, 8);
  std::array<uint8_t, kFooterSize> out;
  std::memcpy(out.data(), w.bytes().data(), kFooterSize);
  return out;
}

// ------------------------------------------------------------------ parsing

bool check_signature(const uint8_t* p, size_t n) {
  size_t m = n < 8 ? n : 8;
  for (size_t i = 1; i < m; ++i)
    if (p[i] != kPcsSignature[i])
      fail(ErrorCode::BadSignature, "not a .pcs file (or damaged by a text-mode transfer): signature byte " +
               std::to_string(i) + " is wrong", int64_t(i));
  if (m >= 1 && !(p[0] & 0x80))
    fail(ErrorCode::BadSignature, "not a .pcs file (or damaged by a 7-bit transfer): signature byte 0 lacks its high bit", 0);
  if (m < 8) return false;
  if ((p[0] & 0x7F) != kPcsMajor)
    fail(ErrorCode::UnsupportedVersion, ".pcs major version " + std::to_string(p[0] & 0x7F) +
             " is not supported (this reader knows version " + std::to_string(kPcsMajor) + ")", 0);
  return true;
}

FileHeader parse_file_header(const uint8_t* p, size_t n, const Limits& L) {
  if (!check_signature(p, n) || n < kFileHeaderSize)
    fail(ErrorCode::Truncated, "file ends inside the .pcs header", int64_t(n));
  ByteReader r(p + 8, kFileHeaderSize - 8, 8);
  FileHeader h;
  h.major = p[0] & 0x7F;
  h.minor = r.u16();
  h.flags = r.u16();
  h.metadata_length = r.u32();
  h.metadata_crc = r.u32();
  uint32_t stored = r.u32();
  if (crc32c(p, 20) != stored) fail(ErrorCode::ChecksumMismatch, "file header CRC32C mismatch", 20);
  if (h.flags & 0x00FFu) fail(ErrorCode::ReservedBitsSet, "reserved file header flag bits set", 10);
  if (h.metadata_length > L.max_metadata_bytes)
    fail(ErrorCode::LimitExceeded, "metadata of " + std::to_string(h.metadata_length) +
             " bytes exceeds max_metadata_bytes " + std::to_string(L.max_metadata_bytes), 12);
  return h;
}

void check_metadata(const FileHeader& h, const uint8_t* metadata, size_t n) {
  if (n != h.metadata_length) fail(ErrorCode::BadLength, "metadata length mismatch", int64_t(kFileHeaderSize));
  if (crc32c(metadata, n) != h.metadata_crc)
    fail(ErrorCode::ChecksumMismatch, "metadata CRC32C mismatch", int64_t(kFileHeaderSize));
}

ChunkInfo parse_chunk_header(const uint8_t* p, size_t n, int64_t offset, const Limits& L) {
  if (n < kChunkHeaderSize) fail(ErrorCode::Truncated, "input ends inside a chunk header", offset + int64_t(n));
  if (crc32c(p, 92) != load_u32(p + 92))
    fail(ErrorCode::ChecksumMismatch, "chunk header CRC32C mismatch", offset);
  ChunkInfo c = decode_fields(p);
  validate_fields(c, stored_flags(p), offset, L);
  return c;
}

bool check_chunk_type(const ChunkInfo& c, int64_t offset) {
  if (is_known_chunk_type(c.type)) return true;
  if (c.critical)
    fail(ErrorCode::UnknownCriticalChunk,
         "unknown critical chunk type '" + chunk_type_name(c.type) + "' at offset " + std::to_string(offset), offset);
  return false;
}

Footer parse_footer(const uint8_t* p, size_t n, uint64_t file_size, const Limits& L, ErrorCode missing_magic) {
  int64_t at = int64_t(file_size) - int64_t(kFooterSize);
  if (n < kFooterSize || file_size < kFileHeaderSize + kFooterSize)
    fail(ErrorCode::Truncated, "file too short to hold a .pcs footer", int64_t(file_size));
  if (std::memcmp(p + 24, kPcsFooterMagic, 8) != 0)
    fail(missing_magic, "file does not end with a .pcs footer (truncated, or the writer never finished)", at);
  ByteReader r(p, 24, at);
  Footer f;
  f.index_offset = r.u64();
  f.index_length = r.u64();
  f.entry_count = r.u32();
  if (crc32c(p, 20) != r.u32()) fail(ErrorCode::ChecksumMismatch, "footer CRC32C mismatch", at);
  if (f.entry_count > L.max_chunks)
    fail(ErrorCode::LimitExceeded, "index lists " + std::to_string(f.entry_count) + " chunks, above max_chunks", at);
  if (f.index_length != kChunkHeaderSize + kIndexEntrySize * uint64_t(f.entry_count) + kChunkCrcSize)
    fail(ErrorCode::BadIndex, "footer index_length disagrees with its entry_count", at);
  if (f.index_offset > file_size || file_size - f.index_offset < kFooterSize ||
      file_size - f.index_offset - kFooterSize != f.index_length)
    fail(ErrorCode::BadIndex, "footer index_offset does not locate the index before the footer", at);
  return f;
}

std::vector<IndexEntry> parse_index_chunk(const uint8_t* p, size_t n, const Footer& f, uint64_t data_start,
                                          const Limits& L) {
  int64_t at = int64_t(f.index_offset);
  if (n != f.index_length) fail(ErrorCode::BadLength, "index chunk size disagrees with the footer", at);
  if (f.index_offset < data_start)
    fail(ErrorCode::BadLength, "metadata runs past the index offset", int64_t(kFileHeaderSize));
  ChunkInfo h = parse_chunk_header(p, n, at, L);
  if (h.type != kTypeIndx) fail(ErrorCode::BadIndex, "footer does not point at an INDX chunk", at);
  if (!h.critical || h.codec_id != 0 || h.codec_version != kIndexCodecVersion)
    fail(ErrorCode::BadIndex, "INDX chunk has wrong flags or codec", at);
  if (h.payload_length % kIndexEntrySize) fail(ErrorCode::BadLength, "INDX payload not a multiple of 96", at);
  if (h.payload_length / kIndexEntrySize != f.entry_count || h.point_count != f.entry_count ||
      h.payload_length + kChunkHeaderSize + kChunkCrcSize != n)
    fail(ErrorCode::BadIndex, "INDX entry count disagrees with the footer", at);
  if (crc32c(p, n - 4) != load_u32(p + n - 4)) fail(ErrorCode::ChecksumMismatch, "index chunk CRC32C mismatch", at);

  std::vector<IndexEntry> entries;
  entries.reserve(f.entry_count);  // bounded: count * 96 == bytes present
  LevelOrderState order;
  uint64_t expect = data_start;
  for (uint32_t i = 0; i < f.entry_count; ++i) {
    const uint8_t* e = p + kChunkHeaderSize + size_t(i) * kIndexEntrySize;
    int64_t eat = at + int64_t(kChunkHeaderSize + size_t(i) * kIndexEntrySize);
    IndexEntry ent;
    ent.offset = uint64_t(load_u32(e)) | (uint64_t(load_u32(e + 4)) << 32);
    std::memcpy(ent.raw.data(), e + 8, kChunkFieldsSize);
    ent.info = decode_fields(e + 8);
    validate_fields(ent.info, stored_flags(e + 8), eat, L);
    if (ent.offset != expect)
      fail(ErrorCode::BadIndex, "index entry " + std::to_string(i) + " offset " + std::to_string(ent.offset) +
               " is not where the previous chunk ends (" + std::to_string(expect) + ")", eat);
    if (ent.info.type == kTypeIndx) fail(ErrorCode::BadIndex, "index lists an INDX chunk", eat);
    check_chunk_type(ent.info, int64_t(ent.offset));
    check_order(order, ent.info, int64_t(ent.offset));
    expect = checked_add(expect, chunk_total_size(ent.info), eat);
    if (expect > f.index_offset)
      fail(ErrorCode::BadIndex, "index entry " + std::to_string(i) + " points past the index", eat);
    entries.push_back(ent);
  }
  if (expect != f.index_offset) fail(ErrorCode::BadIndex, "index entries do not reach the index chunk", at);
  return entries;
}

size_t check_chunk_bytes(const uint8_t* p, size_t n, const IndexEntry& e, const Limits& L) {
  int64_t at = int64_t(e.offset);
  if (n != chunk_total_size(e.info)) fail(ErrorCode::BadLength, "chunk byte count disagrees with the index", at);
  parse_chunk_header(p, n, at, L);
  if (std::memcmp(p, e.raw.data(), kChunkFieldsSize) != 0)
    fail(ErrorCode::BadIndex, "chunk header disagrees with its index entry", at);
  if (crc32c(p, n - 4) != load_u32(p + n - 4))
    fail(ErrorCode::ChecksumMismatch, "chunk '" + chunk_type_name(e.info.type) + "' CRC32C mismatch", at);
  return kChunkHeaderSize;
}

}  // namespace pcstream
