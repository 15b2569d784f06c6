// Python bindings of the weight coder (pcstream._core.weights_*); the public
// Python API is python/pcstream/weights.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "pcstream/weight_coder.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream::weights;

namespace {

py::bytes encode(py::list tensors, int base_qp) {
  std::vector<QuantTensor> in;
  in.reserve(tensors.size());
  for (py::handle item : tensors) {
    py::tuple t = item.cast<py::tuple>();
    if (t.size() != 5 && t.size() != 7)
      throw py::value_error("weights_encode: expected (name, dtype, shape, qp, values[, quantizer, real]) tuples");
    QuantTensor x;
    x.name = t[0].cast<std::string>();
    x.dtype = static_cast<DType>(t[1].cast<uint8_t>());
    x.shape = t[2].cast<std::vector<uint64_t>>();
    x.qp = t[3].cast<int32_t>();
    auto v = t[4].cast<py::array_t<int64_t, py::array::c_style | py::array::forcecast>>();
    x.values.resize(static_cast<size_t>(v.size()));
    if (v.size()) std::memcpy(x.values.data(), v.data(), sizeof(int64_t) * x.values.size());
    if (t.size() == 7) {
      x.quantizer = t[5].cast<uint8_t>();
      auto r = t[6].cast<py::array_t<double, py::array::c_style | py::array::forcecast>>();
      x.real.assign(r.data(), r.data() + r.size());
    }
    in.push_back(std::move(x));
  }
  WeightEncodeOptions opt;
  opt.base_qp = base_qp;
  std::vector<uint8_t> out;
  {
    py::gil_scoped_release nogil;
    out = encode_weights(in, opt);
  }
  return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
}

py::tuple decode(py::buffer payload, uint64_t max_elements, uint32_t max_tensors) {
  py::buffer_info info = payload.request();
  if (info.ndim != 1 || info.itemsize != 1) throw py::value_error("weights_decode: expected a bytes-like object");
  WeightDecodeLimits lim;
  lim.max_elements = max_elements;
  lim.max_tensors = max_tensors;
  std::vector<QuantTensor> out;
  int32_t base_qp = 0;
  {
    py::gil_scoped_release nogil;
    out = decode_weights(static_cast<const uint8_t*>(info.ptr), static_cast<size_t>(info.size), lim, &base_qp);
  }
  py::list result;
  for (auto& x : out) {
    // The array takes over the decoded vector (no copy); the capsule frees it.
    auto* owned = new std::vector<int64_t>(std::move(x.values));
    py::capsule free_owned(owned, [](void* v) { delete static_cast<std::vector<int64_t>*>(v); });
    py::array_t<int64_t> arr(static_cast<py::ssize_t>(owned->size()), owned->data(), free_owned);
    py::tuple shape(x.shape.size());
    for (size_t i = 0; i < x.shape.size(); ++i) shape[i] = py::int_(x.shape[i]);
    result.append(py::make_tuple(x.name, static_cast<int>(x.dtype), shape, x.qp, arr, static_cast<int>(x.quantizer)));
  }
  return py::make_tuple(base_qp, result);
}

void bind(py::module_& m) {
  m.def("weights_encode", &encode, py::arg("tensors"), py::arg("base_qp") = 0,
        "Encode [(name, dtype_code, shape, qp, int64 values)] into a WGHT payload.");
  m.def("weights_decode", &decode, py::arg("payload"), py::arg("max_elements") = uint64_t{1} << 26,
        py::arg("max_tensors") = 1u << 16, "Decode a WGHT payload into (base_qp, [(name, dtype_code, shape, qp, values, quantizer)]).");
  m.def("weights_step_for_qp", &step_for_qp, py::arg("qp"), "Quantization step 2**(qp/4) as the format defines it.");
  m.def("weights_reconstruction_step", &reconstruction_step, py::arg("qp"), py::arg("quantizer"),
        "Distance between reconstruction levels for a qp and quantizer (0 uniform, 1 dependent).");
}

pcstream_py::Registrar reg("weights", &bind);

}  // namespace
