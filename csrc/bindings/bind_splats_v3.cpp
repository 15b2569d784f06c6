// Python bindings of the splat codec's stream-version-3 core (pcstream._core.splat_*_v3):
// static-table rANS column coding.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstring>
#include <thread>

#include "pcstream/error.hpp"
#include "pcstream/splat_rans_coder.hpp"
#include "registry.hpp"
#include "splat_columns_py.hpp"

namespace py = pybind11;
using namespace pcstream;
using namespace pcstream_py;

namespace {

using splat_columns::I32;
using splat_columns::threads_or_default;

void bind(py::module_& m) {
  splat_columns::def_column_coder(m, "splat_encode_columns_v3", "splat_decode_columns_v3",
                                  &splat::encode_columns_rans, &splat::decode_columns_rans);
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
