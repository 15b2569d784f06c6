// Encoder and decoder of the core range coder's binary decisions and bypass bits,
// specialised for the weight coder's hot loops. Internal to weight_*.cpp.
//
// They produce and read exactly the bytes of pcstream::RangeEncoder / RangeDecoder
// (range_coder.hpp: 32-bit range, 64-bit low with a cached carry byte,
// renormalisation to >= 2^24, bytes past the end read as zero and counted), but
// update the coder state without branching on the coded bit: most weight bins
// (signs, Exp-Golomb suffix bits) are close to equiprobable, so that branch of the
// generic coder mispredicts about every other bin. The golden payloads of
// formats/testvectors and the cross-check test against the generic coder
// (test_weight_bin_coder.cpp) pin the equivalence.
//
// Thread safety: one object per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/range_coder.hpp"

namespace pcstream {
namespace weights {
namespace detail {

class BinEncoder {
 public:
  BinEncoder() { out_.reserve(1 << 12); }

  // One decision with P(bit = 1) = p1 / 2^16, p1 in [1, 65535]; bit is 0 or 1.
  inline void encode_bit_p(int bit, uint32_t p1) {
    const uint32_t bound = (range_ >> kProbBits) * p1;
    const uint32_t keep = static_cast<uint32_t>(bit) - 1u;  // all ones when the bit is 0
    low_ += bound & keep;
    range_ = (bound & ~keep) | ((range_ - bound) & keep);
    while (range_ < kRangeTop) { range_ <<= 8; shift_low(); }
  }
  inline void encode_bypass(int bit) {
    range_ >>= 1;
    low_ += range_ & (0u - static_cast<uint32_t>(bit));
    while (range_ < kRangeTop) { range_ <<= 8; shift_low(); }
  }
  // `nbits` (<= 32) equiprobable bits, most significant first.
  inline void encode_bits(uint32_t value, int nbits) {
    for (int i = nbits - 1; i >= 0; --i) encode_bypass((value >> i) & 1);
  }
  // Flushes the coder; the encoder must not be used afterwards.
  std::vector<uint8_t>& finish() {
    for (int i = 0; i < 5; ++i) shift_low();
    return out_;
  }

 private:
  // Emits the top byte of low, holding back 0xFF bytes until a carry is settled.
  inline void shift_low() {
    if (static_cast<uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
      const uint8_t carry = static_cast<uint8_t>(low_ >> 32);
      uint8_t temp = cache_;
      do {
        out_.push_back(static_cast<uint8_t>(temp + carry));
        temp = 0xFF;
      } while (--cache_size_ != 0);
      cache_ = static_cast<uint8_t>(low_ >> 24);
    }
    ++cache_size_;
    low_ = (low_ & 0x00FFFFFFu) << 8;
  }

  uint64_t low_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
  uint8_t cache_ = 0;
  uint64_t cache_size_ = 1;
  std::vector<uint8_t> out_;
};

class BinDecoder {
 public:
  BinDecoder(const uint8_t* data, size_t size) : next_(data), end_(data + size) {
    for (int i = 0; i < 5; ++i) code_ = (code_ << 8) | next_byte();
  }

  // One decision with P(bit = 1) = p1 / 2^16, p1 in [1, 65535].
  inline int decode_bit_p(uint32_t p1) {
    const uint32_t bound = (range_ >> kProbBits) * p1;
    // Both outcomes are computed in parallel with the comparison; the mask then
    // picks one in two operations.
    const uint32_t range_zero = range_ - bound, code_zero = code_ - bound;
    const uint32_t one = 0u - static_cast<uint32_t>(code_ < bound);  // all ones for a 1
    range_ = range_zero ^ ((range_zero ^ bound) & one);
    code_ = code_zero + (bound & one);
    while (range_ < kRangeTop) { range_ <<= 8; code_ = (code_ << 8) | next_byte(); }
    return static_cast<int>(one & 1u);
  }
  inline int decode_bypass() {
    range_ >>= 1;
    const uint32_t bit = code_ >= range_;
    code_ -= range_ & (0u - bit);
    while (range_ < kRangeTop) { range_ <<= 8; code_ = (code_ << 8) | next_byte(); }
    return static_cast<int>(bit);
  }
  // `nbits` (<= 32) equiprobable bits, most significant first.
  inline uint32_t decode_bits(int nbits) {
    uint32_t v = 0;
    for (int i = 0; i < nbits; ++i) v = (v << 1) | static_cast<uint32_t>(decode_bypass());
    return v;
  }

  bool overrun() const { return over_ > 0; }
  void check_end(const char* what) const {
    if (overrun()) fail(ErrorCode::CorruptPayload, std::string(what) + ": entropy-coded payload is truncated or corrupt");
  }

 private:
  inline uint32_t next_byte() {
    if (next_ < end_) return *next_++;
    ++over_;
    return 0;
  }
  const uint8_t* next_;  // two pointers rather than base, size and position: one register fewer
  const uint8_t* end_;
  size_t over_ = 0;
  uint32_t code_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
};

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
