// Python bindings of the scan-order codecs (GEOM codec 8, ATTR codec 9).
// Thin: arrays are validated and converted in python/pcstream/scan_order.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "pcstream/error.hpp"
#include "pcstream/scan_attr.hpp"
#include "pcstream/scan_geometry.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream;

namespace {

using U32 = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;
using U8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;
using U64 = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>;

py::bytes to_bytes(const std::vector<uint8_t>& v) { return py::bytes(reinterpret_cast<const char*>(v.data()), v.size()); }

size_t check_xyz(const U32& xyz) {
  if (xyz.ndim() != 2 || xyz.shape(1) != 3) fail(ErrorCode::InvalidArgument, "points must have shape (N, 3)");
  return static_cast<size_t>(xyz.shape(0));
}

const uint8_t* check_pulse(const py::object& pulse, size_t n, U8& keep) {
  if (pulse.is_none()) return nullptr;
  keep = pulse.cast<U8>();
  if (keep.ndim() != 2 || keep.shape(1) != 2 || static_cast<size_t>(keep.shape(0)) != n)
    fail(ErrorCode::InvalidArgument, "pulse must have shape (N, 2): return number, number of returns");
  return keep.data();
}

py::tuple geom_encode(const U32& xyz, int depth, const py::object& pulse, int z_mode, uint32_t cell) {
  const size_t n = check_xyz(xyz);
  U8 keep;
  const uint8_t* pl = check_pulse(pulse, n, keep);
  scan::GeometryOptions opt;
  opt.z_mode = z_mode;
  opt.cell = cell;
  std::vector<uint8_t> header = scan::geometry_header(n, depth, pl != nullptr), payload;
  {
    py::gil_scoped_release nogil;
    payload = scan::encode_geometry(xyz.data(), pl, n, depth, opt);
  }
  return py::make_tuple(to_bytes(header), to_bytes(payload));
}

py::tuple geom_header(const py::bytes& header, uint64_t max_points) {
  std::string h = header;
  const auto g = scan::parse_geometry_header(reinterpret_cast<const uint8_t*>(h.data()), h.size(), max_points);
  return py::make_tuple(g.n, g.depth, g.pulse);
}

py::tuple geom_decode(const py::bytes& header, const py::bytes& payload, uint64_t max_points) {
  std::string h = header, p = payload;
  const auto g = scan::parse_geometry_header(reinterpret_cast<const uint8_t*>(h.data()), h.size(), max_points);
  // Every point costs at least 21 binary decisions of >= 2.2e-5 bits each: refuse counts the bytes cannot back.
  if (g.n / 32768 > p.size() + 8)
    fail(ErrorCode::CorruptPayload, "scan-order geometry: " + std::to_string(g.n) + " points cannot fit in " +
                                        std::to_string(p.size()) + " bytes");
  U32 xyz({static_cast<py::ssize_t>(g.n), static_cast<py::ssize_t>(3)});
  py::object pulse = py::none();
  U8 pl;
  if (g.pulse) {
    pl = U8({static_cast<py::ssize_t>(g.n), static_cast<py::ssize_t>(2)});
    pulse = pl;
  }
  uint32_t* xo = xyz.mutable_data();
  uint8_t* po = g.pulse ? pl.mutable_data() : nullptr;
  {
    py::gil_scoped_release nogil;
    scan::decode_geometry(g, reinterpret_cast<const uint8_t*>(p.data()), p.size(), xo, po);
  }
  return py::make_tuple(xyz, pulse);
}

scan::AttrGeometry attr_geometry(const U32& xyz, const py::object& pulse, U8& keep) {
  scan::AttrGeometry g;
  g.n = check_xyz(xyz);
  g.xyz = xyz.data();
  g.pulse = check_pulse(pulse, g.n, keep);
  return g;
}

py::bytes attr_encode(const U32& xyz, const py::object& pulse, const U64& values, int model, int predictor) {
  U8 keep;
  const scan::AttrGeometry g = attr_geometry(xyz, pulse, keep);
  if (values.ndim() != 2 || static_cast<size_t>(values.shape(0)) != g.n)
    fail(ErrorCode::InvalidArgument, "values must have shape (N, components)");
  const int comps = static_cast<int>(values.shape(1));
  scan::AttrOptions opt;
  opt.model = model;
  opt.predictor = predictor;
  std::vector<uint8_t> out;
  {
    py::gil_scoped_release nogil;
    out = scan::encode_attr(g, values.data(), comps, opt);
  }
  return to_bytes(out);
}

py::array attr_decode(const U32& xyz, const py::object& pulse, const py::bytes& payload, int comps) {
  U8 keep;
  const scan::AttrGeometry g = attr_geometry(xyz, pulse, keep);
  if (comps < 1 || comps > scan::kMaxAttrComponents) fail(ErrorCode::InvalidArgument, "components must be 1..4");
  std::string p = payload;
  U64 out({static_cast<py::ssize_t>(g.n), static_cast<py::ssize_t>(comps)});
  uint64_t* o = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    scan::decode_attr(g, reinterpret_cast<const uint8_t*>(p.data()), p.size(), comps, o);
  }
  return out;
}

void bind(py::module_& m) {
  m.def("scan_attr_encode", &attr_encode, py::arg("xyz"), py::arg("pulse"), py::arg("values"), py::arg("model") = -1,
        py::arg("predictor") = -1);
  m.def("scan_attr_decode", &attr_decode, py::arg("xyz"), py::arg("pulse"), py::arg("payload"), py::arg("components"));
  m.def("scan_geometry_encode", &geom_encode, py::arg("xyz"), py::arg("depth"), py::arg("pulse") = py::none(),
        py::arg("z_mode") = -1, py::arg("cell") = 0);
  m.def("scan_geometry_header", &geom_header, py::arg("header"), py::arg("max_points"));
  m.def("scan_geometry_decode", &geom_decode, py::arg("header"), py::arg("payload"), py::arg("max_points"));
}

pcstream_py::Registrar reg("scan_order", &bind);

}  // namespace
