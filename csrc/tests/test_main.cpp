#include <cstring>

#include "test_harness.hpp"

int main(int argc, char** argv) {
  int run = 0;
  for (auto& c : pcs_test::cases()) {
    if (argc > 1 && std::strstr(c.name, argv[1]) == nullptr) continue;
    int before = pcs_test::failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      ++pcs_test::failures();
      std::fprintf(stderr, "%s: unexpected exception: %s\n", c.name, e.what());
    }
    std::printf("%s %s\n", pcs_test::failures() == before ? "PASS" : "FAIL", c.name);
    ++run;
  }
  int failed = pcs_test::failures();
  std::printf("%d passed, %d failed\n", run - (failed > run ? run : failed), failed);
  return failed ? 1 : 0;
}
