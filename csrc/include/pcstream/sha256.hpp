// SHA-256 (FIPS 180-4), used to identify learned model weights: the content
// hash of a model file is recorded in every learned bitstream.
// Thread safety: pure function.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace pcstream {

std::array<uint8_t, 32> sha256(const uint8_t* data, size_t size);

}  // namespace pcstream
