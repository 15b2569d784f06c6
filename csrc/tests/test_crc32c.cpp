#include <cstring>
#include <random>
#include <vector>

#include "pcstream/crc32c.hpp"
#include "test_harness.hpp"

using pcstream::crc32c;

// Known answers: the CRC catalogue check value and RFC 3720 appendix B.4.
TEST_CASE("crc32c known vectors") {
  const char* s = "123456789";
  CHECK(crc32c(reinterpret_cast<const uint8_t*>(s), 9) == 0xE3069283u);
  std::vector<uint8_t> b(32, 0);
  CHECK(crc32c(b.data(), 32) == 0x8A9136AAu);
  std::fill(b.begin(), b.end(), 0xFF);
  CHECK(crc32c(b.data(), 32) == 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) b[i] = uint8_t(i);
  CHECK(crc32c(b.data(), 32) == 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) b[i] = uint8_t(31 - i);
  CHECK(crc32c(b.data(), 32) == 0x113FDB5Cu);
  CHECK(crc32c(nullptr, 0) == 0u);
}

TEST_CASE("crc32c hardware and portable paths agree, extend composes") {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(8199);
  for (auto& v : buf) v = uint8_t(rng());
  // Sizes around the 3 x 512-byte lane rounds of the SSE4.2 path.
  for (size_t n : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 1000u, 1535u, 1536u, 1537u, 3072u, 4099u, 8190u}) {
    for (size_t start : {0u, 1u, 3u}) {
      if (start + n > buf.size()) continue;
      uint32_t a = crc32c(buf.data() + start, n);
      uint32_t b = pcstream::crc32c_extend_portable(0, buf.data() + start, n);
      CHECK(a == b);
      for (size_t cut : {size_t(0), n / 3, n}) {
        uint32_t c = pcstream::crc32c_extend(crc32c(buf.data() + start, cut), buf.data() + start + cut, n - cut);
        CHECK(c == a);
      }
    }
  }
}
