#include "pcstream/attr_common.hpp"

#include "pcstream/morton.hpp"

#include <cstring>

namespace pcstream {
namespace attr {

int value_width(ValueType t) {
  switch (t) {
    case ValueType::U8: case ValueType::I8: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
  }
  fail(ErrorCode::InvalidArgument, "unknown attribute value type");
}

bool is_float(ValueType t) { return t == ValueType::F32 || t == ValueType::F64; }
bool is_signed_int(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

ValueType value_type_from_code(uint8_t code, bool from_stream) {
  if (code >= kValueTypeCount)
    fail(from_stream ? ErrorCode::CorruptPayload : ErrorCode::InvalidArgument,
         "unknown attribute value type code " + std::to_string(code));
  return static_cast<ValueType>(code);
}

std::string value_type_name(ValueType t) {
  static const char* names[] = {"<u1", "<u2", "<u4", "<u8", "<i1", "<i2", "<i4", "<i8", "<f4", "<f8"};
  return names[static_cast<int>(t)];
}

uint64_t load_ordered(const uint8_t* base, size_t i, ValueType t) {
  const int w = value_width(t);
  uint64_t u = 0;
  const uint8_t* p = base + i * static_cast<size_t>(w);
  for (int b = 0; b < w; ++b) u |= static_cast<uint64_t>(p[b]) << (8 * b);
  const uint64_t top = 1ull << (8 * w - 1);
  if (is_signed_int(t)) return u ^ top;
  if (is_float(t)) {
    const uint64_t mask = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
    return (u & top) ? (~u & mask) : (u | top);
  }
  return u;
}

void store_ordered(uint8_t* base, size_t i, ValueType t, uint64_t v) {
  const int w = value_width(t);
  const uint64_t top = 1ull << (8 * w - 1);
  const uint64_t mask = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
  v &= mask;
  uint64_t u = v;
  if (is_signed_int(t)) u = v ^ top;
  else if (is_float(t)) u = (v & top) ? (v & ~top) : (~v & mask);
  uint8_t* p = base + i * static_cast<size_t>(w);
  for (int b = 0; b < w; ++b) p[b] = static_cast<uint8_t>(u >> (8 * b));
}

MortonOrder morton_order(const uint32_t* xyz, size_t n) {
  MortonOrder o;
  o.codes.resize(n);
  bool sorted = true;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = xyz[3 * i], y = xyz[3 * i + 1], z = xyz[3 * i + 2];
    if ((x | y | z) > kMaxCoord)
      fail(ErrorCode::InvalidArgument, "attribute codec: point coordinates must be integers in [0, 2^21)");
    o.codes[i] = morton_encode(x, y, z);
    if (i && o.codes[i] < o.codes[i - 1]) sorted = false;
  }
  if (sorted) return o;
  if (n > UINT32_MAX) fail(ErrorCode::LimitExceeded, "attribute codec: too many points");
  o.identity = false;
  std::vector<uint64_t> sorted_codes;
  std::vector<uint32_t> idx = morton_sort_permutation(o.codes.data(), n, kMortonMaxBits, &sorted_codes);
  o.codes.swap(sorted_codes);
  o.perm.swap(idx);
  return o;
}

void encode_magnitude(RangeEncoder& enc, ResidualContexts& c, uint64_t mag, int negative) {
  const int len = bit_length(mag);
  // Length 0..64 by a 7-level binary tree of contexts.
  int node = 1;
  for (int b = 6; b >= 0; --b) {
    const int bit = (len >> b) & 1;
    enc.encode_bit(c.len[node], bit);
    node = 2 * node + bit;
  }
  if (len == 0) return;
  enc.encode_bit(c.sign[0], negative);
  if (len == 1) return;
  // The two bits below the leading one with contexts, the rest bypass.
  int m = len - 2;
  const int b1 = static_cast<int>((mag >> m) & 1);
  enc.encode_bit(c.mant[len][0], b1);
  if (m == 0) return;
  --m;
  enc.encode_bit(c.mant[len][1 + b1], static_cast<int>((mag >> m) & 1));
  for (int b = m - 1; b >= 0; --b) enc.encode_bypass(static_cast<int>((mag >> b) & 1));
}

uint64_t decode_magnitude(RangeDecoder& dec, ResidualContexts& c, int& negative) {
  int node = 1;
  for (int b = 6; b >= 0; --b) node = 2 * node + dec.decode_bit(c.len[node]);
  const int len = node - 128;
  negative = 0;
  if (len == 0) return 0;
  if (len > 64) fail(ErrorCode::CorruptPayload, "attribute residual longer than 64 bits");
  negative = dec.decode_bit(c.sign[0]);
  if (len == 1) return 1;
  uint64_t mag = 1;
  int m = len - 2;
  const int b1 = dec.decode_bit(c.mant[len][0]);
  mag = (mag << 1) | static_cast<uint64_t>(b1);
  if (m == 0) return mag;
  --m;
  mag = (mag << 1) | static_cast<uint64_t>(dec.decode_bit(c.mant[len][1 + b1]));
  for (int b = m - 1; b >= 0; --b) mag = (mag << 1) | static_cast<uint64_t>(dec.decode_bypass());
  return mag;
}

}  // namespace attr
}  // namespace pcstream
