// Decoder of the core range coder's binary decisions, specialised for the weight
// coder's hot loop. Internal to weight_*.cpp.
//
// It decodes exactly what pcstream::RangeEncoder writes (same arithmetic as
// pcstream::RangeDecoder: 32-bit range, renormalisation to >= 2^24, bytes past the
// end read as zero and counted), but selects the decoded symbol without a branch:
// most weight bins (signs, Exp-Golomb suffix bits) are close to equiprobable, so
// the branch of RangeDecoder::decode_bit_p mispredicts about every other bin.
// The golden payloads of formats/testvectors and the cross-check tests against the
// generic decoder pin the equivalence.
//
// Thread safety: one object per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/range_coder.hpp"

namespace pcstream {
namespace weights {
namespace detail {

class BinDecoder {
 public:
  BinDecoder(const uint8_t* data, size_t size) : p_(data), n_(size) {
    for (int i = 0; i < 5; ++i) code_ = (code_ << 8) | next_byte();
  }

  // One decision with P(bit = 1) = p1 / 2^16, p1 in [1, 65535].
  inline int decode_bit_p(uint32_t p1) {
    const uint32_t bound = (range_ >> kProbBits) * p1;
    const uint32_t bit = code_ < bound;
    const uint32_t keep = bit - 1u;  // all ones when the bit is 0
    code_ -= bound & keep;
    range_ = (bound & ~keep) | ((range_ - bound) & keep);
    while (range_ < kRangeTop) { range_ <<= 8; code_ = (code_ << 8) | next_byte(); }
    return static_cast<int>(bit);
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
    if (pos_ < n_) return p_[pos_++];
    ++over_;
    return 0;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  size_t over_ = 0;
  uint32_t code_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
};

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
