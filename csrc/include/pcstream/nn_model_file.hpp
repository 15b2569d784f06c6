// Reader of learned model files (.pcsm, formats/learned-model.md): model id,
// SHA-256 content hash, architecture name, integer hyper-parameters and named
// float32 tensors.
//
// Errors: a malformed file raises BadSignature / UnsupportedVersion /
// Truncated / BadLength / ChecksumMismatch (hash differs from the content) /
// CorruptPayload (bad names, shapes, non-finite weights). Sizes are checked
// against the bytes present before any allocation.
// Thread safety: a parsed ModelFile is immutable and may be shared.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pcstream::nn {

struct Tensor {
  std::vector<uint32_t> shape;
  std::vector<float> data;
};

struct ModelFile {
  std::string id;                  // e.g. "occ16-v1"; recorded in bitstreams
  std::array<uint8_t, 32> hash{};  // SHA-256 of the body (bytes after the hash field)
  std::string arch;                // architecture, e.g. "occ-sparse-v1"
  std::map<std::string, int32_t> params;
  std::map<std::string, Tensor> tensors;

  // The tensor `name` with exactly `shape`; CorruptPayload otherwise.
  const Tensor& get(const std::string& name, const std::vector<uint32_t>& shape) const;
  int32_t param(const std::string& name) const;
};

ModelFile parse_model_file(const uint8_t* data, size_t size);

// Serialises `m` (tensors in name order) and sets m.hash to the SHA-256 of the body.
std::vector<uint8_t> write_model_file(ModelFile& m);

}  // namespace pcstream::nn
