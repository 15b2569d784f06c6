// The Python face of a learned occupancy model (`_core.LearnedModel`), shared by
// the learned-geometry bindings (bind_learned.cpp, bind_learned_adapt.cpp).
#pragma once
#include <memory>

#include "pcstream/learned_model.hpp"

namespace pcstream_py {

struct PyModel {
  std::shared_ptr<pcstream::learned::OccupancyModel> m;
};

}  // namespace pcstream_py
