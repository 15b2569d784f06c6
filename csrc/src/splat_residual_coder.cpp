#include "pcstream/splat_residual_coder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/range_coder.hpp"
#include "pcstream/splat_column_plan.hpp"
#include "pcstream/splat_slices.hpp"

namespace pcstream {
namespace splat {
namespace {

constexpr int kExpBins = 20;   // adaptive exponent bins; larger exponents escape to 5 bypass bits
constexpr int kMagBuckets = 5;
constexpr uint64_t kMaxDecisionsPerBit = 1500;  // see BinContext::p1 clamping

// Binary contexts of one residual distribution, split hot/cold: most values need only
// the zero flag, so the flags of all context sets sit together in a small array
// (the exponent/mantissa bins of the SH groups would otherwise spread them over MBs).
struct HeadContexts {
  BinContext zero{4, 7};
  BinContext sign{4, 7};
};
struct TailContexts {
  BinContext expo[kExpBins];
  BinContext mant[kExpBins];
};
struct ResidualContexts {
  std::vector<HeadContexts> head;
  std::vector<TailContexts> tail;
  explicit ResidualContexts(size_t n) : head(n), tail(n) {}
};

// 0, 1, 2 (<= 3), 3 (<= 8), 4: a table lookup (the branches were mispredicted on every other value).
constexpr uint8_t kBucketOf[9] = {0, 1, 2, 2, 3, 3, 3, 3, 3};
inline int bucket(uint32_t m) { return m < 9 ? kBucketOf[m] : 4; }

inline int bit_length(uint32_t v) {
  int b = 0;
  while (v) { ++b; v >>= 1; }
  return b;
}

// `nbits` (<= 31) equiprobable bits as at most two uniform multi-symbol steps
// (one range-coder operation each instead of one per bit).
inline void put_raw(RangeEncoder& enc, uint32_t v, int nbits) {
  if (nbits > 16) {
    enc.encode_freq(v >> 16, 1, nbits - 16);
    v &= 0xFFFF;
    nbits = 16;
  }
  if (nbits > 0) enc.encode_freq(v, 1, nbits);
}

inline uint32_t get_raw(RangeDecoder& dec, int nbits) {
  uint32_t hi = 0;
  if (nbits > 16) {
    hi = dec.decode_freq_target(nbits - 16);
    dec.consume(hi, 1);
    nbits = 16;
  }
  uint32_t lo = 0;
  if (nbits > 0) {
    lo = dec.decode_freq_target(nbits);
    dec.consume(lo, 1);
  }
  return (hi << 16) | lo;
}

inline void put_residual(RangeEncoder& enc, ResidualContexts& cs, size_t k, int64_t r) {
  HeadContexts& h = cs.head[k];
  enc.encode_bit(h.zero, r == 0);
  if (r == 0) return;
  enc.encode_bit(h.sign, r < 0);
  TailContexts& c = cs.tail[k];
  uint32_t m = static_cast<uint32_t>(r < 0 ? -r : r);
  int e = bit_length(m) - 1;  // m in [2^e, 2^(e+1)), e <= 31
  int ue = std::min(e, kExpBins - 1);
  for (int i = 0; i < ue; ++i) enc.encode_bit(c.expo[i], 1);
  if (e < kExpBins - 1) enc.encode_bit(c.expo[e], 0);
  else enc.encode_bits(static_cast<uint32_t>(e - (kExpBins - 1)), 5);
  if (e >= 1) {
    enc.encode_bit(c.mant[ue], (m >> (e - 1)) & 1);
    put_raw(enc, m & ((1u << (e - 1)) - 1), e - 1);
  }
}

inline int64_t get_residual(RangeDecoder& dec, ResidualContexts& cs, size_t k) {
  HeadContexts& h = cs.head[k];
  if (dec.decode_bit(h.zero)) return 0;
  int neg = dec.decode_bit(h.sign);
  TailContexts& c = cs.tail[k];
  int e = 0;
  while (e < kExpBins - 1 && dec.decode_bit(c.expo[e])) ++e;
  int ue = e;
  if (e == kExpBins - 1) e += static_cast<int>(dec.decode_bits(5));
  if (e > 31) fail(ErrorCode::CorruptPayload, "splat residual exponent out of range");
  uint32_t m = 1;
  if (e >= 1) {
    m = (m << 1) | static_cast<uint32_t>(dec.decode_bit(c.mant[ue]));
    m = (m << (e - 1)) | get_raw(dec, e - 1);
  }
  return neg ? -static_cast<int64_t>(m) : static_cast<int64_t>(m);
}

void check_shape(size_t n, int cols, const uint8_t* side, int nside) {
  if (cols < 1 || cols > kMaxColumns) fail(ErrorCode::InvalidArgument, "splat columns: 1..64 columns");
  if (nside < 1 || nside > kMaxSideClasses) fail(ErrorCode::InvalidArgument, "splat columns: 1..64 side classes");
  if (side)
    for (size_t i = 0; i < n; ++i)
      if (side[i] >= nside) fail(ErrorCode::InvalidArgument, "splat columns: side class out of range");
}

size_t ctx_index(int col, int s, int a, int b, int nside) {
  return ((static_cast<size_t>(col) * nside + s) * kMagBuckets + a) * kMagBuckets + b;
}

// Codes rows [0, n) of one slice with fresh contexts (row 0 has no previous row).
void encode_rows(RangeEncoder& enc, const int32_t* data, size_t n, int cols, const uint8_t* side, int nside,
                 const int32_t* ext, const std::vector<ColumnPlan>& plan) {
  ResidualContexts ctx(static_cast<size_t>(cols) * nside * kMagBuckets * kMagBuckets);
  std::vector<uint32_t> prev_mag(cols, 0);
  for (size_t i = 0; i < n; ++i) {
    const int32_t* row = data + i * cols;
    int s = side ? side[i] : 0;
    uint32_t left = 0;
    for (int c = 0; c < cols; ++c) {
      int64_t pred = predict(plan[c], data, i, c, cols, ext);
      int64_t r = static_cast<int64_t>(row[c]) - pred;
      put_residual(enc, ctx, ctx_index(c, s, bucket(prev_mag[c]), bucket(left), nside), r);
      uint32_t m = static_cast<uint32_t>(std::min<int64_t>(std::llabs(r), 1 << 30));
      prev_mag[c] = m;
      left = m;
    }
  }
}

void decode_rows(RangeDecoder& dec, int32_t* out, size_t n, int cols, const uint8_t* side, int nside,
                 const int32_t* ext, const std::vector<ColumnPlan>& plan) {
  ResidualContexts ctx(static_cast<size_t>(cols) * nside * kMagBuckets * kMagBuckets);
  std::vector<uint32_t> prev_mag(cols, 0);
  for (size_t i = 0; i < n; ++i) {
    int s = side ? side[i] : 0;
    uint32_t left = 0;
    for (int c = 0; c < cols; ++c) {
      int64_t pred = predict(plan[c], out, i, c, cols, ext);
      int64_t r = get_residual(dec, ctx, ctx_index(c, s, bucket(prev_mag[c]), bucket(left), nside));
      int64_t v = pred + r;
      if (v < INT32_MIN || v > INT32_MAX) fail(ErrorCode::CorruptPayload, "splat columns: value out of range");
      out[i * cols + c] = static_cast<int32_t>(v);
      uint32_t m = static_cast<uint32_t>(std::min<int64_t>(std::llabs(r), 1 << 30));
      prev_mag[c] = m;
      left = m;
    }
    if ((i & 4095) == 0 && dec.overrun()) break;  // bounded work on truncated input
  }
}

}  // namespace

std::vector<uint8_t> encode_columns(const int32_t* data, size_t n, int cols, const uint8_t* side, int nside,
                                    const int32_t* ext) {
  check_shape(n, cols, side, nside);
  std::vector<ColumnPlan> plan = choose_plans(data, n, cols, ext);
  ByteWriter head;
  write_column_prefix(head, n, cols, nside, plan);
  RangeEncoder enc;
  encode_rows(enc, data, n, cols, side, nside, ext, plan);
  auto& body = enc.finish();
  head.bytes(body);
  return std::move(head.bytes());
}

std::vector<int32_t> decode_columns(const uint8_t* payload, size_t size, size_t n, int cols, const uint8_t* side,
                                    int nside, const int32_t* ext) {
  check_shape(0, cols, nullptr, nside);
  ByteReader rd(payload, size);
  std::vector<ColumnPlan> plan = read_column_prefix(rd, n, cols, nside, side, ext != nullptr);
  // Every value costs at least one adaptive binary decision, and a decision
  // costs at least -log2(1 - 32/65536) > 1/1500 bit: bound n before allocating.
  if (n > (static_cast<uint64_t>(rd.remaining()) + 8) * 8 * kMaxDecisionsPerBit / static_cast<uint64_t>(cols))
    fail(ErrorCode::BadLength, "splat columns: row count impossible for the payload size");
  std::vector<int32_t> out(n * static_cast<size_t>(cols));
  RangeDecoder dec(rd.cursor(), rd.remaining());
  decode_rows(dec, out.data(), n, cols, side, nside, ext, plan);
  dec.check_end("splat columns");
  return out;
}

size_t column_slices(size_t n) { return n == 0 ? 1 : (n + kSliceRows - 1) / kSliceRows; }

std::vector<uint8_t> encode_columns_sliced(const int32_t* data, size_t n, int cols, const uint8_t* side, int nside,
                                           const int32_t* ext, int threads) {
  check_shape(n, cols, side, nside);
  std::vector<ColumnPlan> plan = choose_plans(data, n, cols, ext);
  const size_t ns = column_slices(n);
  std::vector<std::vector<uint8_t>> bodies(ns);
  for_slices(ns, threads, [&](size_t s) {
    const size_t b = s * kSliceRows, e = std::min(n, b + kSliceRows);
    RangeEncoder enc;
    encode_rows(enc, data + b * cols, e - b, cols, side ? side + b : nullptr, nside, ext ? ext + b * cols : nullptr,
                plan);
    bodies[s] = std::move(enc.finish());
  });
  ByteWriter head;
  write_column_prefix(head, n, cols, nside, plan);
  for (auto& b : bodies) head.varint(b.size());
  for (auto& b : bodies) head.bytes(b);
  return std::move(head.bytes());
}

std::vector<int32_t> decode_columns_sliced(const uint8_t* payload, size_t size, size_t n, int cols,
                                           const uint8_t* side, int nside, const int32_t* ext, int threads) {
  check_shape(0, cols, nullptr, nside);
  ByteReader rd(payload, size);
  std::vector<ColumnPlan> plan = read_column_prefix(rd, n, cols, nside, side, ext != nullptr);
  // Every value costs at least one adaptive binary decision, and a decision
  // costs at least -log2(1 - 32/65536) > 1/1500 bit: bound n before allocating.
  if (n > (static_cast<uint64_t>(rd.remaining()) + 8) * 8 * kMaxDecisionsPerBit / static_cast<uint64_t>(cols))
    fail(ErrorCode::BadLength, "splat columns: row count impossible for the payload size");
  const size_t ns = column_slices(n);
  std::vector<size_t> len, start;
  read_slice_lengths(rd, ns, start, len);
  std::vector<int32_t> out(n * static_cast<size_t>(cols));
  const uint8_t* base = rd.cursor();
  for_slices(ns, threads, [&](size_t s) {
    const size_t b = s * kSliceRows, e = std::min(n, b + kSliceRows);
    RangeDecoder dec(base + start[s], len[s]);
    decode_rows(dec, out.data() + b * cols, e - b, cols, side ? side + b : nullptr, nside,
                ext ? ext + b * cols : nullptr, plan);
    dec.check_end("splat columns");
  });
  return out;
}

std::vector<uint8_t> encode_sorted_keys(const uint64_t* keys, size_t n) {
  RangeEncoder enc;
  BinContext expo[8][65];
  BinContext mant[65];
  int prev_e = 0;
  uint64_t last = 0;
  for (size_t i = 0; i < n; ++i) {
    if (keys[i] < last) fail(ErrorCode::InvalidArgument, "sorted keys: keys must be non-decreasing");
    uint64_t d = keys[i] - last + 1;  // >= 1
    last = keys[i];
    int e = 63;
    while (!((d >> e) & 1)) --e;
    int ctx = std::min(prev_e / 8, 7);
    for (int k = 0; k < e; ++k) enc.encode_bit(expo[ctx][k], 1);
    if (e < 64) enc.encode_bit(expo[ctx][e], 0);
    if (e >= 1) {
      enc.encode_bit(mant[e], (d >> (e - 1)) & 1);
      for (int k = e - 2; k >= 0; --k) enc.encode_bypass((d >> k) & 1);
    }
    prev_e = e;
  }
  return std::move(enc.finish());
}

std::vector<uint64_t> decode_sorted_keys(const uint8_t* payload, size_t size, size_t n, int key_bits) {
  if (key_bits < 1 || key_bits > 63) fail(ErrorCode::InvalidArgument, "sorted keys: key_bits must be 1..63");
  if (n > (static_cast<uint64_t>(size) + 8) * 8 * kMaxDecisionsPerBit)
    fail(ErrorCode::BadLength, "sorted keys: count impossible for the payload size");
  std::vector<uint64_t> out(n);
  RangeDecoder dec(payload, size);
  BinContext expo[8][65];
  BinContext mant[65];
  int prev_e = 0;
  uint64_t last = 0;
  const uint64_t limit = (uint64_t{1} << key_bits);
  for (size_t i = 0; i < n; ++i) {
    int ctx = std::min(prev_e / 8, 7);
    int e = 0;
    while (e < 64 && dec.decode_bit(expo[ctx][e])) ++e;
    if (e > key_bits) fail(ErrorCode::CorruptPayload, "sorted keys: delta beyond the coordinate range");
    uint64_t d = 1;
    if (e >= 1) {
      d = (d << 1) | static_cast<uint64_t>(dec.decode_bit(mant[e]));
      for (int k = e - 2; k >= 0; --k) d = (d << 1) | static_cast<uint64_t>(dec.decode_bypass());
    }
    uint64_t v = last + d - 1;
    if (v >= limit || v < last) fail(ErrorCode::CorruptPayload, "sorted keys: key beyond the coordinate range");
    out[i] = last = v;
    prev_e = e;
    if ((i & 4095) == 0 && dec.overrun()) break;
  }
  dec.check_end("sorted keys");
  return out;
}

}  // namespace splat
}  // namespace pcstream
