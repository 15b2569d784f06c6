// Binarization and context-coded loops of the weight coder. The encoder and
// decoder loops mirror each other line by line; keep them in step.
#include "weight_tensor_codec.hpp"

#include <utility>
#include <vector>

namespace pcstream {
namespace weights {
namespace detail {

const CountRecip kCountRecip;

namespace {

// Per-tensor neighbourhood state: the current row, the previous non-zero row and
// the column activities (all indexed by column). 16-bit storage keeps it at 6 bytes
// per column: neighbours are clamped to +-32767, activities stay below 65536.
struct RowState {
  std::vector<int16_t> cur, up;
  std::vector<uint16_t> col;
  uint32_t row_act = 0;
  int32_t sign_bal = 0;

  explicit RowState(uint64_t cols) : cur(cols, 0), up(cols, 0), col(cols, 0) {}

  void start_row() { row_act = 0; sign_bal = 0; }
  inline void push(uint64_t j, int32_t q) {
    cur[j] = static_cast<int16_t>(q);
    row_act = update_row_activity(row_act, q);
    sign_bal = update_sign_balance(sign_bal, q);
  }
  inline Neighbourhood at(uint64_t j) const {
    Neighbourhood n;
    n.r = row_act;
    n.s = sign_bal;
    n.a = j >= 1 ? cur[j - 1] : 0;
    n.b = j >= 2 ? cur[j - 2] : 0;
    n.u = up[j];
    n.c = col[j];
    return n;
  }
  // After a non-zero row: it becomes the co-located reference and feeds the column activity.
  void finish_row() {
    const size_t n = cur.size();
    for (size_t j = 0; j < n; ++j) col[j] = static_cast<uint16_t>(update_col_activity(col[j], cur[j]));
    cur.swap(up);
  }
};

// State after `count` zero indices (parity 0): states 0 and 3 stay, 1 and 2 alternate.
inline int dq_skip_zeros(int state, uint64_t count) {
  return ((count & 1) && (state == 1 || state == 2)) ? (state ^ 3) : state;
}

// Codes the `Levels` top bits of an Exp-Golomb suffix (`top`, most significant
// first) down the tree of `bins`, as walk_suffix_tree decodes them.
template <int Levels>
inline void encode_suffix_tree(BinEncoder& enc, CountBin* bins, uint32_t top) {
  int node = 1;
#pragma GCC unroll 4
  for (int i = Levels - 1; i >= 0; --i) {
    const int bit = static_cast<int>((top >> i) & 1);
    code_bit(enc, bins[node], bit);
    node = node * 2 + bit;
  }
}

inline void encode_remainder(BinEncoder& enc, WeightContexts& ctx, uint64_t r, int k, int cls, int neg) {
  int p = 0;
  while (r >= (uint64_t{1} << k)) {
    code_bit(enc, ctx.prefix[neg][p < kPrefixCtx ? p : kPrefixCtx - 1][cls >> 1], 1);
    r -= uint64_t{1} << k;
    ++k;
    ++p;
  }
  code_bit(enc, ctx.prefix[neg][p < kPrefixCtx ? p : kPrefixCtx - 1][cls >> 1], 0);
  const int tree = k < kSuffixTreeBits ? k : kSuffixTreeBits;
  CountBin* const bins = ctx.suffix[neg][k];
  const uint32_t top = static_cast<uint32_t>(r >> (k - tree));  // the tree-coded bits
  switch (tree) {  // unrolled walks: no loop control per bin
    case 0: break;
    case 1: encode_suffix_tree<1>(enc, bins, top); break;
    case 2: encode_suffix_tree<2>(enc, bins, top); break;
    case 3: encode_suffix_tree<3>(enc, bins, top); break;
    default: encode_suffix_tree<kSuffixTreeBits>(enc, bins, top); break;
  }
  int rest = k - tree;
  while (rest > 0) {
    int nb = rest > 24 ? 24 : rest;
    rest -= nb;
    enc.encode_bits(static_cast<uint32_t>((r >> rest) & ((uint64_t{1} << nb) - 1)), nb);
  }
}

// Decodes the `Levels` context-coded top bits of an Exp-Golomb suffix down the tree
// of `bins` (root 1, children 2n and 2n + 1); returns the leaf, 2^Levels + the bits.
// The probabilities of both children are loaded before the bit that picks one is
// known, which keeps the load off the decoder's dependency chain.
template <int Levels>
inline int walk_suffix_tree(BinDecoder& dec, CountBin* bins) {
  static_assert(Levels >= 1 && Levels <= kSuffixTreeBits, "suffix tree depth");
  int node = 1;
  uint32_t prob = bins[1].p1();
#pragma GCC unroll 4
  for (int i = 0; i < Levels; ++i) {  // fully unrolled: Levels is a constant
    uint32_t p_zero = 0, p_one = 0;
    if (i + 1 < Levels) {
      p_zero = bins[2 * node].p1();
      p_one = bins[2 * node + 1].p1();
    }
    const int bit = dec.decode_bit_p(prob);
    bins[node].update(bit);
    node = node * 2 + bit;
    prob = p_zero ^ ((p_zero ^ p_one) & (0u - static_cast<uint32_t>(bit)));
  }
  return node;
}

// first_p: the probability of the first prefix bin, ctx.prefix[neg][0][cls >> 1].
inline uint64_t decode_remainder(BinDecoder& dec, WeightContexts& ctx, int k, int cls, int neg, uint32_t first_p) {
  uint64_t base = 0;
  int p = 0;
  CountBin* const first = &ctx.prefix[neg][0][cls >> 1];
  const int bit0 = dec.decode_bit_p(first_p);
  first->update(bit0);
  base += (uint64_t{1} << k) & (0 - static_cast<uint64_t>(bit0));  // no branch on the coded bit
  k += bit0;
  p += bit0;
  while (bit0 && code_bit(dec, ctx.prefix[neg][p < kPrefixCtx ? p : kPrefixCtx - 1][cls >> 1])) {
    base += uint64_t{1} << k;
    ++k;
    if (++p > kMaxPrefix) fail(ErrorCode::CorruptPayload, "weights: Exp-Golomb prefix longer than allowed");
  }
  const int tree = k < kSuffixTreeBits ? k : kSuffixTreeBits;
  CountBin* const bins = ctx.suffix[neg][k];
  int node;
  switch (tree) {  // unrolled walks: no loop control per bin
    case 0: node = 1; break;
    case 1: node = walk_suffix_tree<1>(dec, bins); break;
    case 2: node = walk_suffix_tree<2>(dec, bins); break;
    case 3: node = walk_suffix_tree<3>(dec, bins); break;
    default: node = walk_suffix_tree<kSuffixTreeBits>(dec, bins); break;
  }
  uint64_t r = static_cast<uint64_t>(node - (1 << tree));
  int rest = k - tree;
  while (rest > 0) {
    int nb = rest > 24 ? 24 : rest;
    rest -= nb;
    r = (r << nb) | dec.decode_bits(nb);
  }
  return base + r;
}

}  // namespace

void encode_tensor(BinEncoder& encoder, WeightContexts& ctx, const int64_t* values, uint64_t rows,
                   uint64_t cols, const TensorParams& params) {
  if (rows == 0 || cols == 0) return;
  BinEncoder enc = std::move(encoder);  // a local whose state the compiler keeps in registers
  RowState st(cols);
  const int K = params.gt_flags;
  int prev_zero = 0;
  int state = 0;  // dependent-quantization state; stays 0 for uniform quantization
  const int dq = params.dependent ? 1 : 0;
  for (uint64_t i = 0; i < rows; ++i) {
    const int64_t* row = values + i * cols;
    bool zero = true;
    for (uint64_t j = 0; j < cols && zero; ++j) zero = row[j] == 0;
    code_bit(enc, ctx.row_zero[prev_zero], zero);
    prev_zero = zero;
    if (zero) {
      if (dq) state = dq_skip_zeros(state, cols);
      continue;
    }
    bool seen = false;
    st.start_row();
    for (uint64_t j = 0; j < cols; ++j) {
      const int64_t q = row[j];
      const Neighbourhood nb = st.at(j);
      const int qz = state >> 1;
      if (dq) state = kDqNext[state][q & 1];
      // The last weight of a non-zero row with no non-zero weight yet is known to be significant.
      if (seen || j + 1 < cols) code_bit(enc, ctx.sig[qz][sig_context(nb)], q != 0);
      st.push(j, clamp_neighbour(q));
      if (q == 0) continue;
      seen = true;
      const int neg = q < 0;
      code_bit(enc, ctx.sign[sign_context(nb)], neg);
      const uint64_t m = static_cast<uint64_t>(q < 0 ? -q : q);
      const int cls = mag_class(nb);
      int k = 1;
      for (; k <= K; ++k) {
        const int gt = m > static_cast<uint64_t>(k);
        code_bit(enc, ctx.gt[qz][neg][k - 1][cls], gt);
        if (!gt) break;
      }
      if (k > K) encode_remainder(enc, ctx, m - static_cast<uint64_t>(K) - 1, params.eg_order, cls, neg);
    }
    st.finish_row();
  }
  encoder = std::move(enc);
}

namespace {

// The decoding loop, compiled separately for dependent quantization and for K = 0
// (no greater-than flags: the usual choice for dense tensors), so that their tests
// leave the per-weight path.
template <bool Dq, bool HasGt>
void decode_rows(BinDecoder& decoder, WeightContexts& ctx, int64_t* values, uint64_t rows, uint64_t cols,
                 const TensorParams& params) {
  // A local copy whose address never escapes keeps the coder state in registers.
  BinDecoder dec = decoder;
  RowState st(cols);
  const int K = HasGt ? params.gt_flags : 0;
  int prev_zero = 0;
  int state = 0;
  constexpr int dq = Dq ? 1 : 0;
  for (uint64_t i = 0; i < rows; ++i) {
    int64_t* row = values + i * cols;
    const int zero = code_bit(dec, ctx.row_zero[prev_zero]);
    prev_zero = zero;
    if (zero) {
      for (uint64_t j = 0; j < cols; ++j) row[j] = 0;
      if (dq) state = dq_skip_zeros(state, cols);
      continue;
    }
    bool seen = false;
    st.start_row();
    for (uint64_t j = 0; j < cols; ++j) {
      const Neighbourhood nb = st.at(j);
      const int qz = state >> 1;
      const int sig = (seen || j + 1 < cols) ? code_bit(dec, ctx.sig[qz][sig_context(nb)]) : 1;
      if (!sig) {
        row[j] = 0;
        st.push(j, 0);
        if (dq) state = kDqNext[state][0];
        continue;
      }
      seen = true;
      const int cls = mag_class(nb);
      // The first magnitude bin's probability for either sign, loaded before the
      // sign is decoded (keeps the load off the decoder's dependency chain).
      const uint32_t first_pos = K ? ctx.gt[qz][0][0][cls].p1() : ctx.prefix[0][0][cls >> 1].p1();
      const uint32_t first_neg = K ? ctx.gt[qz][1][0][cls].p1() : ctx.prefix[1][0][cls >> 1].p1();
      const int neg = code_bit(dec, ctx.sign[sign_context(nb)]);
      const uint32_t first_p = first_pos ^ ((first_pos ^ first_neg) & (0u - static_cast<uint32_t>(neg)));
      uint64_t m = 1;
      int k = 1;
      for (; k <= K; ++k) {
        CountBin& bin = ctx.gt[qz][neg][k - 1][cls];
        const int gt = dec.decode_bit_p(k == 1 ? first_p : bin.p1());
        bin.update(gt);
        if (!gt) break;
        ++m;
      }
      if (k > K) {
        const uint32_t p0 = K ? ctx.prefix[neg][0][cls >> 1].p1() : first_p;
        m = static_cast<uint64_t>(K) + 1 + decode_remainder(dec, ctx, params.eg_order, cls, neg, p0);
        if (m > static_cast<uint64_t>(kMaxMagnitude))
          fail(ErrorCode::CorruptPayload, "weights: decoded magnitude exceeds the format limit");
      }
      const int64_t q = (static_cast<int64_t>(m) ^ -static_cast<int64_t>(neg)) + neg;  // -m when neg
      row[j] = q;
      st.push(j, clamp_neighbour(q));
      if (dq) state = kDqNext[state][m & 1];
    }
    st.finish_row();
  }
  decoder = dec;
}

}  // namespace

void decode_tensor(BinDecoder& dec, WeightContexts& ctx, int64_t* values, uint64_t rows, uint64_t cols,
                   const TensorParams& params) {
  if (rows == 0 || cols == 0) return;
  const bool gt = params.gt_flags > 0;
  if (params.dependent) {
    gt ? decode_rows<true, true>(dec, ctx, values, rows, cols, params)
       : decode_rows<true, false>(dec, ctx, values, rows, cols, params);
  } else {
    gt ? decode_rows<false, true>(dec, ctx, values, rows, cols, params)
       : decode_rows<false, false>(dec, ctx, values, rows, cols, params);
  }
}

}  // namespace detail
}  // namespace weights
}  // namespace pcstream
