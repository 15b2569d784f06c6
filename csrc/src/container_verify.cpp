// verify(): complete-file check of a .pcs file (spec section 11.1).
#include <cstring>

#include "container_internal.hpp"
#include "pcstream/container.hpp"
#include "pcstream/crc32c.hpp"

namespace pcstream {

using namespace container_detail;

VerifyResult verify(const uint8_t* data, size_t size, const Limits& L) {
  VerifyResult r;
  const char* check = "signature";
  try {
    if (size > L.max_total_bytes)
      fail(ErrorCode::LimitExceeded, "file exceeds max_total_bytes", 0);
    if (!check_signature(data, size)) fail(ErrorCode::Truncated, "file ends inside the signature", int64_t(size));
    check = "header";
    FileHeader h = parse_file_header(data, size, L);
    check = "footer";
    Footer f = parse_footer(data + (size >= kFooterSize ? size - kFooterSize : 0), size >= kFooterSize ? kFooterSize : 0,
                            size, L);
    check = "header";
    if (h.data_start() > f.index_offset) fail(ErrorCode::BadLength, "metadata length runs past the index", 12);
    check = "metadata";
    check_metadata(h, data + kFileHeaderSize, h.metadata_length);

    // Walk the data chunks between the metadata and the index.
    std::vector<IndexEntry> walked;
    LevelOrderState order;
    uint64_t pos = h.data_start();
    while (pos < f.index_offset) {
      check = "chunk";
      int64_t at = int64_t(pos);
      if (f.index_offset - pos < kChunkHeaderSize)
        fail(ErrorCode::BadLength, "chunk header runs past the index", at);
      ChunkInfo c = parse_chunk_header(data + pos, kChunkHeaderSize, at, L);
      uint64_t total = chunk_total_size(c);
      if (total > f.index_offset - pos) fail(ErrorCode::BadLength, "chunk payload length runs past the index", at + 16);
      if (c.type == kTypeIndx) fail(ErrorCode::BadIndex, "INDX chunk before the index position", at);
      check_chunk_type(c, at);
      if (walked.size() >= L.max_chunks) fail(ErrorCode::LimitExceeded, "more than max_chunks chunks", at);
      const uint8_t* p = data + pos;
      size_t n = size_t(total);
      if (crc32c(p, n - 4) != load_u32(p + n - 4))
        fail(ErrorCode::ChecksumMismatch, "chunk '" + chunk_type_name(c.type) + "' CRC32C mismatch", at);
      check = "order";
      check_order(order, c, at);
      IndexEntry e;
      e.offset = pos;
      e.info = c;
      std::memcpy(e.raw.data(), p, kChunkFieldsSize);
      walked.push_back(e);
      pos += total;
    }

    check = "index";
    auto entries = parse_index_chunk(data + f.index_offset, size_t(f.index_length), f, h.data_start(), L);
    if (entries.size() != walked.size())
      fail(ErrorCode::BadIndex, "index lists " + std::to_string(entries.size()) + " chunks, file has " +
               std::to_string(walked.size()), int64_t(f.index_offset));
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i].offset != walked[i].offset || entries[i].raw != walked[i].raw)
        fail(ErrorCode::BadIndex, "index entry " + std::to_string(i) + " disagrees with its chunk",
             int64_t(walked[i].offset));

    // Rule 2: attributes follow the geometry levels they describe.
    check = "order";
    bool has_geom = false;
    for (const auto& e : walked) has_geom |= e.info.type == kTypeGeom;
    if (has_geom) {
      int geom_max = -1;
      for (const auto& e : walked) {
        if (e.info.type == kTypeGeom) {
          if (int(e.info.level_hi) > geom_max) geom_max = e.info.level_hi;
        } else if (e.info.level_hi >= 1 && int(e.info.level_hi) > geom_max) {
          fail(ErrorCode::BadIndex, "chunk '" + chunk_type_name(e.info.type) + "' for level " +
                   std::to_string(e.info.level_hi) + " comes before the geometry of that level",
               int64_t(e.offset));
        }
      }
    }
    r.chunks = walked.size();
  } catch (const Error& e) {
    r.code = e.code();
    r.check = check;
    r.message = e.what();
    r.offset = e.offset();
  }
  return r;
}

}  // namespace pcstream
