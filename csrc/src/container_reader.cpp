// ContainerReader: random access over a complete .pcs file in memory.
#include "pcstream/container.hpp"

namespace pcstream {

ContainerReader::ContainerReader(const uint8_t* data, size_t size, const Limits& limits)
    : data_(data), size_(size), limits_(limits) {
  if (size > limits.max_total_bytes)
    fail(ErrorCode::LimitExceeded, "file of " + std::to_string(size) + " bytes exceeds max_total_bytes", 0);
  header_ = parse_file_header(data, size, limits);
  footer_ = parse_footer(data + (size >= kFooterSize ? size - kFooterSize : 0), size >= kFooterSize ? kFooterSize : 0,
                         size, limits);
  if (header_.data_start() > footer_.index_offset)
    fail(ErrorCode::BadLength, "metadata length runs past the index", 12);
  check_metadata(header_, data + kFileHeaderSize, header_.metadata_length);
  entries_ = parse_index_chunk(data + footer_.index_offset, size_t(footer_.index_length), footer_,
                               header_.data_start(), limits);
}

std::pair<const uint8_t*, size_t> ContainerReader::payload(size_t i) const {
  if (i >= entries_.size()) fail(ErrorCode::InvalidArgument, "chunk index out of range");
  const IndexEntry& e = entries_[i];
  const uint8_t* p = data_ + e.offset;  // in range: the index was checked to be contiguous below index_offset
  size_t at = check_chunk_bytes(p, size_t(e.end() - e.offset), e, limits_);
  return {p + at, size_t(e.info.payload_length)};
}

}  // namespace pcstream
