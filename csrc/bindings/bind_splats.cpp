// Python bindings of the splat codec's entropy-coding core (pcstream._core.splat_*).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>

#include "pcstream/error.hpp"
#include "pcstream/geometry_codec.hpp"
#include "pcstream/morton.hpp"
#include "pcstream/splat_residual_coder.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream;

namespace {

py::bytes to_bytes(const std::vector<uint8_t>& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

const uint8_t* side_ptr(const py::object& side, size_t n, py::array_t<uint8_t, py::array::c_style>& keep) {
  if (side.is_none()) return nullptr;
  keep = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>(side);
  if (keep.ndim() != 1 || static_cast<size_t>(keep.shape(0)) != n)
    fail(ErrorCode::InvalidArgument, "side classes must be a 1-D array with one value per row");
  return keep.data();
}

const int32_t* ext_ptr(const py::object& ext, size_t n, int cols, py::array_t<int32_t, py::array::c_style>& keep) {
  if (ext.is_none()) return nullptr;
  keep = py::array_t<int32_t, py::array::c_style | py::array::forcecast>(ext);
  if (keep.ndim() != 2 || static_cast<size_t>(keep.shape(0)) != n || keep.shape(1) != cols)
    fail(ErrorCode::InvalidArgument, "external prediction must have the shape of the columns");
  return keep.data();
}

void bind(py::module_& m) {
  // Positions through the classic octree geometry codec (several splats per voxel allowed).
  m.def("splat_encode_positions",
        [](py::array_t<uint32_t, py::array::c_style | py::array::forcecast> xyz, int depth) {
          if (xyz.ndim() != 2 || xyz.shape(1) != 3) fail(ErrorCode::InvalidArgument, "positions must be (N,3) uint32");
          GeometryOptions opt;
          opt.depth = depth;
          GeometryEncoding enc;
          {
            py::gil_scoped_release nogil;
            enc = encode_geometry(xyz.data(), xyz.shape(0), opt);
          }
          py::list chunks;
          for (auto& c : enc.chunks) chunks.append(py::make_tuple(to_bytes(c.payload), c.level_lo, c.level_hi, c.point_count));
          py::array_t<int64_t> order(static_cast<py::ssize_t>(enc.order.size()));
          auto* o = order.mutable_data();
          for (size_t i = 0; i < enc.order.size(); ++i) o[i] = enc.order[i];
          return py::make_tuple(to_bytes(enc.header), chunks, order);
        });
  m.def("splat_morton_codes", [](py::array_t<uint32_t, py::array::c_style | py::array::forcecast> xyz) {
    if (xyz.ndim() != 2 || xyz.shape(1) != 3) fail(ErrorCode::InvalidArgument, "positions must be (N,3) uint32");
    std::vector<uint64_t> codes = morton_codes(xyz.data(), xyz.shape(0));
    py::array_t<uint64_t> arr(static_cast<py::ssize_t>(codes.size()));
    if (!codes.empty()) std::memcpy(arr.mutable_data(), codes.data(), codes.size() * sizeof(uint64_t));
    return arr;
  });
  m.def("splat_morton_decode", [](py::array_t<uint64_t, py::array::c_style | py::array::forcecast> codes) {
    py::array_t<uint32_t> arr({static_cast<py::ssize_t>(codes.size()), static_cast<py::ssize_t>(3)});
    auto* o = arr.mutable_data();
    const uint64_t* c = codes.data();
    for (py::ssize_t i = 0; i < codes.size(); ++i) morton_decode(c[i], o[3 * i], o[3 * i + 1], o[3 * i + 2]);
    return arr;
  });
  m.def("splat_decode_positions", [](py::bytes header, py::list chunks, uint64_t max_points) {
    std::string h = header;
    std::vector<std::string> parts;
    for (auto c : chunks) parts.push_back(c.cast<std::string>());
    std::vector<uint32_t> pts;
    {
      py::gil_scoped_release nogil;
      GeometryLimits lim;
      lim.max_points = max_points;
      GeometryDecoder dec(reinterpret_cast<const uint8_t*>(h.data()), h.size(), lim);
      for (auto& p : parts) dec.feed(reinterpret_cast<const uint8_t*>(p.data()), p.size());
      if (!dec.done()) fail(ErrorCode::Truncated, "splat positions: geometry chunks missing");
      pts = dec.points();
    }
    py::array_t<uint32_t> arr({static_cast<py::ssize_t>(pts.size() / 3), static_cast<py::ssize_t>(3)});
    if (!pts.empty()) std::memcpy(arr.mutable_data(), pts.data(), pts.size() * sizeof(uint32_t));
    return arr;
  });
  m.def("splat_encode_columns",
        [](py::array_t<int32_t, py::array::c_style | py::array::forcecast> data, py::object side, int nside,
           py::object ext) {
          if (data.ndim() != 2) fail(ErrorCode::InvalidArgument, "columns must be a 2-D int32 array");
          size_t n = data.shape(0);
          int cols = static_cast<int>(data.shape(1));
          py::array_t<uint8_t, py::array::c_style> keep;
          const uint8_t* s = side_ptr(side, n, keep);
          py::array_t<int32_t, py::array::c_style> ekeep;
          const int32_t* e = ext_ptr(ext, n, cols, ekeep);
          std::vector<uint8_t> out;
          {
            py::gil_scoped_release nogil;
            out = splat::encode_columns(data.data(), n, cols, s, nside, e);
          }
          return to_bytes(out);
        },
        py::arg("data"), py::arg("side") = py::none(), py::arg("nside") = 1, py::arg("ext") = py::none());
  m.def("splat_decode_columns",
        [](py::bytes payload, size_t n, int cols, py::object side, int nside, py::object ext) {
          std::string buf = payload;
          py::array_t<uint8_t, py::array::c_style> keep;
          const uint8_t* s = side_ptr(side, n, keep);
          py::array_t<int32_t, py::array::c_style> ekeep;
          const int32_t* e = ext_ptr(ext, n, cols, ekeep);
          std::vector<int32_t> out;
          {
            py::gil_scoped_release nogil;
            out = splat::decode_columns(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), n, cols, s, nside, e);
          }
          py::array_t<int32_t> arr({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(cols)});
          if (!out.empty()) std::memcpy(arr.mutable_data(), out.data(), out.size() * sizeof(int32_t));
          return arr;
        },
        py::arg("payload"), py::arg("n"), py::arg("cols"), py::arg("side") = py::none(), py::arg("nside") = 1,
        py::arg("ext") = py::none());
  m.def("splat_encode_keys", [](py::array_t<uint64_t, py::array::c_style | py::array::forcecast> keys) {
    if (keys.ndim() != 1) fail(ErrorCode::InvalidArgument, "keys must be 1-D");
    std::vector<uint8_t> out;
    {
      py::gil_scoped_release nogil;
      out = splat::encode_sorted_keys(keys.data(), keys.shape(0));
    }
    return to_bytes(out);
  });
  m.def("splat_decode_keys", [](py::bytes payload, size_t n, int key_bits) {
    std::string buf = payload;
    std::vector<uint64_t> out;
    {
      py::gil_scoped_release nogil;
      out = splat::decode_sorted_keys(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), n, key_bits);
    }
    py::array_t<uint64_t> arr(static_cast<py::ssize_t>(n));
    if (!out.empty()) std::memcpy(arr.mutable_data(), out.data(), out.size() * sizeof(uint64_t));
    return arr;
  });
}

pcstream_py::Registrar reg("splats", &bind);

}  // namespace
