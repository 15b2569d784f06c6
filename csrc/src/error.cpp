#include "pcstream/error.hpp"

namespace pcstream {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::Ok: return "Ok";
    case ErrorCode::Truncated: return "Truncated";
    case ErrorCode::BadSignature: return "BadSignature";
    case ErrorCode::UnsupportedVersion: return "UnsupportedVersion";
    case ErrorCode::ChecksumMismatch: return "ChecksumMismatch";
    case ErrorCode::BadLength: return "BadLength";
    case ErrorCode::ReservedBitsSet: return "ReservedBitsSet";
    case ErrorCode::UnknownCriticalChunk: return "UnknownCriticalChunk";
    case ErrorCode::BadIndex: return "BadIndex";
    case ErrorCode::BadMetadata: return "BadMetadata";
    case ErrorCode::CorruptPayload: return "CorruptPayload";
    case ErrorCode::UnsupportedCodec: return "UnsupportedCodec";
    case ErrorCode::ModelMismatch: return "ModelMismatch";
    case ErrorCode::LimitExceeded: return "LimitExceeded";
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::IoError: return "IoError";
    case ErrorCode::Internal: return "Internal";
  }
  return "Unknown";
}

void fail(ErrorCode code, const std::string& message, int64_t offset) {
  throw Error(code, message, offset);
}

}  // namespace pcstream
