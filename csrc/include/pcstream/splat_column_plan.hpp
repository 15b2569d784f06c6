// Per-column prediction plans shared by the splat column coders (v1 binary
// residual coder and v2 multi-symbol coder, chunk type SPLT, codec id 6).
//
// A plan predicts column c of row i from data already decoded: a constant
// offset (mode 0), the previous row (1), a linear function of the previous
// column of the same row (2), or an external prediction plus an offset (3).
// The encoder picks the cheapest mode on a sample of rows; the plan is stored
// in the payload header.
//
// Errors: read_plans throws pcstream::Error (CorruptPayload / Truncated) on
// unknown modes, out-of-range offsets or weights, and truncated input.
// Thread safety: stateless functions; safe to call concurrently.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pcstream/byte_io.hpp"

namespace pcstream {
namespace splat {

struct ColumnPlan {
  uint8_t mode;    // 0: constant offset, 1: previous row, 2: linear in the previous column,
                   // 3: external prediction + offset
  int32_t offset;  // prediction for mode 0, intercept for modes 2 and 3
  int32_t weight;  // mode 2: slope in 1/256 units, |weight| <= kMaxPlanWeight
};

constexpr int32_t kMaxPlanWeight = 1024;

// Prediction of row i, column c (all inputs already decoded).
inline int64_t predict(const ColumnPlan& p, const int32_t* rows, size_t i, int c, int cols, const int32_t* ext) {
  switch (p.mode) {
    case 3: return p.offset + static_cast<int64_t>(ext[i * cols + c]);
    case 1: return i ? rows[(i - 1) * cols + c] : p.offset;
    case 2: return p.offset + ((static_cast<int64_t>(p.weight) * rows[i * cols + c - 1]) >> 8);
    default: return p.offset;
  }
}

// The cheapest plan per column on a sample of rows (ext may be null).
std::vector<ColumnPlan> choose_plans(const int32_t* data, size_t n, int cols, const int32_t* ext);
void write_plans(ByteWriter& w, const std::vector<ColumnPlan>& plans);
// Reads `cols` plans; mode 3 is accepted only when has_ext.
std::vector<ColumnPlan> read_plans(ByteReader& r, int cols, bool has_ext);

// The prefix every column payload version starts with: varint rows, u8 columns,
// u8 side classes, then the plans. read_column_prefix throws CorruptPayload when the
// stored shape differs from the caller's (n, cols, nside), InvalidArgument when a side
// class is >= nside, Truncated when the bytes end.
void write_column_prefix(ByteWriter& w, size_t n, int cols, int nside, const std::vector<ColumnPlan>& plans);
// Reads the varint lengths of `ns` slices that fill the rest of the payload; `start`
// gets each slice's offset from the cursor. Throws Truncated when they overrun the
// bytes left, CorruptPayload when bytes are left over.
void read_slice_lengths(ByteReader& r, size_t ns, std::vector<size_t>& start, std::vector<size_t>& len);

std::vector<ColumnPlan> read_column_prefix(ByteReader& r, size_t n, int cols, int nside, const uint8_t* side,
                                           bool has_ext);

inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace splat
}  // namespace pcstream
