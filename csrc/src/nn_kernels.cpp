// SIMD convolution and linear kernels (see nn_kernels.hpp for the contract).
//
// One set of templates, written with GCC vector extensions, is instantiated
// inside functions compiled for AVX-512, for AVX2 and for the baseline ISA.
// A vector operation is the same float32 operation in every lane, so the ISA
// only decides how many output channels move together.
#include "pcstream/nn_kernels.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "nn_exp.hpp"
#include "pcstream/error.hpp"
#include "pcstream/multisym.hpp"
#include "pcstream/parallel_rows.hpp"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PCS_X86_CLONES 1
#define PCS_TARGET(t) __attribute__((target(t)))
#else
#define PCS_X86_CLONES 0
#define PCS_TARGET(t)
#endif
#define PCS_INLINE __attribute__((always_inline)) inline

namespace pcstream::nn {
namespace {

template <int W>
struct Vec {
  // Unaligned, aliasing vector of W floats.
  typedef float type __attribute__((vector_size(4 * W), aligned(4), __may_alias__));
};

// acc[b][0..S) += sum over ci of x[b][ci] * w[ci][0..S), ci ascending, for B
// rows at once (S = W * NV output channels, in registers).
template <int W, int NV, int B>
PCS_INLINE void mac_block(float* const* acc, const float* const* x, const float* w, size_t cin, size_t ldw) {
  typedef typename Vec<W>::type V;
  V a[B][NV];
  for (int b = 0; b < B; ++b)
    for (int v = 0; v < NV; ++v) a[b][v] = *reinterpret_cast<const V*>(acc[b] + v * W);
  for (size_t ci = 0; ci < cin; ++ci) {
    V wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = *reinterpret_cast<const V*>(w + ci * ldw + v * W);
    for (int b = 0; b < B; ++b) {
      const float s = x[b][ci];
      for (int v = 0; v < NV; ++v) a[b][v] = a[b][v] + s * wv[v];  // multiply, then add: never fused
    }
  }
  for (int b = 0; b < B; ++b)
    for (int v = 0; v < NV; ++v) *reinterpret_cast<V*>(acc[b] + v * W) = a[b][v];
}

// mac_block for r < B rows (the remainder of a run of pairs).
template <int W, int NV, int B>
PCS_INLINE void mac_rest(size_t r, float* const* acc, const float* const* x, const float* w, size_t cin, size_t ldw) {
  if constexpr (B > 1) {
    if (r == B - 1)
      mac_block<W, NV, B - 1>(acc, x, w, cin, ldw);
    else
      mac_rest<W, NV, B - 1>(r, acc, x, w, cin, ldw);
  }
}

// The same sums one output element at a time (any channel count).
PCS_INLINE void mac_scalar(float* acc, const float* x, const float* w, size_t cin, size_t cout) {
  for (size_t ci = 0; ci < cin; ++ci) {
    const float xv = x[ci];
    const float* wr = w + ci * cout;
    for (size_t co = 0; co < cout; ++co) acc[co] += xv * wr[co];
  }
}

// dst[0..n) = src[0..n); vector moves when W > 1 (n is then a multiple of 16).
template <int W>
PCS_INLINE void copy_row(float* dst, const float* src, size_t n) {
  if constexpr (W == 1) {
    std::copy_n(src, n, dst);
  } else {
    typedef typename Vec<W>::type V;
    for (size_t c = 0; c < n; c += W) *reinterpret_cast<V*>(dst + c) = *reinterpret_cast<const V*>(src + c);
  }
}

// Store and Relu accumulate in the output rows themselves (finished in place);
// the adding epilogues need the sum apart from out's current value.
PCS_INLINE bool in_place(Epilogue ep) { return ep == Epilogue::Store || ep == Epilogue::Relu; }

PCS_INLINE void finish_row(const float* acc, size_t cout, Epilogue ep, float* out) {
  switch (ep) {
    case Epilogue::Store:
      if (acc != out) std::copy_n(acc, cout, out);
      break;
    case Epilogue::Relu:
      for (size_t c = 0; c < cout; ++c) out[c] = acc[c] > 0.0f ? acc[c] : 0.0f;
      break;
    case Epilogue::AddTo:
      for (size_t c = 0; c < cout; ++c) out[c] = out[c] + acc[c];
      break;
    case Epilogue::ReluAddTo:
      for (size_t c = 0; c < cout; ++c) out[c] = out[c] + (acc[c] > 0.0f ? acc[c] : 0.0f);
      break;
  }
}

// A layer's operands: input rows x (cin channels), weights w, bias, and the
// output rows (cout channels) written with epilogue ep.
struct LinearArgs {
  RowSource x;
  size_t cin;
  const float* w;
  const float* bias;
  size_t cout;
  Epilogue ep;
  float* out;
};

// A convolution: the layer operands plus its plan (w holds one cin x cout
// matrix per kernel offset).
struct ConvArgs : LinearArgs {
  const ConvPlan* plan;
};

// Tiles [t0, t1) of a convolution; NV == 0 selects the scalar path.
template <int W, int NV, int B>
PCS_INLINE void conv_tiles(const ConvArgs& a, size_t t0, size_t t1) {
  const ConvPlan& p = *a.plan;
  const size_t T = ConvPlan::kTile, cin = a.cin, cout = a.cout, K = p.K;
  const bool direct = in_place(a.ep);
  std::vector<float> accbuf(direct ? 0 : T * cout);
  const int32_t* in = p.in_rows.data();
  const int32_t* outr = p.out_rows.data();
  for (size_t t = t0; t < t1; ++t) {
    const size_t r0 = t * T, r1 = std::min(p.n_out, r0 + T);
    float* acc = direct ? a.out + r0 * cout : accbuf.data();
    for (size_t r = r0; r < r1; ++r) copy_row<(NV > 0 ? W : 1)>(acc + (r - r0) * cout, a.bias, cout);
    for (size_t j = 0; j < K; ++j) {
      const size_t q0 = p.start[t * K + j], q1 = p.start[t * K + j + 1];
      const float* wj = a.w + j * cin * cout;
      if constexpr (NV == 0) {
        for (size_t q = q0; q < q1; ++q)
          mac_scalar(acc + (static_cast<size_t>(outr[q]) - r0) * cout, a.x.row(static_cast<size_t>(in[q])), wj, cin, cout);
      } else {
        constexpr size_t S = static_cast<size_t>(W * NV);
        for (size_t s = 0; s < cout; s += S) {
          float* ap[B];
          const float* xp[B];
          size_t q = q0;
          for (; q + B <= q1; q += B) {
            for (int b = 0; b < B; ++b) {
              ap[b] = acc + (static_cast<size_t>(outr[q + b]) - r0) * cout + s;
              xp[b] = a.x.row(static_cast<size_t>(in[q + b]));
            }
            mac_block<W, NV, B>(ap, xp, wj + s, cin, cout);
          }
          const size_t rest = q1 - q;
          for (size_t b = 0; b < rest; ++b) {
            ap[b] = acc + (static_cast<size_t>(outr[q + b]) - r0) * cout + s;
            xp[b] = a.x.row(static_cast<size_t>(in[q + b]));
          }
          mac_rest<W, NV, B>(rest, ap, xp, wj + s, cin, cout);
        }
      }
    }
    if (a.ep != Epilogue::Store)
      for (size_t r = r0; r < r1; ++r) finish_row(acc + (r - r0) * cout, cout, a.ep, a.out + r * cout);
  }
}


template <int W, int NV, int B>
PCS_INLINE void linear_rows(const LinearArgs& a, size_t r0, size_t r1) {
  const size_t cin = a.cin, cout = a.cout;
  float accbuf[B * kMaxChannels];
  const bool direct = in_place(a.ep);
  for (size_t r = r0; r < r1; r += B) {
    const size_t nb = std::min<size_t>(B, r1 - r);
    float* ap[B];
    const float* xp[B];
    float* acc = direct ? a.out + r * cout : accbuf;
    for (size_t b = 0; b < nb; ++b) {
      copy_row<(NV > 0 ? W : 1)>(acc + b * cout, a.bias, cout);
      xp[b] = a.x.row(r + b);
    }
    if constexpr (NV == 0) {
      for (size_t b = 0; b < nb; ++b) mac_scalar(acc + b * cout, xp[b], a.w, cin, cout);
    } else {
      constexpr size_t S = static_cast<size_t>(W * NV);
      for (size_t s = 0; s < cout; s += S) {
        for (size_t b = 0; b < nb; ++b) ap[b] = acc + b * cout + s;
        if (nb == B)
          mac_block<W, NV, B>(ap, xp, a.w + s, cin, cout);
        else
          mac_rest<W, NV, B>(nb, ap, xp, a.w + s, cin, cout);
      }
    }
    if (a.ep != Epilogue::Store)
      for (size_t b = 0; b < nb; ++b) finish_row(acc + b * cout, cout, a.ep, a.out + (r + b) * cout);
  }
}

// Register blocking per ISA: vector width W, NV vectors per strip, B rows.
// Channel counts that are not a multiple of 16 take the scalar path.
#define PCS_DISPATCH(FN, ARGS, LO, HI, W, NV_STRIP16, B_STRIP16, NV_WIDE, B_WIDE) \
  do {                                                                          \
    if (ARGS.cout % 16 != 0)                                                    \
      FN<1, 0, 1>(ARGS, LO, HI);                                                \
    else if (ARGS.cout % (W * NV_WIDE) == 0)                                    \
      FN<W, NV_WIDE, B_WIDE>(ARGS, LO, HI);                                     \
    else                                                                        \
      FN<W, NV_STRIP16, B_STRIP16>(ARGS, LO, HI);                               \
  } while (0)

#if PCS_X86_CLONES
PCS_TARGET("avx512f") void conv_avx512(const ConvArgs& a, size_t t0, size_t t1) {
  PCS_DISPATCH(conv_tiles, a, t0, t1, 16, 1, 8, 2, 4);
}
PCS_TARGET("avx2") void conv_avx2(const ConvArgs& a, size_t t0, size_t t1) {
  PCS_DISPATCH(conv_tiles, a, t0, t1, 8, 2, 4, 2, 4);
}
PCS_TARGET("avx512f") void linear_avx512(const LinearArgs& a, size_t r0, size_t r1) {
  PCS_DISPATCH(linear_rows, a, r0, r1, 16, 1, 8, 2, 4);
}
PCS_TARGET("avx2") void linear_avx2(const LinearArgs& a, size_t r0, size_t r1) {
  PCS_DISPATCH(linear_rows, a, r0, r1, 8, 2, 4, 2, 4);
}
#endif
void conv_base(const ConvArgs& a, size_t t0, size_t t1) { PCS_DISPATCH(conv_tiles, a, t0, t1, 4, 4, 2, 4, 2); }
void linear_base(const LinearArgs& a, size_t r0, size_t r1) { PCS_DISPATCH(linear_rows, a, r0, r1, 4, 4, 2, 4, 2); }

// exp_nonpos (nn_softmax.cpp) in 16 lanes: the same float32 operations per
// lane; lanes outside its domain (x < -87 or NaN) are computed on 0 and then
// replaced by 0, as the scalar version returns early.
typedef float F16 __attribute__((vector_size(64)));
typedef int32_t I16 __attribute__((vector_size(64)));

PCS_INLINE void exp16(const float* xin, float* out) {
  F16 x;
  std::memcpy(&x, xin, sizeof x);
  const I16 ok = x >= expdetail::kMinArg;  // false for NaN
  const F16 zero = {};
  x = ok ? x : zero;
  x = x > 0.0f ? zero : x;
  F16 t;
  expdetail::split_arg(x, t);
  I16 n = __builtin_convertvector(t, I16);       // truncation, as static_cast<int>
  n = n + (__builtin_convertvector(n, F16) > t);  // -1 where the truncation rounded up: floor
  const F16 fn = __builtin_convertvector(n, F16);
  F16 p;
  expdetail::reduced_exp(x, fn, p);
  const I16 bits = (n + 127) << 23;
  F16 e = p * (F16)bits;  // a vector cast reinterprets the bits
  e = ok ? e : zero;
  std::memcpy(out, &e, sizeof e);
}

PCS_INLINE void softmax16(const float* logits, int total_bits, uint32_t* cdf) {
  float m = logits[0];
  for (int i = 1; i < 16; ++i) m = logits[i] > m ? logits[i] : m;
  float d[16], e[16];
  for (int i = 0; i < 16; ++i) d[i] = logits[i] - m;
  exp16(d, e);
  probs_to_cdf_row(e, 16, total_bits, cdf);
}

#if PCS_X86_CLONES
PCS_TARGET("avx512f") void exp16_avx512(const float* x, float* out) { exp16(x, out); }
PCS_TARGET("avx2") void exp16_avx2(const float* x, float* out) { exp16(x, out); }
PCS_TARGET("avx512f") void softmax16_avx512(const float* l, int bits, uint32_t* cdf) { softmax16(l, bits, cdf); }
PCS_TARGET("avx2") void softmax16_avx2(const float* l, int bits, uint32_t* cdf) { softmax16(l, bits, cdf); }
#endif

Isa detect_isa() {
#if PCS_X86_CLONES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2")) return Isa::Avx2;
#endif
  return Isa::Baseline;
}

Isa choose_isa() {
  Isa best = detect_isa();
  const char* env = std::getenv("PCSTREAM_NN_ISA");
  if (!env) return best;
  for (Isa i : {Isa::Baseline, Isa::Avx2, Isa::Avx512})
    if (std::string(env) == isa_name(i) && isa_supported(i)) return i;
  return best;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "baseline";
  }
}

bool isa_supported(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(detect_isa()); }

Isa active_isa() {
  static const Isa isa = choose_isa();
  return isa;
}

ConvPlan make_conv_plan(const int32_t* nbr, size_t table_rows, size_t K, size_t n_in, int threads,
                        const int32_t* select, size_t n_out) {
  ConvPlan p;
  // An empty selection (a checkerboard group with no voxel) is a selection too.
  const bool selected = n_out != kAllRows;
  if (selected && n_out > 0 && !select) fail(ErrorCode::InvalidArgument, "conv plan: missing selection");
  if (!selected) select = nullptr;
  p.n_out = selected ? n_out : table_rows;
  p.n_in = n_in;
  p.K = K;
  if (K == 0) fail(ErrorCode::InvalidArgument, "conv plan: empty kernel");
  if (n_in > (size_t{1} << 31) || p.n_out > (size_t{1} << 31)) fail(ErrorCode::LimitExceeded, "conv plan: too many rows");
  const size_t T = ConvPlan::kTile, nt = p.tiles();
  auto table_row = [&](size_t o) -> const int32_t* {
    const size_t r = select ? static_cast<size_t>(select[o]) : o;
    return nbr + r * K;
  };
  if (select)
    for (size_t o = 0; o < p.n_out; ++o)
      if (select[o] < 0 || static_cast<size_t>(select[o]) >= table_rows)
        fail(ErrorCode::InvalidArgument, "conv plan: selected row out of range");
  // Pass 1: pairs per (tile, offset), validating every entry (branch-free:
  // entry + 1 must be in [0, n_in], as unsigned).
  std::vector<uint32_t> count(nt * K + 1, 0);
  const size_t min_tiles = std::max<size_t>(1, kMinRowsPerThread / T);
  parallel_blocks(nt, threads, min_tiles, [&](size_t t0, size_t t1) {
    uint32_t bad = 0;
    std::vector<uint32_t> local(K);
    for (size_t t = t0; t < t1; ++t) {
      std::fill(local.begin(), local.end(), 0u);
      uint32_t* c = local.data();
      for (size_t o = t * T; o < std::min(p.n_out, (t + 1) * T); ++o) {
        const int32_t* nb = table_row(o);
        for (size_t j = 0; j < K; ++j) {
          const uint32_t v = static_cast<uint32_t>(nb[j]) + 1u;
          bad |= static_cast<uint32_t>(v > n_in);
          c[j] += static_cast<uint32_t>(v != 0);
        }
      }
      std::copy(local.begin(), local.end(), count.begin() + static_cast<std::ptrdiff_t>(t * K + 1));
    }
    if (bad) fail(ErrorCode::InvalidArgument, "conv plan: neighbour index out of range");
  });
  uint64_t total = 0;
  for (size_t i = 1; i < count.size(); ++i) {
    total += count[i];
    if (total > (uint64_t{1} << 31)) fail(ErrorCode::LimitExceeded, "conv plan: too many pairs");
    count[i] = static_cast<uint32_t>(total);
  }
  p.start = std::move(count);
  p.in_rows.resize(total);
  p.out_rows.resize(total);
  // Pass 2: per tile, rows are appended to per-offset staging lists without
  // branches (written at the cursor, which advances past present neighbours
  // only), then each list is copied to its run: output rows ascending.
  parallel_blocks(nt, threads, min_tiles, [&](size_t t0, size_t t1) {
    const size_t L = T + 1;  // room for the last (unused) write of a full list
    std::vector<int32_t> st_in(K * L), st_out(K * L);
    std::vector<uint32_t> n(K);
    for (size_t t = t0; t < t1; ++t) {
      std::fill(n.begin(), n.end(), 0u);
      for (size_t o = t * T; o < std::min(p.n_out, (t + 1) * T); ++o) {
        const int32_t* nb = table_row(o);
        for (size_t j = 0; j < K; ++j) {
          const int32_t v = nb[j];
          st_in[j * L + n[j]] = v;
          st_out[j * L + n[j]] = static_cast<int32_t>(o);
          n[j] += static_cast<uint32_t>(v >= 0);
        }
      }
      for (size_t j = 0; j < K; ++j) {
        const uint32_t q = p.start[t * K + j];
        std::copy_n(st_in.data() + j * L, n[j], p.in_rows.data() + q);
        std::copy_n(st_out.data() + j * L, n[j], p.out_rows.data() + q);
      }
    }
  });
  return p;
}

void conv_apply(const ConvPlan& plan, RowSource x, size_t cin, const float* w, const float* bias, size_t cout,
                Epilogue ep, Matrix& out, int threads, Isa isa) {
  if (ep == Epilogue::Store || ep == Epilogue::Relu) {
    if (out.rows != plan.n_out || out.cols != cout) out = Matrix::uninit(plan.n_out, cout);
  } else if (out.rows != plan.n_out || out.cols != cout) {
    fail(ErrorCode::InvalidArgument, "conv: residual shape mismatch");
  }
  if (!isa_supported(isa)) fail(ErrorCode::InvalidArgument, "conv: instruction set not supported here");
  const ConvArgs a{{x, cin, w, bias, cout, ep, out.data.data()}, &plan};
  const size_t min_tiles = std::max<size_t>(1, kMinRowsPerThread / ConvPlan::kTile);
  parallel_blocks(plan.tiles(), threads, min_tiles, [&](size_t t0, size_t t1) {
#if PCS_X86_CLONES
    if (isa == Isa::Avx512) return conv_avx512(a, t0, t1);
    if (isa == Isa::Avx2) return conv_avx2(a, t0, t1);
#endif
    conv_base(a, t0, t1);
  });
}

void linear_apply(RowSource x, size_t n, size_t cin, const float* w, const float* bias, size_t cout, Epilogue ep,
                  Matrix& out, int threads, Isa isa) {
  if (ep == Epilogue::Store || ep == Epilogue::Relu) {
    if (out.rows != n || out.cols != cout) out = Matrix::uninit(n, cout);
  } else if (out.rows != n || out.cols != cout) {
    fail(ErrorCode::InvalidArgument, "linear: residual shape mismatch");
  }
  if (!isa_supported(isa)) fail(ErrorCode::InvalidArgument, "linear: instruction set not supported here");
  const LinearArgs a{x, cin, w, bias, cout, ep, out.data.data()};
  parallel_blocks(n, threads, kMinRowsPerThread, [&](size_t r0, size_t r1) {
#if PCS_X86_CLONES
    if (isa == Isa::Avx512) return linear_avx512(a, r0, r1);
    if (isa == Isa::Avx2) return linear_avx2(a, r0, r1);
#endif
    linear_base(a, r0, r1);
  });
}

void exp_nonpos16(const float* x, float* out, Isa isa) {
#if PCS_X86_CLONES
  if (isa == Isa::Avx512) return exp16_avx512(x, out);
  if (isa == Isa::Avx2) return exp16_avx2(x, out);
#endif
  (void)isa;
  exp16(x, out);
}

void softmax16_to_cdf(const float* logits, int total_bits, uint32_t* cdf, Isa isa) {
  if (total_bits > 16 || (1 << total_bits) < 32) fail(ErrorCode::InvalidArgument, "softmax_to_cdf: bad precision");
#if PCS_X86_CLONES
  if (isa == Isa::Avx512) return softmax16_avx512(logits, total_bits, cdf);
  if (isa == Isa::Avx2) return softmax16_avx2(logits, total_bits, cdf);
#endif
  (void)isa;
  softmax16(logits, total_bits, cdf);
}

}  // namespace pcstream::nn
