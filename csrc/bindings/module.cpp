// pcstream._core: the only translation unit family that includes Python headers.
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstring>

#include "pcstream/error.hpp"
#include "registry.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "pcstream compiled core";
  // C++ errors become instances of pcstream.errors classes, chosen by code.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const pcstream::Error& e) {
      py::gil_scoped_acquire gil;
      py::object errors = py::module_::import("pcstream.errors");
      py::object exc = errors.attr("from_code")(static_cast<int>(e.code()), e.what(), e.offset());
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    }
  });
  auto& regs = pcstream_py::registry();
  // Deterministic order regardless of static-initialisation order.
  std::sort(regs.begin(), regs.end(), [](const auto& a, const auto& b) { return std::strcmp(a.first, b.first) < 0; });
  for (auto& r : regs) r.second(m);
}
