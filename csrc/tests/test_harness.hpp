// Minimal self-registering test harness for the C++ core tests, so the core
// builds and tests with nothing but a C++17 compiler.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace pcs_test {

struct Case { const char* name; std::function<void()> fn; };
inline std::vector<Case>& cases() { static std::vector<Case> c; return c; }
inline int& failures() { static int f = 0; return f; }
struct Reg { Reg(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); } };

}  // namespace pcs_test

#define PCS_CAT2(a, b) a##b
#define PCS_CAT(a, b) PCS_CAT2(a, b)
#define TEST_CASE(name) \
  static void PCS_CAT(test_fn_, __LINE__)(); \
  static pcs_test::Reg PCS_CAT(test_reg_, __LINE__)(name, PCS_CAT(test_fn_, __LINE__)); \
  static void PCS_CAT(test_fn_, __LINE__)()
#define CHECK(cond) do { if (!(cond)) { ++pcs_test::failures(); \
  std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define REQUIRE(cond) do { if (!(cond)) { ++pcs_test::failures(); \
  std::fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); return; } } while (0)
#define CHECK_THROWS_CODE(expr, ecode) do { bool thrown_ = false; \
  try { expr; } catch (const pcstream::Error& e_) { thrown_ = (e_.code() == (ecode)); \
    if (!thrown_) std::fprintf(stderr, "%s:%d: wrong code %d: %s\n", __FILE__, __LINE__, int(e_.code()), e_.what()); } \
  if (!thrown_) { ++pcs_test::failures(); std::fprintf(stderr, "%s:%d: expected error %s\n", __FILE__, __LINE__, #ecode); } } while (0)
