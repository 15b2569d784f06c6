// Bounds-checked little-endian byte reading and writing.
//
// ByteReader never reads past the end it was given: every getter throws
// pcstream::Error(Truncated) instead, with the offset where data ran out.
// Use `require(n)` / `checked_count()` before allocating from a count read
// off an untrusted stream.
//
// Thread safety: instances are not shared; the data they view must outlive them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "pcstream/error.hpp"

namespace pcstream {

class ByteWriter {
 public:
  std::vector<uint8_t>& bytes() { return buf_; }
  const std::vector<uint8_t>& bytes() const { return buf_; }
  size_t size() const { return buf_.size(); }
  void u8(uint8_t v) { buf_.push_back(v); }
  void u16(uint16_t v) { put_le(v, 2); }
  void u32(uint32_t v) { put_le(v, 4); }
  void u64(uint64_t v) { put_le(v, 8); }
  void i32(int32_t v) { put_le(static_cast<uint32_t>(v), 4); }
  void f64(double v) { uint64_t u; std::memcpy(&u, &v, 8); put_le(u, 8); }
  void f32(float v) { uint32_t u; std::memcpy(&u, &v, 4); put_le(u, 4); }
  // LEB128 unsigned varint (at most 10 bytes).
  void varint(uint64_t v) {
    while (v >= 0x80) { buf_.push_back(static_cast<uint8_t>(v | 0x80)); v >>= 7; }
    buf_.push_back(static_cast<uint8_t>(v));
  }
  void bytes(const uint8_t* p, size_t n) { buf_.insert(buf_.end(), p, p + n); }
  void bytes(const std::vector<uint8_t>& v) { buf_.insert(buf_.end(), v.begin(), v.end()); }

 private:
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> buf_;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, int64_t base_offset = 0)
      : p_(data), n_(size), pos_(0), base_(base_offset) {}
  size_t pos() const { return pos_; }
  size_t size() const { return n_; }
  size_t remaining() const { return n_ - pos_; }
  int64_t offset() const { return base_ + static_cast<int64_t>(pos_); }
  const uint8_t* cursor() const { return p_ + pos_; }

  void require(size_t n, const char* what) const {
    if (n > remaining())
      fail(ErrorCode::Truncated, std::string(what) + ": needs " + std::to_string(n) +
               " bytes, " + std::to_string(remaining()) + " left", offset());
  }
  // A count of elements of `elem_size` bytes each that must all still be present.
  uint64_t checked_count(uint64_t count, size_t elem_size, const char* what) const {
    if (elem_size && count > remaining() / elem_size)
      fail(ErrorCode::BadLength, std::string(what) + ": count " + std::to_string(count) +
               " exceeds the " + std::to_string(remaining()) + " bytes left", offset());
    return count;
  }
  uint8_t u8(const char* what = "u8") { require(1, what); return p_[pos_++]; }
  uint16_t u16(const char* what = "u16") { return static_cast<uint16_t>(get_le(2, what)); }
  uint32_t u32(const char* what = "u32") { return static_cast<uint32_t>(get_le(4, what)); }
  uint64_t u64(const char* what = "u64") { return get_le(8, what); }
  int32_t i32(const char* what = "i32") { return static_cast<int32_t>(get_le(4, what)); }
  double f64(const char* what = "f64") { uint64_t u = get_le(8, what); double d; std::memcpy(&d, &u, 8); return d; }
  float f32(const char* what = "f32") { uint32_t u = static_cast<uint32_t>(get_le(4, what)); float f; std::memcpy(&f, &u, 4); return f; }
  uint64_t varint(const char* what = "varint") {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8(what);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(ErrorCode::CorruptPayload, std::string(what) + ": varint longer than 10 bytes", offset());
  }
  const uint8_t* take(size_t n, const char* what) { require(n, what); const uint8_t* r = p_ + pos_; pos_ += n; return r; }
  void skip(size_t n, const char* what) { require(n, what); pos_ += n; }

 private:
  uint64_t get_le(int n, const char* what) {
    require(static_cast<size_t>(n), what);
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_;
  int64_t base_;
};

}  // namespace pcstream
