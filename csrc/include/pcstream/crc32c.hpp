// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI and
// the .pcs container (formats/pcs-v1.md, section 1).
//
// Uses the SSE4.2 `crc32` instruction when the CPU has it (checked once at
// run time) and a slicing-by-8 table otherwise; both give identical results.
//
// Thread safety: all functions are pure and may be called concurrently.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pcstream {

// CRC32C of `n` bytes at `data`. `data` may be null when n == 0.
uint32_t crc32c(const uint8_t* data, size_t n) noexcept;

// Continue a CRC: crc32c_extend(crc32c(a), b) == crc32c(a || b).
// Start with crc = 0 for an empty prefix.
uint32_t crc32c_extend(uint32_t crc, const uint8_t* data, size_t n) noexcept;

// The portable table implementation, exposed so tests can compare it with the
// hardware path.
uint32_t crc32c_extend_portable(uint32_t crc, const uint8_t* data, size_t n) noexcept;

// True when the SSE4.2 path is used on this machine.
bool crc32c_hardware() noexcept;

}  // namespace pcstream
