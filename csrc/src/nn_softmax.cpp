// Softmax to an integer CDF with an own exp, so encoder and decoder agree bit
// for bit on every platform with IEEE float32 (no libm differences).
#include <cstring>

#include "nn_exp.hpp"
#include "pcstream/error.hpp"
#include "pcstream/multisym.hpp"
#include "pcstream/nn_runtime.hpp"

namespace pcstream::nn {

float exp_nonpos(float x) {
  if (!(x >= expdetail::kMinArg)) return 0.0f;  // also maps NaN to 0
  if (x > 0.0f) x = 0.0f;
  // x = n ln2 + r, |r| <= ln2/2; ln2 split in a short high part (exact n*hi) and a low part.
  float t;
  expdetail::split_arg(x, t);
  int n = static_cast<int>(t);
  if (static_cast<float>(n) > t) --n;  // floor for negative t
  const float fn = static_cast<float>(n);
  float p;
  expdetail::reduced_exp(x, fn, p);
  uint32_t bits = static_cast<uint32_t>(n + 127) << 23;  // n >= -126: a normal power of two
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

void softmax_to_cdf(const float* logits, int n, int total_bits, uint32_t* cdf) {
  if (n < 2 || n > 256 || total_bits > 16 || (1 << total_bits) < 2 * n)
    fail(ErrorCode::InvalidArgument, "softmax_to_cdf: bad alphabet or precision");
  float e[256];
  float m = logits[0];
  for (int i = 1; i < n; ++i) m = logits[i] > m ? logits[i] : m;
  for (int i = 0; i < n; ++i) e[i] = exp_nonpos(logits[i] - m);
  // Unnormalised weights (the largest is exactly 1) -> the coders' normative conversion.
  probs_to_cdf_row(e, n, total_bits, cdf);
}

}  // namespace pcstream::nn
