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
#include "octree_decoder_py.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace {

using pcstream_py::chunk_list;
using pcstream_py::points_array;
using pcstream_py::buffer_bytes;
using pcstream_py::vector_bytes;

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
  py::list chunks = chunk_list(enc);
  py::object vop = py::none();
  if (levels >= 0 && levels < depth) vop = to_array(std::move(enc.voxel_of_point));
  return py::make_tuple(vector_bytes(enc.header), chunks, to_array(std::move(enc.order)), vop);
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
  for (auto& level : t.occupancy) occ.append(vector_bytes(level));
  return py::make_tuple(occ, to_array(std::move(t.leaves)), to_array(std::move(t.counts)), to_array(std::move(perm)));
}

// Occupancy bytes per level -> (M, 3) uint32 distinct leaf points in Morton order.
py::array_t<uint32_t> octree_expand(const py::list& occupancy, int depth) {
  std::vector<std::vector<uint8_t>> occ;
  for (auto item : occupancy) {
    std::string b = buffer_bytes(py::reinterpret_borrow<py::buffer>(item));
    occ.emplace_back(b.begin(), b.end());
  }
  std::vector<uint32_t> out;
  {
    py::gil_scoped_release release;
    std::vector<uint64_t> leaves = pcstream::expand_octree(occ, depth);
    out.resize(3 * leaves.size());
    for (size_t i = 0; i < leaves.size(); ++i) pcstream::morton_decode(leaves[i], out[3 * i], out[3 * i + 1], out[3 * i + 2]);
  }
  return points_array(std::move(out));
}

void bind(py::module_& m) {
  m.def("geometry_encode", &encode, py::arg("points"), py::arg("depth"), py::arg("levels") = -1,
        py::arg("direct_mode") = true, py::arg("first_chunk_levels") = -1,
        "Classic octree geometry encode -> (header, [(level_lo, level_hi, payload, point_count)], order, voxel_of_point)");
  m.def("octree_build", &octree_build, py::arg("points"), py::arg("depth"),
        "Octree of integer points -> (occupancy bytes per level, leaf Morton codes, counts, permutation)");
  m.def("octree_expand", &octree_expand, py::arg("occupancy"), py::arg("depth"),
        "Occupancy bytes per level -> (M, 3) uint32 distinct leaf points in Morton order");
  pcstream_py::bind_octree_decoder<pcstream::GeometryDecoder>(m, "GeometryDecoder");
}

static pcstream_py::Registrar reg("geometry", &bind);

}  // namespace
