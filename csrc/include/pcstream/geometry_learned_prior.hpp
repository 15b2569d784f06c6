// Context prior of the learned geometry codec's context mixer (header
// versions 7 and 8, formats/learned-geometry.md "Context prior").
//
// The mixer's hashed counters (geometry_learned_mix.hpp) start empty on every
// stream and pay to learn the local occupancy patterns of the cloud at hand.
// A context prior is their state after coding a set of training clouds: the
// counters worth keeping (slot, probability, count). A stream coded with a
// prior starts its counters from it, like a zstd dictionary; its header
// records the prior's SHA-256 and decoders refuse any other prior.
//
// Errors: parse_context_prior raises BadSignature (magic), UnsupportedVersion,
// Truncated / BadLength (sizes against the bytes present) and CorruptPayload
// (slots out of range or not increasing, hash bits outside [12, 22]).
// Thread safety: a parsed ContextPrior is immutable and may be shared.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pcstream::learned {

struct ContextPrior {
  static constexpr int kTables = 4;  // the mixer's hashed tables, in NeighbourhoodMixer order
  struct Entry {
    uint32_t slot;
    uint16_t q;  // geom::Counter::q
    uint8_t n;   // geom::Counter::n, capped at 255
  };
  int hash_bits = 0;  // slots are indices of tables of 2^hash_bits counters
  std::vector<Entry> tables[kTables];
  std::array<uint8_t, 32> digest{};  // SHA-256 of the serialised prior (set by parse/write)
};

// Serialises (and sets p.digest). Preconditions: hash_bits in [12, 22], slots increasing.
std::vector<uint8_t> write_context_prior(ContextPrior& p);
ContextPrior parse_context_prior(const uint8_t* data, size_t size);

}  // namespace pcstream::learned
