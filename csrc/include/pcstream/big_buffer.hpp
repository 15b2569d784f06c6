// Allocator for the large, short-lived arrays of the inference runtime
// (feature matrices, neighbour tables, conv plans).
//
// Two costs dominate such arrays besides their use: zero-filling them before
// they are overwritten, and one page fault per 4 KiB page on first touch.
// BigBufferAllocator default-initialises (no zero fill for `resize(n)` of
// trivial types; `assign(n, v)` and the (n, v) constructor still fill) and,
// on Linux, asks for transparent huge pages on the 2 MiB-aligned interior of
// blocks of 4 MiB and more (madvise(MADV_HUGEPAGE): a hint; the memory is
// ordinary malloc memory otherwise, so freed blocks are reused by malloc).
// Thread safety: stateless; as std::allocator.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace pcstream {

template <class T>
struct BigBufferAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kHugeFrom = size_t{4} << 20;

  BigBufferAllocator() noexcept = default;
  template <class U>
  BigBufferAllocator(const BigBufferAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T) / 2) throw std::bad_alloc();
    const size_t bytes = n * sizeof(T);
    void* p = std::malloc(bytes ? bytes : 1);
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= kHugeFrom) {  // the 2 MiB-aligned interior of the block
      const uintptr_t b = reinterpret_cast<uintptr_t>(p), e = b + bytes;
      const uintptr_t hb = (b + kHugePage - 1) / kHugePage * kHugePage, he = e / kHugePage * kHugePage;
      if (he > hb) madvise(reinterpret_cast<void*>(hb), he - hb, MADV_HUGEPAGE);  // a hint only
    }
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) noexcept { std::free(p); }

  // Value-initialisation without arguments becomes default-initialisation.
  template <class U>
  void construct(U* p) noexcept(noexcept(::new (static_cast<void*>(p)) U)) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  template <class U>
  bool operator==(const BigBufferAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const BigBufferAllocator<U>&) const noexcept { return false; }
};

// A std::vector whose resize() leaves new trivial elements uninitialised.
template <class T>
using BigVector = std::vector<T, BigBufferAllocator<T>>;

}  // namespace pcstream
