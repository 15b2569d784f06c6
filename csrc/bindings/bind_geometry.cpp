// Python bindings of the classic geometry codec (pcstream._core.geometry_*).
// Long work runs without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/geometry_codec.hpp"
#include "pcstream/morton.hpp"
#include "pcstream/octree.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace {

// Copies a bytes-like object into a string while holding the GIL.
std::string to_bytes(const py::buffer& b) {
  py::buffer_info info = b.request();
  return std::string(static_cast<const char*>(info.ptr), static_cast<size_t>(info.size * info.itemsize));
}

py::bytes vec_bytes(const std::vector<uint8_t>& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

template <class T>
py::array_t<T> to_array(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(heap->size())}, {static_cast<py::ssize_t>(sizeof(T))}, heap->data(), owner);
}

py::tuple encode(py::array_t<uint32_t, py::array::c_style | py::array::forcecast> points, int depth, int levels,
                 bool direct_mode, int first_chunk_levels) {
  if (points.ndim() != 2 || points.shape(1) != 3)
    pcstream::fail(pcstream::ErrorCode::InvalidArgument, "geometry: points must have shape (N, 3)");
  pcstream::GeometryOptions opt;
  opt.depth = depth;
  opt.levels = levels;
  opt.direct_mode = direct_mode;
  opt.first_chunk_levels = first_chunk_levels;
  const uint32_t* data = points.data();
  size_t n = static_cast<size_t>(points.shape(0));
  pcstream::GeometryEncoding enc;
  {
    py::gil_scoped_release release;
    enc = pcstream::encode_geometry(data, n, opt);
  }
  py::list chunks;
  for (auto& c : enc.chunks)
    chunks.append(py::make_tuple(c.level_lo, c.level_hi, vec_bytes(c.payload), c.point_count));
  py::object vop = py::none();
  if (levels >= 0 && levels < depth) vop = to_array(std::move(enc.voxel_of_point));
  return py::make_tuple(vec_bytes(enc.header), chunks, to_array(std::move(enc.order)), vop);
}

// Points -> (occupancy bytes per level, distinct leaf Morton codes, counts, sort permutation).
py::tuple octree_build(py::array_t<uint32_t, py::array::c_style | py::array::forcecast> points, int depth) {
  if (points.ndim() != 2 || points.shape(1) != 3)
    pcstream::fail(pcstream::ErrorCode::InvalidArgument, "octree: points must have shape (N, 3)");
  if (depth < 0 || depth > pcstream::kMortonMaxBits)
    pcstream::fail(pcstream::ErrorCode::InvalidArgument, "octree: depth must be in [0, 21]");
  const uint32_t* data = points.data();
  size_t n = static_cast<size_t>(points.shape(0));
  const uint32_t lim = depth >= 21 ? (1u << 21) : (1u << depth);
  for (size_t i = 0; i < 3 * n; ++i)
    if (data[i] >= lim) pcstream::fail(pcstream::ErrorCode::InvalidArgument, "octree: coordinate out of range");
  pcstream::Octree t;
  std::vector<uint32_t> perm;
  {
    py::gil_scoped_release release;
    std::vector<uint64_t> codes = pcstream::morton_codes(data, n), sorted;
    perm = pcstream::morton_sort_permutation(codes.data(), n, depth, &sorted);
    t = pcstream::build_octree(sorted.data(), n, depth);
  }
  py::list occ;
  for (auto& level : t.occupancy) occ.append(vec_bytes(level));
  return py::make_tuple(occ, to_array(std::move(t.leaves)), to_array(std::move(t.counts)), to_array(std::move(perm)));
}

// Occupancy bytes per level -> (M, 3) uint32 distinct leaf points in Morton order.
py::array_t<uint32_t> octree_expand(const py::list& occupancy, int depth) {
  std::vector<std::vector<uint8_t>> occ;
  for (auto item : occupancy) {
    std::string b = to_bytes(py::reinterpret_borrow<py::buffer>(item));
    occ.emplace_back(b.begin(), b.end());
  }
  std::vector<uint32_t> out;
  {
    py::gil_scoped_release release;
    std::vector<uint64_t> leaves = pcstream::expand_octree(occ, depth);
    out.resize(3 * leaves.size());
    for (size_t i = 0; i < leaves.size(); ++i) pcstream::morton_decode(leaves[i], out[3 * i], out[3 * i + 1], out[3 * i + 2]);
  }
  size_t m = out.size() / 3;
  auto* heap = new std::vector<uint32_t>(std::move(out));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<uint32_t>*>(p); });
  return py::array_t<uint32_t>({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(3)},
                               {static_cast<py::ssize_t>(12), static_cast<py::ssize_t>(4)}, heap->data(), owner);
}

class PyGeometryDecoder {
 public:
  PyGeometryDecoder(const py::buffer& header, uint64_t max_points, int max_depth) {
    std::string h = to_bytes(header);
    pcstream::GeometryLimits lim;
    lim.max_points = max_points;
    lim.max_depth = max_depth;
    dec_.reset(new pcstream::GeometryDecoder(reinterpret_cast<const uint8_t*>(h.data()), h.size(), lim));
  }
  void feed(const py::buffer& payload) {
    std::string p = to_bytes(payload);
    py::gil_scoped_release release;
    dec_->feed(reinterpret_cast<const uint8_t*>(p.data()), p.size());
  }
  py::array_t<uint32_t> points() const {
    std::vector<uint32_t> v;
    {
      py::gil_scoped_release release;
      v = dec_->points();
    }
    size_t m = v.size() / 3;
    auto* heap = new std::vector<uint32_t>(std::move(v));
    py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<uint32_t>*>(p); });
    return py::array_t<uint32_t>({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(3)},
                                 {static_cast<py::ssize_t>(12), static_cast<py::ssize_t>(4)}, heap->data(), owner);
  }
  std::unique_ptr<pcstream::GeometryDecoder> dec_;
};

void bind(py::module_& m) {
  m.def("geometry_encode", &encode, py::arg("points"), py::arg("depth"), py::arg("levels") = -1,
        py::arg("direct_mode") = true, py::arg("first_chunk_levels") = -1,
        "Classic octree geometry encode -> (header, [(level_lo, level_hi, payload, point_count)], order, voxel_of_point)");
  m.def("octree_build", &octree_build, py::arg("points"), py::arg("depth"),
        "Octree of integer points -> (occupancy bytes per level, leaf Morton codes, counts, permutation)");
  m.def("octree_expand", &octree_expand, py::arg("occupancy"), py::arg("depth"),
        "Occupancy bytes per level -> (M, 3) uint32 distinct leaf points in Morton order");
  py::class_<PyGeometryDecoder>(m, "GeometryDecoder")
      .def(py::init<const py::buffer&, uint64_t, int>(), py::arg("header"), py::arg("max_points"), py::arg("max_depth") = 21)
      .def("feed", &PyGeometryDecoder::feed, py::arg("payload"))
      .def("points", &PyGeometryDecoder::points)
      .def_property_readonly("level", [](const PyGeometryDecoder& d) { return d.dec_->level(); })
      .def_property_readonly("depth", [](const PyGeometryDecoder& d) { return d.dec_->depth(); })
      .def_property_readonly("coded_levels", [](const PyGeometryDecoder& d) { return d.dec_->coded_levels(); })
      .def_property_readonly("done", [](const PyGeometryDecoder& d) { return d.dec_->done(); })
      .def_property_readonly("point_count", [](const PyGeometryDecoder& d) { return d.dec_->point_count(); });
}

static pcstream_py::Registrar reg("geometry", &bind);

}  // namespace
