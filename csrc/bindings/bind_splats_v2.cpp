// Python bindings of the splat codec's stream-version-2 core (pcstream._core.splat_*_v2): sliced column coding.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>

#include "pcstream/error.hpp"
#include "pcstream/splat_dequantise.hpp"
#include "pcstream/splat_residual_coder.hpp"
#include <thread>
#include "registry.hpp"
#include "splat_columns_py.hpp"

namespace py = pybind11;
using namespace pcstream;
using namespace pcstream_py;

namespace {

using splat_columns::I32;
using splat_columns::threads_or_default;

void bind(py::module_& m) {
  splat_columns::def_column_coder(m, "splat_encode_columns_v2", "splat_decode_columns_v2",
                                  &splat::encode_columns_sliced, &splat::decode_columns_sliced);
  m.def("splat_dequantise_colour", [](I32 q, int triples, float step, py::array_t<float, py::array::c_style | py::array::forcecast> T) {
    if (q.ndim() != 2 || triples < 1 || q.shape(1) != 3 * triples || T.size() != 9)
      fail(ErrorCode::InvalidArgument, "colour dequantisation: q must be (n, 3*triples), T 3x3");
    const size_t n = q.shape(0);
    py::array_t<float> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(triples), static_cast<py::ssize_t>(3)});
    float t[3][3];
    for (int i = 0; i < 9; ++i) t[i / 3][i % 3] = T.data()[i];
    float* o = out.mutable_data();
    const int32_t* d = q.data();
    {
      py::gil_scoped_release nogil;
      splat::dequantise_colour(d, n, triples, step, t, o);
    }
    return out;
  });
  m.def("splat_rotations_from_smallest_three", [](I32 cols, py::object steps, float step) {
    // cols: (n, 4) = index of the dropped component, three integers
    if (cols.ndim() != 2 || cols.shape(1) != 4) fail(ErrorCode::InvalidArgument, "rotation columns must be (n, 4)");
    const size_t n = cols.shape(0);
    py::array_t<float, py::array::c_style | py::array::forcecast> st;
    const float* sp = nullptr;
    if (!steps.is_none()) {
      st = py::array_t<float, py::array::c_style | py::array::forcecast>(steps);
      if (st.ndim() != 1 || static_cast<size_t>(st.shape(0)) != n) fail(ErrorCode::InvalidArgument, "one step per row");
      sp = st.data();
    }
    py::array_t<float> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(4)});
    float* o = out.mutable_data();
    const int32_t* c = cols.data();
    {
      py::gil_scoped_release nogil;
      splat::rotations_from_smallest_three(c, 4, c + 1, 4, n, sp, step, o);
    }
    return out;
  });
}

pcstream_py::Registrar reg("splats_v2", &bind);

}  // namespace
