// Context prior of the learned geometry codec's context mixer (header
// versions 7 and 8, formats/learned-geometry.md "Context prior").
//
// The mixer's hashed counters (geometry_learned_mix.hpp) start empty on every
// stream and pay to learn the local occupancy patterns of the cloud at hand.
// A context prior is what those counters had learned after coding a set of
// training clouds: per hashed table, a fixed probability (in the logistic
// domain) per slot. Streams coded with a prior give the mixer these values as
// four more inputs, read-only, beside the stream's own counters; the mixer
// learns how far to trust them, so a prior that does not fit a cloud costs
// little. Like a zstd dictionary, it ships with the model; the header records
// its SHA-256 and decoders refuse any other prior.
//
// Errors: parse_context_prior raises BadSignature (magic), UnsupportedVersion,
// Truncated / BadLength (sizes against the bytes present) and CorruptPayload
// (slots out of range, hash bits outside [12, 22], wrong table count).
// Thread safety: a parsed ContextPrior is immutable and may be shared.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream::learned {

struct ContextPrior {
  static constexpr int kTables = 4;  // the mixer's hashed tables, in NeighbourhoodMixer order
  static constexpr int kStScale = 16;  // a stored value v means stretch(p) = 16 v (12-bit stretch domain)
  int hash_bits = 0;  // 2^hash_bits slots per table; a context's slot is its hash >> (64 - hash_bits)
  std::vector<int8_t> st[kTables];  // per slot; 0 = no information
  std::array<uint8_t, 32> digest{};  // SHA-256 of the serialised prior (set by parse/write)
};

// Serialises (and sets p.digest). Preconditions: hash_bits in [12, 22], each
// table of 2^hash_bits values.
std::vector<uint8_t> write_context_prior(ContextPrior& p);
ContextPrior parse_context_prior(const uint8_t* data, size_t size);

}  // namespace pcstream::learned
