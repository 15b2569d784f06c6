// The Python face of a learned occupancy model (`_core.LearnedModel`), shared by
// the learned-geometry bindings (bind_learned.cpp, bind_learned_adapt.cpp).
#pragma once
#include <memory>

#include "pcstream/geometry_learned_prior.hpp"
#include "pcstream/learned_model.hpp"

namespace pcstream_py {

struct PyModel {
  std::shared_ptr<pcstream::learned::OccupancyModel> m;
  std::shared_ptr<const pcstream::learned::ContextPrior> prior;  // the model's context prior, if it ships one
};

}  // namespace pcstream_py
