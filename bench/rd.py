"""Rate-distortion bench of learned lossy geometry (codec id 10) against G-PCC and Draco.

D1 PSNR (MPEG point-to-point, symmetric maximum; peak 1023 for 10-bit dense frames,
59,700 mm for KITTI at 1 mm) against bits per *input* point. G-PCC v23 octree lossy
figures come from ../shared/data/README.md; Draco (DracoPy) runs here. BD-rate of ours
against G-PCC per file. Writes bench/results/rd.json and bench/results/rd_<file>.png.

    PYTHONPATH=python python3 bench/rd.py [--files loot,redandblack,kitti11,kitti14]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from pcstream import lossy  # noqa: E402
from pcstream.benchmarks.geometry import FILES, data_dir, load_points  # noqa: E402

PEAK = {"ply": 1023.0, "kitti": 59700.0}
# G-PCC TMC13 v23 octree lossy (bpp, D1 dB), ../shared/data/README.md.
GPCC = {
    "loot": [(0.0211, 52.80), (0.0650, 58.44), (0.2048, 63.21), (0.4590, 67.98), (0.5862, 69.71), (0.6456, 70.39)],
    "redandblack": [(0.0237, 52.80), (0.0747, 58.44), (0.2398, 63.21), (0.5282, 67.98), (0.6795, 69.70),
                    (0.7534, 70.39)],
    "kitti11": [(0.136, 51.96), (0.390, 58.22), (1.053, 64.20), (2.507, 70.16), (4.765, 76.20), (7.362, 82.21),
                (10.092, 88.12), (13.033, 93.76)],
    "kitti14": [(0.152, 52.02), (0.457, 58.05), (1.280, 64.17), (3.071, 70.22), (5.821, 76.21), (8.722, 82.19),
                (11.629, 88.11), (14.601, 93.76)],
}
TARGET = {"ply": -30.0, "kitti": -10.0}


def ladder(kind: str) -> list:
    """(step, omit) rate points, omit = 0..2 while step / 2^omit >= 1. Dense: steps 2..64.
    LiDAR: the G-PCC steps 2^(18-k) for k = 7..16 plus the non-power-of-two steps
    2^(18-k) * sqrt(2) for k = 8..12 (where the omitted scales pay off)."""
    if kind == "ply":
        steps = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    else:
        steps = sorted([float(1 << (18 - k)) for k in range(7, 17)] +
                       [round((1 << (18 - k)) * math.sqrt(2.0), 3) for k in range(8, 13)], reverse=True)
    return [(s, m) for s in steps for m in range(0, 3) if s / (1 << m) >= 1.0]


def pareto(points: list) -> list:
    """(bpp, psnr) points on the lower-rate / higher-PSNR front, by rate."""
    out = []
    for r, p in sorted(points):
        if not out or p > out[-1][1]:
            out.append((r, p))
    return out


def _pchip(x: np.ndarray, y: np.ndarray):
    """Monotone piecewise cubic (Fritsch-Carlson) interpolant of y(x), x increasing."""
    h = np.diff(x)
    d = np.diff(y) / h
    m = np.zeros_like(y)
    if len(x) == 2:
        m[:] = d[0]
    else:
        for i in range(1, len(x) - 1):
            if d[i - 1] * d[i] > 0:
                w1, w2 = 2 * h[i] + h[i - 1], h[i] + 2 * h[i - 1]
                m[i] = (w1 + w2) / (w1 / d[i - 1] + w2 / d[i])
        m[0] = _end_slope(h[0], h[1], d[0], d[1])
        m[-1] = _end_slope(h[-1], h[-2], d[-1], d[-2])

    def f(t):
        t = np.asarray(t, dtype=np.float64)
        i = np.clip(np.searchsorted(x, t) - 1, 0, len(x) - 2)
        s = (t - x[i]) / h[i]
        h00, h10 = 2 * s ** 3 - 3 * s ** 2 + 1, s ** 3 - 2 * s ** 2 + s
        h01, h11 = -2 * s ** 3 + 3 * s ** 2, s ** 3 - s ** 2
        return h00 * y[i] + h10 * h[i] * m[i] + h01 * y[i + 1] + h11 * h[i] * m[i + 1]
    return f


def _end_slope(h0, h1, d0, d1):
    s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if np.sign(s) != np.sign(d0):
        return 0.0
    if np.sign(d0) != np.sign(d1) and abs(s) > abs(3 * d0):
        return 3 * d0
    return s


def bd_rate(anchor: list, test: list, samples: int = 1000) -> float | None:
    """Bjontegaard delta rate (%) of `test` against `anchor`, (bpp, psnr) lists: the mean
    difference of log-rate as a piecewise-cubic function of PSNR over the overlapping PSNR
    range. Negative = fewer bits for the same D1."""
    a, t = pareto(anchor), pareto(test)
    if len(a) < 2 or len(t) < 2:
        return None
    lo = max(a[0][1], t[0][1])
    hi = min(a[-1][1], t[-1][1])
    if hi <= lo:
        return None
    grid = np.linspace(lo, hi, samples)
    fa = _pchip(np.array([p for _, p in a]), np.log(np.array([r for r, _ in a])))
    ft = _pchip(np.array([p for _, p in t]), np.log(np.array([r for r, _ in t])))
    v = ft(grid) - fa(grid)
    diff = float(np.sum((v[1:] + v[:-1]) / 2.0 * np.diff(grid)) / (hi - lo))
    return (math.exp(diff) - 1.0) * 100.0


def bd_rate_poly(anchor: list, test: list) -> float | None:
    """The original Bjontegaard variant: cubic polynomial fits of log-rate over PSNR
    (least squares on each curve's Pareto points), integrated over the overlap."""
    a, t = pareto(anchor), pareto(test)
    if len(a) < 4 or len(t) < 4:
        return None
    lo, hi = max(a[0][1], t[0][1]), min(a[-1][1], t[-1][1])
    if hi <= lo:
        return None
    pa = np.polyint(np.polyfit([p for _, p in a], np.log([r for r, _ in a]), 3))
    pt = np.polyint(np.polyfit([p for _, p in t], np.log([r for r, _ in t]), 3))
    diff = ((np.polyval(pt, hi) - np.polyval(pt, lo)) - (np.polyval(pa, hi) - np.polyval(pa, lo))) / (hi - lo)
    return (math.exp(diff) - 1.0) * 100.0


def run_draco(q: np.ndarray, peak: float, bits_list) -> list:
    try:
        import DracoPy
    except ImportError:
        return []
    out = []
    pts = q.astype(np.float32)
    for b in bits_list:
        blob = DracoPy.encode(pts, quantization_bits=int(b), compression_level=7)
        dec = np.asarray(DracoPy.decode(blob).points, dtype=np.float64)
        out.append({"quantization_bits": int(b), "bpp": 8.0 * len(blob) / len(q),
                    "psnr": lossy.d1_psnr(q, dec, peak)})
    return out


def run_file(name: str, root: Path, threads: int | None, tune_k: bool = True) -> dict:
    rel, kind, depth = FILES[name]
    q = load_points(root / rel, kind, depth)
    n = len(q)
    peak = PEAK[kind]
    rows = []
    inner_of = {}
    for step, omit in ladder(kind):
        # Both inner codecs at omit 0; the omitted scales reuse the smaller (same coarse stream).
        for inner in (("classic", "learned") if omit == 0 else (inner_of[step],)):
            t0 = time.perf_counter()
            e = lossy.encode_geometry(q, depth, step=step, omit=omit, inner=inner, threads=threads,
                                      tune_k=tune_k and omit > 0)
            t1 = time.perf_counter()
            dec = lossy.decode_geometry(e.header, [c.payload for c in e.chunks], threads=threads)
            t2 = time.perf_counter()
            if not np.array_equal(dec, e.points):
                raise AssertionError(f"{name}: encoder and decoder disagree at step {step} omit {omit}")
            psnr = lossy.d1_psnr(q, e.xyz(), peak)
            rows.append({"step": step, "omit": omit, "inner": inner, "ks": lossy.parse_header(e.header).ks,
                         "bytes": e.nbytes, "bpp": 8.0 * e.nbytes / n,
                         "psnr": psnr, "points_out": int(len(e.points)), "enc_s": t1 - t0, "dec_s": t2 - t1})
            if omit == 0 and (step not in inner_of or e.nbytes < min(
                    r["bytes"] for r in rows if r["step"] == step and r["omit"] == 0 and r["inner"] == inner_of[step])):
                inner_of[step] = inner
            print(f"  {name:12s} step {step:6g} omit {omit} {inner:8s} {rows[-1]['bpp']:8.4f} bpp "
                  f"{psnr:6.2f} dB  {len(e.points):>8} pts  enc {t1 - t0:5.2f}s dec {t2 - t1:5.2f}s", flush=True)
    # Per rate point, the smaller of the two inner codecs (same reconstruction).
    best = {}
    for r in rows:
        key = (r["step"], r["omit"])
        if key not in best or r["bytes"] < best[key]["bytes"]:
            best[key] = r
    ours = [(r["bpp"], r["psnr"]) for r in best.values()]
    ours_q = [(r["bpp"], r["psnr"]) for r in best.values() if r["omit"] == 0]
    draco_bits = [7, 8, 9, 10] if kind == "ply" else [10, 11, 12, 13, 14, 15, 16]
    draco = run_draco(q, peak, draco_bits)
    gp = GPCC[name]
    res = {
        "file": rel, "points": n, "peak": peak, "rows": rows,
        "best": sorted(best.values(), key=lambda r: r["bpp"]),
        "pareto": pareto(ours), "gpcc": gp, "draco": draco,
        "bd_rate_vs_gpcc_pct": bd_rate(gp, ours),
        "bd_rate_poly_vs_gpcc_pct": bd_rate_poly(gp, [p for p in pareto(ours) if p[1] >= gp[0][1] - 3.0]),
        "bd_rate_quant_only_vs_gpcc_pct": bd_rate(gp, ours_q),
        "bd_rate_draco_vs_gpcc_pct": bd_rate(gp, [(d["bpp"], d["psnr"]) for d in draco]) if draco else None,
        "target_pct": TARGET[kind],
        "tune_k": tune_k,
    }
    return res


def plot(results: dict, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(results)
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        r = results[name]
        g = r["gpcc"]
        ax.plot([x for x, _ in g], [y for _, y in g], "s-", label="G-PCC v23 octree")
        if r["draco"]:
            ax.plot([d["bpp"] for d in r["draco"]], [d["psnr"] for d in r["draco"]], "^-", label="Draco")
        q = sorted((b["bpp"], b["psnr"]) for b in r["best"] if b["omit"] == 0)
        ax.plot([x for x, _ in q], [y for _, y in q], "x--", label="pcstream quantize only")
        p = r["pareto"]
        ax.plot([x for x, _ in p], [y for _, y in p], "o-", label="pcstream lossy (top-k)")
        ax.set_xscale("log")
        ax.set_xlabel("bits per input point")
        ax.set_ylabel("D1 PSNR (dB)")
        bd = r["bd_rate_vs_gpcc_pct"]
        ax.set_title(f"{name}: BD-rate {bd:+.1f} %" if bd is not None else name)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def markdown(results: dict) -> str:
    """The README tables: BD-rates per file, then our Pareto points next to G-PCC's."""
    f = lambda v: f"{v:+.1f} %" if v is not None else "n/a"  # noqa: E731
    out = ["| file | points | BD-rate vs G-PCC (pchip) | (cubic fit) | quantization only | Draco vs G-PCC | target | met |",
           "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        bd = r["bd_rate_vs_gpcc_pct"]
        out.append(f"| {name} | {r['points']:,} | **{f(bd)}** | {f(r.get('bd_rate_poly_vs_gpcc_pct'))} | "
                   f"{f(r['bd_rate_quant_only_vs_gpcc_pct'])} | {f(r['bd_rate_draco_vs_gpcc_pct'])} | "
                   f"{r['target_pct']:+.0f} % | {'yes' if bd is not None and bd <= r['target_pct'] else 'no'} |")
    out += ["", "| file | step | omitted scales | inner codec | bpp | D1 dB | decoded points | dec s | "
                "G-PCC bpp at this D1 | ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        front = {(round(b, 6), round(p, 4)) for b, p in r["pareto"]}
        g = pareto([tuple(x) for x in r["gpcc"]])
        fg = _pchip(np.array([p for _, p in g]), np.log(np.array([b for b, _ in g])))
        lo = g[0][1] - 3.0
        pts = [b for b in r["best"] if (round(b["bpp"], 6), round(b["psnr"], 4)) in front and b["psnr"] >= lo]
        per_step: dict = {}
        for b in pts:                                   # one row per step: its best D1
            if b["step"] not in per_step or b["psnr"] > per_step[b["step"]]["psnr"]:
                per_step[b["step"]] = b
        for b in sorted(per_step.values(), key=lambda b: b["bpp"]):
            inside = g[0][1] <= b["psnr"] <= g[-1][1]
            gr = float(np.exp(fg(b["psnr"]))) if inside else None
            gcol = f"{gr:.4f} | {b['bpp'] / gr:.2f}" if gr else "- | -"
            out.append(f"| {name} | {b['step']:g} | {b['omit']} | {b['inner']} | {b['bpp']:.4f} | {b['psnr']:.2f} | "
                       f"{b['points_out']:,} | {b['dec_s']:.2f} | {gcol} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", default="loot,redandblack,kitti11,kitti14")
    ap.add_argument("--data", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--true-k", action="store_true",
                    help="send the true occupied-voxel counts (default: the encoder's D1-tuned counts, tune_k)")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "rd.json"))
    ap.add_argument("--png", default=str(ROOT / "bench" / "results" / "rd.png"))
    ap.add_argument("--markdown", action="store_true", help="print the tables of an existing --json and exit")
    a = ap.parse_args(argv)
    if a.markdown:
        print(markdown(json.loads(Path(a.json).read_text())))
        return 0
    root = data_dir(a.data)
    results = {}
    for name in a.files.split(","):
        if not (root / FILES[name][0]).exists():
            print(f"skip {name}: {root / FILES[name][0]} not found")
            continue
        results[name] = run_file(name, root, a.threads, tune_k=not a.true_k)
    print()
    print(f"{'file':14s} {'BD-rate vs G-PCC':>17s} {'(cubic fit)':>12s} {'quant only':>11s} {'Draco vs G-PCC':>15s} "
          f"{'target':>7s}")
    for name, r in results.items():
        f = lambda v: f"{v:+.1f} %" if v is not None else "n/a"  # noqa: E731
        print(f"{name:14s} {f(r['bd_rate_vs_gpcc_pct']):>17s} {f(r['bd_rate_poly_vs_gpcc_pct']):>12s} "
              f"{f(r['bd_rate_quant_only_vs_gpcc_pct']):>11s} "
              f"{f(r['bd_rate_draco_vs_gpcc_pct']):>15s} {r['target_pct']:>+6.0f}%")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(results, indent=1))
    if results:
        plot(results, Path(a.png))
        print(f"wrote {a.json} and {a.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
