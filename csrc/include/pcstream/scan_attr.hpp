// Scan-order attributes (ATTR codec 9): one field per payload, values coded in
// the point order of the scan-order geometry (GEOM codec 8), each predicted
// from earlier points (previous point, last point of the same pulse class,
// nearest earlier point in space) with contexts from the geometry's pulse
// channel. A payload depends only on the decoded geometry, never on another
// attribute, so a server may strip any ATTR chunk. Byte layout:
// formats/scan-order.md.
//
// Values travel as 64-bit integers: integer fields sign- or zero-extended,
// float fields as their IEEE bit patterns (so every value, NaN payloads
// included, is exact). Arithmetic is modulo 2^64.
//
// Errors: encode throws InvalidArgument for bad shapes/options (a pulse-ref
// model without the pulse channel, values that disagree with it). decode
// throws UnsupportedCodec (version), CorruptPayload (header fields that
// disagree with n/components/geometry, impossible values), Truncated.
// Thread safety: functions are reentrant.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream {
namespace scan {

constexpr uint8_t kAttrVersion = 1;
constexpr int kMaxAttrComponents = 4;

enum class AttrModel : uint8_t { Constant = 0, PulseRef = 1, Symbol = 2, Residual = 3, Time = 4 };
constexpr int kAttrModels = 5;

// The decoded geometry a payload is coded against.
struct AttrGeometry {
  const uint32_t* xyz = nullptr;   // n x 3
  const uint8_t* pulse = nullptr;  // n x 2 (return number, number of returns) or null
  size_t n = 0;
};

struct AttrOptions {
  int model = -1;       // -1: try every applicable model and keep the smallest payload
  int predictor = -1;   // residual model: -1 try all, 0 last same pulse class, 1 previous, 2 neighbour, 3 mean of 0 and 2
};

// values: n x comps (1..4) 64-bit values.
std::vector<uint8_t> encode_attr(const AttrGeometry& g, const uint64_t* values, int comps, const AttrOptions& opt = {});
// out: n x comps.
void decode_attr(const AttrGeometry& g, const uint8_t* payload, size_t size, int comps, uint64_t* out);

}  // namespace scan
}  // namespace pcstream
