// Slice-parallel helper of the splat column coders (stream versions 2 and 3).
//
// Thread safety: runs fn(slice) concurrently on up to `threads` std::threads;
// fn must only write state owned by its slice. The first exception thrown by
// any slice (lowest slice index) is rethrown after all threads joined.
#pragma once
#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace pcstream {
namespace splat {

template <class Fn>
void for_slices(size_t count, int threads, Fn&& fn) {
  size_t t = std::max<size_t>(1, std::min<size_t>(count, threads < 1 ? 1 : static_cast<size_t>(threads)));
  std::vector<std::exception_ptr> errs(count);
  auto work = [&](size_t first) {
    for (size_t s = first; s < count; s += t) {
      try { fn(s); } catch (...) { errs[s] = std::current_exception(); }
    }
  };
  std::vector<std::thread> pool;
  for (size_t i = 1; i < t; ++i) pool.emplace_back(work, i);
  work(0);
  for (auto& th : pool) th.join();
  for (auto& e : errs) if (e) std::rethrow_exception(e);
}

}  // namespace splat
}  // namespace pcstream
