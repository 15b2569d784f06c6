#include "pcstream/splat_dequantise.hpp"

#include <cmath>

#include "pcstream/error.hpp"

namespace pcstream {
namespace splat {

void dequantise_colour(const int32_t* q, size_t n, int triples, float step, const float T[3][3], float* out) {
  float M[3][3];
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c) M[k][c] = T[k][c] * step;
  const size_t m = static_cast<size_t>(n) * triples;
  for (size_t i = 0; i < m; ++i) {
    const float a = static_cast<float>(q[3 * i]), b = static_cast<float>(q[3 * i + 1]),
                c = static_cast<float>(q[3 * i + 2]);
    for (int o = 0; o < 3; ++o) {
      const float s0 = a * M[0][o];
      const float s1 = b * M[1][o];
      const float s2 = c * M[2][o];
      out[3 * i + o] = (s0 + s1) + s2;
    }
  }
}

void rotations_from_smallest_three(const int32_t* idx, size_t idx_stride, const int32_t* rest, size_t rest_stride,
                                   size_t n, const float* steps, float step, float* out) {
  const float lim = 0.70710678f;
  for (size_t i = 0; i < n; ++i) {
    const int32_t d = idx[i * idx_stride];
    if (d < 0 || d > 3) fail(ErrorCode::CorruptPayload, "splat stream: rotation index out of range");
    const float st = steps ? steps[i] : step;
    float r[3];
    float ss = 0.0f;
    for (int k = 0; k < 3; ++k) {
      float v = static_cast<float>(rest[i * rest_stride + k]) * st;
      v = v < -lim ? -lim : v > lim ? lim : v;
      r[k] = v;
      const float sq = v * v;
      ss = ss + sq;
    }
    float q[4];
    for (int k = 0, j = 0; k < 4; ++k) q[k] = k == d ? 0.0f : r[j++];
    const float big = 1.0f - ss;
    q[d] = std::sqrt(big > 0.0f ? big : 0.0f);
    float nn = 0.0f;
    for (int k = 0; k < 4; ++k) {
      const float sq = q[k] * q[k];
      nn = nn + sq;
    }
    const float inv = 1.0f / std::sqrt(nn);
    const float sign = q[0] < 0.0f ? -inv : inv;
    for (int k = 0; k < 4; ++k) out[4 * i + k] = q[k] * sign;
  }
}

}  // namespace splat
}  // namespace pcstream
