// Python bindings of the splat codec's entropy-coding core (pcstream._core.splat_*).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>

#include "pcstream/error.hpp"
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

void bind(py::module_& m) {
  m.def("splat_encode_columns",
        [](py::array_t<int32_t, py::array::c_style | py::array::forcecast> data, py::object side, int nside) {
          if (data.ndim() != 2) fail(ErrorCode::InvalidArgument, "columns must be a 2-D int32 array");
          size_t n = data.shape(0);
          int cols = static_cast<int>(data.shape(1));
          py::array_t<uint8_t, py::array::c_style> keep;
          const uint8_t* s = side_ptr(side, n, keep);
          std::vector<uint8_t> out;
          {
            py::gil_scoped_release nogil;
            out = splat::encode_columns(data.data(), n, cols, s, nside);
          }
          return to_bytes(out);
        },
        py::arg("data"), py::arg("side") = py::none(), py::arg("nside") = 1);
  m.def("splat_decode_columns",
        [](py::bytes payload, size_t n, int cols, py::object side, int nside) {
          std::string buf = payload;
          py::array_t<uint8_t, py::array::c_style> keep;
          const uint8_t* s = side_ptr(side, n, keep);
          std::vector<int32_t> out;
          {
            py::gil_scoped_release nogil;
            out = splat::decode_columns(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), n, cols, s, nside);
          }
          py::array_t<int32_t> arr({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(cols)});
          if (!out.empty()) std::memcpy(arr.mutable_data(), out.data(), out.size() * sizeof(int32_t));
          return arr;
        },
        py::arg("payload"), py::arg("n"), py::arg("cols"), py::arg("side") = py::none(), py::arg("nside") = 1);
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
