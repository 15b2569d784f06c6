// Learned octree geometry codec (codec id 7): lossless coding of integer
// voxel coordinates, scale by scale, with the occupancy model of
// learned_model.hpp driving a multi-symbol range coder. Bitstream layout:
// formats/learned-geometry.md.
//
// The coarse levels (fewer than kLearnedMinVoxels voxels) are coded with
// adaptive binary contexts; every finer level goes through the model in four
// steps (checkerboard group × nibble). Encoder and decoder evaluate the same
// deterministic runtime, so any thread count gives the same bytes.
//
// Errors: encode raises InvalidArgument for coordinates outside [0, 2^depth)
// or depth outside [1, 21]. Decode raises ModelMismatch when the header's
// model id or hash differs from the model given (or, versions 7/8, its
// context prior digest from the prior given), LimitExceeded past
// max_points, CorruptPayload/Truncated/BadLength for damaged data; it never
// allocates more than the header's (limit-checked) point count allows.
// Thread safety: encoder function is reentrant; a decoder is used by one thread.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pcstream/geometry_learned_prior.hpp"
#include "pcstream/learned_model.hpp"

namespace pcstream::learned {

constexpr uint8_t kHeaderVersion = 1;
// Header of a stream coded with an input-adapted model (formats/learned-geometry.md):
// version 1's fields plus the SHA-256 of the WGHT payload carrying the delta.
constexpr uint8_t kHeaderVersionAdapted = 2;
// Versions 3 and 4: as 1 and 2, with the nibbles coded through the adaptive
// refiner (geometry_learned_refine.hpp) instead of the model's CDF directly.
constexpr uint8_t kHeaderVersionRefined = 3;
constexpr uint8_t kHeaderVersionRefinedAdapted = 4;
// Versions 5 and 6: as 1 and 2, with the nibbles coded through the context
// mixer (geometry_learned_mix.hpp): model, refiner and decoded neighbourhood.
constexpr uint8_t kHeaderVersionMixed = 5;
constexpr uint8_t kHeaderVersionMixedAdapted = 6;
// Versions 7 and 8: as 5 and 6, with the mixer's hashed counters started from a
// context prior (geometry_learned_prior.hpp) whose SHA-256 the header records.
constexpr uint8_t kHeaderVersionPrior = 7;
constexpr uint8_t kHeaderVersionPriorAdapted = 8;
constexpr int kMaxDepth = 21;
constexpr size_t kLearnedMinVoxels = 64;

struct Header {
  int depth = 0;
  int learned_start = 0;  // first level whose codes the model codes (1..depth)
  std::string model_id;
  std::array<uint8_t, 32> model_hash{};
  uint64_t point_count = 0;  // points incl. duplicates
  bool adapted = false;      // version 2: the model was adapted by a WGHT delta
  std::array<uint8_t, 32> adapt_digest{};  // SHA-256 of that WGHT payload
  bool refined = false;      // versions 3 and 4: nibbles coded through NibbleRefiner
  bool mixed = false;        // versions 5-8: nibbles coded through NeighbourhoodMixer
  bool prior = false;        // versions 7 and 8: the mixer starts from a context prior
  std::array<uint8_t, 32> prior_digest{};  // its SHA-256
};
std::vector<uint8_t> write_header(const Header& h);
Header parse_header(const uint8_t* data, size_t size);

struct Chunk {
  int level_lo = 0, level_hi = 0;  // levels completed by this chunk
  uint64_t point_count = 0;        // voxels at level_hi (points incl. duplicates for the last chunk)
  std::vector<uint8_t> payload;
};

struct Encoded {
  std::vector<uint8_t> header;
  std::vector<Chunk> chunks;
  std::vector<int64_t> order;  // decoded point i is input point order[i]
};

// xyz: n rows of (x, y, z) in [0, 2^depth). Levels with fewer than
// `min_learned_voxels` voxels use the coarse binary coder (the first level with
// at least that many, and every finer one, goes through the model).
// `refine` writes a version 3/4 stream (adaptive refinement of the model's
// probabilities: smaller, a little slower); false writes version 1/2.
// `mix` (with refine) writes version 5/6: the refinement mixed with contexts of
// the decoded neighbourhood (smaller again, slower).
// `prior` (with mix; may be null): the model's context prior, which the
// mixer reads beside its own counters; writes version 7/8.
Encoded encode(const uint32_t* xyz, size_t n, int depth, const OccupancyModel& model, int threads,
               size_t min_learned_voxels = kLearnedMinVoxels, bool refine = true, bool mix = true,
               const ContextPrior* prior = nullptr);

// The context prior of the mixer after coding `clouds` in order with one
// mixer (each cloud: xyz rows, count, depth; coordinates checked as in
// encode), keeping the counters of table t that saw at least min_count[t]
// decisions. The tables have 2^22 slots (the mixer's largest).
struct TrainingCloud {
  const uint32_t* xyz;
  size_t n;
  int depth;
};
ContextPrior build_context_prior(const std::vector<TrainingCloud>& clouds, const OccupancyModel& model, int threads,
                                 const int (&min_count)[ContextPrior::kTables]);

class Decoder {
 public:
  // Checks the header against `model`, `prior` (versions 7/8 need the one
  // whose digest they record; may be null otherwise; must outlive the
  // decoder) and `max_points` immediately.
  Decoder(const uint8_t* header, size_t size, const OccupancyModel& model, uint64_t max_points, int threads,
          const ContextPrior* prior = nullptr);
  ~Decoder();
  // The next chunk payload, in order. After an error the decoder refuses
  // further chunks (InvalidArgument); points() still gives the last complete level.
  void feed(const uint8_t* payload, size_t size);
  int level() const;
  int depth() const;
  bool done() const;
  size_t chunks_expected() const;
  // Voxel coordinates at level() in Morton order; once done, the full
  // resolution points with duplicates adjacent.
  std::vector<uint32_t> points() const;

 private:
  void feed_chunk(const uint8_t* payload, size_t size);
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace pcstream::learned
