#include "raht_tree.hpp"

namespace pcstream {
namespace attr {
namespace raht {

Octree build_octree(const MortonOrder& order, size_t n, int depth) {
  Octree t;
  uint64_t all = 0;
  for (uint64_t c : order.codes) all |= c;
  int bits = bit_length(all);
  t.depth = (bits + 2) / 3;
  if (depth >= 0) {
    if (t.depth > depth || depth > 21)
      fail(ErrorCode::CorruptPayload, "RAHT: point coordinates exceed the octree depth of the attribute stream");
    t.depth = depth;
  }
  t.levels.resize(t.depth + 1);
  Level& leaves = t.levels[t.depth];
  t.leaf_of.resize(n);
  for (size_t k = 0; k < n; ++k) {
    if (k == 0 || order.codes[k] != order.codes[k - 1]) {
      leaves.code.push_back(order.codes[k]);
      leaves.weight.push_back(0);
    }
    ++leaves.weight.back();
    t.leaf_of[k] = static_cast<uint32_t>(leaves.code.size() - 1);
  }
  for (int d = t.depth - 1; d >= 0; --d) {
    Level& child = t.levels[d + 1];
    Level& lv = t.levels[d];
    for (size_t i = 0; i < child.code.size(); ++i) {
      const uint64_t pc = child.code[i] >> 3;
      if (lv.code.empty() || lv.code.back() != pc) {
        lv.code.push_back(pc);
        lv.weight.push_back(0);
        lv.first.push_back(static_cast<uint32_t>(i));
        lv.nchild.push_back(0);
      }
      lv.weight.back() += child.weight[i];
      ++lv.nchild.back();
    }
  }
  for (int d = 0; d <= t.depth; ++d) {
    t.levels[d].build_table();
    t.levels[d].cw = t.levels[d].weight;
  }
  return t;
}

void check_args(ValueType type, int components) {
  if (type != ValueType::U8 && type != ValueType::U16)
    fail(ErrorCode::InvalidArgument, "RAHT codec: values must be uint8 or uint16, got " + value_type_name(type));
  if (components != 1 && components != 3)
    fail(ErrorCode::InvalidArgument, "RAHT codec: values must have 1 or 3 components");
}

template <bool kEncode>
void start_tree(const Params& P, double root_weight, const std::vector<double>* root_sums, int64_t* root_q,
                TreeState& S) {
  const int C = P.comps;
  S.mean.assign(C, 0.0);
  S.parent_nz.assign(1, 1);
  S.model.reset(new CoefModel());
  S.level = 0;
  const double sw = std::sqrt(root_weight);
  for (int c = 0; c < C; ++c) {
    if (kEncode) {
      const double dc = (*root_sums)[c] / sw;
      const double qd = std::nearbyint(dc / P.step[c]);
      root_q[c] = static_cast<int64_t>(std::max(-1e15, std::min(1e15, qd)));
    }
    S.mean[c] = static_cast<double>(root_q[c]) * P.step[c] / sw;
  }
}

// The top-down pass shared by encoder and decoder (see raht_tree.hpp).
template <bool kEncode>
bool code_levels(const Octree& t, const Params& P, TreeState& S, int d_to,
                 const std::vector<std::vector<double>>* sums, double rounding, bool body, RangeEncoder* enc,
                 RangeDecoder* dec) {
  const int C = P.comps;
  double inv_step[kMaxComps];
  for (int c = 0; c < C; ++c) inv_step[c] = 1.0 / P.step[c];
  CoefModel* model = S.model.get();
  std::vector<double>& mean = S.mean;
  std::vector<uint8_t>& parent_nz = S.parent_nz;
  bool any_level = false;
  // Per octant: adjacent neighbour offsets.
  int adj[8][18];
  int nadj[8];
  double adjw[8][18];
  for (int o = 0; o < 8; ++o) {
    nadj[o] = 0;
    for (int k = 0; k < 18; ++k)
      if (adjacent(o, kOffsets[k])) {
        adj[o][nadj[o]] = k;
        adjw[o][nadj[o]] = k < 6 ? P.pw.face : P.pw.edge;
        ++nadj[o];
      }
  }
  std::vector<double> child_mean;
  // Per node: did its parent code any non-zero coefficient (context).
  std::vector<uint8_t> child_nz;
  for (int d = S.level; d < d_to; ++d) {
    const Level& lv = t.levels[d];
    const Level& nx = t.levels[d + 1];
    child_mean.assign(C * nx.code.size(), 0.0);
    child_nz.assign(nx.code.size(), 0);
    const uint64_t level_mask = d == 0 ? 0 : (~0ull >> (64 - 3 * d));
    const uint64_t child_level_mask = ~0ull >> (64 - 3 * (d + 1));
    const bool use_sub = P.pw.child_face > 0 || P.pw.child_edge > 0;
    int prev_any = 0;
    int64_t block_cache = -1, child_cache = -1;
    // Encoder: the level's coefficients are quantised first and coded after
    // a level flag ("any non-zero coefficient"), which makes the all-zero
    // levels of low rates free. Records: act, parent flag, nhp, buckets, q.
    struct Rec { uint8_t act, parent, nhp; uint8_t wb[7]; uint32_t qoff; };
    std::vector<Rec> recs;
    std::vector<int64_t> qbuf;
    int level_any = 1;
    if (!kEncode) level_any = body ? dec->decode_bypass() : 0;
    for (size_t i = 0; i < lv.code.size(); ++i) {
      const uint32_t first = lv.first[i];
      const int nc = lv.nchild[i];
      const double* pm = &mean[C * i];
      if (nc == 1) {
        child_nz[first] = parent_nz[i];
        for (int c = 0; c < C; ++c) child_mean[C * first + c] = pm[c];
        continue;
      }
      uint32_t w[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int slot_of[8];
      for (int k = 0; k < nc; ++k) {
        const int s = static_cast<int>(nx.code[first + k] & 7);
        w[s] = nx.cw[first + k];
        slot_of[k] = s;
      }
      // Prediction of each child's mean.
      double pred[8][kMaxComps];
      int64_t nbr[18];
      int found = 0;
      if (P.predict) {
        for (int k = 0; k < 18; ++k) {
          uint64_t nc_code;
          nbr[k] = -1;
          if (!neighbour_code(lv.code[i], kOffsets[k].dx, kOffsets[k].dy, kOffsets[k].dz, level_mask, nc_code)) continue;
          nbr[k] = lv.find(block_cache, nc_code);
          found += nbr[k] >= 0;
        }
      }
      const bool use_pred = P.predict && found >= P.min_neighbours;
      // Activity: mean absolute luma difference of the neighbours to the node,
      // in quantiser steps; large differences predict large coefficients.
      int act = 0;
      if (found) {
        double dsum = 0;
        for (int k = 0; k < 18; ++k)
          if (nbr[k] >= 0) dsum += std::fabs(mean[C * nbr[k]] - pm[0]);
        const double a = dsum / found * inv_step[0] * 4.0;
        act = 1 + (a >= 1) + (a >= 2) + (a >= 4) + (a >= 8);
      }
      for (int k = 0; k < nc; ++k) {
        const int s = slot_of[k];
        if (!use_pred) {
          for (int c = 0; c < C; ++c) pred[s][c] = pm[c];
          continue;
        }
        double acc[kMaxComps];
        double wsum = P.pw.parent;
        for (int c = 0; c < C; ++c) acc[c] = P.pw.parent * pm[c];
        for (int a = 0; a < nadj[s]; ++a) {
          const int64_t j = nbr[adj[s][a]];
          if (j < 0) continue;
          const double wt = adjw[s][a];
          wsum += wt;
          for (int c = 0; c < C; ++c) acc[c] += wt * mean[C * j + c];
        }
        if (use_sub) {
          // Already reconstructed nodes of the child level (their parents come
          // earlier in this level), touching this child.
          const uint64_t child_code = (lv.code[i] << 3) | static_cast<uint64_t>(s);
          const int kmax = P.pw.child_edge > 0 ? 18 : 6;
          for (int k = 0; k < kmax; ++k) {
            uint64_t ac;
            if (!neighbour_code(child_code, kOffsets[k].dx, kOffsets[k].dy, kOffsets[k].dz, child_level_mask, ac)) continue;
            const int64_t j = nx.find(child_cache, ac);
            if (j < 0 || j >= static_cast<int64_t>(first)) continue;
            const double wt = k < 6 ? P.pw.child_face : P.pw.child_edge;
            wsum += wt;
            for (int c = 0; c < C; ++c) acc[c] += wt * child_mean[C * j + c];
          }
        }
        for (int c = 0; c < C; ++c) pred[s][c] = acc[c] / wsum;
      }
      NodeTransform tr;
      plan_transform(w, tr);
      // Low-pass of the prediction: sqrt(W) * weighted mean of the predicted children.
      uint64_t wsum_children = 0;
      for (int k = 0; k < nc; ++k) wsum_children += w[slot_of[k]];
      const double W = static_cast<double>(wsum_children);
      const double sW = std::sqrt(W);
      double x[8][kMaxComps];
      double hp[7][kMaxComps];
      int64_t q[7][kMaxComps];
      double lp_pred[kMaxComps] = {0, 0, 0};
      for (int k = 0; k < nc; ++k) {
        const int s = slot_of[k];
        for (int c = 0; c < C; ++c) lp_pred[c] += static_cast<double>(w[s]) * pred[s][c];
      }
      for (int c = 0; c < C; ++c) lp_pred[c] /= sW;
      if (kEncode) {
        const std::vector<double>& cs = (*sums)[d + 1];
        for (int k = 0; k < nc; ++k) {
          const int s = slot_of[k];
          const double sws = std::sqrt(static_cast<double>(w[s]));
          for (int c = 0; c < C; ++c) x[s][c] = cs[C * (first + k) + c] / sws - sws * pred[s][c];
        }
        forward(tr, x, hp, C);
        for (int j = 0; j < tr.nhp; ++j)
          for (int c = 0; c < C; ++c) q[j][c] = quantise(hp[j][c], inv_step[c], rounding);
      }
      uint8_t wbs[7];
      {
        int j = 0;
        for (int oi = 0; oi < tr.nops; ++oi)
          if (!tr.ops[oi].move) wbs[j++] = static_cast<uint8_t>(weight_bucket(tr.ops[oi].w));
      }
      int node_any = 0;
      if (kEncode) {
        Rec rc;
        rc.act = static_cast<uint8_t>(act);
        rc.parent = parent_nz[i];
        rc.nhp = static_cast<uint8_t>(tr.nhp);
        std::copy(wbs, wbs + tr.nhp, rc.wb);
        rc.qoff = static_cast<uint32_t>(qbuf.size());
        for (int j = 0; j < tr.nhp; ++j)
          for (int c = 0; c < C; ++c) { qbuf.push_back(q[j][c]); node_any |= q[j][c] != 0; }
        recs.push_back(rc);
      } else if (level_any) {
        code_node<false>(*model, prev_any, parent_nz[i], act, tr.nhp, wbs, q, C, nullptr, dec);
        node_any = prev_any;
      } else {
        for (int j = 0; j < tr.nhp; ++j)
          for (int c = 0; c < C; ++c) q[j][c] = 0;
      }
      for (int k = 0; k < nc; ++k) child_nz[first + k] = static_cast<uint8_t>(node_any);
      for (int j = 0; j < tr.nhp; ++j)
        for (int c = 0; c < C; ++c) hp[j][c] = static_cast<double>(q[j][c]) * P.step[c];
      for (int c = 0; c < C; ++c) x[0][c] = sW * pm[c] - lp_pred[c];
      inverse(tr, x, hp, C);
      for (int k = 0; k < nc; ++k) {
        const int s = slot_of[k];
        const double sws = std::sqrt(static_cast<double>(w[s]));
        for (int c = 0; c < C; ++c) child_mean[C * (first + k) + c] = pred[s][c] + x[s][c] / sws;
      }
    }
    if (kEncode) {
      level_any = 0;
      for (int64_t v : qbuf) level_any |= v != 0;
      any_level |= level_any != 0;
      enc->encode_bypass(level_any);
      if (level_any) {
        int64_t qq[7][kMaxComps];
        for (const Rec& rc : recs) {
          for (int j = 0; j < rc.nhp; ++j)
            for (int c = 0; c < C; ++c) qq[j][c] = qbuf[rc.qoff + j * C + c];
          code_node<true>(*model, prev_any, rc.parent, rc.act, rc.nhp, rc.wb, qq, C, enc, nullptr);
        }
      }
    }
    mean.swap(child_mean);
    parent_nz.swap(child_nz);
  }
  S.level = d_to;
  return any_level;
}

template void start_tree<true>(const Params&, double, const std::vector<double>*, int64_t*, TreeState&);
template void start_tree<false>(const Params&, double, const std::vector<double>*, int64_t*, TreeState&);
template bool code_levels<true>(const Octree&, const Params&, TreeState&, int, const std::vector<std::vector<double>>*,
                                double, bool, RangeEncoder*, RangeDecoder*);
template bool code_levels<false>(const Octree&, const Params&, TreeState&, int,
                                 const std::vector<std::vector<double>>*, double, bool, RangeEncoder*, RangeDecoder*);

}  // namespace raht
}  // namespace attr
}  // namespace pcstream
