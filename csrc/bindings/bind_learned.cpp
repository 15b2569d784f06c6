// Python bindings of the learned geometry codec: neighbour maps for training,
// runtime layers (for tests against torch), the occupancy model, encoder and
// decoder.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>

#include "pcstream/error.hpp"
#include "pcstream/geometry_codec.hpp"
#include "pcstream/geometry_learned.hpp"
#include "pcstream/geometry_learned_topk.hpp"
#include "pcstream/learned_model.hpp"
#include "pcstream/nn_model_file.hpp"
#include "pcstream/nn_runtime.hpp"
#include "pcstream/sha256.hpp"
#include "pcstream/sparse_neighbors.hpp"
#include "learned_py.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream;

namespace {

template <class T>
using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;

std::vector<int32_t> coords(const Arr<int32_t>& a, const char* what) {
  if (a.ndim() != 2 || a.shape(1) != 3) fail(ErrorCode::InvalidArgument, std::string(what) + " must have shape (N, 3)");
  return std::vector<int32_t>(a.data(), a.data() + a.size());
}

template <class V, class T = typename V::value_type>
py::array_t<T> to_array(const V& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> out(shape);
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
  return out;
}

nn::Matrix to_matrix(const Arr<float>& a, const char* what) {
  if (a.ndim() != 2) fail(ErrorCode::InvalidArgument, std::string(what) + " must be 2-D");
  nn::Matrix m(static_cast<size_t>(a.shape(0)), static_cast<size_t>(a.shape(1)));
  if (!m.data.empty()) std::memcpy(m.data.data(), a.data(), m.data.size() * 4);
  return m;
}

py::array_t<float> from_matrix(const nn::Matrix& m) {
  return to_array(m.data, {static_cast<py::ssize_t>(m.rows), static_cast<py::ssize_t>(m.cols)});
}

py::bytes to_bytes(const std::vector<uint8_t>& v) { return py::bytes(reinterpret_cast<const char*>(v.data()), v.size()); }

using pcstream_py::PyModel;

// Teacher-forced logits of the four coding steps (for comparing with torch).
py::dict model_logits(const PyModel& pm, const Arr<int32_t>& parent_xyz, const Arr<uint8_t>& parent_codes,
                      const Arr<int32_t>& child_xyz, const Arr<uint8_t>& child_codes, int threads) {
  auto pxyz = coords(parent_xyz, "parent_xyz"), cxyz = coords(child_xyz, "child_xyz");
  std::vector<uint8_t> pc(parent_codes.data(), parent_codes.data() + parent_codes.size());
  std::vector<uint8_t> cc(child_codes.data(), child_codes.data() + child_codes.size());
  if (pc.size() * 3 != pxyz.size() || cc.size() * 3 != cxyz.size())
    fail(ErrorCode::InvalidArgument, "model_logits: codes and coordinates differ in length");
  py::dict out;
  std::vector<nn::Matrix> logits;
  std::vector<int32_t> group[2];
  {
    py::gil_scoped_release nogil;
    nn::CoordIndex pidx(pxyz.data(), pc.size());
    std::vector<uint8_t> oct(cc.size());
    auto cp = nn::parent_map(pidx, cxyz.data(), cc.size(), 1, oct.data());
    for (auto p : cp) if (p < 0) fail(ErrorCode::InvalidArgument, "model_logits: a child has no parent");
    const auto& m = *pm.m;
    auto child_nbr = m.neighbors(cxyz, threads);
    nn::Matrix x = m.trunk(pc, m.neighbors(pxyz, threads), cp, oct, child_nbr, threads);
    for (size_t i = 0; i < cc.size(); ++i)
      group[(cxyz[3 * i] + cxyz[3 * i + 1] + cxyz[3 * i + 2]) & 1].push_back(static_cast<int32_t>(i));
    std::vector<int32_t> low[2], ctx(cc.size(), learned::kCtxUnknown);
    for (int g = 0; g < 2; ++g)
      for (auto r : group[g]) low[g].push_back(cc[r] & 15);
    for (auto r : group[0]) ctx[r] = cc[r];
    nn::Matrix f1 = nn::gather_rows(x, group[0].data(), group[0].size());
    nn::Matrix f2 = nn::gather_rows(x, group[1].data(), group[1].size());
    nn::add_inplace(f2, m.context(ctx, child_nbr, group[1], threads));
    logits.push_back(m.logits(0, f1, {}, threads));
    logits.push_back(m.logits(1, f1, low[0], threads));
    logits.push_back(m.logits(2, f2, {}, threads));
    logits.push_back(m.logits(3, f2, low[1], threads));
    logits.push_back(std::move(x));
  }
  for (int s = 0; s < 4; ++s) out[py::str("logits" + std::to_string(s))] = from_matrix(logits[s]);
  out["features"] = from_matrix(logits[4]);
  out["group1"] = to_array(group[0], {static_cast<py::ssize_t>(group[0].size())});
  out["group2"] = to_array(group[1], {static_cast<py::ssize_t>(group[1].size())});
  return out;
}

class PyDecoder {
 public:
  PyDecoder(py::bytes header, const PyModel& model, uint64_t max_points, int threads)
      : model_(model.m), prior_(model.prior) {
    std::string h = header;
    dec_ = std::make_unique<learned::Decoder>(reinterpret_cast<const uint8_t*>(h.data()), h.size(), *model_,
                                              max_points, threads, model.prior.get());
  }
  void feed(py::bytes payload) {
    std::string p = payload;
    py::gil_scoped_release nogil;
    dec_->feed(reinterpret_cast<const uint8_t*>(p.data()), p.size());
  }
  py::array_t<uint32_t> points() const {
    auto v = dec_->points();
    return to_array(v, {static_cast<py::ssize_t>(v.size() / 3), 3});
  }
  std::shared_ptr<learned::OccupancyModel> model_;
  std::shared_ptr<const learned::ContextPrior> prior_;  // outlives dec_ (declared before it)
  std::unique_ptr<learned::Decoder> dec_;
};

void bind(py::module_& m) {
  m.def("learned_sha256", [](py::bytes b) {
    std::string s = b;
    auto h = sha256(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    return py::bytes(reinterpret_cast<const char*>(h.data()), 32);
  });
  m.def("learned_kernel_offsets", [](int k) {
    auto off = nn::kernel_offsets(k);
    std::vector<int32_t> flat;
    for (auto& o : off) flat.insert(flat.end(), o.begin(), o.end());
    return to_array(flat, {static_cast<py::ssize_t>(off.size()), 3});
  });
  m.def("learned_neighbor_table",
        [](const Arr<int32_t>& in_xyz, const Arr<int32_t>& out_xyz, int k, int threads) {
          auto in = coords(in_xyz, "in_xyz"), out = coords(out_xyz, "out_xyz");
          std::vector<int32_t> t;
          {
            py::gil_scoped_release nogil;
            nn::CoordIndex idx(in.data(), in.size() / 3);
            t = nn::neighbor_table(idx, out.data(), out.size() / 3, k, threads);
          }
          py::ssize_t K = static_cast<py::ssize_t>(k) * k * k;
          return to_array(t, {static_cast<py::ssize_t>(out.size() / 3), K});
        },
        py::arg("in_xyz"), py::arg("out_xyz"), py::arg("k"), py::arg("threads") = 1,
        "(M, k^3) int32: row of in_xyz at out_xyz[m] + offset j, or -1 (offsets: learned_kernel_offsets).");
  m.def("learned_neighbor_pairs",
        [](const Arr<int32_t>& in_xyz, const Arr<int32_t>& out_xyz, int k) {
          auto in = coords(in_xyz, "in_xyz"), out = coords(out_xyz, "out_xyz");
          nn::NeighborPairs p;
          {
            py::gil_scoped_release nogil;
            nn::CoordIndex idx(in.data(), in.size() / 3);
            p = nn::neighbor_pairs(nn::neighbor_table(idx, out.data(), out.size() / 3, k, 1), out.size() / 3, k);
          }
          return py::make_tuple(to_array(p.in_rows, {static_cast<py::ssize_t>(p.in_rows.size())}),
                                to_array(p.out_rows, {static_cast<py::ssize_t>(p.out_rows.size())}),
                                to_array(p.offset_start, {static_cast<py::ssize_t>(p.offset_start.size())}));
        },
        "(in_rows, out_rows, offset_start): pairs grouped by kernel offset.");
  m.def("learned_parent_map", [](const Arr<int32_t>& parent_xyz, const Arr<int32_t>& child_xyz, int stride_log2) {
    auto p = coords(parent_xyz, "parent_xyz"), c = coords(child_xyz, "child_xyz");
    nn::CoordIndex idx(p.data(), p.size() / 3);
    std::vector<uint8_t> oct(c.size() / 3);
    auto pm = nn::parent_map(idx, c.data(), c.size() / 3, stride_log2, oct.data());
    return py::make_tuple(to_array(pm, {static_cast<py::ssize_t>(pm.size())}),
                          to_array(oct, {static_cast<py::ssize_t>(oct.size())}));
  });
  m.def("nn_sparse_conv", [](const Arr<float>& x, const Arr<int32_t>& table, const Arr<float>& w, const Arr<float>& b,
                             int threads) {
    if (table.ndim() != 2 || w.ndim() != 3 || w.shape(0) != table.shape(1) || w.shape(1) != x.shape(1) ||
        b.size() != w.shape(2))
      fail(ErrorCode::InvalidArgument, "nn_sparse_conv: shapes disagree");
    nn::Matrix xm = to_matrix(x, "x");
    std::vector<int32_t> t(table.data(), table.data() + table.size());
    nn::Matrix out;
    {
      py::gil_scoped_release nogil;
      out = nn::sparse_conv(xm, t, static_cast<size_t>(table.shape(0)), static_cast<size_t>(table.shape(1)), w.data(),
                            b.data(), static_cast<size_t>(w.shape(2)), threads);
    }
    return from_matrix(out);
  });
  m.def("nn_linear", [](const Arr<float>& x, const Arr<float>& w, const Arr<float>& b, int threads) {
    if (w.ndim() != 2 || w.shape(0) != x.shape(1) || b.size() != w.shape(1))
      fail(ErrorCode::InvalidArgument, "nn_linear: shapes disagree");
    return from_matrix(nn::linear(to_matrix(x, "x"), w.data(), b.data(), static_cast<size_t>(w.shape(1)), threads));
  });
  m.def("nn_exp", [](const Arr<float>& x) {
    std::vector<float> out(static_cast<size_t>(x.size()));
    for (size_t i = 0; i < out.size(); ++i) out[i] = nn::exp_nonpos(x.data()[i]);
    return to_array(out, {static_cast<py::ssize_t>(out.size())});
  });
  m.def("nn_softmax_cdf", [](const Arr<float>& logits, int total_bits) {
    if (logits.ndim() != 2) fail(ErrorCode::InvalidArgument, "nn_softmax_cdf: logits must be 2-D");
    size_t n = static_cast<size_t>(logits.shape(0)), s = static_cast<size_t>(logits.shape(1));
    std::vector<uint32_t> cdf(n * (s + 1));
    for (size_t i = 0; i < n; ++i) nn::softmax_to_cdf(logits.data() + i * s, static_cast<int>(s), total_bits, &cdf[i * (s + 1)]);
    return to_array(cdf, {static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(s + 1)});
  });

  py::class_<PyModel>(m, "LearnedModel", "A parsed .pcsm occupancy model (immutable, shareable).")
      .def(py::init([](py::bytes data, py::object prior) {
             std::string s = data;
             auto f = nn::parse_model_file(reinterpret_cast<const uint8_t*>(s.data()), s.size());
             PyModel pm{std::make_shared<learned::OccupancyModel>(std::move(f)), nullptr};
             if (!prior.is_none()) {
               std::string p = py::bytes(prior);
               pm.prior = std::make_shared<const learned::ContextPrior>(
                   learned::parse_context_prior(reinterpret_cast<const uint8_t*>(p.data()), p.size()));
             }
             return pm;
           }),
           py::arg("data"), py::arg("prior") = py::none(),
           "data: .pcsm bytes; prior: the model's context prior (.pcsp bytes) or None.")
      .def_property_readonly("prior_digest",
                             [](const PyModel& p) -> py::object {
                               if (!p.prior) return py::none();
                               return py::bytes(reinterpret_cast<const char*>(p.prior->digest.data()), 32);
                             })
      .def_property_readonly("id", [](const PyModel& p) { return p.m->id(); })
      .def_property_readonly("hash", [](const PyModel& p) {
        return py::bytes(reinterpret_cast<const char*>(p.m->hash().data()), 32);
      })
      .def_property_readonly("channels", [](const PyModel& p) { return p.m->channels(); })
      .def_property_readonly("kernel", [](const PyModel& p) { return p.m->kernel(); })
      .def_property_readonly("adapted", [](const PyModel& p) { return p.m->adapted(); })
      .def("logits", &model_logits, py::arg("parent_xyz"), py::arg("parent_codes"), py::arg("child_xyz"),
           py::arg("child_codes"), py::arg("threads") = 1);

  m.def("learned_encode",
        [](const PyModel& model, const Arr<uint32_t>& points, int depth, int threads, size_t min_learned_voxels,
           bool refine, bool mix, bool prior) {
          if (points.ndim() != 2 || points.shape(1) != 3)
            fail(ErrorCode::InvalidArgument, "points must have shape (N, 3)");
          learned::Encoded e;
          {
            py::gil_scoped_release nogil;
            e = learned::encode(points.data(), static_cast<size_t>(points.shape(0)), depth, *model.m, threads,
                                min_learned_voxels, refine, mix, prior ? model.prior.get() : nullptr);
          }
          py::list chunks;
          for (auto& c : e.chunks) chunks.append(py::make_tuple(c.level_lo, c.level_hi, c.point_count, to_bytes(c.payload)));
          return py::make_tuple(to_bytes(e.header), chunks, to_array(e.order, {static_cast<py::ssize_t>(e.order.size())}));
        },
        py::arg("model"), py::arg("points"), py::arg("depth"), py::arg("threads") = 1,
        py::arg("min_learned_voxels") = learned::kLearnedMinVoxels, py::arg("refine") = true,
        py::arg("mix") = true, py::arg("prior") = true,
        "-> (header, [(level_lo, level_hi, point_count, payload)], order). prior: use the model's context\n"
        "prior when it has one (with mix: header version 7/8).");
  m.def(
      "learned_build_prior",
      [](const PyModel& model, py::list clouds, int threads, std::array<int, learned::ContextPrior::kTables> min_count) {
        std::vector<py::array_t<uint32_t, py::array::c_style | py::array::forcecast>> keep;
        std::vector<learned::TrainingCloud> tc;
        for (py::handle item : clouds) {
          auto t = item.cast<py::tuple>();
          keep.emplace_back(t[0]);
          const auto& a = keep.back();
          if (a.ndim() != 2 || a.shape(1) != 3) fail(ErrorCode::InvalidArgument, "points must have shape (N, 3)");
          tc.push_back({a.data(), static_cast<size_t>(a.shape(0)), t[1].cast<int>()});
        }
        learned::ContextPrior p;
        {
          py::gil_scoped_release nogil;
          int mc[learned::ContextPrior::kTables];
          for (int t = 0; t < learned::ContextPrior::kTables; ++t) mc[t] = min_count[static_cast<size_t>(t)];
          p = learned::build_context_prior(tc, *model.m, threads, mc);
        }
        return to_bytes(learned::write_context_prior(p));
      },
      py::arg("model"), py::arg("clouds"), py::arg("threads") = 1, py::arg("min_count") = std::array<int, 4>{2, 2, 8, 2},
      "The context prior (.pcsp bytes) after coding clouds [(points (N, 3) uint32, depth), ...] in order,\n"
      "keeping the counters of hashed table t (neighbourhood, with model confidence, block, lineage)\n"
      "that saw at least min_count[t] decisions.");
  // Benchmark anchor only: size and times of the classic codec on the same points.
  m.def("_learned_bench_classic", [](const Arr<uint32_t>& points, int depth) {
    if (points.ndim() != 2 || points.shape(1) != 3) fail(ErrorCode::InvalidArgument, "points must have shape (N, 3)");
    py::gil_scoped_release nogil;
    using clk = std::chrono::steady_clock;
    GeometryOptions opt;
    opt.depth = depth;
    auto t0 = clk::now();
    GeometryEncoding e = encode_geometry(points.data(), static_cast<size_t>(points.shape(0)), opt);
    auto t1 = clk::now();
    size_t bytes = e.header.size();
    GeometryLimits lim;
    lim.max_points = uint64_t{1} << 31;
    GeometryDecoder d(e.header.data(), e.header.size(), lim);
    for (auto& c : e.chunks) { bytes += c.payload.size(); d.feed(c.payload.data(), c.payload.size()); }
    auto t2 = clk::now();
    if (d.points().size() != static_cast<size_t>(points.size())) fail(ErrorCode::Internal, "classic anchor failed");
    return std::make_tuple(bytes, std::chrono::duration<double>(t1 - t0).count(),
                           std::chrono::duration<double>(t2 - t1).count());
  });
  m.attr("learned_default_min_voxels") = learned::kLearnedMinVoxels;
  // Learned lossy geometry (codec id 10): top-k upsampling of omitted scales.
  m.def("learned_topk_upsample",
        [](const PyModel& model, const Arr<uint32_t>& points, int level, std::vector<uint64_t> ks, int threads) {
          if (points.ndim() != 2 || points.shape(1) != 3)
            fail(ErrorCode::InvalidArgument, "points must have shape (N, 3)");
          std::vector<uint32_t> out;
          {
            py::gil_scoped_release nogil;
            out = learned::topk_upsample(*model.m, points.data(), static_cast<size_t>(points.shape(0)), level, ks,
                                         threads);
          }
          return to_array(out, {static_cast<py::ssize_t>(out.size() / 3), 3});
        },
        py::arg("model"), py::arg("points"), py::arg("level"), py::arg("ks"), py::arg("threads") = 1,
        "(M, 3) uint32 voxels at level + len(ks), Morton order: the top-k children per omitted scale.");
  m.def("learned_parse_header", [](py::bytes header) {
    std::string h = header;
    auto p = learned::parse_header(reinterpret_cast<const uint8_t*>(h.data()), h.size());
    py::dict d;
    d["depth"] = p.depth;
    d["learned_start"] = p.learned_start;
    d["model_id"] = p.model_id;
    d["model_hash"] = py::bytes(reinterpret_cast<const char*>(p.model_hash.data()), 32);
    d["point_count"] = p.point_count;
    d["adapted"] = p.adapted;
    d["refined"] = p.refined;
    d["mixed"] = p.mixed;
    d["adapt_digest"] = py::bytes(reinterpret_cast<const char*>(p.adapt_digest.data()), p.adapted ? 32 : 0);
    d["prior"] = p.prior;
    d["prior_digest"] = py::bytes(reinterpret_cast<const char*>(p.prior_digest.data()), p.prior ? 32 : 0);
    return d;
  });
  py::class_<PyDecoder>(m, "LearnedDecoder")
      .def(py::init<py::bytes, const PyModel&, uint64_t, int>(), py::arg("header"), py::arg("model"),
           py::arg("max_points"), py::arg("threads") = 1)
      .def("feed", &PyDecoder::feed)
      .def("points", &PyDecoder::points)
      .def_property_readonly("level", [](const PyDecoder& d) { return d.dec_->level(); })
      .def_property_readonly("depth", [](const PyDecoder& d) { return d.dec_->depth(); })
      .def_property_readonly("done", [](const PyDecoder& d) { return d.dec_->done(); })
      .def_property_readonly("chunks_expected", [](const PyDecoder& d) { return d.dec_->chunks_expected(); });
}

pcstream_py::Registrar reg("learned", &bind);

}  // namespace
