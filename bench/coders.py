"""Bench of the entropy coders: binary adaptive coder and multi-symbol coder.

Prints one table and writes bench/results/coders.json. Throughput is given
per CPU second of the coding thread (``time.thread_time`` around one call
from Python with numpy arrays, or the pure C++ loop timed inside the core),
which is what "one core" means on a shared machine; wall-clock figures are
in the JSON too. Anchors (constriction) run in the same process on the same
data; figures that could not be measured here are quoted as references.

    PYTHONPATH=python python3 bench/coders.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from pcstream import coders  # noqa: E402
from pcstream import _core  # noqa: E402

REFERENCE = {
    "deepcabac": "Fraunhofer DeepCABAC engine: 84 Mbins/s encode, 73 Mbins/s decode, +1.9-2.4 % over entropy (issue 2)",
    "torchac": "torchac: 11 Msym/s on pre-built CDFs (issue 2; needs torch + a compiler, not measured here)",
    "constriction": "constriction: 2-4 Msym/s (issue 2)",
}


def timed(fn, reps=3):
    """Best-of-reps (thread CPU seconds, wall seconds, result)."""
    best_cpu, best_wall, out = float("inf"), float("inf"), None
    for _ in range(reps):
        c0, w0 = time.thread_time(), time.perf_counter()
        out = fn()
        c1, w1 = time.thread_time(), time.perf_counter()
        best_cpu, best_wall = min(best_cpu, c1 - c0), min(best_wall, w1 - w0)
    return best_cpu, best_wall, out


def time_bins(bits, ctx, nctx, fast, slow, reps=3):
    """Best-of-reps pure C++ timing (thread CPU seconds) of the binary coder."""
    runs = [_core.coders.time_bins(bits, ctx, nctx, fast, slow) for _ in range(reps)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def entropy_bits(bits, p):
    ones = int(bits.sum())
    return -(ones * np.log2(p) + (bits.size - ones) * np.log2(1 - p))


def bench_binary(n, rng):
    rows = []
    # Stationary sources, one context: compression overhead over the entropy.
    for p in (0.01, 0.1, 0.3, 0.5):
        bits = (rng.random(n) < p).astype(np.uint8)
        te, td, nbytes = time_bins(bits, None, 1, 4, 8)
        rows.append({"source": f"stationary p={p}", "bins": n, "bytes": nbytes,
                     "overhead_pct": 100 * (nbytes * 8 / entropy_bits(bits, p) - 1),
                     "cpp_enc_mbins_s": n / te / 1e6, "cpp_dec_mbins_s": n / td / 1e6})
    # Same coder with DeepCABAC-like rates (shifts 4/7) for comparison.
    bits = (rng.random(n) < 0.1).astype(np.uint8)
    te, td, nbytes = time_bins(bits, None, 1, 4, 7)
    rows.append({"source": "stationary p=0.1, shifts 4/7", "bins": n, "bytes": nbytes,
                 "overhead_pct": 100 * (nbytes * 8 / entropy_bits(bits, 0.1) - 1),
                 "cpp_enc_mbins_s": n / te / 1e6, "cpp_dec_mbins_s": n / td / 1e6})
    # Many contexts with different probabilities (a codec's typical access pattern).
    nctx = 256
    pctx = rng.uniform(0.01, 0.5, nctx)
    ctx = rng.integers(0, nctx, n).astype(np.int32)
    bits = (rng.random(n) < pctx[ctx]).astype(np.uint8)
    ideal = -np.where(bits == 1, np.log2(pctx[ctx]), np.log2(1 - pctx[ctx])).sum()
    te, td, nbytes = time_bins(bits, ctx, nctx, 4, 8)
    ce, we, data = timed(lambda: coders.encode_bits(bits, ctx, num_contexts=nctx))
    cd, wd, out = timed(lambda: coders.decode_bits(data, n, ctx, num_contexts=nctx))
    assert np.array_equal(out, bits)
    rows.append({"source": f"{nctx} contexts, p in [0.01, 0.5]", "bins": n, "bytes": nbytes,
                 "overhead_pct": 100 * (nbytes * 8 / ideal - 1),
                 "cpp_enc_mbins_s": n / te / 1e6, "cpp_dec_mbins_s": n / td / 1e6,
                 "py_enc_mbins_s": n / ce / 1e6, "py_dec_mbins_s": n / cd / 1e6,
                 "py_enc_wall_mbins_s": n / we / 1e6, "py_dec_wall_mbins_s": n / wd / 1e6})
    # Switching source: how fast the contexts adapt.
    blocks = []
    ideal = 0.0
    for b in range(n // 5000):
        p = 0.05 if b % 2 else 0.5
        x = (rng.random(5000) < p).astype(np.uint8)
        ideal += entropy_bits(x, p)
        blocks.append(x)
    bits = np.concatenate(blocks)
    _, _, nbytes = time_bins(bits, None, 1, 4, 8)
    rows.append({"source": "switching p=0.5/0.05 every 5000", "bins": bits.size, "bytes": nbytes,
                 "overhead_pct": 100 * (nbytes * 8 / ideal - 1)})
    return rows


def model_rows(rng, n, k):
    """Peaky float32 rows like a learned model's softmax output."""
    logits = rng.standard_normal((n, k), dtype=np.float32) * 2.0
    probs = np.exp(logits - logits.max(1, keepdims=True)).astype(np.float32)
    probs /= probs.sum(1, keepdims=True)
    cum = np.cumsum(probs, axis=1)
    symbols = np.minimum((rng.random((n, 1)) > cum).sum(1), k - 1).astype(np.int32)
    return probs, symbols


def bench_multisym(k, n_big, n_hot, rng, with_constriction):
    rows = []
    probs, symbols = model_rows(rng, n_big, k)
    ideal = -np.log2(probs[np.arange(n_big), symbols].astype(np.float64)).sum()
    hot_p, hot_s = probs[:n_hot].copy(), symbols[:n_hot].copy()

    def ours(label, p, s, reps):
        ce, we, data = timed(lambda: coders.encode_symbols(s, p), reps)
        cd, wd, out = timed(lambda: coders.decode_symbols(data, p), reps)
        assert np.array_equal(out, s)
        n = len(s)
        return {"coder": f"pcstream probs ({label})", "K": k, "symbols": n, "bytes": len(data),
                "enc_msym_s": n / ce / 1e6, "dec_msym_s": n / cd / 1e6,
                "enc_wall_msym_s": n / we / 1e6, "dec_wall_msym_s": n / wd / 1e6}, data

    row, data = ours("streamed from RAM", probs, symbols, 4)
    row["overhead_pct"] = 100 * (len(data) * 8 / ideal - 1)
    # Two threads for the conversion: only wall-clock time means anything here.
    _, we2, data2 = timed(lambda: coders.encode_symbols(symbols, probs, threads=2), 2)
    _, wd2, out2 = timed(lambda: coders.decode_symbols(data, probs, threads=2), 2)
    assert data2 == data and np.array_equal(out2, symbols)
    row["enc_wall_msym_s_2threads"] = n_big / we2 / 1e6
    row["dec_wall_msym_s_2threads"] = n_big / wd2 / 1e6
    rows.append(row)
    # A block that stays in cache, coded repeatedly inside C++ (no Python
    # overhead per call): the speed when a model hands over fresh outputs.
    reps = max(20, int(2e8 // (n_hot * k)))
    te, td, nbytes = _core.coders.time_symbols_probs(hot_s, hot_p, 16, reps)
    rows.append({"coder": f"pcstream probs (C++ loop, {hot_p.nbytes >> 10} KiB block in cache)", "K": k,
                 "symbols": n_hot * reps, "bytes": nbytes,
                 "enc_msym_s": n_hot * reps / te / 1e6, "dec_msym_s": n_hot * reps / td / 1e6})

    cc, cw, cdf = timed(lambda: coders.probs_to_cdf(probs), 1)
    rows.append({"coder": "pcstream probs_to_cdf (new output array)", "K": k, "symbols": n_big,
                 "enc_msym_s": n_big / cc / 1e6, "enc_wall_msym_s": n_big / cw / 1e6})
    ce, we, data = timed(lambda: coders.encode_symbols(symbols, cdf=cdf), 4)
    cd, wd, out = timed(lambda: coders.decode_symbols(data, cdf=cdf), 4)
    assert np.array_equal(out, symbols)
    rows.append({"coder": "pcstream pre-built CDF", "K": k, "symbols": n_big, "bytes": len(data),
                 "enc_msym_s": n_big / ce / 1e6, "dec_msym_s": n_big / cd / 1e6,
                 "enc_wall_msym_s": n_big / we / 1e6, "dec_wall_msym_s": n_big / wd / 1e6})

    if with_constriction is not None:
        cs = with_constriction
        n_c = min(n_big, 200_000 if k == 16 else 20_000)
        p64 = probs[:n_c].astype(np.float64)
        s_c = symbols[:n_c]
        model = cs.stream.model.Categorical(perfect=False)

        def c_enc():
            e = cs.stream.queue.RangeEncoder()
            e.encode(s_c, model, p64)
            return e.get_compressed()

        ce, we, comp = timed(c_enc, 4)
        cd, wd, out = timed(lambda: cs.stream.queue.RangeDecoder(comp).decode(model, p64), 4)
        assert np.array_equal(out, s_c)
        ideal_c = -np.log2(probs[np.arange(n_c), s_c].astype(np.float64)).sum()
        rows.append({"coder": f"constriction {getattr(cs, '__version__', '')} queue.RangeEncoder".replace("  ", " "),
                     "K": k, "symbols": n_c, "bytes": int(comp.nbytes),
                     "overhead_pct": 100 * (comp.nbytes * 8 / ideal_c - 1),
                     "enc_msym_s": n_c / ce / 1e6, "dec_msym_s": n_c / cd / 1e6,
                     "enc_wall_msym_s": n_c / we / 1e6, "dec_wall_msym_s": n_c / wd / 1e6})
    return rows


def fmt(v, spec=".1f"):
    return "" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs (CI smoke run)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "coders.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(12345)
    scale = 0.1 if args.quick else 1.0
    try:
        import constriction
        try:
            from importlib.metadata import version
            constriction.__version__ = version("constriction")
        except Exception:
            pass
    except ImportError:
        constriction = None

    t0 = time.perf_counter()
    binary = bench_binary(int(10_000_000 * scale), rng)
    multi = []
    multi += bench_multisym(16, int(1_000_000 * scale), 8_000, rng, constriction)
    multi += bench_multisym(256, int(100_000 * scale), 500, rng, constriction)
    elapsed = time.perf_counter() - t0

    print("Binary adaptive coder (BinContext 4/8), Mbins/s per CPU second of the coding thread")
    print(f"{'source':38s} {'overhead %':>10s} {'C++ enc':>8s} {'C++ dec':>8s} {'py enc':>8s} {'py dec':>8s}")
    for r in binary:
        print(f"{r['source']:38s} {r['overhead_pct']:+10.2f} {fmt(r.get('cpp_enc_mbins_s')):>8s} "
              f"{fmt(r.get('cpp_dec_mbins_s')):>8s} {fmt(r.get('py_enc_mbins_s')):>8s} {fmt(r.get('py_dec_mbins_s')):>8s}")
    print(f"  reference: {REFERENCE['deepcabac']}")
    print()
    print("Multi-symbol coder, Msym/s per CPU second (float probs include the float->CDF conversion)")
    print(f"{'coder':52s} {'K':>4s} {'symbols':>9s} {'enc':>6s} {'dec':>6s} {'overhead %':>10s}")
    for r in multi:
        print(f"{r['coder']:52s} {r['K']:4d} {r['symbols']:9d} {fmt(r.get('enc_msym_s')):>6s} "
              f"{fmt(r.get('dec_msym_s')):>6s} {fmt(r.get('overhead_pct'), '+.2f'):>10s}")
    print("  (wall-clock and 2-thread wall-clock figures: bench/results/coders.json)")
    if constriction is None:
        print(f"  reference (not installed): {REFERENCE['constriction']}")
    print(f"  reference: {REFERENCE['torchac']}")
    result = {
        "bench": "coders",
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "python": platform.python_version()},
        "timing": "throughput per CPU second of the coding thread (time.thread_time / CLOCK_THREAD_CPUTIME_ID);"
                  " *_wall_* fields are wall-clock on a shared machine",
        "binary": binary,
        "multisym": multi,
        "references": REFERENCE,
        "elapsed_s": elapsed,
        "quick": args.quick,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
