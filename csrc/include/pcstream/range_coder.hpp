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
// exponential-decay estimators (a fast and a slow one, mixed), each with
// a warm-up that starts with a high adaptation rate so fresh contexts learn
// quickly (see BinContext). Multi-symbol coding with caller-supplied
// distributions (float probabilities or CDFs) is in multisym.hpp.
//
// Errors: the decoder never reads outside its buffer; bytes past the end read
// as zero and are counted. `overrun()` tells whether the decoder consumed more
// than the bytes the encoder wrote, i.e. the payload was truncated (decoding
// a complete payload consumes exactly its bytes: position() == size).
// Codecs must check it (or `check_end()`) after decoding. Corrupt bytes that
// keep the length decode to wrong but valid values, never to a crash or hang.
//
// Speed (bench/coders.py, one core): ~110-270 Mbins/s encode and ~100-330
// Mbins/s decode depending on skew.
//
// Thread safety: encoder/decoder/context objects are not thread-safe; use one
// per thread.
#pragma once
#include <algorithm>
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
// p = 0.1, +2.8 % at p = 0.01, +0.6 % at p = 0.3 and 0.5.
// Shifts must be in [1, 15]. sizeof(BinContext) == 8. `count` counts the
// warm-up updates and holds kWarm once the target rates are reached.
struct BinContext {
  uint16_t p_fast = kProbOne / 2;
  uint16_t p_slow = kProbOne / 2;
  uint16_t count = 0;
  uint8_t shift_fast = 4;
  uint8_t shift_slow = 8;

  static constexpr uint16_t kWarm = 0xFFFF;  // count value once warm-up is over

  BinContext() = default;
  BinContext(int fast, int slow)
      : shift_fast(static_cast<uint8_t>(fast)), shift_slow(static_cast<uint8_t>(slow)) {}

  // P(bit = 1) scaled to 16 bits: p_slow + (p_fast - p_slow) / 2^w, rounded,
  // with w = 1 when the estimators disagree by more than 1/8, else w = 2.
  // Always in [1, 65534], as each estimator stays in [1, 65534] (set the
  // fields only through the constructors).
  inline uint32_t p1() const {
    const int32_t d = static_cast<int32_t>(p_fast) - static_cast<int32_t>(p_slow);
    const int32_t ad = d < 0 ? -d : d;
    const int32_t w = 2 - (ad > static_cast<int32_t>(kProbOne >> 3));
    return static_cast<uint32_t>(static_cast<int32_t>(p_slow) + ((d + w) >> w));
  }
  inline void update(int bit) {
    uint32_t sf = shift_fast, ss = shift_slow;
    if (count != kWarm) {
      const uint32_t lg = floor_log2(count + 2u);
      sf = lg < sf ? lg : sf;
      ss = lg < ss ? lg : ss;
      count = static_cast<uint16_t>(lg >= shift_fast && lg >= shift_slow ? kWarm : count + 1);
    }
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
  RangeEncoder() { out_.resize(1 << 12); }

  // Code `bit` with a fixed 16-bit probability of a one, p1 in [1, 65535].
  inline void encode_bit_p(int bit, uint32_t p1) {
    const uint32_t bound = (range_ >> kProbBits) * p1;
    // A select, not a branch: the encoder knows the bit, and a mispredicted
    // branch costs more than the select on unskewed bits (p = 0.5: +20 %).
    const uint32_t one = 0u - static_cast<uint32_t>(bit != 0);  // all ones for a one bit
    const uint32_t rest = range_ - bound;
    low_ += bound & ~one;
    range_ = rest ^ ((rest ^ bound) & one);
    while (range_ < kRangeTop) { range_ <<= 8; shift_low(); }
  }
  inline void encode_bit(BinContext& ctx, int bit) {
    encode_bit_p(bit, ctx.p1());
    ctx.update(bit);
  }
  inline void encode_bypass(int bit) {
    range_ >>= 1;
    low_ += range_ & (0u - static_cast<uint32_t>(bit != 0));
    while (range_ < kRangeTop) { range_ <<= 8; shift_low(); }
  }
  // `nbits` (<= 32) raw bits, most significant first.
  inline void encode_bits(uint32_t value, int nbits) {
    for (int i = nbits - 1; i >= 0; --i) encode_bypass((value >> i) & 1);
  }
  // Symbol with cumulative frequency `cum` and frequency `freq` out of a
  // total of 2^total_bits (total_bits <= 16). Preconditions: freq > 0 and
  // cum + freq <= 2^total_bits (a zero freq is coded as 1 so nothing hangs,
  // but the stream is then wrong).
  inline void encode_freq(uint32_t cum, uint32_t freq, int total_bits) {
    uint32_t r = range_ >> total_bits;
    low_ += static_cast<uint64_t>(r) * cum;
    range_ = r * (freq | (freq == 0));
    while (range_ < kRangeTop) { range_ <<= 8; shift_low(); }
  }
  // Flushes the coder; the returned buffer is complete. The encoder must not
  // be used afterwards.
  std::vector<uint8_t>& finish() {
    for (int i = 0; i < 5; ++i) shift_low();
    out_.resize(n_);
    return out_;
  }
  size_t bytes_so_far() const { return n_ + cache_size_ + 4; }

 private:
  // Moves the top byte of low_ out. A byte that could still receive a carry
  // is held back (cache_ plus a run of 0xFF bytes) until the carry is known.
  inline void shift_low() {
    if (static_cast<uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
      const uint8_t carry = static_cast<uint8_t>(low_ >> 32);
      if (out_.size() - n_ <= cache_size_) grow();
      uint8_t* o = out_.data() + n_;
      o[0] = static_cast<uint8_t>(cache_ + carry);
      for (uint64_t i = 1; i < cache_size_; ++i) o[i] = static_cast<uint8_t>(0xFF + carry);
      n_ += cache_size_;
      cache_size_ = 0;
      cache_ = static_cast<uint8_t>(low_ >> 24);
    }
    ++cache_size_;
    low_ = (low_ & 0x00FFFFFFu) << 8;
  }
#if defined(__GNUC__) || defined(__clang__)
  __attribute__((noinline, cold))
#endif
  void grow() {
    out_.resize(std::max<size_t>(2 * out_.size(), n_ + cache_size_ + 1));
  }

  uint64_t low_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
  uint8_t cache_ = 0;
  uint64_t cache_size_ = 1;
  size_t n_ = 0;               // bytes written to out_
  std::vector<uint8_t> out_;   // out_.size() is the capacity in use
};

class RangeDecoder {
 public:
  RangeDecoder(const uint8_t* data, size_t size) : p_(data), n_(size) {
    // The first byte an encoder writes is always the (zero) initial cache.
    for (int i = 0; i < 5; ++i) code_ = (code_ << 8) | next_byte();
  }

  inline int decode_bit_p(uint32_t p1) {
    const uint32_t bound = (range_ >> kProbBits) * p1;
    int bit;
    // A branch on purpose: for the skewed bits that dominate real streams it
    // is predicted well, which takes the next bin off the dependency chain.
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
  // symbol s with cdf[s] <= v < cdf[s+1] and then calls `consume(cdf[s],
  // cdf[s+1] - cdf[s])` (same preconditions as encode_freq).
  inline uint32_t decode_freq_target(int total_bits) {
    r_ = range_ >> total_bits;
    uint32_t v = code_ / r_;
    uint32_t top = (1u << total_bits) - 1;
    return v > top ? top : v;
  }
  inline void consume(uint32_t cum, uint32_t freq) {
    code_ -= r_ * cum;
    range_ = r_ * (freq | (freq == 0));  // >= 2^8: at most two bytes to read
    // Branch-free renormalisation: symbol sizes vary, so a loop here would be
    // mispredicted about once per symbol.
    const uint32_t n = static_cast<uint32_t>(range_ < kRangeTop) + static_cast<uint32_t>(range_ < (1u << 16));
    const uint64_t pair = (static_cast<uint64_t>(byte_at(pos_)) << 8) | byte_at(pos_ + 1);
    code_ = static_cast<uint32_t>((static_cast<uint64_t>(code_) << (8 * n)) | (pair >> (16 - 8 * n)));
    range_ = static_cast<uint32_t>(static_cast<uint64_t>(range_) << (8 * n));
    pos_ += n;
  }

  // True when the decoder needed bytes beyond the end of its buffer (beyond
  // the final flush the encoder writes): the payload is truncated or corrupt.
  bool overrun() const { return pos_ > n_; }
  // Bytes consumed so far (including the look-ahead of 4 bytes).
  size_t position() const { return pos_ < n_ ? pos_ : n_; }
  void check_end(const char* what) const {
    if (overrun()) fail(ErrorCode::CorruptPayload, std::string(what) + ": entropy-coded payload is truncated or corrupt");
  }

 private:
  // Bytes past the end read as zero; pos_ keeps counting so overrun() sees them.
  inline uint32_t byte_at(size_t i) const { return i < n_ ? p_[i] : 0u; }
  inline uint32_t next_byte() { return byte_at(pos_++); }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;  // may run past n_ on truncated input
  uint32_t code_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
  uint32_t r_ = 0;
};

}  // namespace pcstream
