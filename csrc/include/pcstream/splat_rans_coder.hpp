// Static-table rANS coding of integer attribute columns: the splat stream's
// version-3 column payload (chunk type SPLT, codec id 6; formats/splats.md).
//
// Same matrix model as the v1/v2 coders (splat_residual_coder.hpp): rows in
// Morton order, per-column prediction plans (splat_column_plan.hpp), per-row
// side classes. Each residual r becomes a token (zigzag value below 16, else a
// log bucket with its top mantissa bit) coded by rANS plus raw low bits. The
// encoder counts tokens per context (column, side class, magnitude class from
// the column's running mean |residual| and the previous column's residual)
// over all rows and stores one table per used context in the payload head
// (precision 4-12 bits chosen per table, or a copy of one of the 16 previous
// tables); rows are cut into slices of kSliceRows, each with two interleaved
// 32-bit rANS states (16-bit renormalisation) and a separate raw-bit
// stream, so slices decode in parallel without adaptive state.
//
// Errors: decode_columns_rans throws pcstream::Error (CorruptPayload,
// BadLength, Truncated, InvalidArgument) on malformed payloads; every count
// and table is validated before allocation and reads never leave the buffer.
// Thread safety: free functions without shared state; safe to call concurrently.
// Output bytes never depend on `threads`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream {
namespace splat {

namespace rans {
constexpr int kScaleBits = 12;                 // table totals are 2^12
constexpr uint32_t kTotal = 1u << kScaleBits;
constexpr uint32_t kMaxFreq = kTotal - 1;      // every used table has >= 2 symbols: a value costs > 0 bits
constexpr uint64_t kMaxCopyDistance = 16;      // a table may repeat one of the 16 tables before it
constexpr int kMaxShift = 8;                   // tables may be stored at precision 12 - shift (>= 4 bits)
constexpr uint32_t kLow = 1u << 16;            // state interval [2^16, 2^32)
constexpr int kTokens = 80;                    // zigzag < 16 direct; then 2 tokens per exponent 4..35
constexpr int kDirect = 16;
constexpr int kMagClasses = 6;                 // min(class(running mean) + bucket(left), 5)
constexpr int kKeyTokens = 134;                // sorted-key deltas < 2^63: exponents up to 62
constexpr int kKeyContexts = 24;               // min(bit length of the previous delta, 23)
// Values a payload of `bytes` bytes can describe at most (each costs >= -log2(4095/4096) bit).
constexpr uint64_t kMaxValuesPerByte = 8 * 2840;

// Quantises counts to frequencies summing to 2^bits, each < 2^bits and
// > 0 where the count is > 0 (a single used symbol gets a companion of
// frequency 1). All-zero counts give all-zero frequencies (unused table).
std::vector<uint32_t> quantise_counts(const std::vector<uint64_t>& counts, int bits = kScaleBits);

// Token of a zigzagged residual u (< 2^36) and its number of raw bits.
inline int token_of(uint64_t u, int* raw_bits) {
  if (u < kDirect) { *raw_bits = 0; return static_cast<int>(u); }
  int e = 63 - __builtin_clzll(u);
  *raw_bits = e - 1;
  return kDirect + 2 * (e - 4) + static_cast<int>((u >> (e - 1)) & 1);
}
}  // namespace rans

// Encode an (n x cols) row-major matrix; side/ext as in encode_columns_sliced.
std::vector<uint8_t> encode_columns_rans(const int32_t* data, size_t n, int cols, const uint8_t* side, int nside,
                                         const int32_t* ext, int threads);
// Decode; n, cols, nside must match the payload's head.
std::vector<int32_t> decode_columns_rans(const uint8_t* payload, size_t size, size_t n, int cols,
                                         const uint8_t* side, int nside, const int32_t* ext, int threads);

// Stream version 3 `POSK`: non-decreasing keys (< 2^63) as deltas key[i] - key[i-1]
// (key[-1] = 0) in tokens + raw bits, context = bit length of the previous delta
// within the slice; slices decode in parallel, then a prefix sum. Decoding
// rejects keys of more than `key_bits` bits.
std::vector<uint8_t> encode_sorted_keys_rans(const uint64_t* keys, size_t n, int threads);
std::vector<uint64_t> decode_sorted_keys_rans(const uint8_t* payload, size_t size, size_t n, int key_bits,
                                              int threads);

}  // namespace splat
}  // namespace pcstream
