// Python glue shared by the two octree geometry codecs' bindings
// (bind_geometry.cpp: codec 1, bind_geometry_fast.cpp: codec 11): bytes in and
// out, (M, 3) point arrays, and the progressive decoder class. Both C++ decoders
// have the same interface (constructor from header + limits, feed, points,
// level/depth/coded_levels/done/point_count).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <vector>

#include "pcstream/geometry_codec.hpp"

namespace pcstream_py {

namespace py = pybind11;

// Copies a bytes-like object into a string while holding the GIL.
inline std::string buffer_bytes(const py::buffer& b) {
  py::buffer_info info = b.request();
  return std::string(static_cast<const char*>(info.ptr), static_cast<size_t>(info.size * info.itemsize));
}

inline py::bytes vector_bytes(const std::vector<uint8_t>& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

// Flat x,y,z triples -> (M, 3) uint32 array that owns the vector (no copy).
inline py::array_t<uint32_t> points_array(std::vector<uint32_t>&& v) {
  const size_t m = v.size() / 3;
  auto* heap = new std::vector<uint32_t>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<uint32_t>*>(p); });
  return py::array_t<uint32_t>({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(3)},
                               {static_cast<py::ssize_t>(12), static_cast<py::ssize_t>(4)}, heap->data(), owner);
}

// An encoding's chunks as [(level_lo, level_hi, payload, point_count)].
inline py::list chunk_list(const pcstream::GeometryEncoding& enc) {
  py::list chunks;
  for (auto& c : enc.chunks) chunks.append(py::make_tuple(c.level_lo, c.level_hi, vector_bytes(c.payload), c.point_count));
  return chunks;
}

// Python face of a progressive octree decoder; decoding runs without the GIL.
template <class Decoder>
class PyOctreeDecoder {
 public:
  PyOctreeDecoder(const py::buffer& header, uint64_t max_points, int max_depth) {
    std::string h = buffer_bytes(header);
    pcstream::GeometryLimits lim;
    lim.max_points = max_points;
    lim.max_depth = max_depth;
    dec_.reset(new Decoder(reinterpret_cast<const uint8_t*>(h.data()), h.size(), lim));
  }
  void feed(const py::buffer& payload) {
    std::string p = buffer_bytes(payload);
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
  std::unique_ptr<Decoder> dec_;
};

// Registers PyOctreeDecoder<Decoder> as `name`; the caller may add properties.
template <class Decoder>
py::class_<PyOctreeDecoder<Decoder>> bind_octree_decoder(py::module_& m, const char* name) {
  using D = PyOctreeDecoder<Decoder>;
  return py::class_<D>(m, name)
      .def(py::init<const py::buffer&, uint64_t, int>(), py::arg("header"), py::arg("max_points"), py::arg("max_depth") = 21)
      .def("feed", &D::feed, py::arg("payload"))
      .def("points", &D::points)
      .def_property_readonly("level", [](const D& d) { return d.dec_->level(); })
      .def_property_readonly("depth", [](const D& d) { return d.dec_->depth(); })
      .def_property_readonly("coded_levels", [](const D& d) { return d.dec_->coded_levels(); })
      .def_property_readonly("done", [](const D& d) { return d.dec_->done(); })
      .def_property_readonly("point_count", [](const D& d) { return d.dec_->point_count(); });
}

}  // namespace pcstream_py
