#include "pcstream/morton.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "pcstream/error.hpp"

namespace pcstream {

std::vector<uint64_t> morton_codes(const uint32_t* xyz, size_t n) {
  std::vector<uint64_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = morton_encode(xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]);
  return out;
}

namespace {

// Keys of at most 32 bits: sort (key << 32 | index) words, half the memory
// traffic of separate key and index arrays. LSD radix sort is stable, and the
// index in the low bits keeps equal keys in input order anyway.
std::vector<uint32_t> sort_packed(const uint64_t* codes, size_t n, int key_bits, std::vector<uint64_t>* sorted_out) {
  constexpr int kDigit = 8;  // 256 scatter streams: few TLB misses
  constexpr size_t kBuckets = size_t(1) << kDigit;
  const int passes = (key_bits + kDigit - 1) / kDigit;
  const uint64_t mask = key_bits >= 64 ? ~0ull : ((1ull << key_bits) - 1);
  // Scratch without zero fill: every slot is written before it is read.
  std::unique_ptr<uint64_t[]> a(new uint64_t[n ? n : 1]), b(new uint64_t[n ? n : 1]);
  std::vector<uint32_t> hist(static_cast<size_t>(passes) * kBuckets, 0);
  for (size_t i = 0; i < n; ++i) {
    uint64_t k = codes[i] & mask;
    a[i] = (k << 32) | static_cast<uint64_t>(i);
    for (int p = 0; p < passes; ++p) ++hist[p * kBuckets + ((k >> (p * kDigit)) & (kBuckets - 1))];
  }
  std::vector<int> todo;  // digits that move something
  for (int p = 0; p < passes; ++p) {
    uint32_t* h = &hist[p * kBuckets];
    bool trivial = false;
    for (size_t q = 0; q < kBuckets; ++q) {
      if (h[q] == n) { trivial = true; break; }
      if (h[q] != 0) break;
    }
    if (trivial) continue;
    uint32_t sum = 0;
    for (size_t q = 0; q < kBuckets; ++q) { uint32_t c = h[q]; h[q] = sum; sum += c; }
    todo.push_back(p);
  }
  std::vector<uint32_t> perm(n);
  if (sorted_out) sorted_out->resize(n);
  for (size_t t = 0; t < todo.size(); ++t) {
    const int p = todo[t];
    uint32_t* h = &hist[p * kBuckets];
    const int shift = 32 + p * kDigit;
    if (t + 1 == todo.size()) {  // last pass: scatter straight into the outputs
      uint64_t* so = sorted_out ? sorted_out->data() : nullptr;
      for (size_t i = 0; i < n; ++i) {
        const uint64_t v = a[i];
        const uint32_t dst = h[(v >> shift) & (kBuckets - 1)]++;
        perm[dst] = static_cast<uint32_t>(v);
        if (so) so[dst] = v >> 32;
      }
      return perm;
    }
    for (size_t i = 0; i < n; ++i) b[h[(a[i] >> shift) & (kBuckets - 1)]++] = a[i];
    a.swap(b);
  }
  // Every digit trivial: already sorted (all keys equal).
  for (size_t i = 0; i < n; ++i) perm[i] = static_cast<uint32_t>(a[i]);
  if (sorted_out)
    for (size_t i = 0; i < n; ++i) (*sorted_out)[i] = a[i] >> 32;
  return perm;
}

// Keys above 32 bits: LSD radix sort of packed words ((key >> low) << ib | index), ib = bits of
// the largest index: one 8-byte word per point instead of a key and an index
// array. When key and index do not fit 64 bits together, the `low` key bits
// that do not fit are sorted first, read from the codes themselves (the
// items are still in input order then). LSD radix sort is stable, and the
// index in the low bits keeps equal keys in input order anyway.
// Returns false (nothing done) when more than 11 low bits would not fit.
bool sort_packed_wide(const uint64_t* codes, size_t n, int key_bits, std::vector<uint32_t>& perm,
                 std::vector<uint64_t>* sorted_out) {
  int ib = 1;
  while (ib < 32 && (uint64_t(1) << ib) < n) ++ib;
  const int low = std::max(0, key_bits + ib - 64);
  if (low > 11) return false;
  // Small inputs stay in cache: wide digits, fewer passes; large ones use 256
  // scatter streams (few TLB misses).
  const int digit = n <= (size_t(1) << 18) ? 12 : 8;
  const size_t buckets = size_t(1) << digit;
  const int hi_bits = key_bits - low;
  const int passes = (hi_bits + digit - 1) / digit;
  const uint64_t mask = key_bits >= 64 ? ~0ull : ((1ull << key_bits) - 1);
  const uint64_t low_mask = (uint64_t(1) << low) - 1;
  const uint64_t idx_mask = (uint64_t(1) << ib) - 1;
  // Scratch without zero fill: every slot is written before it is read.
  std::unique_ptr<uint64_t[]> a(new uint64_t[n ? n : 1]), b(new uint64_t[n ? n : 1]);
  std::vector<uint32_t> hist(static_cast<size_t>(passes + 1) * buckets, 0);
  uint32_t* hlow = &hist[static_cast<size_t>(passes) * buckets];
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = codes[i] & mask;
    const uint64_t kh = k >> low;
    a[i] = (kh << ib) | static_cast<uint64_t>(i);
    for (int p = 0; p < passes; ++p) ++hist[p * buckets + ((kh >> (p * digit)) & (buckets - 1))];
    ++hlow[k & low_mask];
  }
  // Digits where every key falls in one bucket change nothing: skipped.
  auto prefix = [&](uint32_t* h) {
    for (size_t q = 0; q < buckets; ++q) {
      if (h[q] == n) return false;
      if (h[q] != 0) break;
    }
    uint32_t sum = 0;
    for (size_t q = 0; q < buckets; ++q) { uint32_t c = h[q]; h[q] = sum; sum += c; }
    return true;
  };
  if (low > 0 && prefix(hlow)) {
    for (size_t i = 0; i < n; ++i) b[hlow[(codes[i] & mask) & low_mask]++] = a[i];
    a.swap(b);
  }
  std::vector<int> todo;
  for (int p = 0; p < passes; ++p)
    if (prefix(&hist[p * buckets])) todo.push_back(p);
  perm.resize(n);
  if (sorted_out) sorted_out->resize(n);
  uint64_t* so = sorted_out ? sorted_out->data() : nullptr;
  // The last pass scatters straight into the outputs.
  auto emit = [&](size_t dst, uint64_t v) {
    const uint32_t idx = static_cast<uint32_t>(v & idx_mask);
    perm[dst] = idx;
    if (so) so[dst] = low ? ((v >> ib) << low) | (codes[idx] & low_mask) : v >> ib;
  };
  for (size_t t = 0; t < todo.size(); ++t) {
    uint32_t* h = &hist[todo[t] * buckets];
    const int shift = ib + todo[t] * digit;
    if (t + 1 == todo.size()) {
      for (size_t i = 0; i < n; ++i) emit(h[(a[i] >> shift) & (buckets - 1)]++, a[i]);
      return true;
    }
    for (size_t i = 0; i < n; ++i) b[h[(a[i] >> shift) & (buckets - 1)]++] = a[i];
    a.swap(b);
  }
  for (size_t i = 0; i < n; ++i) emit(i, a[i]);
  return true;
}

}  // namespace

std::vector<uint32_t> morton_sort_permutation(const uint64_t* codes, size_t n, int bits,
                                              std::vector<uint64_t>* sorted_out) {
  if (bits < 0 || bits > kMortonMaxBits)
    fail(ErrorCode::InvalidArgument, "morton sort: bits must be in [0, 21], got " + std::to_string(bits));
  if (n > 0xFFFFFFFFull) fail(ErrorCode::InvalidArgument, "morton sort: more than 2^32-1 points");
  const int key_bits = 3 * bits;
  constexpr int kDigit = 11;
  constexpr size_t kBuckets = size_t(1) << kDigit;
  const int passes = (key_bits + kDigit - 1) / kDigit;
  if (key_bits <= 32) return sort_packed(codes, n, key_bits, sorted_out);
  {
    std::vector<uint32_t> perm;
    if (sort_packed_wide(codes, n, key_bits, perm, sorted_out)) return perm;
  }

  std::vector<uint64_t> key(codes, codes + n), key2(n);
  std::vector<uint32_t> perm(n), perm2(n);
  for (size_t i = 0; i < n; ++i) perm[i] = static_cast<uint32_t>(i);
  const uint64_t mask = key_bits >= 64 ? ~0ull : ((1ull << key_bits) - 1);
  for (size_t i = 0; i < n; ++i) key[i] &= mask;

  // One histogram pass for all digits.
  std::vector<uint32_t> hist(static_cast<size_t>(passes) * kBuckets, 0);
  for (size_t i = 0; i < n; ++i) {
    uint64_t k = key[i];
    for (int p = 0; p < passes; ++p) ++hist[p * kBuckets + ((k >> (p * kDigit)) & (kBuckets - 1))];
  }
  for (int p = 0; p < passes; ++p) {
    uint32_t* h = &hist[p * kBuckets];
    // A digit where every key falls in one bucket changes nothing: skip it.
    bool trivial = false;
    for (size_t b = 0; b < kBuckets; ++b) {
      if (h[b] == n) { trivial = true; break; }
      if (h[b] != 0) break;
    }
    if (trivial || n == 0) continue;
    uint32_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) { uint32_t c = h[b]; h[b] = sum; sum += c; }
    const int shift = p * kDigit;
    for (size_t i = 0; i < n; ++i) {
      uint32_t dst = h[(key[i] >> shift) & (kBuckets - 1)]++;
      key2[dst] = key[i];
      perm2[dst] = perm[i];
    }
    key.swap(key2);
    perm.swap(perm2);
  }
  if (sorted_out) *sorted_out = std::move(key);
  return perm;
}

}  // namespace pcstream
