#include <memory>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_levels.hpp"
#include "pcstream/geometry_learned_refine.hpp"
#include "pcstream/multisym.hpp"

namespace pcstream::learned {
namespace {

class DecodeIO : public SymbolIO {
 public:
  DecodeIO(RangeDecoder& d, bool refine, NeighbourhoodMixer* mixer) : dec_(d), refine_(refine), mixer_(mixer) {}
  uint32_t code(const uint32_t* cdf, uint32_t, int step) override {
    if (refine_) return refiner_.decode(dec_, cdf, step);
    return static_cast<uint32_t>(decode_symbol(dec_, cdf, kNibble, kCdfBits));
  }
  bool begin_level(size_t, size_t) override {
    return mixer_ && dec_.decode_bypass() != 0;
  }
  uint32_t code_with(const uint32_t* cdf, uint32_t, int step, uint32_t own_low, const Neighbourhood& nb) override {
    return mixer_->decode(dec_, cdf, step, own_low, nb);
  }

 private:
  RangeDecoder& dec_;
  bool refine_;
  NibbleRefiner refiner_;
  NeighbourhoodMixer* mixer_;
};

}  // namespace

struct Decoder::State {
  const OccupancyModel* model = nullptr;
  Header header;
  int threads = 1;
  int level = 0;  // deepest complete level
  bool done = false;
  bool failed = false;  // a chunk failed: the state is no longer consistent
  size_t chunks_fed = 0;
  Level parent, current;  // level-1 and level (codes of `current` unknown until coded)
  std::vector<uint64_t> dup;
  NeighborCache nbr_cache;  // neighbour table and plan of `parent`
  std::unique_ptr<NeighbourhoodMixer> mixer;  // versions 5-8: carried from level to level
};

Decoder::Decoder(const uint8_t* header, size_t size, const OccupancyModel& model, uint64_t max_points, int threads,
                 const ContextPrior* prior)
    : s_(new State) {
  s_->header = parse_header(header, size);
  if (s_->header.model_id != model.id() || s_->header.model_hash != model.hash())
    fail(ErrorCode::ModelMismatch, "learned geometry was coded with model '" + s_->header.model_id +
                                       "' (or different weights); the decoder has model '" + model.id() + "'");
  if (s_->header.adapted != model.adapted() || s_->header.adapt_digest != model.adapt_digest())
    fail(ErrorCode::ModelMismatch, s_->header.adapted
                                       ? "learned geometry was coded with an adapted model: apply its WGHT delta first"
                                       : "learned geometry was coded with the unadapted model; the decoder's is adapted");
  if (s_->header.prior && (!prior || prior->digest != s_->header.prior_digest))
    fail(ErrorCode::ModelMismatch, prior ? "learned geometry was coded with a different context prior of model '" +
                                               model.id() + "'"
                                         : "learned geometry was coded with a context prior of model '" + model.id() +
                                               "'; the decoder has none");
  if (s_->header.point_count > max_points)
    fail(ErrorCode::LimitExceeded, "learned geometry: " + std::to_string(s_->header.point_count) +
                                       " points exceed the decoder limit of " + std::to_string(max_points));
  s_->model = &model;
  if (s_->header.mixed)
    s_->mixer.reset(new NeighbourhoodMixer(s_->header.point_count, s_->header.prior ? prior : nullptr));
  s_->threads = threads;
  s_->current.keys.push_back(0);  // the root
  s_->done = s_->header.point_count == 0;
  if (s_->done) s_->level = s_->header.depth, s_->current.keys.clear();
}

Decoder::~Decoder() = default;

int Decoder::level() const { return s_->level; }
int Decoder::depth() const { return s_->header.depth; }
bool Decoder::done() const { return s_->done; }
size_t Decoder::chunks_expected() const {
  return s_->header.point_count == 0 ? 0 : 1 + static_cast<size_t>(s_->header.depth - s_->header.learned_start);
}

void Decoder::feed(const uint8_t* payload, size_t size) {
  if (s_->failed) fail(ErrorCode::InvalidArgument, "learned geometry: a previous chunk failed to decode");
  try {
    feed_chunk(payload, size);
  } catch (...) {
    s_->failed = true;
    throw;
  }
}

void Decoder::feed_chunk(const uint8_t* payload, size_t size) {
  State& s = *s_;
  if (s.done) fail(ErrorCode::InvalidArgument, "learned geometry: all chunks were already decoded");
  const uint64_t limit = s.header.point_count;
  RangeDecoder dec(payload, size);
  auto check_count = [&](const Level& l) {
    if (l.keys.size() > limit) fail(ErrorCode::CorruptPayload, "learned geometry: more voxels than points");
  };
  if (s.chunks_fed == 0) {
    CoarseContexts cc;
    while (s.level < s.header.learned_start) {
      s.current.codes.resize(s.current.keys.size());
      for (auto& c : s.current.codes) {
        c = decode_code_coarse(dec, cc);
        if (c == 0) fail(ErrorCode::CorruptPayload, "learned geometry: empty occupancy code in the coarse levels");
        if (dec.overrun()) break;  // stop early on garbage instead of growing further
      }
      dec.check_end("learned geometry coarse levels");
      Level next = children_of(s.current);
      check_count(next);
      s.parent = std::move(s.current);
      s.current = std::move(next);
      ++s.level;
    }
  } else {
    DecodeIO io(dec, s.header.refined || s.header.mixed, s.mixer.get());
    code_level_learned(*s.model, s.parent, s.current, io, s.threads, s.nbr_cache);
    dec.check_end("learned geometry level");
    // s.current now carries its codes: it becomes the parent of the next level.
    Level child = children_of(s.current);
    check_count(child);
    s.parent = std::move(s.current);
    s.current = std::move(child);
    ++s.level;
  }
  ++s.chunks_fed;
  if (s.level == s.header.depth) {
    DupContexts dc;
    uint64_t total = 0;
    s.dup.resize(s.current.keys.size());
    for (auto& d : s.dup) {
      d = decode_dup(dec, dc);
      if (total >= limit || d >= limit - total)
        fail(ErrorCode::CorruptPayload, "learned geometry: duplicate counts exceed the point count");
      total += d + 1;
    }
    dec.check_end("learned geometry duplicates");
    if (total != limit) fail(ErrorCode::CorruptPayload, "learned geometry: decoded point count differs from the header");
    s.done = true;
  }
}

std::vector<uint32_t> Decoder::points() const {
  const State& s = *s_;
  std::vector<uint32_t> out;
  size_t total = s.current.keys.size();
  if (s.done) total = static_cast<size_t>(s.header.point_count);
  out.reserve(3 * total);
  int32_t xyz[3];
  for (size_t i = 0; i < s.current.keys.size(); ++i) {
    morton_xyz(s.current.keys[i], xyz);
    size_t reps = s.done ? static_cast<size_t>(s.dup[i]) + 1 : 1;
    for (size_t r = 0; r < reps; ++r)
      for (int a = 0; a < 3; ++a) out.push_back(static_cast<uint32_t>(xyz[a]));
  }
  return out;
}

}  // namespace pcstream::learned
