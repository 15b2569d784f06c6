// Range coder shared by every codec of pcstream: adaptive binary contexts,
// equiprobable (bypass) bits and multi-symbol coding with integer CDFs, all
// interleavable in one byte stream.
//
// Arithmetic: 32-bit range, 64-bit low with carry propagation (byte-wise
// output with a cached carry byte). Range is renormalised to >= 2^24, so a
// 16-bit probability or a CDF of total 2^16 always yields a non-empty
// sub-range.
//
// Binary probabilities are 16-bit estimates of P(bit = 1) kept by two
// exponential-decay estimators (a fast and a slow one, averaged), each with
// a warm-up that starts with a high adaptation rate so fresh contexts learn
// quickly (see BinContext).
//
// Errors: the decoder never reads outside its buffer; bytes past the end read
// as zero and are counted. `overrun()` tells whether the decoder consumed more
// than the padding an encoder writes, i.e. the payload was truncated or
// corrupt. Codecs must check it (or `check_end()`) after decoding.
//
// Thread safety: encoder/decoder/context objects are not thread-safe; use one
// per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/error.hpp"

namespace pcstream {

constexpr int kProbBits = 16;
constexpr uint32_t kProbOne = 1u << kProbBits;
constexpr uint32_t kRangeTop = 1u << 24;

// Adaptive probability of a binary event. The effective adaptation rate of each
// estimator is 1/2^min(count+1, shift): fast learning at first, then the
// target rate. p is clamped so both symbols keep a codable sub-range.
struct BinContext {
  uint16_t p_fast = kProbOne / 2;
  uint16_t p_slow = kProbOne / 2;
  uint8_t count = 0;
  uint8_t shift_fast = 4;
  uint8_t shift_slow = 7;

  BinContext() = default;
  BinContext(int fast, int slow)
      : shift_fast(static_cast<uint8_t>(fast)), shift_slow(static_cast<uint8_t>(slow)) {}

  // P(bit = 1) scaled to 16 bits, in [32, 65504].
  inline uint32_t p1() const {
    uint32_t p = (static_cast<uint32_t>(p_fast) + p_slow + 1) >> 1;
    if (p < 32) p = 32;
    if (p > kProbOne - 32) p = kProbOne - 32;
    return p;
  }
  inline void update(int bit) {
    int sf = count + 1 < shift_fast ? count + 1 : shift_fast;
    int ss = count + 1 < shift_slow ? count + 1 : shift_slow;
    if (count < 255) ++count;
    if (bit) {
      p_fast = static_cast<uint16_t>(p_fast + ((kProbOne - 1 - p_fast) >> sf));
      p_slow = static_cast<uint16_t>(p_slow + ((kProbOne - 1 - p_slow) >> ss));
    } else {
      p_fast = static_cast<uint16_t>(p_fast - (p_fast >> sf));
      p_slow = static_cast<uint16_t>(p_slow - (p_slow >> ss));
    }
  }
};

class RangeEncoder {
 public:
  RangeEncoder() { out_.reserve(1 << 12); }

  // Code `bit` with a fixed 16-bit probability of a one, p1 in [1, 65535].
  inline void encode_bit_p(int bit, uint32_t p1) {
    uint32_t bound = (range_ >> kProbBits) * p1;
    if (bit) {
      range_ = bound;
    } else {
      low_ += bound;
      range_ -= bound;
    }
    while (range_ < kRangeTop) { range_ <<= 8; shift_low(); }
  }
  inline void encode_bit(BinContext& ctx, int bit) {
    encode_bit_p(bit, ctx.p1());
    ctx.update(bit);
  }
  inline void encode_bypass(int bit) {
    range_ >>= 1;
    if (bit) low_ += range_;
    while (range_ < kRangeTop) { range_ <<= 8; shift_low(); }
  }
  // `nbits` (<= 32) raw bits, most significant first.
  inline void encode_bits(uint32_t value, int nbits) {
    for (int i = nbits - 1; i >= 0; --i) encode_bypass((value >> i) & 1);
  }
  // Symbol with cumulative frequency `cum` and frequency `freq` (> 0) out of a
  // total of 2^total_bits (total_bits <= 16).
  inline void encode_freq(uint32_t cum, uint32_t freq, int total_bits) {
    uint32_t r = range_ >> total_bits;
    low_ += static_cast<uint64_t>(r) * cum;
    range_ = r * freq;
    while (range_ < kRangeTop) { range_ <<= 8; shift_low(); }
  }
  // Flushes the coder; the returned buffer is complete. The encoder must not
  // be used afterwards.
  std::vector<uint8_t>& finish() {
    for (int i = 0; i < 5; ++i) shift_low();
    return out_;
  }
  size_t bytes_so_far() const { return out_.size() + cache_size_ + 4; }

 private:
  inline void shift_low() {
    if (static_cast<uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
      uint8_t carry = static_cast<uint8_t>(low_ >> 32);
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

class RangeDecoder {
 public:
  RangeDecoder(const uint8_t* data, size_t size) : p_(data), n_(size) {
    // The first byte an encoder writes is always the (zero) initial cache.
    for (int i = 0; i < 5; ++i) code_ = (code_ << 8) | next_byte();
  }

  inline int decode_bit_p(uint32_t p1) {
    uint32_t bound = (range_ >> kProbBits) * p1;
    int bit;
    if (code_ < bound) {
      range_ = bound;
      bit = 1;
    } else {
      code_ -= bound;
      range_ -= bound;
      bit = 0;
    }
    while (range_ < kRangeTop) { range_ <<= 8; code_ = (code_ << 8) | next_byte(); }
    return bit;
  }
  inline int decode_bit(BinContext& ctx) {
    int bit = decode_bit_p(ctx.p1());
    ctx.update(bit);
    return bit;
  }
  inline int decode_bypass() {
    range_ >>= 1;
    int bit = 0;
    if (code_ >= range_) { code_ -= range_; bit = 1; }
    while (range_ < kRangeTop) { range_ <<= 8; code_ = (code_ << 8) | next_byte(); }
    return bit;
  }
  inline uint32_t decode_bits(int nbits) {
    uint32_t v = 0;
    for (int i = 0; i < nbits; ++i) v = (v << 1) | static_cast<uint32_t>(decode_bypass());
    return v;
  }
  // Returns the scaled target value in [0, 2^total_bits); the caller finds the
  // symbol s with cdf[s] <= v < cdf[s+1] and then calls `consume`.
  inline uint32_t decode_freq_target(int total_bits) {
    r_ = range_ >> total_bits;
    uint32_t v = code_ / r_;
    uint32_t top = (1u << total_bits) - 1;
    return v > top ? top : v;
  }
  inline void consume(uint32_t cum, uint32_t freq) {
    code_ -= r_ * cum;
    range_ = r_ * freq;
    while (range_ < kRangeTop) { range_ <<= 8; code_ = (code_ << 8) | next_byte(); }
  }

  // True when the decoder needed bytes beyond the end of its buffer (beyond
  // the final flush the encoder writes): the payload is truncated or corrupt.
  bool overrun() const { return over_ > 0; }
  // Bytes consumed so far (including the look-ahead of 4 bytes).
  size_t position() const { return pos_; }
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
  uint32_t r_ = 0;
};

}  // namespace pcstream
