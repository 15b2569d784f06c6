// Context-adaptive coding of integer attribute columns for the splat codec
// (chunk type SPLT, codec id 6).
//
// A "column group" is an (n x cols) row-major int32 matrix: one row per splat
// in the canonical (Morton) order, one column per quantised attribute
// component (e.g. opacity, three DC colour components). Each column is
// predicted either from a constant offset or from the previous row's decoded
// value (the encoder picks the cheaper), and the residual is binarised as
// zero flag, sign, exponent (unary, adaptive) and mantissa (top bit adaptive,
// rest bypass). Contexts depend on the column, on an optional per-row side
// class supplied by the caller (derived from the splat's already-decoded
// attributes, identical at encoder and decoder), on the magnitude of the
// previous row's residual in the same column and on the magnitude of the
// current row's residual in the previous column.
//
// Errors: decode_columns throws pcstream::Error (CorruptPayload, BadLength,
// Truncated, LimitExceeded) on malformed payloads; it never reads outside the
// buffer and allocates only after checking counts against `max_rows`.
// Thread safety: free functions without shared state; safe to call concurrently.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream {
namespace splat {

constexpr int kMaxColumns = 64;
constexpr int kMaxSideClasses = 64;

// Encode `n` rows of `cols` columns. `side` may be null (one class) or hold n
// values in [0, nside). `ext` may be null or hold an (n x cols) external
// prediction known to the decoder too (e.g. the decoded attributes of a
// splat's level-of-detail parent); the encoder then also considers
// "external + offset" per column. Returns the self-describing payload.
std::vector<uint8_t> encode_columns(const int32_t* data, size_t n, int cols, const uint8_t* side, int nside,
                                    const int32_t* ext = nullptr);

// Decode a payload produced by encode_columns. `n` and `cols` must match the
// values the caller knows from its own header (they are also stored and
// checked); `side` as for encoding. Output is n*cols values.
std::vector<int32_t> decode_columns(const uint8_t* payload, size_t size, size_t n, int cols,
                                    const uint8_t* side, int nside, const int32_t* ext = nullptr);

// Stream version 2: the same coding, rows split into slices of kSliceRows
// (the last one shorter) each coded with fresh contexts and its own range
// coder, so slices encode and decode in parallel on up to `threads` threads.
// The slice count depends only on n, so the bytes never depend on `threads`.
// Payload: row count, columns, side classes, plans, one varint length per
// slice, then the slices.
constexpr size_t kSliceRows = size_t{1} << 17;
size_t column_slices(size_t n);
std::vector<uint8_t> encode_columns_sliced(const int32_t* data, size_t n, int cols, const uint8_t* side, int nside,
                                           const int32_t* ext, int threads);
std::vector<int32_t> decode_columns_sliced(const uint8_t* payload, size_t size, size_t n, int cols,
                                           const uint8_t* side, int nside, const int32_t* ext, int threads);

// Non-decreasing 64-bit keys (sorted Morton codes, duplicates allowed) coded
// as adaptive Elias-gamma deltas. decode_sorted_keys rejects payloads whose
// keys would exceed `key_bits` bits.
std::vector<uint8_t> encode_sorted_keys(const uint64_t* keys, size_t n);
std::vector<uint64_t> decode_sorted_keys(const uint8_t* payload, size_t size, size_t n, int key_bits);

}  // namespace splat
}  // namespace pcstream
