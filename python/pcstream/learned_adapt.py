"""Instance-adaptive fine-tuning of the learned geometry codec (encoder option ``--adapt``).

The encoder tunes the linear layers of the model's four prediction heads on the input
it codes and sends the change as a delta:

1. one teacher-forced forward pass of the frozen model (the C++ runtime) gives, for every
   model-coded nibble (all levels, all four coding steps), the inputs of the head's linear
   layers and the true symbol (``_core.learned_head_samples``; rows subsampled with a
   fixed stride past ``max_rows``);
2. ``steps`` Adam steps in numpy minimise the coding cost of those symbols in bits
   (multinomial logistic regression on the cached features: grad = Xᵀ(softmax − onehot))
   plus an L1 penalty on the delta;
3. the delta is quantized with step 2^-8 (weight coder qp = -32) and coded with
   :mod:`pcstream.weights` (WGHT payload, codec 5); the adapted model is built from that
   payload by the core (``_core.learned_adapt_model``), exactly as the decoder builds it,
   and the geometry is coded with it (header version 2 records the payload's SHA-256);
4. the adapted stream is kept only when it is smaller, weight payload and container
   overhead included, than the unadapted one; if tuning both layers of the heads does not
   pay, the final layers alone are tried (half the weights), else the unadapted stream
   is written unchanged.

numpy only: no torch is needed to encode or decode. Format: ``formats/learned-geometry.md``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import msgpack
import numpy as np

from . import _core, weights
from .errors import InvalidArgumentError
from .geometry import EncodedGeometry, GeometryChunk

#: Optimizer steps of the default encode (a few seconds per frame of ~100-300k points).
DEFAULT_STEPS = 100
#: Head-input rows kept for the fit (all steps together); a fixed stride subsamples past it.
DEFAULT_MAX_ROWS = 40_000
#: Layers tuned in every head ("fc2" = the final linear layer, "fc1" = the one before);
#: when that does not pay, the encoder tries the final layer alone.
DEFAULT_LAYERS = ("fc1", "fc2")
FALLBACK_LAYERS = ("fc2",)
#: Adam learning rate and the L1 penalty in bits per quantization step of |delta|.
LEARNING_RATE = 0.02
L1_BITS = 0.5
#: Bytes charged to an adapted stream beyond its payloads when deciding whether to keep it:
#: the WGHT chunk's framing and index entry in the container (196 bytes measured, rounded
#: up); the "learned_adapt" metadata entry (only written when kept) is added to it.
CHUNK_OVERHEAD_BYTES = 256

QP = int(_core.learned_adapt_qp)
STEP = 2.0 ** (QP / 4)
MAX_MAGNITUDE = int(_core.learned_adapt_max_magnitude)


@dataclass
class AdaptReport:
    """What adaptation did for one encode (also written to the file's metadata)."""

    model_id: str
    kept: bool
    steps: int
    layers: tuple
    tensors: list = field(default_factory=list)     # names carried by the delta
    weight_bytes: int = 0                            # WGHT payload
    geometry_bytes: int = 0                          # header + GEOM payloads with the adapted model
    geometry_bytes_unadapted: int = 0                # header + GEOM payloads without adaptation
    rows: int = 0                                    # head-input rows used by the fit
    seconds: float = 0.0

    def metadata(self) -> dict:
        return {"model": self.model_id, "tensors": list(self.tensors), "kept": bool(self.kept),
                "steps": int(self.steps), "weight_bytes": int(self.weight_bytes),
                "geometry_bytes": int(self.geometry_bytes),
                "geometry_bytes_unadapted": int(self.geometry_bytes_unadapted)}


@dataclass
class AdaptedGeometry(EncodedGeometry):
    """An :class:`EncodedGeometry` plus the WGHT payload (None when adaptation was not
    kept) that must be stored before the GEOM chunks, and the report."""

    weights: "bytes | None" = None
    report: "AdaptReport | None" = None


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class _Adam:
    def __init__(self, params: dict, lr: float):
        self.lr = lr
        self.t = 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        c1, c2 = 1 - 0.9 ** self.t, 1 - 0.999 ** self.t
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            params[k] -= self.lr * (m / c1) / (np.sqrt(v / c2) + 1e-8)


def _mm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x @ y in numpy's own single-threaded loops. These products are small (16 columns);
    a multi-threaded BLAS spends far more time waiting for its threads than computing
    (6x slower measured on a busy 2-core machine), and the fixed loops keep the fit
    independent of the BLAS thread count."""
    return np.einsum("ij,jk->ik", x, y, optimize=False)


def _mm_t(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x.T @ y (see _mm)."""
    return np.einsum("ji,jk->ik", x, y, optimize=False)


def _head_cost(base: dict, delta: dict, a, h, y, scale, layers, want_grad: bool):
    """Bits of one head's symbols `y` (times `scale`) and the gradient w.r.t. the delta."""
    W2, b2 = base["fc2.weight"] + delta["fc2.weight"], base["fc2.bias"] + delta["fc2.bias"]
    if "fc1" in layers:
        pre = _mm(a, base["fc1.weight"] + delta["fc1.weight"]) + (base["fc1.bias"] + delta["fc1.bias"])
        h = np.maximum(pre, 0)
    z = _mm(h, W2) + b2
    p = _softmax(z)
    rows = np.arange(y.shape[0])
    ln2 = np.float32(np.log(2.0))
    bits = -np.log(np.maximum(p[rows, y], 1e-30)).sum() / ln2 * scale
    if not want_grad:
        return float(bits), None
    p[rows, y] -= 1
    g = p
    g *= np.float32(scale / ln2)
    grads = {"fc2.weight": _mm_t(h, g), "fc2.bias": g.sum(axis=0)}
    if "fc1" in layers:
        gh = _mm(g, np.ascontiguousarray(W2.T)) * (pre > 0)
        grads["fc1.weight"] = _mm_t(a, gh)
        grads["fc1.bias"] = gh.sum(axis=0)
    return float(bits), grads


def _progress_bar(steps: int, show: bool):
    """tqdm on stderr; `disable` keeps the same object quiet when no bar is wanted."""
    from tqdm import tqdm
    return tqdm(total=steps, desc="adapt", unit="step", file=sys.stderr, leave=False, disable=not show)


def fit_delta(model, samples: dict, *, steps: int = DEFAULT_STEPS, layers=DEFAULT_LAYERS,
              lr: float | None = None, l1_bits: float | None = None, progress=None) -> dict:
    """Quantized delta {tensor name: int64 array} fitted to ``samples`` (from
    ``_core.learned_head_samples``); all-zero tensors are left out."""
    lr = LEARNING_RATE if lr is None else float(lr)
    l1_bits = L1_BITS if l1_bits is None else float(l1_bits)
    layers = tuple(sorted(set(layers)))
    if not layers or any(x not in ("fc1", "fc2") for x in layers):
        raise InvalidArgumentError(f"layers must be a subset of ('fc1', 'fc2'), got {layers!r}")
    scale = float(samples["stride"])
    heads = []
    for s in range(4):
        sel = samples["step"] == s
        n = int(sel.sum())
        base = {f"{l}.{p}": _core.learned_model_tensor(model, f"head{s}.{l}.{p}").astype(np.float32)
                for l in ("fc1", "fc2") for p in ("weight", "bias")}
        delta = {k: np.zeros_like(v) for k, v in base.items() if k.split(".")[0] in layers}
        for k in base:
            delta.setdefault(k, np.zeros_like(base[k]))
        y = samples["symbol"][sel].astype(np.int64)
        tuned = {k: delta[k] for k in delta if k.split(".")[0] in layers}
        heads.append(dict(base=base, delta=delta, tuned=tuned, opt=_Adam(tuned, lr),
                          a=np.ascontiguousarray(samples["fc1_in"][sel]),
                          h=np.ascontiguousarray(samples["fc2_in"][sel]), y=y, n=n))
    if progress is None:
        progress = sys.stderr.isatty()
    bar = _progress_bar(steps, bool(progress))
    lam = np.float32(l1_bits / STEP)
    for _ in range(steps):
        total = 0.0
        for hd in heads:
            if hd["n"] == 0:
                continue
            bits, grads = _head_cost(hd["base"], hd["delta"], hd["a"], hd["h"], hd["y"], scale, layers, True)
            total += bits
            for k in grads:
                grads[k] += lam * np.sign(hd["delta"][k])
            hd["opt"].step(hd["tuned"], grads)
        bar.update(1)
        bar.set_postfix(bits=f"{total:.0f}", refresh=False)
    bar.close()
    out = {}
    for s, hd in enumerate(heads):
        for k in sorted(hd["tuned"]):
            q = np.clip(np.rint(hd["tuned"][k] / STEP), -MAX_MAGNITUDE, MAX_MAGNITUDE).astype(np.int64)
            if q.any():
                out[f"head{s}.{k}"] = q
    return {k: out[k] for k in _core.learned_adaptable_tensors() if k in out}


def delta_payload(delta: dict) -> bytes:
    """The WGHT payload of a quantized delta (tensors in the format's order)."""
    order = [k for k in _core.learned_adaptable_tensors() if k in delta]
    if len(order) != len(delta):
        raise InvalidArgumentError(f"not adaptable: {sorted(set(delta) - set(order))}")
    return weights.encode_quantized({k: np.asarray(delta[k], np.int64) for k in order}, qp=QP, dtype=np.float32)


def _size(header: bytes, chunks) -> int:
    return len(header) + sum(len(c[3]) for c in chunks)


def encode_geometry_adapted(points: np.ndarray, depth: int, model, *, threads: int, min_learned_voxels: int,
                            steps: int | None = None, layers=None, max_rows: int | None = None,
                            l1_bits: float | None = None, progress=None, refine: bool = True,
                            mix: bool = True, prior: bool = True) -> AdaptedGeometry:
    """Encode with adaptation; keeps the adapted stream only if it is smaller (see module doc).
    ``points``: (N,3) uint32, already validated. ``layers``: the layers to tune, or None
    for the default: both layers of every head, then, if that does not pay, ``fc2`` alone
    (half the weights: it pays on inputs whose gain is small)."""
    t0 = time.perf_counter()
    steps = DEFAULT_STEPS if steps is None else int(steps)
    candidates = [DEFAULT_LAYERS, FALLBACK_LAYERS] if layers is None else [tuple(layers)]
    max_rows = DEFAULT_MAX_ROWS if max_rows is None else int(max_rows)
    if steps < 0:
        raise InvalidArgumentError(f"adapt steps must be >= 0, got {steps}")
    plain = _core.learned_encode(model, points, int(depth), threads, min_learned_voxels, refine, mix, prior)
    report = AdaptReport(model_id=model.id, kept=False, steps=steps, layers=tuple(candidates[0]),
                         geometry_bytes_unadapted=_size(plain[0], plain[1]))
    best, payload = plain, None
    samples = None
    if steps > 0 and len(points):
        samples = _core.learned_head_samples(model, points, int(depth), threads, min_learned_voxels, int(max_rows))
        report.rows = int(samples["step"].shape[0])
    for lay in candidates if report.rows else []:
        delta = fit_delta(model, samples, steps=steps, layers=lay, l1_bits=l1_bits, progress=progress)
        if not delta:
            continue
        trial = _core.learned_adapt_model(model, delta_payload(delta))
        enc = _core.learned_encode(trial, points, int(depth), threads, min_learned_voxels, refine, mix, prior)
        wbytes, gbytes = len(delta_payload(delta)), _size(enc[0], enc[1])
        if report.weight_bytes and wbytes + gbytes >= report.weight_bytes + report.geometry_bytes:
            continue                                  # an earlier candidate was smaller
        report.layers, report.tensors = tuple(lay), list(delta)
        report.weight_bytes, report.geometry_bytes = wbytes, gbytes
        report.kept = True                            # as the metadata entry would then read
        overhead = CHUNK_OVERHEAD_BYTES + len(msgpack.packb({"learned_adapt": report.metadata()}, use_bin_type=True))
        report.kept = gbytes + wbytes + overhead < report.geometry_bytes_unadapted
        if report.kept:
            best, payload = enc, delta_payload(delta)
            break
    if not report.kept:
        payload = None
        report.geometry_bytes = report.geometry_bytes or report.geometry_bytes_unadapted
    report.seconds = time.perf_counter() - t0
    header, chunks, order = best
    return AdaptedGeometry(
        header=header,
        chunks=[GeometryChunk(level_lo=lo, level_hi=hi, payload=p, point_count=c) for lo, hi, c, p in chunks],
        order=np.asarray(order, dtype=np.int64), voxel_of_point=None, weights=payload, report=report)
