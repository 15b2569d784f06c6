// Dequantisation kernels of the splat codec (SPLT, codec id 6): integer
// attribute columns back to INRIA 3DGS floats. Fixed evaluation order in
// float32 without contraction, so the output is bit-identical on every
// IEEE-754 machine (no BLAS, no libm beyond sqrt, which IEEE rounds exactly).
//
// Preconditions are the callers' (the Python bindings check shapes); indices
// are range-checked here and reported as CorruptPayload.
// Thread safety: stateless; safe to call concurrently.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pcstream {
namespace splat {

// Colour-space inverse transform: out[i, j, c] = sum_k q[i, 3j + k] * step * T[k][c]
// for n rows of `triples` (j) colour triples (DC: 1, SH band b: 2b + 1 coefficients).
void dequantise_colour(const int32_t* q, size_t n, int triples, float step, const float T[3][3], float* out);

// Unit quaternions (w, x, y, z), w >= 0, from the smallest-three code: idx[i]
// in 0..3 is the dropped (largest) component, rest[i] the other three
// integers times the row's step (steps[i] if steps is non-null, else step).
// Throws CorruptPayload on an index outside 0..3.
void rotations_from_smallest_three(const int32_t* idx, size_t idx_stride, const int32_t* rest, size_t rest_stride,
                                   size_t n, const float* steps, float step, float* out);

}  // namespace splat
}  // namespace pcstream
