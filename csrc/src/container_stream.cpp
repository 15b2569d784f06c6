// StreamParser: incremental parsing of a progressive .pcs stream (spec 9, 11).
#include <cstring>

#include "container_internal.hpp"
#include "pcstream/container.hpp"
#include "pcstream/crc32c.hpp"

namespace pcstream {

using namespace container_detail;

StreamParser::StreamParser(const Limits& limits) : limits_(limits) {}

void StreamParser::raise(const Error& e) {
  failed_ = true;
  err_code_ = e.code();
  err_msg_ = e.what();
  err_offset_ = e.offset();
  throw e;
}

void StreamParser::feed(const uint8_t* p, size_t n) {
  if (failed_) throw Error(err_code_, err_msg_, err_offset_);
  if (n > limits_.max_total_bytes - fed_)
    raise(Error(ErrorCode::LimitExceeded, "stream exceeds max_total_bytes " + std::to_string(limits_.max_total_bytes),
                int64_t(fed_)));
  // Drop parsed bytes before growing the buffer; it then holds at most one
  // incomplete structure (bounded by the limits) plus the new input.
  if (head_ > 0 && (head_ == buf_.size() || head_ >= (size_t(1) << 16))) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
    base_ += head_;
    head_ = 0;
  }
  if (n) buf_.insert(buf_.end(), p, p + n);
  fed_ += n;
  try {
    parse();
  } catch (const Error& e) {
    raise(e);
  }
}

std::vector<StreamEvent> StreamParser::take_events() {
  std::vector<StreamEvent> out;
  out.swap(events_);
  return out;
}

void StreamParser::finish() {
  if (failed_) throw Error(err_code_, err_msg_, err_offset_);
  if (state_ == State::Done) return;
  static const char* where[] = {"signature", "file header", "metadata", "chunk header",
                                "chunk",     "index",       "footer",   ""};
  raise(Error(ErrorCode::Truncated,
              std::string("stream ends inside the ") + where[int(state_)] + " at offset " + std::to_string(pos()) +
                  "; last good offset " + std::to_string(last_good_),
              int64_t(last_good_)));
}

void StreamParser::parse() {
  for (;;) {
    switch (state_) {
      case State::Signature:
        if (!check_signature(cur(), avail())) return;
        state_ = State::Header;
        break;
      case State::Header:
        if (avail() < kFileHeaderSize) return;
        header_ = parse_file_header(cur(), kFileHeaderSize, limits_);
        consume(kFileHeaderSize);
        state_ = State::Metadata;
        break;
      case State::Metadata: {
        if (avail() < header_.metadata_length) return;
        check_metadata(header_, cur(), header_.metadata_length);
        StreamEvent ev;
        ev.kind = StreamEvent::Kind::Metadata;
        ev.offset = pos();
        ev.payload.assign(cur(), cur() + header_.metadata_length);
        events_.push_back(std::move(ev));
        consume(header_.metadata_length);
        last_good_ = pos();
        state_ = State::ChunkHeader;
        break;
      }
      case State::ChunkHeader: {
        if (avail() < kChunkHeaderSize) return;
        int64_t at = int64_t(pos());
        pending_ = parse_chunk_header(cur(), kChunkHeaderSize, at, limits_);
        if (pending_.type == kTypeIndx) {
          if (!pending_.critical || pending_.codec_id != 0 || pending_.codec_version != kIndexCodecVersion)
            fail(ErrorCode::BadIndex, "INDX chunk has wrong flags or codec", at);
          if (pending_.payload_length % kIndexEntrySize)
            fail(ErrorCode::BadLength, "INDX payload not a multiple of 96", at);
          if (pending_.payload_length / kIndexEntrySize != seen_.size() || pending_.point_count != seen_.size())
            fail(ErrorCode::BadIndex, "INDX lists " + std::to_string(pending_.payload_length / kIndexEntrySize) +
                     " chunks but the stream had " + std::to_string(seen_.size()), at);
          state_ = State::IndexBody;
        } else {
          if (seen_.size() >= limits_.max_chunks)
            fail(ErrorCode::LimitExceeded, "stream has more than max_chunks chunks", at);
          pending_known_ = check_chunk_type(pending_, at);
          state_ = State::ChunkBody;
        }
        break;
      }
      case State::ChunkBody: {
        uint64_t total = chunk_total_size(pending_);
        if (avail() < total) return;
        int64_t at = int64_t(pos());
        size_t n = size_t(total);
        if (crc32c(cur(), n - 4) != load_u32(cur() + n - 4))
          fail(ErrorCode::ChecksumMismatch, "chunk '" + chunk_type_name(pending_.type) + "' CRC32C mismatch", at);
        check_order(order_, pending_, at);
        IndexEntry e;
        e.offset = pos();
        e.info = pending_;
        std::memcpy(e.raw.data(), cur(), kChunkFieldsSize);
        seen_.push_back(e);
        if (pending_known_) {
          StreamEvent ev;
          ev.kind = StreamEvent::Kind::Chunk;
          ev.offset = pos();
          ev.info = pending_;
          ev.payload.assign(cur() + kChunkHeaderSize, cur() + kChunkHeaderSize + pending_.payload_length);
          events_.push_back(std::move(ev));
        }
        consume(n);
        last_good_ = pos();
        state_ = State::ChunkHeader;
        break;
      }
      case State::IndexBody: {
        uint64_t total = chunk_total_size(pending_);
        if (avail() < total) return;
        int64_t at = int64_t(pos());
        size_t n = size_t(total);
        if (crc32c(cur(), n - 4) != load_u32(cur() + n - 4))
          fail(ErrorCode::ChecksumMismatch, "index chunk CRC32C mismatch", at);
        for (size_t i = 0; i < seen_.size(); ++i) {
          const uint8_t* e = cur() + kChunkHeaderSize + i * kIndexEntrySize;
          uint64_t off = uint64_t(load_u32(e)) | (uint64_t(load_u32(e + 4)) << 32);
          if (off != seen_[i].offset || std::memcmp(e + 8, seen_[i].raw.data(), kChunkFieldsSize) != 0)
            fail(ErrorCode::BadIndex, "index entry " + std::to_string(i) + " disagrees with the chunk at offset " +
                     std::to_string(seen_[i].offset), at + int64_t(kChunkHeaderSize + i * kIndexEntrySize));
        }
        index_offset_ = pos();
        consume(n);
        last_good_ = pos();
        state_ = State::Footer;
        break;
      }
      case State::Footer: {
        if (avail() < kFooterSize) return;
        Footer f = parse_footer(cur(), kFooterSize, pos() + kFooterSize, limits_, ErrorCode::BadIndex);
        if (f.index_offset != index_offset_ || f.entry_count != seen_.size())
          fail(ErrorCode::BadIndex, "footer disagrees with the index chunk", int64_t(pos()));
        consume(kFooterSize);
        last_good_ = pos();
        StreamEvent ev;
        ev.kind = StreamEvent::Kind::End;
        ev.offset = pos();
        events_.push_back(std::move(ev));
        state_ = State::Done;
        break;
      }
      case State::Done:
        if (avail() > 0) fail(ErrorCode::BadLength, "data after the .pcs footer", int64_t(pos()));
        return;
    }
  }
}

}  // namespace pcstream
