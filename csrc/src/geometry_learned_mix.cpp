#include "pcstream/geometry_learned_mix.hpp"

#include "octree_neighbourhood.hpp"
#include "pcstream/error.hpp"

namespace pcstream::learned {
namespace {

using geom::Counter;
using geom::stretch12;
using octnb::kNb;
using octnb::kTern6;
using octnb::popcount64;

constexpr int kInputs = 14;  // 10, and 4 from the context prior (0 without one)
constexpr int kModelBuckets = 12;  // coarse confidence of the model: mixer sets and contexts
constexpr int kLimit = 255;        // counter adaptation: 1/(n + 1.5) down to 1/256.5
constexpr int kMixerRate = 6;
constexpr int kHalf = 1 << 15;     // mixer weight 0.5 (16.16 fixed point)

// 2^12 .. 2^22 slots per table, about 4 per point of the stream (its levels share
// the tables; 8 measured the same on a dense frame and 0.02 % smaller on LiDAR).
constexpr uint64_t kSlotsPerPoint = 4;
constexpr int kMaxHashBits = 22;
int hash_bits_for(uint64_t points) {
  int hb = 12;
  while (hb < kMaxHashBits && (uint64_t{1} << hb) < points * kSlotsPerPoint) ++hb;
  return hb;
}

struct EncodeBits {
  RangeEncoder& enc;
  uint32_t value;
  int bit(int k, uint32_t p1) {
    const int b = static_cast<int>(value >> k & 1u);
    enc.encode_bit_p(b, p1);
    return b;
  }
};
struct DecodeBits {
  RangeDecoder& dec;
  int bit(int, uint32_t p1) { return dec.decode_bit_p(p1); }
};

inline int st16(uint32_t p16) { return stretch12(static_cast<int>(p16 >> 4)); }
inline int st_of(const Counter& c) { return stretch12(c.p() >> 4); }

}  // namespace

NeighbourhoodMixer::NeighbourhoodMixer(uint64_t points, const ContextPrior* prior)
    : hash_bits_(hash_bits_for(points)),
      prior_(prior),
      faces_(729 * 16 * (kModelBuckets / 2)),
      edges_(8 * 13 * 13 * 9 * 2),
      siblings_(256 * 27 * 2),
      hood_(size_t{1} << hash_bits_),
      hood_model_(size_t{1} << hash_bits_),
      block_(size_t{1} << hash_bits_),
      lineage_(size_t{1} << hash_bits_),
      by_model_(kInputs, 16 * kModelBuckets, kMixerRate, 0),
      by_faces_(kInputs, 16 * 27, kMixerRate, 0),
      apm_(16 * 729, 7) {
  // At first each mix is the model and its refinement, half each; the
  // neighbourhood counters earn their weights as they learn.
  for (geom::Mixer* m : {&by_model_, &by_faces_}) {
    m->init_input(0, kHalf);
    m->init_input(1, kHalf);
  }
}

ContextPrior NeighbourhoodMixer::snapshot(const int (&min_count)[ContextPrior::kTables]) const {
  if (hash_bits_ != kMaxHashBits) fail(ErrorCode::InvalidArgument, "context prior snapshot: tables are too small");
  ContextPrior p;
  p.hash_bits = hash_bits_;
  const geom::CounterTable* tables[ContextPrior::kTables] = {&hood_, &hood_model_, &block_, &lineage_};
  for (int t = 0; t < ContextPrior::kTables; ++t) {
    p.st[t].assign(tables[t]->size(), 0);
    for (size_t i = 0; i < tables[t]->size(); ++i) {
      const Counter& c = (*tables[t])[i];
      if (c.n == 0 || c.n < min_count[t]) continue;  // n == 0: never seen (min_count may be 0)
      const int st = st_of(c);  // [-2047, 2047]
      const int v = (st >= 0 ? st + ContextPrior::kStScale / 2 : st - ContextPrior::kStScale / 2) / ContextPrior::kStScale;
      p.st[t][i] = static_cast<int8_t>(v > 127 ? 127 : v < -127 ? -127 : v);
    }
  }
  return p;
}

template <class Coder>
uint32_t NeighbourhoodMixer::code(Coder& coder, const uint32_t* cdf, int step, uint32_t own_low,
                                  const Neighbourhood& nb) {
  const int h = step & 1, group = step >> 1;
  const uint64_t* self = kNb.block[13];
  uint32_t partial = h ? (own_low & 15u) : 0u;  // the voxel's own children decoded so far
  uint32_t prefix = 0;
  for (int k = 0; k < 4; ++k) {
    const int j = 4 * h + k;  // the child (octant) this decision is about
    const int jg = j * 2 + group;
    const NibbleRefiner::Decision d = refiner_.predict(cdf, step, k, prefix);
    const int mb = d.bucket * kModelBuckets / NibbleRefiner::kBuckets;
    const uint64_t known = nb.occupied | self[partial];
    const uint64_t unk = nb.unknown | self[(0xFFu << j) & 0xFFu];

    // Face states in base 3 (0 empty, 1 occupied, 2 unknown): the three faces
    // in neighbours from the masks (also alone, as t3), the siblings from the table.
    uint32_t fk = 0, fu = 0;
    int t3 = 0;
    for (int a = 0; a < 3; ++a) {
      const int dir = kNb.face_out[j][a];
      const int q = kNb.face[j][dir];
      const uint32_t o = static_cast<uint32_t>(nb.occupied >> q & 1u), u = static_cast<uint32_t>(nb.unknown >> q & 1u);
      fk |= o << dir;
      fu |= u << dir;
      t3 = t3 * 3 + static_cast<int>(o + 2 * u);
    }
    const int f6 = kTern6.v[fk] + 2 * kTern6.v[fu] + kNb.face_in[j][partial];
    const int eo = popcount64(known & kNb.edge[j]);
    const int eu = popcount64(unk & kNb.edge[j]);
    const int co = popcount64(known & kNb.corner[j]);
    const int present = popcount64(nb.occupied | nb.unknown);  // neighbour children not known empty (<= 56)

    Counter& c_face = faces_[(static_cast<size_t>(f6) * 16 + jg) * (kModelBuckets / 2) + mb / 2];
    Counter& c_edge = edges_[(((static_cast<size_t>(j) * 13 + eo) * 13 + eu) * 9 + co) * 2 + group];
    Counter& c_sib =
        siblings_[(static_cast<size_t>((1u << j) | partial) * 27 + (present > 26 ? 26 : present)) * 2 + group];
    // Hashed: the 26 voxels around child j; that with the model's confidence; the whole 4x4x4 block.
    const uint64_t around = kNb.around[j];
    uint64_t hh = ((known & around) * 0x9E3779B97F4A7C15ull) ^ ((unk & around) * 0xC2B2AE3D27D4EB4Full) ^
                  (static_cast<uint64_t>(jg + 1) * 0x165667B19E3779F9ull);
    hh ^= hh >> 29;
    uint64_t hm = hh ^ (static_cast<uint64_t>(mb + 1) * 0xD6E8FEB86659FD93ull);
    hm ^= hm >> 31;
    hm *= 0x9E3779B97F4A7C15ull;
    uint64_t hb = (known * 0xD6E8FEB86659FD93ull) ^ (unk * 0x9E3779B97F4A7C15ull) ^
                  (static_cast<uint64_t>(jg + 1) * 0xC2B2AE3D27D4EB4Full);
    hb ^= hb >> 29;
    hb *= 0x165667B19E3779F9ull;
    const int shift = 64 - hash_bits_;
    Counter& c_hood = hood_[static_cast<size_t>(hh >> shift)];
    Counter& c_hm = hood_model_[static_cast<size_t>(hm >> shift)];
    Counter& c_block = block_[static_cast<size_t>(hb >> shift)];
    // ... and the parent's code with the voxel's octant in it, with the siblings so far.
    uint64_t hl = (static_cast<uint64_t>(nb.lineage) << 16 | static_cast<uint64_t>((1u << j) | partial) << 1 |
                   static_cast<uint64_t>(group)) *
                  0x9E3779B97F4A7C15ull;
    hl ^= hl >> 29;
    hl *= 0xC2B2AE3D27D4EB4Full;
    Counter& c_lin = lineage_[static_cast<size_t>(hl >> shift)];

    int from_prior[ContextPrior::kTables] = {0, 0, 0, 0};
    if (prior_) {
      const int ps = 64 - prior_->hash_bits;
      const uint64_t keys[ContextPrior::kTables] = {hh, hm, hb, hl};
      for (int t = 0; t < ContextPrior::kTables; ++t)
        from_prior[t] = ContextPrior::kStScale * prior_->st[t][static_cast<size_t>(keys[t] >> ps)];
    }
    const int in[kInputs] = {st16(d.model_p1), st16(d.p1),   st_of(c_face),  st_of(c_edge), st_of(c_hood),
                             st_of(c_hm),      st_of(c_sib), st_of(c_block), st_of(c_lin),  256,
                             from_prior[0],    from_prior[1], from_prior[2], from_prior[3]};
    // Without a prior its inputs are 0 and keep weight 0: leaving them out gives the same sums.
    const int n_in = prior_ ? kInputs : kInputs - ContextPrior::kTables;
    for (int i = 0; i < n_in; ++i) {
      by_model_.add(in[i]);
      by_faces_.add(in[i]);
    }
    // Two weight sets, chosen by the model's confidence and by the outer face
    // states, averaged in the logistic domain; then the APM on all six faces.
    by_model_.mix(jg * kModelBuckets + mb);
    by_faces_.mix(jg * 27 + t3);
    int pm = geom::squash((by_model_.last_st() + by_faces_.last_st()) / 2);
    pm = pm < 32 ? 32 : pm > 65504 ? 65504 : pm;
    const int pa = apm_.refine(pm, jg * 729 + f6);
    int p = (pm + 3 * pa + 2) >> 2;
    p = p < 32 ? 32 : p > 65504 ? 65504 : p;

    const int bit = coder.bit(k, static_cast<uint32_t>(p));
    by_model_.update(bit);
    by_faces_.update(bit);
    apm_.update(bit);
    NibbleRefiner::learn(d, bit);
    for (Counter* c : {&c_face, &c_edge, &c_sib, &c_hood, &c_hm, &c_block, &c_lin}) c->update(bit, kLimit);
    prefix |= static_cast<uint32_t>(bit) << k;
    partial |= static_cast<uint32_t>(bit) << j;
  }
  return prefix;
}

void NeighbourhoodMixer::encode(RangeEncoder& enc, const uint32_t* cdf, int step, uint32_t value, uint32_t own_low,
                                const Neighbourhood& nb) {
  EncodeBits bits{enc, value};
  code(bits, cdf, step, own_low, nb);
}

uint32_t NeighbourhoodMixer::decode(RangeDecoder& dec, const uint32_t* cdf, int step, uint32_t own_low,
                                    const Neighbourhood& nb) {
  DecodeBits bits{dec};
  return code(bits, cdf, step, own_low, nb);
}

}  // namespace pcstream::learned
