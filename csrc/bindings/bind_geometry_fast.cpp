// Python bindings of the fast octree geometry codec (codec 11; pcstream._core.fast_geometry_*).
// Long work runs without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/geometry_fast.hpp"
#include "octree_decoder_py.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace {

using pcstream_py::chunk_list;
using pcstream_py::vector_bytes;

py::tuple encode(py::array_t<uint32_t, py::array::c_style | py::array::forcecast> points, int depth, int context_levels,
                 int first_chunk_levels, bool adaptive) {
  if (points.ndim() != 2 || points.shape(1) != 3)
    pcstream::fail(pcstream::ErrorCode::InvalidArgument, "fast geometry: points must have shape (N, 3)");
  pcstream::FastGeometryOptions opt;
  opt.depth = depth;
  opt.context_levels = context_levels;
  opt.first_chunk_levels = first_chunk_levels;
  opt.adaptive = adaptive;
  const uint32_t* data = points.data();
  const size_t n = static_cast<size_t>(points.shape(0));
  pcstream::GeometryEncoding enc;
  {
    py::gil_scoped_release release;
    enc = pcstream::encode_geometry_fast(data, n, opt);
  }
  py::list chunks = chunk_list(enc);
  py::array_t<int64_t> order(static_cast<py::ssize_t>(enc.order.size()));
  int64_t* o = order.mutable_data();
  for (size_t i = 0; i < enc.order.size(); ++i) o[i] = enc.order[i];
  return py::make_tuple(vector_bytes(enc.header), chunks, order);
}

void bind(py::module_& m) {
  m.def("fast_geometry_encode", &encode, py::arg("points"), py::arg("depth"), py::arg("context_levels") = -1,
        py::arg("first_chunk_levels") = -1, py::arg("adaptive") = true,
        "Fast octree geometry encode (codec 11) -> (header, [(level_lo, level_hi, payload, point_count)], order)");
  pcstream_py::bind_octree_decoder<pcstream::FastGeometryDecoder>(m, "FastGeometryDecoder")
      .def_property_readonly("context_levels", [](const pcstream_py::PyOctreeDecoder<pcstream::FastGeometryDecoder>& d) {
        return d.dec_->context_levels();
      });
}

static pcstream_py::Registrar reg("geometry_fast", &bind);

}  // namespace
