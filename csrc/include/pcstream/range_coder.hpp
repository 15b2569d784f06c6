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

// Adaptive probability of a binary event, P(bit = 1) in 16 bits.
//
// Two exponential-decay estimators run side by side: a fast one (rate
// 2^-shift_fast) that follows changes and a slow one (rate 2^-shift_slow) that
// is precise on stationary data. The estimate is their mean while they
// disagree by more than 1/8 (the source moved: trust the fast one more) and
// (fast + 3 slow) / 4 otherwise (stationary: trust the slow one more).
// Warm-up: after n updates each estimator uses rate 2^-min(floor(log2(n+2)),
// shift), about 1/(n+2), i.e. a fresh context averages its first bins almost
// equally instead of remembering its first bin for ever.
// Measured (bench/coders.py, default shifts 4/8): +0.8 % over the entropy at
// p = 0.1, +2.7 % at p = 0.01, +0.6 % at p = 0.3 and 0.5.
// Shifts must be in [1, 15]. sizeof(BinContext) == 8.
struct BinContext {
  uint16_t p_fast = kProbOne / 2;
  uint16_t p_slow = kProbOne / 2;
  uint16_t count = 0;
  uint8_t shift_fast = 4;
  uint8_t shift_slow = 8;

  BinContext() = default;
  BinContext(int fast, int slow)
      : shift_fast(static_cast<uint8_t>(fast)), shift_slow(static_cast<uint8_t>(slow)) {}

  // P(bit = 1) scaled to 16 bits, in [32, 65504].
  inline uint32_t p1() const {
    uint32_t f = p_fast, s = p_slow;
    uint32_t d = f > s ? f - s : s - f;
    uint32_t p = d > (kProbOne >> 3) ? (f + s + 1) >> 1 : (f + 3 * s + 2) >> 2;
    p = p < 32 ? 32 : p;
    return p > kProbOne - 32 ? kProbOne - 32 : p;
  }
  inline void update(int bit) {
    uint32_t lg = floor_log2(count + 2u);
    uint32_t sf = lg < shift_fast ? lg : shift_fast;
    uint32_t ss = lg < shift_slow ? lg : shift_slow;
    count = static_cast<uint16_t>(count + (count < 0xFFFFu));
    uint32_t f = p_fast, s = p_slow;
    uint32_t f1 = f + ((kProbOne - 1 - f) >> sf), f0 = f - (f >> sf);
    uint32_t s1 = s + ((kProbOne - 1 - s) >> ss), s0 = s - (s >> ss);
    p_fast = static_cast<uint16_t>(bit ? f1 : f0);
    p_slow = static_cast<uint16_t>(bit ? s1 : s0);
  }

 private:
  static inline uint32_t floor_log2(uint32_t v) {
#if defined(__GNUC__) || defined(__clang__)
    return 31u - static_cast<uint32_t>(__builtin_clz(v));
#else
    uint32_t r = 0;
    while (v >>= 1) ++r;
    return r;
#endif
  }
};

class RangeEncoder {
 public:
  RangeEncoder() { out_.reserve(1 << 12); }

  // Code `bit` with a fixed 16-bit probability of a one, p1 in [1, 65535].
  inline void encode_bit_p(int bit, uint32_t p1) {
    // Branch-free: the bit is unpredictable by construction.
    uint32_t bound = (range_ >> kProbBits) * p1;
    uint32_t mask = static_cast<uint32_t>(bit != 0) - 1u;  // all ones for a zero bit
    low_ += bound & mask;
    range_ = bit ? bound : range_ - bound;
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
    int bit = code_ < bound;
    uint32_t mask = static_cast<uint32_t>(bit) - 1u;  // all ones for a zero bit
    code_ -= bound & mask;
    range_ = bit ? bound : range_ - bound;
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
