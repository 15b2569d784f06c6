#include "octree_neighbourhood.hpp"

namespace pcstream::octnb {

const NbTables kNb;

}  // namespace pcstream::octnb
