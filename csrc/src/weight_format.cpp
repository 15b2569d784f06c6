// Payload framing of the weight coder: header, tensor descriptors and the one
// range-coded stream (formats/weights-chunk.md).
#include <cmath>
#include <unordered_set>

#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/weight_coder.hpp"
#include "weight_tensor_codec.hpp"

namespace pcstream {
namespace weights {

namespace {

uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t unzigzag(uint64_t u) { return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1); }

// rows x cols view: 0-D and 1-D tensors are one row; otherwise rows = shape[0].
void row_view(const std::vector<uint64_t>& shape, uint64_t count, uint64_t* rows, uint64_t* cols) {
  if (shape.size() <= 1 || count == 0) {
    *rows = count ? 1 : 0;
    *cols = count;
  } else {
    *rows = shape[0];
    *cols = count / shape[0];
  }
}

// Product of dims, or fails with `code` when it exceeds `limit` (no overflow).
uint64_t element_count(const std::vector<uint64_t>& shape, uint64_t limit, ErrorCode code, int64_t offset) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (d == 0) return 0;
  }
  for (uint64_t d : shape) {
    if (d > limit || n > limit / d)
      fail(code, "weights: tensor has more elements than the limit " + std::to_string(limit), offset);
    n *= d;
  }
  return n;
}

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool valid_utf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) { ++i; continue; }
    int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    uint32_t cp = c & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace

bool dtype_is_valid(uint8_t code) { return (code >= 1 && code <= 4) || (code >= 16 && code <= 21); }
bool dtype_is_integer(DType d) { return static_cast<uint8_t>(d) >= 16; }

double step_for_qp(int qp) {
  // 2^(r/4) for r = 0..3, rounded to nearest double; frozen by the format.
  static const double kFrac[4] = {0x1.0000000000000p+0, 0x1.306fe0a31b715p+0, 0x1.6a09e667f3bcdp+0,
                                  0x1.ae89f995ad3adp+0};
  int e = qp >= 0 ? qp / 4 : -((-qp + 3) / 4);
  int r = qp - 4 * e;
  return std::ldexp(kFrac[r], e);
}

double reconstruction_step(int qp, uint8_t quantizer) {
  return quantizer == kDependent ? step_for_qp(qp) * 0.5625 : step_for_qp(qp);
}

std::vector<uint8_t> encode_weights(const std::vector<QuantTensor>& tensors, const WeightEncodeOptions& options) {
  if (options.base_qp < kMinQp || options.base_qp > kMaxQp)
    fail(ErrorCode::InvalidArgument, "weights: base qp out of range");
  ByteWriter w;
  w.u8(kFormatVersion);
  w.u8(0);  // flags, reserved
  w.varint(zigzag(options.base_qp));
  w.varint(tensors.size());
  std::unordered_set<std::string> names;
  std::vector<detail::TensorParams> params(tensors.size());
  std::vector<std::vector<int64_t>> indices(tensors.size());  // dependent quantization only
  for (size_t t = 0; t < tensors.size(); ++t) {
    const QuantTensor& x = tensors[t];
    if (x.name.size() > kMaxNameBytes) fail(ErrorCode::InvalidArgument, "weights: tensor name too long");
    if (!valid_utf8(reinterpret_cast<const uint8_t*>(x.name.data()), x.name.size()))
      fail(ErrorCode::InvalidArgument, "weights: tensor name is not UTF-8");
    if (!names.insert(x.name).second) fail(ErrorCode::InvalidArgument, "weights: duplicate tensor name " + x.name);
    if (!dtype_is_valid(static_cast<uint8_t>(x.dtype))) fail(ErrorCode::InvalidArgument, "weights: bad dtype");
    if (x.shape.size() > static_cast<size_t>(kMaxDims)) fail(ErrorCode::InvalidArgument, "weights: too many dims");
    if (x.qp < kMinQp || x.qp > kMaxQp) fail(ErrorCode::InvalidArgument, "weights: qp out of range");
    if (dtype_is_integer(x.dtype) && x.qp != 0)
      fail(ErrorCode::InvalidArgument, "weights: integer tensors must use qp 0 (step 1)");
    uint64_t n = element_count(x.shape, UINT64_MAX >> 4, ErrorCode::InvalidArgument, -1);
    const std::vector<int64_t>* coded = &x.values;
    if (x.quantizer == kDependent) {
      if (dtype_is_integer(x.dtype)) fail(ErrorCode::InvalidArgument, "weights: dependent quantization needs a float tensor");
      if (n != x.real.size()) fail(ErrorCode::InvalidArgument, "weights: real values do not match the shape of " + x.name);
      indices[t] = detail::dq_quantize(x.real.data(), n, reconstruction_step(x.qp, kDependent));
      coded = &indices[t];
    } else if (x.quantizer != kUniform) {
      fail(ErrorCode::InvalidArgument, "weights: unknown quantizer");
    }
    if (n != coded->size()) fail(ErrorCode::InvalidArgument, "weights: values do not match the shape of " + x.name);
    for (int64_t v : *coded)
      if (v > kMaxMagnitude || v < -kMaxMagnitude)
        fail(ErrorCode::InvalidArgument, "weights: quantized value of " + x.name + " exceeds 2^47 - 1");
    params[t] = detail::choose_params(coded->data(), n);
    params[t].dependent = x.quantizer == kDependent;
    w.varint(x.name.size());
    w.bytes(reinterpret_cast<const uint8_t*>(x.name.data()), x.name.size());
    w.u8(static_cast<uint8_t>(x.dtype));
    w.u8(static_cast<uint8_t>(x.shape.size()));
    for (uint64_t d : x.shape) w.varint(d);
    w.varint(zigzag(static_cast<int64_t>(x.qp) - options.base_qp));
    w.u8(x.quantizer);
    w.u8(static_cast<uint8_t>((params[t].gt_flags << 4) | params[t].eg_order));
  }
  detail::BinEncoder enc;
  detail::WeightContexts ctx;
  for (size_t t = 0; t < tensors.size(); ++t) {
    const QuantTensor& x = tensors[t];
    const std::vector<int64_t>& coded = x.quantizer == kDependent ? indices[t] : x.values;
    uint64_t rows, cols;
    row_view(x.shape, coded.size(), &rows, &cols);
    ctx.reset();
    detail::encode_tensor(enc, ctx, coded.data(), rows, cols, params[t]);
  }
  w.bytes(enc.finish());
  return std::move(w.bytes());
}

std::vector<QuantTensor> decode_weights(const uint8_t* data, size_t size, const WeightDecodeLimits& limits,
                                        int32_t* base_qp_out) {
  ByteReader r(data, size);
  uint8_t version = r.u8("weights version");
  if (version != kFormatVersion)
    fail(ErrorCode::UnsupportedCodec, "weights: payload version " + std::to_string(version) + " is not supported", 0);
  if (r.u8("weights flags") != 0) fail(ErrorCode::ReservedBitsSet, "weights: reserved flags set", 1);
  int64_t base_qp = unzigzag(r.varint("weights base qp"));
  if (base_qp < kMinQp || base_qp > kMaxQp) fail(ErrorCode::CorruptPayload, "weights: base qp out of range", r.offset());
  uint64_t count = r.varint("weights tensor count");
  if (count > limits.max_tensors)
    fail(ErrorCode::LimitExceeded, "weights: " + std::to_string(count) + " tensors exceed the limit", r.offset());
  // Every descriptor takes at least 6 bytes (name length, dtype, ndim, qp, quantizer, params).
  r.checked_count(count, 6, "weights tensor descriptors");
  std::vector<QuantTensor> out(count);
  std::vector<detail::TensorParams> params(count);
  std::unordered_set<std::string> names;
  uint64_t total = 0;
  for (uint64_t t = 0; t < count; ++t) {
    QuantTensor& x = out[t];
    uint64_t len = r.varint("weights name length");
    if (len > kMaxNameBytes) fail(ErrorCode::CorruptPayload, "weights: tensor name too long", r.offset());
    const uint8_t* name = r.take(len, "weights tensor name");
    if (!valid_utf8(name, len)) fail(ErrorCode::CorruptPayload, "weights: tensor name is not UTF-8", r.offset() - static_cast<int64_t>(len));
    x.name.assign(reinterpret_cast<const char*>(name), len);
    if (!names.insert(x.name).second) fail(ErrorCode::CorruptPayload, "weights: duplicate tensor name", r.offset());
    uint8_t dtype = r.u8("weights dtype");
    if (!dtype_is_valid(dtype)) fail(ErrorCode::CorruptPayload, "weights: unknown dtype " + std::to_string(dtype), r.offset() - 1);
    x.dtype = static_cast<DType>(dtype);
    uint8_t ndim = r.u8("weights ndim");
    if (ndim > kMaxDims) fail(ErrorCode::CorruptPayload, "weights: too many dimensions", r.offset() - 1);
    x.shape.resize(ndim);
    for (auto& d : x.shape) d = r.varint("weights dim");
    uint64_t n = element_count(x.shape, limits.max_elements, ErrorCode::LimitExceeded, r.offset());
    if (n > limits.max_elements - total)
      fail(ErrorCode::LimitExceeded, "weights: tensors have more elements than the limit", r.offset());
    total += n;
    int64_t qp = base_qp + unzigzag(r.varint("weights qp offset"));
    if (qp < kMinQp || qp > kMaxQp) fail(ErrorCode::CorruptPayload, "weights: qp out of range", r.offset());
    if (dtype_is_integer(x.dtype) && qp != 0)
      fail(ErrorCode::CorruptPayload, "weights: integer tensor with a non-zero qp", r.offset());
    x.qp = static_cast<int32_t>(qp);
    uint8_t quantizer = r.u8("weights quantizer");
    if (quantizer > kDependent)
      fail(ErrorCode::UnsupportedCodec, "weights: quantizer " + std::to_string(quantizer) + " is not supported", r.offset() - 1);
    if (quantizer == kDependent && dtype_is_integer(x.dtype))
      fail(ErrorCode::CorruptPayload, "weights: dependent quantization of an integer tensor", r.offset() - 1);
    x.quantizer = quantizer;
    uint8_t p = r.u8("weights tensor params");
    params[t].gt_flags = p >> 4;
    params[t].eg_order = p & 15;
    params[t].dependent = quantizer == kDependent;
  }
  detail::BinDecoder dec(r.cursor(), r.remaining());
  detail::WeightContexts ctx;
  for (uint64_t t = 0; t < count; ++t) {
    QuantTensor& x = out[t];
    uint64_t n = element_count(x.shape, limits.max_elements, ErrorCode::LimitExceeded, -1);
    x.values.assign(n, 0);
    uint64_t rows, cols;
    row_view(x.shape, n, &rows, &cols);
    ctx.reset();
    detail::decode_tensor(dec, ctx, x.values.data(), rows, cols, params[t]);
    if (params[t].dependent) detail::dq_indices_to_levels(x.values.data(), n);
    // A truncated stream decodes as zeros from some point on; stop early rather than at the end.
    dec.check_end("weights");
  }
  dec.check_end("weights");
  if (base_qp_out) *base_qp_out = static_cast<int32_t>(base_qp);
  return out;
}

}  // namespace weights
}  // namespace pcstream
