// pcstream._core.coders: batch entry points of the entropy coders for Python
// (tests, benches, learned models). Inputs arrive as C-contiguous arrays of
// the exact dtypes (python/pcstream/coders.py converts and checks shapes);
// long loops run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <ctime>
#include <string>

#include "pcstream/multisym.hpp"
#include "pcstream/range_coder.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream;

namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style>;

py::bytes to_bytes(const std::vector<uint8_t>& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

void require(bool ok, const std::string& msg) {
  if (!ok) fail(ErrorCode::InvalidArgument, msg);
}

// Shape (N, W) of a 2-D array; throws InvalidArgument otherwise.
std::pair<size_t, int> shape2(const py::array& a, const char* what) {
  require(a.ndim() == 2, std::string(what) + " must be a 2-D array");
  require(a.shape(1) >= 1 && a.shape(1) <= (1 << 17), std::string(what) + " has an unsupported width");
  return {static_cast<size_t>(a.shape(0)), static_cast<int>(a.shape(1))};
}

struct BinSetup {
  const uint8_t* bits = nullptr;
  const int32_t* ctx = nullptr;
  size_t n = 0;
  int num_contexts = 1;
  int fast = 4, slow = 8;
};

void check_bins(const BinSetup& s) {
  require(s.num_contexts >= 1 && s.num_contexts <= (1 << 24), "num_contexts must be in [1, 2^24]");
  require(s.fast >= 1 && s.fast <= 15 && s.slow >= 1 && s.slow <= 15, "adaptation shifts must be in [1, 15]");
  if (s.ctx)
    for (size_t i = 0; i < s.n; ++i)
      require(s.ctx[i] >= 0 && s.ctx[i] < s.num_contexts,
              "context " + std::to_string(s.ctx[i]) + " at index " + std::to_string(i) + " is outside [0, num_contexts)");
}

std::vector<uint8_t> encode_bins_impl(const BinSetup& s) {
  std::vector<BinContext> ctx(static_cast<size_t>(s.num_contexts), BinContext(s.fast, s.slow));
  RangeEncoder enc;
  if (s.ctx) {
    for (size_t i = 0; i < s.n; ++i) enc.encode_bit(ctx[static_cast<size_t>(s.ctx[i])], s.bits[i] != 0);
  } else {
    BinContext& c = ctx[0];
    for (size_t i = 0; i < s.n; ++i) enc.encode_bit(c, s.bits[i] != 0);
  }
  return std::move(enc.finish());
}

// Returns false when the payload was truncated or had trailing bytes.
bool decode_bins_impl(const BinSetup& s, const uint8_t* data, size_t size, uint8_t* out) {
  std::vector<BinContext> ctx(static_cast<size_t>(s.num_contexts), BinContext(s.fast, s.slow));
  RangeDecoder dec(data, size);
  if (s.ctx) {
    for (size_t i = 0; i < s.n; ++i) out[i] = static_cast<uint8_t>(dec.decode_bit(ctx[static_cast<size_t>(s.ctx[i])]));
  } else {
    BinContext& c = ctx[0];
    for (size_t i = 0; i < s.n; ++i) out[i] = static_cast<uint8_t>(dec.decode_bit(c));
  }
  return !dec.overrun() && dec.position() == size;
}

BinSetup bin_setup(const CArray<uint8_t>* bits, const py::object& contexts, size_t n, int num_contexts, int fast,
                   int slow) {
  BinSetup s;
  s.n = n;
  if (bits) {
    require(bits->ndim() == 1, "bits must be a 1-D array");
    s.bits = bits->data();
  }
  if (!contexts.is_none()) {
    auto c = contexts.cast<CArray<int32_t>>();
    require(c.ndim() == 1 && static_cast<size_t>(c.shape(0)) == n, "contexts must be a 1-D array with one entry per bit");
    s.ctx = c.data();
  }
  s.num_contexts = num_contexts;
  s.fast = fast;
  s.slow = slow;
  return s;
}

double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void bind(py::module_& root) {
  py::module_ m = root.def_submodule("coders", "entropy coders (see pcstream.coders)");

  m.def("encode_bins", [](const CArray<uint8_t>& bits, const py::object& contexts, int num_contexts, int fast, int slow) {
    BinSetup s = bin_setup(&bits, contexts, static_cast<size_t>(bits.shape(0)), num_contexts, fast, slow);
    check_bins(s);
    std::vector<uint8_t> out;
    {
      py::gil_scoped_release nogil;
      out = encode_bins_impl(s);
    }
    return to_bytes(out);
  });

  m.def("decode_bins", [](py::bytes data, size_t n, const py::object& contexts, int num_contexts, int fast, int slow) {
    std::string buf = data;
    require(n <= (size_t{1} << 40), "bit count is too large");
    // A payload of b bytes holds fewer than 8 * 2^11 * b bins: refuse absurd n before allocating.
    require(n <= (buf.size() + 8) * 16384, "bit count is implausibly large for this payload");
    BinSetup s = bin_setup(nullptr, contexts, n, num_contexts, fast, slow);
    check_bins(s);
    CArray<uint8_t> out(static_cast<py::ssize_t>(n));
    uint8_t* o = out.mutable_data();
    bool ok;
    {
      py::gil_scoped_release nogil;
      ok = decode_bins_impl(s, reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), o);
    }
    if (!ok) fail(ErrorCode::CorruptPayload, "binary payload is truncated, corrupt or has trailing bytes");
    return out;
  });

  // Pure C++ timing of the binary coder on the given bits (thread CPU time,
  // so other processes on a shared machine do not count).
  m.def("time_bins", [](const CArray<uint8_t>& bits, const py::object& contexts, int num_contexts, int fast, int slow) {
    BinSetup s = bin_setup(&bits, contexts, static_cast<size_t>(bits.shape(0)), num_contexts, fast, slow);
    check_bins(s);
    double te, td;
    size_t nbytes;
    bool ok;
    {
      py::gil_scoped_release nogil;
      double t0 = thread_cpu_seconds();
      std::vector<uint8_t> enc = encode_bins_impl(s);
      double t1 = thread_cpu_seconds();
      std::vector<uint8_t> dec(s.n);
      ok = decode_bins_impl(s, enc.data(), enc.size(), dec.data());
      double t2 = thread_cpu_seconds();
      for (size_t i = 0; i < s.n; ++i) ok = ok && dec[i] == (s.bits[i] != 0);
      te = t1 - t0;
      td = t2 - t1;
      nbytes = enc.size();
    }
    if (!ok) fail(ErrorCode::Internal, "binary coder round trip failed");
    return py::make_tuple(te, td, nbytes);
  });

  m.def("probs_to_cdf", [](const CArray<float>& probs, int precision, int threads) {
    auto [n, K] = shape2(probs, "probs");
    CArray<uint32_t> cdf({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(K) + 1});
    const float* p = probs.data();
    uint32_t* c = cdf.mutable_data();
    {
      py::gil_scoped_release nogil;
      probs_to_cdf(p, n, K, precision, c, threads);
    }
    return cdf;
  });

  m.def("encode_symbols_probs", [](const CArray<int32_t>& symbols, const CArray<float>& probs, int precision) {
    auto [n, K] = shape2(probs, "probs");
    require(symbols.ndim() == 1 && static_cast<size_t>(symbols.shape(0)) == n, "symbols must be 1-D with one entry per row");
    const int32_t* s = symbols.data();
    const float* p = probs.data();
    std::vector<uint8_t> out;
    {
      py::gil_scoped_release nogil;
      out = encode_symbols_probs(s, p, n, K, precision);
    }
    return to_bytes(out);
  });

  m.def("encode_symbols_cdf", [](const CArray<int32_t>& symbols, const CArray<uint32_t>& cdf, int precision) {
    auto [n, W] = shape2(cdf, "cdf");
    require(W >= 2, "cdf rows need K+1 >= 2 entries");
    require(symbols.ndim() == 1 && static_cast<size_t>(symbols.shape(0)) == n, "symbols must be 1-D with one entry per row");
    const int32_t* s = symbols.data();
    const uint32_t* c = cdf.data();
    std::vector<uint8_t> out;
    {
      py::gil_scoped_release nogil;
      out = encode_symbols_cdf(s, c, n, W - 1, precision);
    }
    return to_bytes(out);
  });

  m.def("decode_symbols_probs", [](py::bytes data, const CArray<float>& probs, int precision) {
    auto [n, K] = shape2(probs, "probs");
    std::string buf = data;
    CArray<int32_t> out(static_cast<py::ssize_t>(n));
    const float* p = probs.data();
    int32_t* o = out.mutable_data();
    {
      py::gil_scoped_release nogil;
      decode_symbols_probs(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), p, n, K, precision, o);
    }
    return out;
  });

  m.def("decode_symbols_cdf", [](py::bytes data, const CArray<uint32_t>& cdf, int precision) {
    auto [n, W] = shape2(cdf, "cdf");
    require(W >= 2, "cdf rows need K+1 >= 2 entries");
    std::string buf = data;
    CArray<int32_t> out(static_cast<py::ssize_t>(n));
    const uint32_t* c = cdf.data();
    int32_t* o = out.mutable_data();
    {
      py::gil_scoped_release nogil;
      decode_symbols_cdf(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), c, n, W - 1, precision, o);
    }
    return out;
  });
}

pcstream_py::Registrar reg("coders", &bind);

}  // namespace
