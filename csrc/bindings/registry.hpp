// Each bind_*.cpp registers one function that adds its part of the API to the
// `pcstream._core` module, so adding a component never edits a shared file.
#pragma once
#include <pybind11/pybind11.h>

#include <utility>
#include <vector>

namespace pcstream_py {

using BindFn = void (*)(pybind11::module_&);

inline std::vector<std::pair<const char*, BindFn>>& registry() {
  static std::vector<std::pair<const char*, BindFn>> r;
  return r;
}

struct Registrar {
  Registrar(const char* name, BindFn fn) { registry().emplace_back(name, fn); }
};

}  // namespace pcstream_py
