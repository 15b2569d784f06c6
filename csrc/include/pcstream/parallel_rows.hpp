// Row-parallel loops for the learned codec's inference runtime.
//
// Work is split into contiguous blocks of output rows, one block per thread.
// Every row is computed by exactly one thread with the same code as in a
// single-threaded run, so results never depend on the thread count (sums are
// never split across threads).
//
// Thread safety: `fn` is called concurrently on disjoint row ranges; it must
// only write rows in its own range.
#pragma once
#include <cstddef>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

namespace pcstream::nn {

// Rows below which extra threads cost more than they save.
constexpr size_t kMinRowsPerThread = 2048;

// fn(b, e) on contiguous blocks of [0, n), at least `min_per_thread` items per
// extra thread.
template <class Fn>
void parallel_blocks(size_t n, int threads, size_t min_per_thread, Fn&& fn) {
  size_t t = threads < 1 ? 1 : static_cast<size_t>(threads);
  if (min_per_thread < 1) min_per_thread = 1;
  if (t > 1 && n / t < min_per_thread) t = n / min_per_thread > 0 ? n / min_per_thread : 1;
  if (t <= 1) { fn(size_t{0}, n); return; }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errs(t);
  pool.reserve(t - 1);
  for (size_t i = 1; i < t; ++i) {
    size_t b = n * i / t, e = n * (i + 1) / t;
    pool.emplace_back([&, i, b, e] {
      try { fn(b, e); } catch (...) { errs[i] = std::current_exception(); }
    });
  }
  try { fn(size_t{0}, n / t); } catch (...) { errs[0] = std::current_exception(); }
  for (auto& th : pool) th.join();
  for (auto& e : errs) if (e) std::rethrow_exception(e);
}

template <class Fn>
void parallel_rows(size_t n, int threads, Fn&& fn) {
  parallel_blocks(n, threads, kMinRowsPerThread, std::forward<Fn>(fn));
}

}  // namespace pcstream::nn
