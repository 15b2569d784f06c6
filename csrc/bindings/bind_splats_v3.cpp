// Python bindings of the splat codec's stream-version-3 core (pcstream._core.splat_*_v3):
// static-table rANS column coding.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <thread>

#include "pcstream/error.hpp"
#include "pcstream/splat_rans_coder.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream;

namespace {

using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using U8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

const uint8_t* side_ptr(const py::object& side, size_t n, U8& keep) {
  if (side.is_none()) return nullptr;
  keep = U8(side);
  if (keep.ndim() != 1 || static_cast<size_t>(keep.shape(0)) != n)
    fail(ErrorCode::InvalidArgument, "side classes must be a 1-D array with one value per row");
  return keep.data();
}

const int32_t* ext_ptr(const py::object& ext, size_t n, int cols, I32& keep) {
  if (ext.is_none()) return nullptr;
  keep = I32(ext);
  if (keep.ndim() != 2 || static_cast<size_t>(keep.shape(0)) != n || keep.shape(1) != cols)
    fail(ErrorCode::InvalidArgument, "external prediction must have the shape of the columns");
  return keep.data();
}

// 0: one thread per core (at most 8); the output never depends on it.
int threads_or_default(int t) {
  if (t > 0) return t;
  unsigned h = std::thread::hardware_concurrency();
  return static_cast<int>(h == 0 ? 1 : h > 8 ? 8 : h);
}

void bind(py::module_& m) {
  m.def("splat_encode_columns_v3",
        [](I32 data, py::object side, int nside, py::object ext, int threads) {
          if (data.ndim() != 2) fail(ErrorCode::InvalidArgument, "columns must be a 2-D int32 array");
          size_t n = data.shape(0);
          int cols = static_cast<int>(data.shape(1));
          U8 keep;
          const uint8_t* s = side_ptr(side, n, keep);
          I32 ekeep;
          const int32_t* e = ext_ptr(ext, n, cols, ekeep);
          std::vector<uint8_t> out;
          {
            py::gil_scoped_release nogil;
            out = splat::encode_columns_rans(data.data(), n, cols, s, nside, e, threads_or_default(threads));
          }
          return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
        },
        py::arg("data"), py::arg("side") = py::none(), py::arg("nside") = 1, py::arg("ext") = py::none(),
        py::arg("threads") = 0);
  m.def("splat_decode_columns_v3",
        [](py::bytes payload, size_t n, int cols, py::object side, int nside, py::object ext, int threads) {
          std::string_view buf = payload;
          U8 keep;
          const uint8_t* s = side_ptr(side, n, keep);
          I32 ekeep;
          const int32_t* e = ext_ptr(ext, n, cols, ekeep);
          std::vector<int32_t> out;
          {
            py::gil_scoped_release nogil;
            out = splat::decode_columns_rans(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), n, cols, s,
                                             nside, e, threads_or_default(threads));
          }
          py::array_t<int32_t> arr({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(cols)});
          if (!out.empty()) std::memcpy(arr.mutable_data(), out.data(), out.size() * sizeof(int32_t));
          return arr;
        },
        py::arg("payload"), py::arg("n"), py::arg("cols"), py::arg("side") = py::none(), py::arg("nside") = 1,
        py::arg("ext") = py::none(), py::arg("threads") = 0);
  m.def("splat_encode_keys_v3",
        [](py::array_t<uint64_t, py::array::c_style | py::array::forcecast> keys, int threads) {
          std::vector<uint8_t> out;
          {
            py::gil_scoped_release nogil;
            out = splat::encode_sorted_keys_rans(keys.data(), keys.size(), threads_or_default(threads));
          }
          return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
        },
        py::arg("keys"), py::arg("threads") = 0);
  m.def("splat_decode_keys_v3",
        [](py::bytes payload, size_t n, int key_bits, int threads) {
          std::string_view buf = payload;
          std::vector<uint64_t> out;
          {
            py::gil_scoped_release nogil;
            out = splat::decode_sorted_keys_rans(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), n, key_bits,
                                                 threads_or_default(threads));
          }
          py::array_t<uint64_t> arr(static_cast<py::ssize_t>(n));
          if (!out.empty()) std::memcpy(arr.mutable_data(), out.data(), out.size() * sizeof(uint64_t));
          return arr;
        },
        py::arg("payload"), py::arg("n"), py::arg("key_bits"), py::arg("threads") = 0);
}

pcstream_py::Registrar reg("splats_v3", &bind);

}  // namespace
