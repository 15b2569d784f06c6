// Stable, numbered error codes of the pcstream core.
//
// The numbers are part of the public contract (formats/pcs-v1.md, section
// "Error codes", and the Python exception hierarchy in pcstream/errors.py):
// never renumber or reuse a code; add new ones at the end of their block.
//
// Thread safety: everything here is immutable or value-typed.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pcstream {

enum class ErrorCode : int {
  Ok = 0,
  // 1..19: container / stream structure
  Truncated = 1,             // the stream ends before a structure it announces
  BadSignature = 2,          // not a .pcs file, or text-mode corrupted signature
  UnsupportedVersion = 3,    // container major version this reader does not know
  ChecksumMismatch = 4,      // CRC32C of a chunk, header or index is wrong
  BadLength = 5,             // a length or count is inconsistent with the bytes present
  ReservedBitsSet = 6,       // a reserved field is not zero
  UnknownCriticalChunk = 7,  // a critical chunk type this reader does not know
  BadIndex = 8,              // footer / index disagree with the chunks
  BadMetadata = 9,           // metadata block cannot be parsed or misses a field
  // 20..39: codec payloads
  CorruptPayload = 20,       // an entropy-coded payload decodes to impossible values
  UnsupportedCodec = 21,     // unknown codec id or codec version
  ModelMismatch = 22,        // learned model id / hash differ from the shipped model
  // 40..59: limits and arguments
  LimitExceeded = 40,        // a decoder limit (points, bytes, depth) would be exceeded
  InvalidArgument = 41,      // caller passed a value outside the documented range
  // 60..: environment
  IoError = 60,
  Internal = 99,
};

const char* error_code_name(ErrorCode code) noexcept;

// The one exception type the core throws. Carries a stable code and a
// human-readable message; `offset` is the byte offset in the input where the
// problem was detected, or -1 when unknown.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, int64_t offset = -1)
      : std::runtime_error(message), code_(code), offset_(offset) {}
  ErrorCode code() const noexcept { return code_; }
  int64_t offset() const noexcept { return offset_; }

 private:
  ErrorCode code_;
  int64_t offset_;
};

[[noreturn]] void fail(ErrorCode code, const std::string& message, int64_t offset = -1);

}  // namespace pcstream
