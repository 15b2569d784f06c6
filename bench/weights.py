"""Weight-coder bench: pcstream.weights against NNCodec 2.1.3, int8/int16 + zstd -19 and the
order-0 entropy, on the same tensors (bench/weights_models.py: MLP 64-256-256-64 and a
963k-parameter CNN, each at init, after 300 Adam steps, and a fine-tuning delta).

    python bench/weights.py [--qp -32] [--models mlp,cnn] [--nncodec-python PATH]

NNCodec runs in its own virtual environment (it needs numpy<2):
``PCSTREAM_NNCODEC_PYTHON`` or ``--nncodec-python`` names its interpreter (default
/tmp/nnc-venv/bin/python; see docs/weights.md). Without it the issue's reference figures are
printed as the anchor and marked "ref". Speeds are single-thread CPU time (time.thread_time,
best of --repeat runs) of the Python API calls, so other load on the machine affects them
less than wall time would. Writes bench/results/weights.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zstandard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcstream import weights  # noqa: E402
import weights_models  # noqa: E402

# NNCodec 2.1.3 bits/parameter at qp -32, uniform quantization, quoted in issue 3.
REFERENCE_NNCODEC = {("mlp", "init"): 5.41, ("mlp", "trained"): 5.49, ("mlp", "delta"): 1.42,
                     ("cnn", "init"): 3.73, ("cnn", "trained"): 3.92, ("cnn", "delta"): 0.106}
TARGET_RATIO = 0.97


def entropy_bits(q: np.ndarray) -> float:
    _, c = np.unique(q, return_counts=True)
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum() * q.size)


def zstd_bits(ints: list[np.ndarray]) -> int:
    parts = []
    for q in ints:
        for dt in (np.int8, np.int16, np.int32, np.int64):
            info = np.iinfo(dt)
            if q.size == 0 or (q.min() >= info.min and q.max() <= info.max):
                parts.append(q.astype(dt).tobytes())
                break
    return 8 * len(zstandard.ZstdCompressor(level=19).compress(b"".join(parts)))


def cpu_best(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.thread_time()
        out = fn()
        best = min(best, time.thread_time() - t)
    return best, out


def run_nncodec(python: str, kind: str, states: dict, qp: int) -> dict | None:
    if not python or not Path(python).exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.npz"
        np.savez(path, **{f"{s}/{n}": a for s, d in states.items() for n, a in d.items()})
        proc = subprocess.run([python, str(Path(__file__).with_name("_nncodec_runner.py")), str(path), str(qp)],
                              capture_output=True, text=True, cwd=tmp, timeout=1800)
    if proc.returncode != 0:
        print(f"NNCodec failed for {kind}: {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qp", type=int, default=-32)
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--nncodec-python", default=os.environ.get("PCSTREAM_NNCODEC_PYTHON", "/tmp/nnc-venv/bin/python"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "weights.json"))
    args = ap.parse_args()
    step = weights.step_for_qp(args.qp)

    rows = []
    for kind in args.models.split(","):
        states = weights_models.load(kind)
        nnc = run_nncodec(args.nncodec_python, kind, states, args.qp)
        for state, tensors in states.items():
            n = sum(a.size for a in tensors.values())
            t_enc, payload = cpu_best(lambda: weights.encode(tensors, qp=args.qp), args.repeat)
            t_dec, restored = cpu_best(lambda: weights.decode(payload), args.repeat)
            q = weights.decode_quantized(payload)
            ints = [weights.quantize(a, args.qp) for a in tensors.values()]
            lossless = all(np.array_equal(q[k].values, iq) for k, iq in zip(tensors, ints))
            max_err = max(float(np.max(np.abs(restored[k].astype(np.float64) - a.astype(np.float64)), initial=0.0))
                          for k, a in tensors.items())
            allq = np.concatenate([x.ravel() for x in ints])
            ours = 8 * len(payload) / n
            # Dependent (trellis) quantization at the same qp: counts only where its mean
            # squared error is not above that of uniform quantization ("equal error").
            t_enc_dq, payload_dq = cpu_best(lambda: weights.encode(tensors, qp=args.qp, dependent=True), 1)
            t_dec_dq, restored_dq = cpu_best(lambda: weights.decode(payload_dq), args.repeat)

            def sq_err(rec):
                return sum(float(np.sum((rec[k].astype(np.float64) - a.astype(np.float64)) ** 2)) for k, a in tensors.items())

            mse_u, mse_dq = sq_err(restored) / n, sq_err(restored_dq) / n
            dq_bpp = 8 * len(payload_dq) / n
            dq_counts = mse_dq <= mse_u
            best = min(ours, dq_bpp) if dq_counts else ours
            if nnc is not None:
                nnc_bpp, nnc_src = 8 * nnc[state]["bytes"] / n, "measured"
            else:
                nnc_bpp, nnc_src = REFERENCE_NNCODEC[(kind, state)], "ref"
            rows.append({
                "model": kind, "state": state, "params": int(n), "qp": args.qp,
                "ours_bpp": ours, "ours_bytes": len(payload),
                "nncodec_bpp": nnc_bpp, "nncodec_source": nnc_src,
                "nncodec_reference_bpp": REFERENCE_NNCODEC[(kind, state)],
                "ratio_vs_nncodec": ours / nnc_bpp,
                "dq_bpp": dq_bpp, "dq_mse_over_uniform_mse": mse_dq / mse_u if mse_u > 0 else 1.0,
                "dq_ratio_vs_nncodec": dq_bpp / nnc_bpp,
                "dq_encode_mparams_per_cpu_s": n / t_enc_dq / 1e6, "dq_decode_mparams_per_cpu_s": n / t_dec_dq / 1e6,
                "best_equal_error_bpp": best, "best_ratio_vs_nncodec": best / nnc_bpp,
                "uniform_mse": mse_u,
                "int_zstd19_bpp": zstd_bits(ints) / n,
                "order0_entropy_bpp": entropy_bits(allq) / n,
                "order0_per_tensor_bpp": sum(entropy_bits(x.ravel()) for x in ints) / n,
                "zero_fraction": float(np.mean(allq == 0)),
                "encode_mparams_per_cpu_s": n / t_enc / 1e6,
                "decode_mparams_per_cpu_s": n / t_dec / 1e6,
                "lossless_integers": bool(lossless),
                "max_abs_error_over_step": max_err / step,
            })

    hdr = ("| model | state | params | ours b/p | NNCodec b/p | ratio | ours DQ b/p (MSE vs uniform) | DQ ratio "
           "| int+zstd-19 | H0 | H0/tensor | enc M/s | dec M/s | DQ enc M/s |")
    print(hdr)
    print("|" + "---|" * 14)
    for r in rows:
        src = "" if r["nncodec_source"] == "measured" else " (ref)"
        print(f"| {r['model']} | {r['state']} | {r['params']} | {r['ours_bpp']:.3f} | {r['nncodec_bpp']:.3f}{src} "
              f"| {r['ratio_vs_nncodec']:.3f} | {r['dq_bpp']:.3f} ({r['dq_mse_over_uniform_mse']:.2f}x) "
              f"| {r['dq_ratio_vs_nncodec']:.3f} | {r['int_zstd19_bpp']:.3f} | {r['order0_entropy_bpp']:.3f} "
              f"| {r['order0_per_tensor_bpp']:.3f} | {r['encode_mparams_per_cpu_s']:.1f} "
              f"| {r['decode_mparams_per_cpu_s']:.1f} | {r['dq_encode_mparams_per_cpu_s']:.1f} |")
    ok_ratio = [r["ratio_vs_nncodec"] <= TARGET_RATIO for r in rows]
    ok_best = [r["best_ratio_vs_nncodec"] <= TARGET_RATIO for r in rows]
    print(f"\nratio <= {TARGET_RATIO}: uniform {sum(ok_ratio)}/{len(rows)}, best at equal error (uniform or DQ with "
          f"MSE <= uniform) {sum(ok_best)}/{len(rows)}; lossless: {all(r['lossless_integers'] for r in rows)}; "
          f"uniform max |error|/step: {max(r['max_abs_error_over_step'] for r in rows):.4f}")
    out = {"bench": "weights", "qp": args.qp, "step": step, "target_ratio": TARGET_RATIO,
           "timing": "single-thread CPU seconds (time.thread_time), best of %d" % args.repeat,
           "models": {"train_steps": weights_models.TRAIN_STEPS, "finetune_steps": weights_models.FT_STEPS,
                      "finetune_lr": weights_models.FT_LR},
           "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
