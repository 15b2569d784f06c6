#include "pcstream/morton.hpp"

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
