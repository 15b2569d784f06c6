// Python bindings of the learned codec's instance adaptation: head-input
// samples for the encoder's fit and the adapted model of a WGHT delta.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <string>

#include "pcstream/error.hpp"
#include "pcstream/geometry_learned_adapt.hpp"
#include "learned_py.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream;
using pcstream_py::PyModel;

namespace {

template <class T>
py::array_t<T> to_array(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> out(shape);
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
  return out;
}

void bind(py::module_& m) {
  m.def("learned_adaptable_tensors", [] { return learned::adaptable_tensors(); },
        "Names a learned adaptation delta may carry, in their required order.");
  m.attr("learned_adapt_qp") = learned::kAdaptQp;
  m.attr("learned_adapt_max_magnitude") = learned::kMaxAdaptMagnitude;
  m.def(
      "learned_head_samples",
      [](const PyModel& model,
         const py::array_t<uint32_t, py::array::c_style | py::array::forcecast>& points, int depth, int threads,
         size_t min_learned_voxels, size_t max_rows) {
        if (points.ndim() != 2 || points.shape(1) != 3)
          fail(ErrorCode::InvalidArgument, "points must have shape (N, 3)");
        learned::HeadSamples s;
        {
          py::gil_scoped_release nogil;
          s = learned::collect_head_samples(points.data(), static_cast<size_t>(points.shape(0)), depth, *model.m,
                                            threads, min_learned_voxels, max_rows);
        }
        const auto rows = static_cast<py::ssize_t>(s.step.size()), C = static_cast<py::ssize_t>(s.channels);
        py::dict d;
        d["fc1_in"] = to_array(s.fc1_in, {rows, C});
        d["fc2_in"] = to_array(s.fc2_in, {rows, C});
        d["step"] = to_array(s.step, {rows});
        d["level"] = to_array(s.level, {rows});
        d["symbol"] = to_array(s.symbol, {rows});
        d["total"] = s.total;
        d["stride"] = s.stride;
        return d;
      },
      py::arg("model"), py::arg("points"), py::arg("depth"), py::arg("threads") = 1,
      py::arg("min_learned_voxels") = 64, py::arg("max_rows") = 0,
      "Teacher-forced inputs of the heads' linear layers for every stride-th model-coded symbol.");
  m.def(
      "learned_model_tensor",
      [](const PyModel& model, const std::string& name) {
        const auto& t = model.m->file().tensors;
        auto it = t.find(name);
        if (it == t.end()) fail(ErrorCode::InvalidArgument, "the model has no tensor '" + name + "'");
        std::vector<py::ssize_t> shape(it->second.shape.begin(), it->second.shape.end());
        return to_array(it->second.data, shape);
      },
      py::arg("model"), py::arg("name"), "A copy of one float32 tensor of the model (runtime layout).");
  m.def(
      "learned_adapt_model",
      [](const PyModel& base, py::bytes payload) {
        std::string p = payload;
        return PyModel{learned::adapt_model(*base.m, reinterpret_cast<const uint8_t*>(p.data()), p.size()), base.prior};
      },
      py::arg("base"), py::arg("payload"), "The base model with the WGHT delta payload applied.");
}

pcstream_py::Registrar reg("learned_adapt", &bind);

}  // namespace
