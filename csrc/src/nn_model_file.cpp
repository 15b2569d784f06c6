#include "pcstream/nn_model_file.hpp"

#include <cmath>
#include <cstring>

#include "pcstream/byte_io.hpp"
#include "pcstream/error.hpp"
#include "pcstream/sha256.hpp"

namespace pcstream::nn {
namespace {

constexpr uint16_t kFormatVersion = 1;
constexpr size_t kMaxTensors = 4096;

std::string read_name(ByteReader& r, const char* what) {
  uint8_t len = r.u8(what);
  if (len == 0) fail(ErrorCode::CorruptPayload, std::string(what) + ": empty name", r.offset());
  const uint8_t* p = r.take(len, what);
  for (uint8_t i = 0; i < len; ++i) {
    char c = static_cast<char>(p[i]);
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) fail(ErrorCode::CorruptPayload, std::string(what) + ": invalid character in name", r.offset());
  }
  return std::string(reinterpret_cast<const char*>(p), len);
}

std::string shape_str(const std::vector<uint32_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

const Tensor& ModelFile::get(const std::string& name, const std::vector<uint32_t>& shape) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) fail(ErrorCode::CorruptPayload, "model file: missing tensor " + name);
  if (it->second.shape != shape)
    fail(ErrorCode::CorruptPayload, "model file: tensor " + name + " has shape " + shape_str(it->second.shape) +
                                        ", expected " + shape_str(shape));
  return it->second;
}

int32_t ModelFile::param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end()) fail(ErrorCode::CorruptPayload, "model file: missing parameter " + name);
  return it->second;
}

ModelFile parse_model_file(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  const uint8_t* magic = r.take(4, "model magic");
  if (std::memcmp(magic, "PCSM", 4) != 0) fail(ErrorCode::BadSignature, "not a pcstream model file (magic PCSM)", 0);
  uint16_t version = r.u16("model version");
  if (version != kFormatVersion)
    fail(ErrorCode::UnsupportedVersion, "model file version " + std::to_string(version) + " is not supported", 4);
  if (r.u16("model reserved") != 0) fail(ErrorCode::ReservedBitsSet, "model file: reserved field not zero", 6);
  ModelFile m;
  m.id = read_name(r, "model id");
  const uint8_t* h = r.take(32, "model hash");
  std::memcpy(m.hash.data(), h, 32);
  if (sha256(r.cursor(), r.remaining()) != m.hash)
    fail(ErrorCode::ChecksumMismatch, "model file: SHA-256 of the content differs from the recorded hash", r.offset());
  m.arch = read_name(r, "model arch");
  uint16_t n_params = r.u16("param count");
  r.checked_count(n_params, 6, "params");
  for (uint16_t i = 0; i < n_params; ++i) {
    std::string name = read_name(r, "param name");
    m.params[name] = r.i32("param value");
  }
  uint16_t n_tensors = r.u16("tensor count");
  if (n_tensors > kMaxTensors) fail(ErrorCode::LimitExceeded, "model file: too many tensors", r.offset());
  for (uint16_t i = 0; i < n_tensors; ++i) {
    std::string name = read_name(r, "tensor name");
    uint8_t ndim = r.u8("tensor ndim");
    if (ndim < 1 || ndim > 4) fail(ErrorCode::CorruptPayload, "model file: tensor rank must be 1..4", r.offset());
    Tensor t;
    uint64_t count = 1;
    for (uint8_t d = 0; d < ndim; ++d) {
      uint32_t dim = r.u32("tensor dim");
      if (dim == 0) fail(ErrorCode::CorruptPayload, "model file: zero tensor dimension", r.offset());
      t.shape.push_back(dim);
      count *= dim;
      r.checked_count(count, 4, "tensor data");
    }
    const uint8_t* p = r.take(static_cast<size_t>(count) * 4, "tensor data");
    t.data.resize(static_cast<size_t>(count));
    for (size_t k = 0; k < t.data.size(); ++k) {
      uint32_t u = uint32_t{p[4 * k]} | (uint32_t{p[4 * k + 1]} << 8) | (uint32_t{p[4 * k + 2]} << 16) |
                   (uint32_t{p[4 * k + 3]} << 24);
      std::memcpy(&t.data[k], &u, 4);
      if (!std::isfinite(t.data[k])) fail(ErrorCode::CorruptPayload, "model file: non-finite weight in " + name);
    }
    if (!m.tensors.emplace(name, std::move(t)).second)
      fail(ErrorCode::CorruptPayload, "model file: duplicate tensor " + name);
  }
  if (r.remaining() != 0) fail(ErrorCode::BadLength, "model file: trailing bytes", r.offset());
  return m;
}

std::vector<uint8_t> write_model_file(ModelFile& m) {
  ByteWriter body;
  auto name = [&](const std::string& s) {
    if (s.empty() || s.size() > 255) fail(ErrorCode::InvalidArgument, "model file: name length must be 1..255");
    body.u8(static_cast<uint8_t>(s.size()));
    body.bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  name(m.arch);
  body.u16(static_cast<uint16_t>(m.params.size()));
  for (const auto& [k, v] : m.params) { name(k); body.i32(v); }
  body.u16(static_cast<uint16_t>(m.tensors.size()));
  for (const auto& [k, t] : m.tensors) {
    name(k);
    body.u8(static_cast<uint8_t>(t.shape.size()));
    for (uint32_t d : t.shape) body.u32(d);
    for (float f : t.data) body.f32(f);
  }
  m.hash = sha256(body.bytes().data(), body.size());
  ByteWriter out;
  out.bytes(reinterpret_cast<const uint8_t*>("PCSM"), 4);
  out.u16(kFormatVersion);
  out.u16(0);
  out.u8(static_cast<uint8_t>(m.id.size()));
  out.bytes(reinterpret_cast<const uint8_t*>(m.id.data()), m.id.size());
  out.bytes(m.hash.data(), 32);
  out.bytes(body.bytes());
  return out.bytes();
}

}  // namespace pcstream::nn
