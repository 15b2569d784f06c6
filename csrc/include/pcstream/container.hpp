// The .pcs container, version 1 (normative spec: formats/pcs-v1.md).
//
// Pieces, each usable on its own:
//  - encoders for the fixed structures (file start, chunk, footer) and
//    ContainerWriter, which emits a file front to back without seeking;
//  - parse_* functions that validate one structure from untrusted bytes
//    (complete-file mode, used by random-access readers);
//  - ContainerReader: random access over a complete file held in memory;
//  - StreamParser: incremental parser for progressive streams;
//  - verify(): checks every CRC, the index and the chunk order.
//
// Errors: every function that reads untrusted bytes throws pcstream::Error
// with the codes of formats/pcs-v1.md section 12 and the file offset where the
// problem was detected; lengths are checked against limits and bytes present
// before anything is allocated from them. Writers throw InvalidArgument for
// caller mistakes.
//
// Thread safety: free functions are reentrant; objects (writer, reader,
// parser) must not be used from two threads at once. ContainerReader only
// views its buffer, which must outlive it.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pcstream/error.hpp"

namespace pcstream {

inline constexpr uint8_t kPcsMajor = 1;
inline constexpr uint16_t kPcsMinor = 0;
inline constexpr size_t kSignatureSize = 8;
inline constexpr size_t kFileHeaderSize = 24;   // signature + 16-byte header
inline constexpr size_t kChunkHeaderSize = 96;
inline constexpr size_t kChunkFieldsSize = 88;  // header bytes copied into index entries
inline constexpr size_t kChunkCrcSize = 4;
inline constexpr size_t kIndexEntrySize = 96;
inline constexpr size_t kFooterSize = 32;
inline constexpr uint16_t kIndexCodecVersion = 1;

// Signature of the major version this library writes, and the footer magic.
extern const uint8_t kPcsSignature[8];
extern const uint8_t kPcsFooterMagic[8];

using ChunkType = std::array<uint8_t, 4>;
// Last (level_lo, level_hi) per (type, stream_id): state of the progressive
// order rule 1 of spec section 9.
using LevelOrderState = std::map<std::pair<uint32_t, uint32_t>, std::pair<uint8_t, uint8_t>>;
ChunkType chunk_type(const char* four_chars);  // precondition: 4 readable chars
std::string chunk_type_name(const ChunkType& t);  // printable, non-ASCII escaped
extern const ChunkType kTypeGeom, kTypeAttr, kTypeWght, kTypeSplt, kTypeIndx;
// The chunk types this library knows (spec section 6.2).
bool is_known_chunk_type(const ChunkType& t) noexcept;

// Decoder limits (spec section 11). The defaults are safe for untrusted input.
struct Limits {
  uint64_t max_points = uint64_t(1) << 28;
  uint64_t max_chunk_bytes = uint64_t(1) << 30;
  uint64_t max_total_bytes = uint64_t(1) << 36;
  uint32_t max_depth = 30;
  uint64_t max_metadata_bytes = uint64_t(1) << 24;
  uint64_t max_chunks = uint64_t(1) << 20;
  uint64_t max_decoded_bytes = uint64_t(1) << 34;
};

// Header fields of one chunk (spec section 6.1), minus the CRCs.
struct ChunkInfo {
  ChunkType type{};
  bool critical = true;
  bool has_bounds = false;
  uint8_t unused_flags = 0;  // flag bits 8-15: kept as read, ignored
  uint16_t codec_id = 0;
  uint16_t codec_version = 0;
  uint8_t level_lo = 0;
  uint8_t level_hi = 0;
  uint32_t stream_id = 0;
  uint64_t payload_length = 0;
  uint64_t point_count = 0;
  uint64_t decoded_size = 0;
  std::array<double, 6> bounds{};  // xmin,ymin,zmin,xmax,ymax,zmax; valid iff has_bounds
};

// Bytes of a whole chunk (header + payload + CRC). Precondition: the
// payload_length was validated (no overflow).
inline uint64_t chunk_total_size(const ChunkInfo& c) {
  return kChunkHeaderSize + c.payload_length + kChunkCrcSize;
}

struct FileHeader {
  uint8_t major = kPcsMajor;
  uint16_t minor = kPcsMinor;
  uint16_t flags = 0;
  uint32_t metadata_length = 0;
  uint32_t metadata_crc = 0;
  uint64_t data_start() const { return kFileHeaderSize + uint64_t(metadata_length); }
};

struct Footer {
  uint64_t index_offset = 0;
  uint64_t index_length = 0;
  uint32_t entry_count = 0;
};

struct IndexEntry {
  uint64_t offset = 0;  // file offset of the chunk header
  ChunkInfo info;
  std::array<uint8_t, kChunkFieldsSize> raw{};  // header bytes 0..87 as stored
  uint64_t end() const { return offset + chunk_total_size(info); }
};

// ---------------------------------------------------------------- encoding

// Signature + file header + metadata. Throws InvalidArgument if the metadata
// exceeds 2^32-1 bytes.
std::vector<uint8_t> encode_file_start(const uint8_t* metadata, size_t n, uint16_t minor = kPcsMinor);
// The 96-byte chunk header of `info` (payload_length taken from info).
// Throws InvalidArgument for values a writer must not write (spec 6.1).
std::array<uint8_t, kChunkHeaderSize> encode_chunk_header(const ChunkInfo& info);
std::array<uint8_t, kFooterSize> encode_footer(const Footer& f);

// Emits a file as a sequence of byte blocks, front to back, never seeking
// (spec section 10.1). Call begin() once, add_chunk() per chunk, finish() once;
// write the returned blocks in order. add_chunk enforces the progressive order
// rules 1 and 2 of section 9 (InvalidArgument otherwise): per stream, levels
// never decrease; a non-GEOM chunk for level L >= 1 needs the GEOM chunk of
// level L before it whenever the file has GEOM chunks.
class ContainerWriter {
 public:
  std::vector<uint8_t> begin(const uint8_t* metadata, size_t n);
  // Sets info.payload_length = n. Returns header + payload + CRC.
  std::vector<uint8_t> add_chunk(ChunkInfo info, const uint8_t* payload, size_t n);
  // Same without copying the payload: write header, then the payload, then crc.
  struct Frame {
    std::array<uint8_t, kChunkHeaderSize> header;
    std::array<uint8_t, kChunkCrcSize> crc;
  };
  Frame frame_chunk(ChunkInfo info, const uint8_t* payload, size_t n);
  // The INDX chunk and the footer.
  std::vector<uint8_t> finish();
  uint64_t bytes_written() const { return offset_; }
  const std::vector<IndexEntry>& entries() const { return entries_; }

 private:
  enum class State { Fresh, Open, Finished } state_ = State::Fresh;
  uint64_t offset_ = 0;
  std::vector<IndexEntry> entries_;
  LevelOrderState order_;
  int geom_max_ = -1;  // highest GEOM level_hi written so far
  int unmet_ = 0;      // highest level a non-GEOM chunk needed before any GEOM was written
};

// ----------------------------------------------------------------- parsing

// Checks the first min(n, 8) bytes against the signature: BadSignature or
// UnsupportedVersion when wrong; returns false when fewer than 8 bytes are
// present but they are a valid prefix, true when the signature is complete.
bool check_signature(const uint8_t* p, size_t n);
// Signature and file header from the first `n` bytes of a file (Truncated if
// n < 24). Checks header CRC, reserved bits and metadata_length against the
// limit. Does not read the metadata.
FileHeader parse_file_header(const uint8_t* p, size_t n, const Limits& limits);
// ChecksumMismatch unless CRC32C(metadata) == h.metadata_crc; BadLength if n
// differs from h.metadata_length.
void check_metadata(const FileHeader& h, const uint8_t* metadata, size_t n);
// One chunk header (96 bytes at p, file offset `offset`): header CRC,
// reserved bits, ranges, limits (spec 6.1 rules 1-4). Does not look at the type.
ChunkInfo parse_chunk_header(const uint8_t* p, size_t n, int64_t offset, const Limits& limits);
// Rule 6: UnknownCriticalChunk (message names the type) for unknown critical
// types; returns true for known types, false for unknown ancillary ones.
bool check_chunk_type(const ChunkInfo& c, int64_t offset);
// Footer from the last 32 bytes of a file of `file_size` bytes. A missing
// footer magic throws `missing_magic` (Truncated for files, BadIndex for
// streams, where the footer position is known).
Footer parse_footer(const uint8_t* p, size_t n, uint64_t file_size, const Limits& limits,
                    ErrorCode missing_magic = ErrorCode::Truncated);
// The INDX chunk (index_length bytes at file offset footer.index_offset):
// header, CRC, entries, contiguity from data_start to index_offset, order.
std::vector<IndexEntry> parse_index_chunk(const uint8_t* p, size_t n, const Footer& footer,
                                          uint64_t data_start, const Limits& limits);
// A whole chunk (n == entry.end() - entry.offset bytes) read through the
// index: header CRC, equality with the entry (BadIndex), chunk CRC.
// Returns the offset of the payload within p.
size_t check_chunk_bytes(const uint8_t* p, size_t n, const IndexEntry& entry, const Limits& limits);

// --------------------------------------------------------- random access

// Complete-file reader over bytes in memory: header, metadata CRC, footer and
// index are validated by the constructor; payloads on demand.
class ContainerReader {
 public:
  ContainerReader(const uint8_t* data, size_t size, const Limits& limits = Limits());
  const FileHeader& header() const { return header_; }
  const uint8_t* metadata() const { return data_ + kFileHeaderSize; }
  size_t metadata_size() const { return header_.metadata_length; }
  const Footer& footer() const { return footer_; }
  const std::vector<IndexEntry>& entries() const { return entries_; }
  // Payload of entry i after checking its chunk (InvalidArgument if i is out of range).
  std::pair<const uint8_t*, size_t> payload(size_t i) const;

 private:
  const uint8_t* data_;
  size_t size_;
  Limits limits_;
  FileHeader header_;
  Footer footer_;
  std::vector<IndexEntry> entries_;
};

// --------------------------------------------------------------- streaming

struct StreamEvent {
  enum class Kind { Metadata, Chunk, End };
  Kind kind = Kind::Metadata;
  uint64_t offset = 0;           // file offset of the structure
  ChunkInfo info;                // Chunk events
  std::vector<uint8_t> payload;  // metadata bytes or chunk payload
};

// Incremental parser (streaming mode, spec section 11). Feed bytes in file
// order in pieces of any size; complete metadata and known chunks come out
// as events in order (unknown ancillary chunks are checked and skipped).
// The first error is thrown by feed()/finish() and is sticky: every later
// call rethrows it; events parsed before it stay available in take_events().
class StreamParser {
 public:
  explicit StreamParser(const Limits& limits = Limits());
  void feed(const uint8_t* p, size_t n);
  std::vector<StreamEvent> take_events();
  // Declares the end of the input: throws Truncated (offset = last good
  // offset) unless the footer has been parsed.
  void finish();
  // File offset just past the last complete structure (0 before the metadata).
  uint64_t last_good_offset() const { return last_good_; }
  uint64_t bytes_fed() const { return fed_; }
  bool done() const { return state_ == State::Done; }
  const FileHeader& header() const { return header_; }
  // Chunks seen so far (all of them, in order), as index entries.
  const std::vector<IndexEntry>& chunks() const { return seen_; }

 private:
  enum class State { Signature, Header, Metadata, ChunkHeader, ChunkBody, IndexBody, Footer, Done };
  void parse();
  [[noreturn]] void raise(const Error& e);
  size_t avail() const { return buf_.size() - head_; }
  const uint8_t* cur() const { return buf_.data() + head_; }
  uint64_t pos() const { return base_ + head_; }
  void consume(size_t n) { head_ += n; }

  Limits limits_;
  State state_ = State::Signature;
  std::vector<uint8_t> buf_;
  size_t head_ = 0;     // bytes of buf_ already parsed
  uint64_t base_ = 0;   // file offset of buf_[0]
  uint64_t fed_ = 0;
  uint64_t last_good_ = 0;
  FileHeader header_;
  ChunkInfo pending_;   // header of the chunk whose body is awaited
  bool pending_known_ = false;
  std::vector<IndexEntry> seen_;
  LevelOrderState order_;
  uint64_t index_offset_ = 0;
  bool failed_ = false;
  ErrorCode err_code_ = ErrorCode::Ok;
  std::string err_msg_;
  int64_t err_offset_ = -1;
  std::vector<StreamEvent> events_;
};

// ------------------------------------------------------------------ verify

struct VerifyResult {
  ErrorCode code = ErrorCode::Ok;  // Ok when every check passed
  std::string check;               // failed check (spec 11.1), empty when ok
  std::string message;
  int64_t offset = -1;
  uint64_t chunks = 0;             // data chunks walked
  bool ok() const { return code == ErrorCode::Ok; }
};
// Complete-file check of everything (spec 11.1). Never throws for bad input.
VerifyResult verify(const uint8_t* data, size_t size, const Limits& limits = Limits());

}  // namespace pcstream
