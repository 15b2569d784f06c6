#include "pcstream/splat_rans_coder.hpp"

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <string>

#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/splat_column_plan.hpp"
#include "pcstream/splat_residual_coder.hpp"
#include "pcstream/splat_slices.hpp"

namespace pcstream {
namespace splat {
namespace rans {

std::vector<uint32_t> quantise_counts(const std::vector<uint64_t>& counts, int bits) {
  const uint32_t total_q = 1u << bits;
  std::vector<uint32_t> f(counts.size(), 0);
  uint64_t total = 0;
  int used = 0, top = -1;
  for (size_t s = 0; s < counts.size(); ++s) {
    total += counts[s];
    if (counts[s]) { ++used; if (top < 0 || counts[s] > counts[top]) top = static_cast<int>(s); }
  }
  if (!used) return f;
  if (used == 1) {
    f[top] = total_q - 1;
    f[top + 1 < static_cast<int>(f.size()) ? top + 1 : top - 1] = 1;
    return f;
  }
  int64_t sum = 0;
  for (size_t s = 0; s < counts.size(); ++s) {
    if (!counts[s]) continue;
    uint64_t q = static_cast<uint64_t>((static_cast<long double>(counts[s]) * total_q) / total);
    f[s] = static_cast<uint32_t>(std::max<uint64_t>(1, q));
    sum += f[s];
  }
  // Give the rounding remainder to / take the excess from the largest frequencies (deterministic ties: lowest index).
  while (sum != static_cast<int64_t>(total_q)) {
    size_t best = 0;
    for (size_t s = 1; s < f.size(); ++s) if (f[s] > f[best]) best = s;
    if (sum < static_cast<int64_t>(total_q)) { ++f[best]; ++sum; }
    else { --f[best]; --sum; }
  }
  return f;
}

}  // namespace rans

namespace {

using namespace rans;

constexpr uint8_t kBucketOf[9] = {0, 1, 2, 2, 3, 3, 3, 3, 3};
inline int bucket(uint32_t m) { return m < 9 ? kBucketOf[m] : 4; }
// Magnitude class of a value: the column's running mean of |residual| (x16, recent rows
// weigh most: it follows local statistics as an adaptive coder would) and the residual
// of the previous column in the same row.
inline int mag_class(uint32_t mean16, uint32_t left) {
  const int q = mean16 < 4 ? 0 : mean16 < 12 ? 1 : mean16 < 24 ? 2 : mean16 < 48 ? 3 : 4;
  return std::min(q + bucket(left), kMagClasses - 1);
}
// mean16 <- mean16 + (16 * min(m, 255) - mean16) / 8, truncating toward zero.
inline uint32_t update_mean(uint32_t mean16, uint32_t m) {
  const int32_t cur = static_cast<int32_t>(mean16);
  return static_cast<uint32_t>(cur + (static_cast<int32_t>(std::min<uint32_t>(m, 255) << 4) - cur) / 8);
}
inline uint32_t mag(int64_t r) { return static_cast<uint32_t>(std::min<int64_t>(std::llabs(r), 1 << 30)); }

// Decoding form of one context's table: cumulative frequencies and, per 64-slot
// bucket, the first symbol whose range reaches into it (a short scan finishes).
template <int N>
struct DecTable {
  uint16_t cum[N + 1];
  uint8_t fast[kTotal >> 6];
  bool used;
};

// Reads `count` tables of alphabet N: varint m (0: unused), then m varint frequencies
// (each <= 4095, sum exactly 4096 when used). `count` bytes at least must remain.
template <int N>
std::vector<DecTable<N>> read_tables(ByteReader& rd, size_t count) {
  if (count > rd.remaining()) fail(ErrorCode::Truncated, "splat rans: tables exceed the payload", rd.offset());
  std::vector<DecTable<N>> tabs(count);
  for (size_t c = 0; c < count; ++c) {
    DecTable<N>& t = tabs[c];
    uint64_t m = rd.varint("splat rans: table size");
    if (m > static_cast<uint64_t>(N)) {  // a copy of table c - (m - N)
      const uint64_t d = m - N;
      if (d > kMaxCopyDistance || d > c || !tabs[c - d].used)
        fail(ErrorCode::CorruptPayload, "splat rans: table copy out of range", rd.offset());
      t = tabs[c - d];
      continue;
    }
    // Frequencies are stored at precision 12 - shift (shift <= kMaxShift) and scaled up.
    const int shift = m ? rd.u8("splat rans: table precision") : 0;
    if (shift > kMaxShift) fail(ErrorCode::CorruptPayload, "splat rans: table precision out of range", rd.offset());
    const uint32_t total_q = kTotal >> shift;
    uint32_t acc = 0;
    t.cum[0] = 0;
    for (int s = 0; s < N; ++s) {
      uint64_t f = static_cast<uint64_t>(s) < m ? rd.varint("splat rans: frequency") : 0;
      if (f >= total_q) fail(ErrorCode::CorruptPayload, "splat rans: frequency out of range", rd.offset());
      acc += static_cast<uint32_t>(f);
      if (acc > total_q) fail(ErrorCode::CorruptPayload, "splat rans: frequencies exceed the total", rd.offset());
      t.cum[s + 1] = static_cast<uint16_t>(acc << shift);
    }
    t.used = m > 0;
    if (t.used && acc != total_q) fail(ErrorCode::CorruptPayload, "splat rans: frequencies do not sum to the total", rd.offset());
    if (!t.used) { t.cum[N] = kTotal; std::memset(t.fast, 0, sizeof t.fast); continue; }
    int s = 0;
    for (uint32_t b = 0; b < (kTotal >> 6); ++b) {
      while (t.cum[s + 1] <= (b << 6)) ++s;
      t.fast[b] = static_cast<uint8_t>(s);
    }
  }
  return tabs;
}

// Quantises summed per-slice counts of `nctx` contexts x `ntok` tokens, writes the tables
// and fills the encoder's freq/cum arrays.
void write_tables(ByteWriter& head, const std::vector<std::vector<uint64_t>>& counts, size_t nctx, int ntok,
                  std::vector<uint32_t>& freq, std::vector<uint32_t>& cum) {
  freq.assign(nctx * ntok, 0);
  cum.assign(nctx * ntok, 0);
  std::vector<uint64_t> cnt(ntok);
  for (size_t c = 0; c < nctx; ++c) {
    for (int t = 0; t < ntok; ++t) {
      uint64_t sum = 0;
      for (const auto& sc : counts) sum += sc[c * ntok + t];
      cnt[t] = sum;
    }
    // The precision that minimises estimated coded bits + table bits (few samples: coarse table).
    int used = 0;
    for (int t = 0; t < ntok; ++t) used += cnt[t] != 0;
    std::vector<uint32_t> f = quantise_counts(cnt, kScaleBits);
    int shift = 0;
    if (used > 0) {
      double best = -1;
      for (int sh = 0; sh <= kMaxShift && used <= static_cast<int>(kTotal >> sh); ++sh) {
        std::vector<uint32_t> g = quantise_counts(cnt, kScaleBits - sh);
        double bits = 16;
        for (int t = 0; t < ntok; ++t) {
          if (g[t]) bits += 8.0 * (g[t] < 128 ? 1 : 2);
          if (cnt[t]) bits += static_cast<double>(cnt[t]) * (kScaleBits - sh - std::log2(static_cast<double>(g[t])));
        }
        if (best < 0 || bits < best) { best = bits; f = g; shift = sh; }
      }
    }
    // A copy of one of the previous tables when that is estimated cheaper than its own.
    int copy = 0;
    if (used > 0) {
      double own = 16;
      for (int t = 0; t < ntok; ++t) {
        if (f[t]) own += 8.0 * (f[t] < 128 ? 1 : 2);
        if (cnt[t]) own += static_cast<double>(cnt[t]) * (kScaleBits - shift - std::log2(static_cast<double>(f[t])));
      }
      for (size_t d = 1; d <= std::min<size_t>(c, kMaxCopyDistance); ++d) {
        const uint32_t* g = &freq[(c - d) * ntok];
        double bits = 8.0 * (ntok + d < 128 ? 1 : 2);
        bool ok = true;  // every counted symbol needs a frequency (so the table is a used one)
        for (int t = 0; t < ntok && ok; ++t) {
          if (!cnt[t]) continue;
          if (!g[t]) ok = false;
          else bits += static_cast<double>(cnt[t]) * (kScaleBits - std::log2(static_cast<double>(g[t])));
        }
        if (ok && bits < own) { own = bits; copy = static_cast<int>(d); }
      }
    }
    if (copy) {
      head.varint(static_cast<uint64_t>(ntok) + copy);
      for (int t = 0; t < ntok; ++t) {
        freq[c * ntok + t] = freq[(c - copy) * ntok + t];
        cum[c * ntok + t] = cum[(c - copy) * ntok + t];
      }
      continue;
    }
    int m = ntok;
    while (m > 0 && f[m - 1] == 0) --m;
    head.varint(m);
    if (m) head.u8(static_cast<uint8_t>(shift));
    uint32_t acc = 0;
    for (int t = 0; t < ntok; ++t) {
      if (t < m) head.varint(f[t]);
      freq[c * ntok + t] = f[t] << shift;
      cum[c * ntok + t] = acc;
      acc += f[t] << shift;
    }
  }
}

// Forward bit stream for the raw low bits (LSB first).
struct BitWriter {
  std::vector<uint8_t> out;
  uint64_t acc = 0;
  int n = 0;
  void put(uint64_t v, int bits) {
    if (!bits) return;
    acc |= (v & ((uint64_t{1} << bits) - 1)) << n;
    n += bits;
    while (n >= 8) { out.push_back(static_cast<uint8_t>(acc)); acc >>= 8; n -= 8; }
  }
  void finish() { if (n) out.push_back(static_cast<uint8_t>(acc)); acc = 0; n = 0; }
};

struct BitReader {
  const uint8_t* start;
  const uint8_t* p;
  const uint8_t* end;
  uint64_t acc = 0;
  int n = 0;
  bool overrun = false;
  uint64_t get(int bits) {  // bits <= 56
    if (n < bits) {
      while (n <= 56 && p < end) { acc |= static_cast<uint64_t>(*p++) << n; n += 8; }
      if (n < bits) { overrun = true; n = bits; }
    }
    uint64_t v = acc & ((uint64_t{1} << bits) - 1);
    acc >>= bits;
    n -= bits;
    return v;
  }
  // Every raw byte holds at least one used bit (the refill reads ahead).
  bool exact() const { return !overrun && (static_cast<uint64_t>(p - start) * 8 - n + 7) / 8 == static_cast<uint64_t>(end - start); }
};

// One slice's decoder: two rANS states, its 16-bit words, its raw-bit stream.
struct SliceDecoder {
  uint32_t x[2];
  const uint8_t* wp;
  const uint8_t* wend;
  BitReader bits;
  SliceDecoder(const uint8_t* p, size_t size) : bits{nullptr, nullptr, nullptr} {
    ByteReader rd(p, size);
    x[0] = rd.u32("splat rans: state");
    x[1] = rd.u32("splat rans: state");
    if (x[0] < kLow || x[1] < kLow) fail(ErrorCode::CorruptPayload, "splat rans: initial state out of range");
    uint64_t nw = rd.varint("splat rans: word count");
    if (nw > rd.remaining() / 2) fail(ErrorCode::Truncated, "splat rans: words exceed the slice", rd.offset());
    wp = rd.cursor();
    wend = wp + 2 * nw;
    bits = BitReader{wend, wend, p + size};
  }
  template <int N>
  int symbol(const DecTable<N>& t, uint32_t& s) {
    const uint32_t slot = s & (kTotal - 1);
    int tok = t.fast[slot >> 6];
    while (t.cum[tok + 1] <= slot) ++tok;
    s = static_cast<uint32_t>(t.cum[tok + 1] - t.cum[tok]) * (s >> kScaleBits) + slot - t.cum[tok];
    if (s < kLow) {
      if (wp == wend) fail(ErrorCode::Truncated, "splat rans: words exhausted");
      s = (s << 16) | static_cast<uint32_t>(wp[0] | (wp[1] << 8));
      wp += 2;
    }
    return tok;
  }
  // The encoder starts both states at 2^16 and every word and raw bit is used.
  void finish() const {
    if (x[0] != kLow || x[1] != kLow || wp != wend)
      fail(ErrorCode::CorruptPayload, "splat rans: slice does not end in the initial state");
    if (!bits.exact()) fail(ErrorCode::CorruptPayload, "splat rans: raw bits do not match");
  }
};

size_t ctx_count(int cols, int nside) { return static_cast<size_t>(cols) * nside * kMagClasses; }

// Pass 1 of a slice: context|token per value, raw bits, token counts.
void model_rows(const int32_t* data, size_t n, int cols, const uint8_t* side, int nside, const int32_t* ext,
                const std::vector<ColumnPlan>& plan, std::vector<uint32_t>& ct, BitWriter& raw,
                std::vector<uint64_t>& counts) {
  ct.resize(n * cols);
  std::vector<uint32_t> mean(cols, 0);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    const int32_t* row = data + i * cols;
    const size_t sbase = static_cast<size_t>(side ? side[i] : 0) * kMagClasses;
    uint32_t left = 0;
    for (int c = 0; c < cols; ++c, ++k) {
      int64_t r = static_cast<int64_t>(row[c]) - predict(plan[c], data, i, c, cols, ext);
      int rb;
      uint64_t u = zigzag(r);
      int tok = token_of(u, &rb);  // |r| < 2^35 (|prediction| < 2^34): tok < kTokens
      raw.put(u, rb);
      uint32_t ctx = static_cast<uint32_t>(static_cast<size_t>(c) * nside * kMagClasses + sbase + mag_class(mean[c], left));
      ct[k] = (ctx << 8) | static_cast<uint32_t>(tok);
      ++counts[static_cast<size_t>(ctx) * kTokens + tok];
      left = mag(r);
      mean[c] = update_mean(mean[c], left);
    }
  }
  raw.finish();
}

// Pass 2 of a slice: rANS in reverse over the tokens, two interleaved states.
std::vector<uint8_t> rans_slice(const std::vector<uint32_t>& ct, int ntok, const std::vector<uint32_t>& freq,
                                const std::vector<uint32_t>& cum, const std::vector<uint8_t>& raw) {
  std::vector<uint16_t> words;
  words.reserve(ct.size() / 4 + 16);
  uint32_t x[2] = {kLow, kLow};
  for (size_t k = ct.size(); k-- > 0;) {
    const size_t idx = static_cast<size_t>(ct[k] >> 8) * ntok + (ct[k] & 0xFF);
    const uint32_t f = freq[idx];
    uint32_t& s = x[k & 1];
    if (s >= (static_cast<uint64_t>(f) << (32 - kScaleBits))) { words.push_back(static_cast<uint16_t>(s)); s >>= 16; }
    s = ((s / f) << kScaleBits) + (s % f) + cum[idx];
  }
  ByteWriter w;
  w.u32(x[0]);
  w.u32(x[1]);
  w.varint(words.size());
  for (size_t i = words.size(); i-- > 0;) w.u16(words[i]);
  w.bytes(raw);
  return std::move(w.bytes());
}

void decode_rows(const uint8_t* p, size_t size, int32_t* out, size_t n, int cols, const uint8_t* side, int nside,
                 const int32_t* ext, const std::vector<ColumnPlan>& plan, const std::vector<DecTable<kTokens>>& tabs) {
  SliceDecoder sd(p, size);
  std::vector<uint32_t> mean(cols, 0);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t sbase = static_cast<size_t>(side ? side[i] : 0) * kMagClasses;
    int32_t* row = out + i * cols;
    uint32_t left = 0;
    for (int c = 0; c < cols; ++c, ++k) {
      const DecTable<kTokens>& t = tabs[static_cast<size_t>(c) * nside * kMagClasses + sbase + mag_class(mean[c], left)];
      if (!t.used) fail(ErrorCode::CorruptPayload, "splat rans: value in a context without a table");
      const int tok = sd.symbol(t, sd.x[k & 1]);
      uint64_t u = static_cast<uint64_t>(tok);
      if (tok >= kDirect) {
        const int e = (tok - kDirect) / 2 + 4;  // <= 35: at most 34 raw bits
        u = (static_cast<uint64_t>(2 | ((tok - kDirect) & 1)) << (e - 1)) | sd.bits.get(e - 1);
      }
      const int64_t v = predict(plan[c], out, i, c, cols, ext) + unzigzag(u);
      if (v < INT32_MIN || v > INT32_MAX) fail(ErrorCode::CorruptPayload, "splat rans: value out of range");
      row[c] = static_cast<int32_t>(v);
      left = mag(unzigzag(u));
      mean[c] = update_mean(mean[c], left);
    }
  }
  sd.finish();
}

}  // namespace

std::vector<uint8_t> encode_columns_rans(const int32_t* data, size_t n, int cols, const uint8_t* side, int nside,
                                         const int32_t* ext, int threads) {
  if (cols < 1 || cols > kMaxColumns) fail(ErrorCode::InvalidArgument, "splat columns: 1..64 columns");
  if (nside < 1 || nside > kMaxSideClasses) fail(ErrorCode::InvalidArgument, "splat columns: 1..64 side classes");
  if (side)
    for (size_t i = 0; i < n; ++i)
      if (side[i] >= nside) fail(ErrorCode::InvalidArgument, "splat columns: side class out of range");
  std::vector<ColumnPlan> plan = choose_plans(data, n, cols, ext);
  const size_t ns = column_slices(n), nctx = ctx_count(cols, nside);
  std::vector<std::vector<uint32_t>> ct(ns);
  std::vector<BitWriter> raw(ns);
  std::vector<std::vector<uint64_t>> counts(ns);
  for_slices(ns, threads, [&](size_t s) {
    const size_t b = s * kSliceRows, e = std::min(n, b + kSliceRows);
    counts[s].assign(nctx * kTokens, 0);
    model_rows(data + b * cols, e - b, cols, side ? side + b : nullptr, nside, ext ? ext + b * cols : nullptr, plan,
               ct[s], raw[s], counts[s]);
  });
  ByteWriter head;
  write_column_prefix(head, n, cols, nside, plan);
  std::vector<uint32_t> freq, cum;
  write_tables(head, counts, nctx, kTokens, freq, cum);
  std::vector<std::vector<uint8_t>> bodies(ns);
  for_slices(ns, threads, [&](size_t s) { bodies[s] = rans_slice(ct[s], kTokens, freq, cum, raw[s].out); });
  for (auto& b : bodies) head.varint(b.size());
  for (auto& b : bodies) head.bytes(b);
  return std::move(head.bytes());
}

std::vector<int32_t> decode_columns_rans(const uint8_t* payload, size_t size, size_t n, int cols,
                                         const uint8_t* side, int nside, const int32_t* ext, int threads) {
  if (cols < 1 || cols > kMaxColumns) fail(ErrorCode::InvalidArgument, "splat columns: 1..64 columns");
  if (nside < 1 || nside > kMaxSideClasses) fail(ErrorCode::InvalidArgument, "splat columns: 1..64 side classes");
  ByteReader rd(payload, size);
  std::vector<ColumnPlan> plan = read_column_prefix(rd, n, cols, nside, side, ext != nullptr);
  const size_t nctx = ctx_count(cols, nside);
  std::vector<DecTable<kTokens>> tabs = read_tables<kTokens>(rd, nctx);
  const size_t ns = column_slices(n);
  // Slice lengths are read before any large allocation; the value count is bounded by the bytes.
  if (static_cast<uint64_t>(n) * cols > (static_cast<uint64_t>(rd.remaining()) + 8) * kMaxValuesPerByte)
    fail(ErrorCode::BadLength, "splat columns: row count impossible for the payload size");
  std::vector<size_t> len, start;
  read_slice_lengths(rd, ns, start, len);
  std::vector<int32_t> out(n * static_cast<size_t>(cols));
  const uint8_t* base = rd.cursor();
  for_slices(ns, threads, [&](size_t s) {
    const size_t b = s * kSliceRows, e = std::min(n, b + kSliceRows);
    decode_rows(base + start[s], len[s], out.data() + b * cols, e - b, cols, side ? side + b : nullptr, nside,
                ext ? ext + b * cols : nullptr, plan, tabs);
  });
  return out;
}

namespace {

inline int bit_length64(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }
inline int key_context(uint64_t prev_delta) { return std::min(bit_length64(prev_delta), kKeyContexts - 1); }

}  // namespace

std::vector<uint8_t> encode_sorted_keys_rans(const uint64_t* keys, size_t n, int threads) {
  for (size_t i = 1; i < n; ++i)
    if (keys[i] < keys[i - 1]) fail(ErrorCode::InvalidArgument, "sorted keys: keys must be non-decreasing");
  if (n && keys[n - 1] >> 63) fail(ErrorCode::InvalidArgument, "sorted keys: keys must be below 2^63");
  const size_t ns = column_slices(n);
  std::vector<std::vector<uint32_t>> ct(ns);
  std::vector<BitWriter> raw(ns);
  std::vector<std::vector<uint64_t>> counts(ns);
  for_slices(ns, threads, [&](size_t s) {
    const size_t b = s * kSliceRows, e = std::min(n, b + kSliceRows);
    counts[s].assign(static_cast<size_t>(kKeyContexts) * kKeyTokens, 0);
    ct[s].resize(e - b);
    uint64_t prev = 0;
    for (size_t i = b; i < e; ++i) {
      const uint64_t d = keys[i] - (i ? keys[i - 1] : 0);
      int rb;
      const int tok = token_of(d, &rb);
      if (rb > 32) { raw[s].put(d, 32); raw[s].put(d >> 32, rb - 32); } else raw[s].put(d, rb);
      const int ctx = key_context(prev);
      ct[s][i - b] = (static_cast<uint32_t>(ctx) << 8) | static_cast<uint32_t>(tok);
      ++counts[s][static_cast<size_t>(ctx) * kKeyTokens + tok];
      prev = d;
    }
    raw[s].finish();
  });
  ByteWriter head;
  std::vector<uint32_t> freq, cum;
  write_tables(head, counts, kKeyContexts, kKeyTokens, freq, cum);
  std::vector<std::vector<uint8_t>> bodies(ns);
  for_slices(ns, threads, [&](size_t s) { bodies[s] = rans_slice(ct[s], kKeyTokens, freq, cum, raw[s].out); });
  for (auto& b : bodies) head.varint(b.size());
  for (auto& b : bodies) head.bytes(b);
  return std::move(head.bytes());
}

std::vector<uint64_t> decode_sorted_keys_rans(const uint8_t* payload, size_t size, size_t n, int key_bits,
                                              int threads) {
  if (key_bits < 1 || key_bits > 63) fail(ErrorCode::InvalidArgument, "sorted keys: key_bits must be 1..63");
  ByteReader rd(payload, size);
  std::vector<DecTable<kKeyTokens>> tabs = read_tables<kKeyTokens>(rd, kKeyContexts);
  if (static_cast<uint64_t>(n) > (static_cast<uint64_t>(rd.remaining()) + 8) * kMaxValuesPerByte)
    fail(ErrorCode::BadLength, "sorted keys: count impossible for the payload size");
  const size_t ns = column_slices(n);
  std::vector<size_t> len, start;
  read_slice_lengths(rd, ns, start, len);
  std::vector<uint64_t> out(n);
  const uint8_t* base = rd.cursor();
  const uint64_t limit = uint64_t{1} << key_bits;
  for_slices(ns, threads, [&](size_t s) {
    const size_t b = s * kSliceRows, e = std::min(n, b + kSliceRows);
    SliceDecoder sd(base + start[s], len[s]);
    uint64_t prev = 0;
    for (size_t i = b; i < e; ++i) {
      const DecTable<kKeyTokens>& t = tabs[key_context(prev)];
      if (!t.used) fail(ErrorCode::CorruptPayload, "sorted keys: value in a context without a table");
      const int tok = sd.symbol(t, sd.x[(i - b) & 1]);
      uint64_t d = static_cast<uint64_t>(tok);
      if (tok >= kDirect) {
        const int ex = (tok - kDirect) / 2 + 4;
        if (ex > key_bits) fail(ErrorCode::CorruptPayload, "sorted keys: delta beyond the coordinate range");
        const int rb = ex - 1;
        uint64_t lo = rb > 32 ? sd.bits.get(32) | (sd.bits.get(rb - 32) << 32) : sd.bits.get(rb);
        d = (static_cast<uint64_t>(2 | ((tok - kDirect) & 1)) << rb) | lo;
      }
      out[i] = d;  // deltas; summed below
      prev = d;
    }
    sd.finish();
  });
  uint64_t last = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t v = last + out[i];
    if (v >= limit || v < last) fail(ErrorCode::CorruptPayload, "sorted keys: key beyond the coordinate range");
    out[i] = last = v;
  }
  return out;
}

}  // namespace splat
}  // namespace pcstream
