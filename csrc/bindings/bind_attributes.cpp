// Python bindings of the attribute codecs (codec 3 lossless, codec 4 RAHT).
// Thin: arrays are validated and converted in python/pcstream/attributes.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "pcstream/attr_lossless.hpp"
#include "pcstream/raht.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream;
using namespace pcstream::attr;

namespace {

using Points = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;
using Raw = py::array_t<uint8_t, py::array::c_style>;

size_t check_points(const Points& pts) {
  if (pts.ndim() != 2 || pts.shape(1) != 3) fail(ErrorCode::InvalidArgument, "points must have shape (N, 3)");
  return static_cast<size_t>(pts.shape(0));
}

// `values` is the raw little-endian bytes of the N x components array.
void check_values(const Raw& values, size_t n, ValueType t, int comps) {
  const size_t need = n * static_cast<size_t>(comps) * static_cast<size_t>(value_width(t));
  if (static_cast<size_t>(values.size()) != need)
    fail(ErrorCode::InvalidArgument, "values hold " + std::to_string(values.size()) + " bytes, expected " + std::to_string(need));
}

py::bytes to_bytes(const std::vector<uint8_t>& v) { return py::bytes(reinterpret_cast<const char*>(v.data()), v.size()); }

RahtOptions raht_options(double quality, double chroma_scale, double deadzone, int min_neighbours, bool predict,
                         const py::tuple& weights) {
  RahtOptions opt;
  opt.quality = quality;
  opt.chroma_scale = chroma_scale;
  opt.deadzone = deadzone;
  opt.predict_min_neighbours = min_neighbours;
  opt.predict = predict;
  if (weights.size() != 5) fail(ErrorCode::InvalidArgument, "weights must be 5 integers");
  for (int k = 0; k < 5; ++k) opt.weights[k] = weights[k].cast<int>();
  return opt;
}

// Decodes `payload` into a fresh (n * comps) value buffer with the GIL released.
template <class Decode>
py::array decode_values(const Points& pts, const py::bytes& payload, ValueType t, int comps, Decode decode) {
  const size_t n = check_points(pts);
  std::string buf = payload;
  Raw out(static_cast<py::ssize_t>(n * comps * value_width(t)));
  uint8_t* o = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    decode(pts.data(), n, reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), t, comps, o);
  }
  return out;
}

py::bytes encode_lossless_py(const Points& pts, const Raw& values, int type_code, int comps, int predictor, int window) {
  const size_t n = check_points(pts);
  const ValueType t = value_type_from_code(static_cast<uint8_t>(type_code), false);
  check_values(values, n, t, comps);
  LosslessOptions opt;
  opt.predictor = predictor;
  opt.window = window;
  std::vector<uint8_t> out;
  {
    py::gil_scoped_release nogil;
    out = encode_lossless(pts.data(), n, values.data(), t, comps, opt);
  }
  return to_bytes(out);
}

py::array decode_lossless_py(const Points& pts, const py::bytes& payload, int type_code, int comps) {
  const ValueType t = value_type_from_code(static_cast<uint8_t>(type_code), false);
  if (comps < 1 || comps > 64) fail(ErrorCode::InvalidArgument, "components must be in [1, 64]");
  return decode_values(pts, payload, t, comps, &decode_lossless);
}

py::bytes encode_raht_py(const Points& pts, const Raw& values, int type_code, int comps, double quality,
                         double chroma_scale, double deadzone, int min_neighbours, bool predict, py::tuple weights) {
  const size_t n = check_points(pts);
  const ValueType t = value_type_from_code(static_cast<uint8_t>(type_code), false);
  check_values(values, n, t, comps);
  const RahtOptions opt = raht_options(quality, chroma_scale, deadzone, min_neighbours, predict, weights);
  std::vector<uint8_t> out;
  {
    py::gil_scoped_release nogil;
    out = encode_raht(pts.data(), n, values.data(), t, comps, opt);
  }
  return to_bytes(out);
}

py::array decode_raht_py(const Points& pts, const py::bytes& payload, int type_code, int comps) {
  const ValueType t = value_type_from_code(static_cast<uint8_t>(type_code), false);
  if (comps != 1 && comps != 3) fail(ErrorCode::InvalidArgument, "RAHT values must have 1 or 3 components");
  return decode_values(pts, payload, t, comps, &decode_raht);
}

py::list encode_raht_levels_py(const Points& pts, const Raw& values, int type_code, int comps, double quality,
                               int depth, std::vector<int> level_his, double chroma_scale, double deadzone,
                               int min_neighbours, bool predict, py::tuple weights) {
  const size_t n = check_points(pts);
  const ValueType t = value_type_from_code(static_cast<uint8_t>(type_code), false);
  check_values(values, n, t, comps);
  const RahtOptions opt = raht_options(quality, chroma_scale, deadzone, min_neighbours, predict, weights);
  std::vector<std::vector<uint8_t>> out;
  {
    py::gil_scoped_release nogil;
    out = encode_raht_levels(pts.data(), n, values.data(), t, comps, depth, level_his, opt);
  }
  py::list res;
  for (const auto& p : out) res.append(to_bytes(p));
  return res;
}

// Python face of RahtLevelDecoder: remembers the point count for values().
class PyRahtLevelDecoder {
 public:
  PyRahtLevelDecoder(int type_code, int comps)
      : type_(value_type_from_code(static_cast<uint8_t>(type_code), false)), comps_(comps), dec_(type_, comps) {}
  void set_points(const Points& pts, int level) {
    const size_t n = check_points(pts);
    py::gil_scoped_release nogil;
    dec_.set_points(pts.data(), n, level);
    n_ = n;
  }
  int feed(const py::bytes& payload) {
    std::string buf = payload;
    py::gil_scoped_release nogil;
    return dec_.feed(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  }
  py::array values() const {
    Raw out(static_cast<py::ssize_t>(n_ * comps_ * value_width(type_)));
    uint8_t* o = out.mutable_data();
    {
      py::gil_scoped_release nogil;
      dec_.values(o);
    }
    return out;
  }
  int level() const { return dec_.level(); }
  int depth() const { return dec_.depth(); }
  bool done() const { return dec_.done(); }

 private:
  ValueType type_;
  int comps_;
  RahtLevelDecoder dec_;
  size_t n_ = 0;
};

void bind(py::module_& m) {
  m.def("attr_encode_raht_levels", &encode_raht_levels_py, py::arg("points"), py::arg("values"),
        py::arg("type_code"), py::arg("components"), py::arg("quality"), py::arg("depth"), py::arg("level_his"),
        py::arg("chroma_scale") = 3.0, py::arg("deadzone") = 0.35, py::arg("min_neighbours") = 2,
        py::arg("predict") = true, py::arg("weights") = py::make_tuple(8, 3, 1, 5, 0));
  py::class_<PyRahtLevelDecoder>(m, "RahtLevelDecoder")
      .def(py::init<int, int>(), py::arg("type_code"), py::arg("components"))
      .def("set_points", &PyRahtLevelDecoder::set_points, py::arg("points"), py::arg("level"))
      .def("feed", &PyRahtLevelDecoder::feed, py::arg("payload"))
      .def("values", &PyRahtLevelDecoder::values)
      .def_property_readonly("level", &PyRahtLevelDecoder::level)
      .def_property_readonly("depth", &PyRahtLevelDecoder::depth)
      .def_property_readonly("done", &PyRahtLevelDecoder::done);
  m.def("attr_encode_lossless", &encode_lossless_py, py::arg("points"), py::arg("values"), py::arg("type_code"),
        py::arg("components"), py::arg("predictor") = -1, py::arg("window") = 32);
  m.def("attr_decode_lossless", &decode_lossless_py, py::arg("points"), py::arg("payload"), py::arg("type_code"),
        py::arg("components"));
  m.def("attr_encode_raht", &encode_raht_py, py::arg("points"), py::arg("values"), py::arg("type_code"),
        py::arg("components"), py::arg("quality"), py::arg("chroma_scale") = 3.0, py::arg("deadzone") = 0.35,
        py::arg("min_neighbours") = 2, py::arg("predict") = true,
        py::arg("weights") = py::make_tuple(8, 3, 1, 5, 0));
  m.def("attr_decode_raht", &decode_raht_py, py::arg("points"), py::arg("payload"), py::arg("type_code"),
        py::arg("components"));
  m.def("attr_raht_step", &raht_step, py::arg("quality"));
}

pcstream_py::Registrar reg("attributes", &bind);

}  // namespace
