#include "pcstream/splat_column_plan.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "pcstream/error.hpp"

namespace pcstream {
namespace splat {
namespace {

// Rows sampled when choosing a column's prediction mode (every kPlanStride-th row).
constexpr size_t kPlanStride = 4;

// Cost proxy of a residual in bits (Elias-gamma length); integer and cheap.
inline double cost(int64_t r) {
  uint64_t m = static_cast<uint64_t>(r < 0 ? -r : r);
  int b = 0;
  while (m) { ++b; m >>= 1; }
  return 2.0 * b + 1.0;
}

int32_t median_of(std::vector<int64_t>& t) {
  if (t.empty()) return 0;
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  int64_t m = t[t.size() / 2];
  return static_cast<int32_t>(std::max<int64_t>(INT32_MIN, std::min<int64_t>(INT32_MAX, m)));
}

}  // namespace

std::vector<ColumnPlan> choose_plans(const int32_t* data, size_t n, int cols, const int32_t* ext) {
  std::vector<ColumnPlan> plan(cols);
  std::vector<int64_t> t;
  t.reserve(n / kPlanStride + 1);
  for (int c = 0; c < cols; ++c) {
    auto col = [&](size_t i, int cc) { return static_cast<int64_t>(data[i * cols + cc]); };
    t.clear();
    for (size_t i = 0; i < n; i += kPlanStride) t.push_back(col(i, c));
    ColumnPlan best{0, median_of(t), 0};
    double best_cost = 0;
    for (size_t i = 0; i < n; i += kPlanStride) best_cost += cost(col(i, c) - best.offset);
    double c1 = 0;
    for (size_t i = 0; i < n; i += kPlanStride) c1 += cost(col(i, c) - (i ? col(i - 1, c) : best.offset));
    if (c1 < best_cost) { best_cost = c1; best = {1, best.offset, 0}; }
    if (c > 0 && n > 1) {
      // Least-squares slope on the previous column (same row), in 1/256 units.
      double mx = 0, my = 0;
      size_t cnt = 0;
      for (size_t i = 0; i < n; i += kPlanStride) { mx += col(i, c - 1); my += col(i, c); ++cnt; }
      mx /= cnt; my /= cnt;
      double sxx = 0, sxy = 0;
      for (size_t i = 0; i < n; i += kPlanStride) {
        double dx = col(i, c - 1) - mx;
        sxx += dx * dx;
        sxy += dx * (col(i, c) - my);
      }
      int32_t w = sxx > 0 ? static_cast<int32_t>(std::lround(256.0 * sxy / sxx)) : 0;
      w = std::max(-kMaxPlanWeight, std::min(kMaxPlanWeight, w));
      if (w != 0) {
        t.clear();
        for (size_t i = 0; i < n; i += kPlanStride) t.push_back(col(i, c) - ((static_cast<int64_t>(w) * col(i, c - 1)) >> 8));
        ColumnPlan p2{2, median_of(t), w};
        double c2 = 0;
        for (size_t i = 0; i < n; i += kPlanStride) c2 += cost(col(i, c) - predict(p2, data, i, c, cols, ext));
        if (c2 < best_cost) { best_cost = c2; best = p2; }
      }
    }
    if (ext) {
      t.clear();
      for (size_t i = 0; i < n; i += kPlanStride) t.push_back(col(i, c) - ext[i * cols + c]);
      ColumnPlan p3{3, median_of(t), 0};
      double c3 = 0;
      for (size_t i = 0; i < n; i += kPlanStride) c3 += cost(col(i, c) - predict(p3, data, i, c, cols, ext));
      if (c3 < best_cost) { best_cost = c3; best = p3; }
    }
    plan[c] = best;
  }
  return plan;
}

void write_plans(ByteWriter& w, const std::vector<ColumnPlan>& plans) {
  for (const auto& p : plans) {
    w.u8(p.mode);
    w.varint(zigzag(p.offset));
    if (p.mode == 2) w.varint(zigzag(p.weight));
  }
}

std::vector<ColumnPlan> read_plans(ByteReader& rd, int cols, bool has_ext) {
  std::vector<ColumnPlan> plan(cols);
  for (int c = 0; c < cols; ++c) {
    uint8_t mode = rd.u8("splat columns: mode");
    if (mode > 3 || (mode == 2 && c == 0) || (mode == 3 && !has_ext))
      fail(ErrorCode::CorruptPayload, "splat columns: unknown prediction mode", rd.offset() - 1);
    int64_t o = unzigzag(rd.varint("splat columns: offset"));
    if (o < INT32_MIN || o > INT32_MAX) fail(ErrorCode::CorruptPayload, "splat columns: offset out of range");
    int64_t w = mode == 2 ? unzigzag(rd.varint("splat columns: weight")) : 0;
    if (w < -kMaxPlanWeight || w > kMaxPlanWeight) fail(ErrorCode::CorruptPayload, "splat columns: weight out of range");
    plan[c] = {mode, static_cast<int32_t>(o), static_cast<int32_t>(w)};
  }
  return plan;
}

void write_column_prefix(ByteWriter& w, size_t n, int cols, int nside, const std::vector<ColumnPlan>& plans) {
  w.varint(n);
  w.u8(static_cast<uint8_t>(cols));
  w.u8(static_cast<uint8_t>(nside));
  write_plans(w, plans);
}

std::vector<ColumnPlan> read_column_prefix(ByteReader& rd, size_t n, int cols, int nside, const uint8_t* side,
                                           bool has_ext) {
  uint64_t sn = rd.varint("splat columns: row count");
  int scols = rd.u8("splat columns: column count");
  int sside = rd.u8("splat columns: side classes");
  if (sn != n || scols != cols || sside != nside)
    fail(ErrorCode::CorruptPayload, "splat columns: payload shape (" + std::to_string(sn) + "x" +
             std::to_string(scols) + ") differs from the header's", 0);
  std::vector<ColumnPlan> plan = read_plans(rd, cols, has_ext);
  if (side)
    for (size_t i = 0; i < n; ++i)
      if (side[i] >= nside) fail(ErrorCode::InvalidArgument, "splat columns: side class out of range");
  return plan;
}

void read_slice_lengths(ByteReader& rd, size_t ns, std::vector<size_t>& start, std::vector<size_t>& len) {
  if (ns > rd.remaining()) fail(ErrorCode::Truncated, "splat rans: slice lengths exceed the payload", rd.offset());
  len.assign(ns, 0);
  start.assign(ns, 0);
  uint64_t total = 0;
  for (size_t s = 0; s < ns; ++s) {
    len[s] = rd.varint("splat columns: slice length");
    total += len[s];
    if (len[s] > rd.remaining() || total > rd.remaining())
      fail(ErrorCode::Truncated, "splat columns: slice lengths exceed the payload", rd.offset());
  }
  if (total != rd.remaining()) fail(ErrorCode::CorruptPayload, "splat columns: trailing bytes after the slices");
  for (size_t s = 0, p = 0; s < ns; ++s) { start[s] = p; p += len[s]; }
}

}  // namespace splat
}  // namespace pcstream
