#include "pcstream/sparse_neighbors.hpp"

#include <string>

#include "pcstream/error.hpp"
#include "pcstream/parallel_rows.hpp"

namespace pcstream::nn {

CoordIndex::CoordIndex(const int32_t* xyz, size_t n) : n_(n) {
  if (n > (size_t{1} << 30)) fail(ErrorCode::LimitExceeded, "CoordIndex: too many coordinates");
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  keys_.assign(cap, kEmpty);
  vals_.assign(cap, -1);
  mask_ = cap - 1;
  for (size_t i = 0; i < n; ++i) {
    int64_t x = xyz[3 * i], y = xyz[3 * i + 1], z = xyz[3 * i + 2];
    const int64_t lim = int64_t{1} << kMaxCoordBits;
    if (x < 0 || y < 0 || z < 0 || x >= lim || y >= lim || z >= lim)
      fail(ErrorCode::InvalidArgument, "CoordIndex: coordinate outside [0, 2^21) at row " + std::to_string(i));
    uint64_t key = pack(x, y, z);
    uint64_t s = slot(key);
    while (keys_[s] != kEmpty) {
      if (keys_[s] == key) fail(ErrorCode::InvalidArgument, "CoordIndex: duplicate coordinate at row " + std::to_string(i));
      s = (s + 1) & mask_;
    }
    keys_[s] = key;
    vals_[s] = static_cast<int32_t>(i);
  }
}

std::vector<std::array<int, 3>> kernel_offsets(int k) {
  if (k < 1 || k > 7 || k % 2 == 0) fail(ErrorCode::InvalidArgument, "kernel size must be odd in [1, 7]");
  std::vector<std::array<int, 3>> off;
  int r = k / 2;
  for (int dx = -r; dx <= r; ++dx)
    for (int dy = -r; dy <= r; ++dy)
      for (int dz = -r; dz <= r; ++dz) off.push_back({dx, dy, dz});
  return off;
}

std::vector<int32_t> neighbor_table(const CoordIndex& in, const int32_t* out_xyz, size_t n_out, int k, int threads) {
  auto off = kernel_offsets(k);
  const size_t K = off.size();
  std::vector<int32_t> table(n_out * K);
  parallel_rows(n_out, threads, [&](size_t b, size_t e) {
    for (size_t o = b; o < e; ++o) {
      int64_t x = out_xyz[3 * o], y = out_xyz[3 * o + 1], z = out_xyz[3 * o + 2];
      for (size_t j = 0; j < K; ++j) table[o * K + j] = in.find(x + off[j][0], y + off[j][1], z + off[j][2]);
    }
  });
  return table;
}

BigVector<int32_t> child_neighbor_table(const int32_t* parent_table, size_t table_size, const std::vector<uint8_t>& codes,
                                        int k, int threads) {
  const auto off = kernel_offsets(k);
  const size_t K = off.size(), np = codes.size();
  const int r = k / 2;
  if (table_size != np * K) fail(ErrorCode::InvalidArgument, "child_neighbor_table: table size mismatch");
  // rank[(q + 1) * 8 + s]: row of the child in octant s of parent q, or -1
  // (row 0 stands for an absent parent, q = -1), so a lookup needs no branch.
  std::vector<int32_t> rank(8 * (np + 1), -1);
  size_t nc = 0;
  for (size_t p = 0; p < np; ++p)
    for (int s = 0; s < 8; ++s)
      if (codes[p] >> s & 1) {
        if (nc >= (size_t{1} << 31) - 1) fail(ErrorCode::LimitExceeded, "child_neighbor_table: too many children");
        rank[(p + 1) * 8 + static_cast<size_t>(s)] = static_cast<int32_t>(nc++);
      }
  // For child octant o and offset j: the parent-table column and the octant in that parent.
  std::vector<uint32_t> col(8 * K), sub(8 * K);
  for (int o = 0; o < 8; ++o)
    for (size_t j = 0; j < K; ++j) {
      const int u[3] = {(o >> 2 & 1) + off[j][0], (o >> 1 & 1) + off[j][1], (o & 1) + off[j][2]};
      int e[3], b[3];
      for (int a = 0; a < 3; ++a) {
        e[a] = u[a] >= 0 ? u[a] / 2 : -((1 - u[a]) / 2);  // floor(u / 2)
        b[a] = u[a] - 2 * e[a];
      }
      col[o * K + j] = static_cast<uint32_t>(((e[0] + r) * k + (e[1] + r)) * k + (e[2] + r));
      sub[o * K + j] = static_cast<uint32_t>(b[0] << 2 | b[1] << 1 | b[2]);
    }
  BigVector<int32_t> table(nc * K);  // uninitialised: every entry is written below
  parallel_rows(np, threads, [&](size_t p0, size_t p1) {
    // Each worker checks the parent rows it reads (branch-free: q + 1 in [0, np] as unsigned).
    uint32_t bad = 0;
    for (size_t i = p0 * K; i < p1 * K; ++i)
      bad |= static_cast<uint32_t>(static_cast<uint64_t>(static_cast<uint32_t>(parent_table[i]) + 1u) > np);
    if (bad) fail(ErrorCode::InvalidArgument, "child_neighbor_table: parent index out of range");
    for (size_t p = p0; p < p1; ++p) {
      const int32_t* pn = parent_table + p * K;
      const int32_t* own = rank.data() + (p + 1) * 8;
      for (int o = 0; o < 8; ++o) {
        if (own[o] < 0) continue;
        int32_t* out = table.data() + static_cast<size_t>(own[o]) * K;
        const uint32_t* co = col.data() + o * K;
        const uint32_t* so = sub.data() + o * K;
        for (size_t j = 0; j < K; ++j)
          out[j] = rank[static_cast<size_t>(pn[co[j]] + 1) * 8 + so[j]];
      }
    }
  });
  return table;
}

NeighborPairs neighbor_pairs(const std::vector<int32_t>& table, size_t n_out, int k) {
  const size_t K = kernel_offsets(k).size();
  if (table.size() != n_out * K) fail(ErrorCode::InvalidArgument, "neighbor_pairs: table size mismatch");
  NeighborPairs p;
  p.offset_start.assign(K + 1, 0);
  for (size_t o = 0; o < n_out; ++o)
    for (size_t j = 0; j < K; ++j)
      if (table[o * K + j] >= 0) ++p.offset_start[j + 1];
  for (size_t j = 0; j < K; ++j) p.offset_start[j + 1] += p.offset_start[j];
  p.in_rows.resize(static_cast<size_t>(p.offset_start[K]));
  p.out_rows.resize(p.in_rows.size());
  std::vector<int64_t> pos(p.offset_start.begin(), p.offset_start.end() - 1);
  for (size_t o = 0; o < n_out; ++o)
    for (size_t j = 0; j < K; ++j) {
      int32_t i = table[o * K + j];
      if (i < 0) continue;
      p.in_rows[pos[j]] = i;
      p.out_rows[pos[j]++] = static_cast<int32_t>(o);
    }
  return p;
}

std::vector<int32_t> parent_map(const CoordIndex& parents, const int32_t* child_xyz, size_t n, int stride_log2,
                                uint8_t* octant) {
  if (stride_log2 < 0 || stride_log2 > kMaxCoordBits) fail(ErrorCode::InvalidArgument, "parent_map: bad stride");
  std::vector<int32_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    int32_t x = child_xyz[3 * i], y = child_xyz[3 * i + 1], z = child_xyz[3 * i + 2];
    out[i] = (x | y | z) < 0 ? -1 : parents.find(x >> stride_log2, y >> stride_log2, z >> stride_log2);
    if (octant) octant[i] = static_cast<uint8_t>(((x & 1) << 2) | ((y & 1) << 1) | (z & 1));
  }
  return out;
}

}  // namespace pcstream::nn
