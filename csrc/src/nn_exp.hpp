// The float32 steps of exp_nonpos shared by its scalar version (nn_softmax.cpp)
// and its 16-lane version (nn_kernels.cpp). V is float or a GCC float vector: a
// vector operation is the same float32 operation in every lane, so both give
// the same bits (the entropy coders depend on it; -ffp-contract=off).
#pragma once

namespace pcstream::nn::expdetail {

constexpr float kMinArg = -87.0f;           // below: result 0 (2^-126 is the least normal scale)
constexpr float kLog2e = 1.44269504f;
constexpr float kLn2Hi = 0.693145752f;      // short high part of ln 2: fn * kLn2Hi is exact
constexpr float kLn2Lo = 1.42860677e-6f;

// t = x log2(e) + 1/2; the caller takes n = floor(t).
template <class V>
__attribute__((always_inline)) inline void split_arg(const V& x, V& t) {
  t = x * kLog2e + 0.5f;
}

// p ~ e^r for r = x - fn ln 2 (|r| <= ln2/2): degree-6 Taylor polynomial in Horner form.
template <class V>
__attribute__((always_inline)) inline void reduced_exp(const V& x, const V& fn, V& p) {
  V r = x - fn * kLn2Hi;
  r = r - fn * kLn2Lo;
  p = V{} + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
}

}  // namespace pcstream::nn::expdetail
