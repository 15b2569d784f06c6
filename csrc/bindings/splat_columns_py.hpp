// Internal to the bindings: the Python signature shared by every version of the splat
// column coder (pcstream._core.splat_{encode,decode}_columns_vN), so each stream version
// binds its own C++ coder with one call. Not a public header.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

#include "pcstream/error.hpp"

namespace pcstream_py::splat_columns {

namespace py = pybind11;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using U8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

// Optional per-row side classes: nullptr when None; `keep` owns the converted array.
inline const uint8_t* side_ptr(const py::object& side, size_t n, U8& keep) {
  if (side.is_none()) return nullptr;
  keep = U8(side);
  if (keep.ndim() != 1 || static_cast<size_t>(keep.shape(0)) != n)
    pcstream::fail(pcstream::ErrorCode::InvalidArgument, "side classes must be a 1-D array with one value per row");
  return keep.data();
}

// Optional external prediction with the columns' shape: nullptr when None.
inline const int32_t* ext_ptr(const py::object& ext, size_t n, int cols, I32& keep) {
  if (ext.is_none()) return nullptr;
  keep = I32(ext);
  if (keep.ndim() != 2 || static_cast<size_t>(keep.shape(0)) != n || keep.shape(1) != cols)
    pcstream::fail(pcstream::ErrorCode::InvalidArgument, "external prediction must have the shape of the columns");
  return keep.data();
}

// 0: one thread per core (at most 8); the output never depends on it.
inline int threads_or_default(int t) {
  if (t > 0) return t;
  unsigned h = std::thread::hardware_concurrency();
  return static_cast<int>(h == 0 ? 1 : h > 8 ? 8 : h);
}

// Binds `enc_name(data, side=None, nside=1, ext=None, threads=0) -> bytes` and
// `dec_name(payload, n, cols, side=None, nside=1, ext=None, threads=0) -> (n, cols) int32`
// over a column coder with the signatures of splat::encode_columns_sliced / decode_columns_sliced.
// The GIL is released while the coder runs.
template <class Encode, class Decode>
void def_column_coder(py::module_& m, const char* enc_name, const char* dec_name, Encode encode, Decode decode) {
  m.def(enc_name,
        [encode](I32 data, py::object side, int nside, py::object ext, int threads) {
          if (data.ndim() != 2)
            pcstream::fail(pcstream::ErrorCode::InvalidArgument, "columns must be a 2-D int32 array");
          size_t n = data.shape(0);
          int cols = static_cast<int>(data.shape(1));
          U8 keep;
          const uint8_t* s = side_ptr(side, n, keep);
          I32 ekeep;
          const int32_t* e = ext_ptr(ext, n, cols, ekeep);
          std::vector<uint8_t> out;
          {
            py::gil_scoped_release nogil;
            out = encode(data.data(), n, cols, s, nside, e, threads_or_default(threads));
          }
          return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
        },
        py::arg("data"), py::arg("side") = py::none(), py::arg("nside") = 1, py::arg("ext") = py::none(),
        py::arg("threads") = 0);
  m.def(dec_name,
        [decode](py::bytes payload, size_t n, int cols, py::object side, int nside, py::object ext, int threads) {
          std::string_view buf = payload;
          U8 keep;
          const uint8_t* s = side_ptr(side, n, keep);
          I32 ekeep;
          const int32_t* e = ext_ptr(ext, n, cols, ekeep);
          std::vector<int32_t> out;
          {
            py::gil_scoped_release nogil;
            out = decode(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), n, cols, s, nside, e,
                         threads_or_default(threads));
          }
          py::array_t<int32_t> arr({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(cols)});
          if (!out.empty()) std::memcpy(arr.mutable_data(), out.data(), out.size() * sizeof(int32_t));
          return arr;
        },
        py::arg("payload"), py::arg("n"), py::arg("cols"), py::arg("side") = py::none(), py::arg("nside") = 1,
        py::arg("ext") = py::none(), py::arg("threads") = 0);
}

}  // namespace pcstream_py::splat_columns
