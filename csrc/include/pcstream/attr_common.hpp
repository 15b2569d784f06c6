// Pieces shared by the attribute codecs (codec 3: predictive lossless, codec
// 4: RAHT lossy): value types, the canonical point order attributes are coded
// in, and the Exp-Golomb-like adaptive residual coder.
//
// Point order: attribute codecs receive the decoded geometry (N points, integer
// voxel coordinates < 2^21 per axis) in any order that encoder and decoder
// share. They code values in Morton order of those points (stable for equal
// codes), so the geometry codec's canonical order costs no sort at all.
//
// Thread safety: all functions are pure; objects are not shared.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pcstream/error.hpp"
#include "pcstream/range_coder.hpp"

namespace pcstream {
namespace attr {

// Element type of an attribute. The numeric codes are part of the payload
// format of codecs 3 and 4: never renumber.
enum class ValueType : uint8_t {
  U8 = 0, U16 = 1, U32 = 2, U64 = 3,
  I8 = 4, I16 = 5, I32 = 6, I64 = 7,
  F32 = 8, F64 = 9,
};
constexpr int kValueTypeCount = 10;

// Byte width of one element; throws InvalidArgument for an unknown code.
int value_width(ValueType t);
bool is_float(ValueType t);
bool is_signed_int(ValueType t);
ValueType value_type_from_code(uint8_t code, bool from_stream);
// numpy-style name ("<u2", "<f8", ...) of a value type, for messages.
std::string value_type_name(ValueType t);

// Reads element `i` of a little-endian array of type `t` as an "ordered
// unsigned" integer: unsigned integers unchanged, signed integers with the
// sign bit flipped, floats by their bit pattern mapped so that the unsigned
// order follows the numeric order (NaN payloads are kept bit-exactly).
uint64_t load_ordered(const uint8_t* base, size_t i, ValueType t);
void store_ordered(uint8_t* base, size_t i, ValueType t, uint64_t v);

// Largest coordinate value accepted (2^21 - 1) so that Morton codes fit 63 bits.
constexpr uint32_t kMaxCoord = (1u << 21) - 1;


// The order attributes are coded in. `perm[k]` is the input index of the k-th
// point in Morton order; `identity` is true (and perm empty) when the input is
// already in that order. Throws InvalidArgument for coordinates > kMaxCoord.
struct MortonOrder {
  std::vector<uint64_t> codes;  // Morton codes in coding order
  std::vector<uint32_t> perm;
  bool identity = true;
  size_t index(size_t k) const { return identity ? k : perm[k]; }
};
MortonOrder morton_order(const uint32_t* xyz, size_t n);

inline int bit_length(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

// Adaptive coder of signed integers: bit length of |v| by a binary tree of
// contexts (7 levels, 0..64), sign and the two bits below the leading one with
// contexts, the rest as bypass bits. One instance per context class.
struct ResidualContexts {
  BinContext len[128];
  BinContext sign[2];
  BinContext mant[65][4];
};

// |v| < 2^64 with a separate sign; `mag` == 0 codes zero.
void encode_magnitude(RangeEncoder& enc, ResidualContexts& c, uint64_t mag, int negative);
// Returns the magnitude; `negative` receives the sign (0 for zero).
uint64_t decode_magnitude(RangeDecoder& dec, ResidualContexts& c, int& negative);

}  // namespace attr
}  // namespace pcstream
