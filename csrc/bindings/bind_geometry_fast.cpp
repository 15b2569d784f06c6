// Python bindings of the fast octree geometry codec (codec 11; pcstream._core.fast_geometry_*).
// Long work runs without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/geometry_fast.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace {

std::string buf_string(const py::buffer& b) {
  py::buffer_info info = b.request();
  return std::string(static_cast<const char*>(info.ptr), static_cast<size_t>(info.size * info.itemsize));
}

py::bytes vec_bytes(const std::vector<uint8_t>& v) { return py::bytes(reinterpret_cast<const char*>(v.data()), v.size()); }

py::array_t<uint32_t> points_array(std::vector<uint32_t>&& v) {
  const size_t m = v.size() / 3;
  auto* heap = new std::vector<uint32_t>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<uint32_t>*>(p); });
  return py::array_t<uint32_t>({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(3)},
                               {static_cast<py::ssize_t>(12), static_cast<py::ssize_t>(4)}, heap->data(), owner);
}

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
  py::list chunks;
  for (auto& c : enc.chunks) chunks.append(py::make_tuple(c.level_lo, c.level_hi, vec_bytes(c.payload), c.point_count));
  py::array_t<int64_t> order(static_cast<py::ssize_t>(enc.order.size()));
  int64_t* o = order.mutable_data();
  for (size_t i = 0; i < enc.order.size(); ++i) o[i] = enc.order[i];
  return py::make_tuple(vec_bytes(enc.header), chunks, order);
}

class PyFastDecoder {
 public:
  PyFastDecoder(const py::buffer& header, uint64_t max_points, int max_depth) {
    std::string h = buf_string(header);
    pcstream::GeometryLimits lim;
    lim.max_points = max_points;
    lim.max_depth = max_depth;
    dec_.reset(new pcstream::FastGeometryDecoder(reinterpret_cast<const uint8_t*>(h.data()), h.size(), lim));
  }
  void feed(const py::buffer& payload) {
    std::string p = buf_string(payload);
    py::gil_scoped_release release;
    dec_->feed(reinterpret_cast<const uint8_t*>(p.data()), p.size());
  }
  py::array_t<uint32_t> points() const {
    std::vector<uint32_t> v;
    {
      py::gil_scoped_release release;
      v = dec_->points();
    }
    return points_array(std::move(v));
  }
  std::unique_ptr<pcstream::FastGeometryDecoder> dec_;
};

void bind(py::module_& m) {
  m.def("fast_geometry_encode", &encode, py::arg("points"), py::arg("depth"), py::arg("context_levels") = -1,
        py::arg("first_chunk_levels") = -1, py::arg("adaptive") = true,
        "Fast octree geometry encode (codec 11) -> (header, [(level_lo, level_hi, payload, point_count)], order)");
  py::class_<PyFastDecoder>(m, "FastGeometryDecoder")
      .def(py::init<const py::buffer&, uint64_t, int>(), py::arg("header"), py::arg("max_points"), py::arg("max_depth") = 21)
      .def("feed", &PyFastDecoder::feed, py::arg("payload"))
      .def("points", &PyFastDecoder::points)
      .def_property_readonly("level", [](const PyFastDecoder& d) { return d.dec_->level(); })
      .def_property_readonly("depth", [](const PyFastDecoder& d) { return d.dec_->depth(); })
      .def_property_readonly("coded_levels", [](const PyFastDecoder& d) { return d.dec_->coded_levels(); })
      .def_property_readonly("context_levels", [](const PyFastDecoder& d) { return d.dec_->context_levels(); })
      .def_property_readonly("done", [](const PyFastDecoder& d) { return d.dec_->done(); })
      .def_property_readonly("point_count", [](const PyFastDecoder& d) { return d.dec_->point_count(); });
}

static pcstream_py::Registrar reg("geometry_fast", &bind);

}  // namespace
