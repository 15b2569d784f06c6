"""Learned lossy geometry (GEOM codec id 10): quantize, code losslessly, upsample.

A rate point is ``(step, omit)``:

* the integer input grid (depth D) is quantized with ``step`` S >= 1 (any real; the
  G-PCC ladder uses powers of two): ``c = floor(q / S)``; duplicates merge;
* the distinct coarse voxels are coded losslessly by the classic (id 1) or learned (id 7)
  octree codec, whichever is smaller (``inner="auto"``);
* for ``omit`` = m in 0..2 finer scales the encoder sends only the number k of occupied
  voxels; the decoder runs the learned occupancy model on the last decoded scale and keeps
  the k most probable children per scale (C++ runtime, deterministic, no torch);
* the decoder's integer voxels u (step T = S / 2^m) map back to the input grid at the
  voxel centre ``u * T + (T - 1) / 2``: the file's ``transform`` carries that rescale.

Byte layout: ``formats/learned-lossy.md``. Decoding needs numpy and the compiled core
only; the encoder's ``psnr=`` search needs scipy (nearest neighbours for D1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import _core
from .errors import CorruptPayloadError, InvalidArgumentError, LimitError, ModelMismatchError, TruncatedError, \
    UnsupportedError

CODEC_ID = 10
CODEC_VERSION = 1
HEADER_VERSION = 1
INNER_CODECS = {1: "classic", 7: "learned"}
MAX_OMIT = 2
#: Scalings of the true counts tried by ``tune_k`` (1.0 first: it wins ties).
K_FACTORS = (1.0, 0.9, 1.1, 0.8, 1.25)
DEFAULT_MAX_POINTS = 1 << 27


# --------------------------------------------------------------------------- header

def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class _Reader:
    def __init__(self, data: bytes):
        self.d, self.i = bytes(data), 0

    def u8(self, what: str) -> int:
        if self.i >= len(self.d):
            raise TruncatedError(f"learned lossy header: truncated at {what}", self.i)
        self.i += 1
        return self.d[self.i - 1]

    def raw(self, n: int, what: str) -> bytes:
        if n > len(self.d) - self.i:
            raise TruncatedError(f"learned lossy header: truncated at {what}", self.i)
        self.i += n
        return self.d[self.i - n:self.i]

    def varint(self, what: str) -> int:
        v = 0
        for shift in range(0, 64, 7):
            b = self.u8(what)
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
        raise CorruptPayloadError(f"learned lossy header: {what} varint longer than 64 bits", self.i)


@dataclass
class LossyHeader:
    inner_codec: int            # 1 classic or 7 learned: codes the coarse voxels
    coded_depth: int            # depth of the coarse voxel grid
    ks: list = field(default_factory=list)   # occupied voxels of each omitted scale
    model_id: str = ""
    model_hash: bytes = b""
    inner_header: bytes = b""

    @property
    def depth(self) -> int:
        """Depth of the decoded voxel grid (coded_depth + omitted scales)."""
        return self.coded_depth + len(self.ks)


def write_header(h: LossyHeader) -> bytes:
    out = bytearray([HEADER_VERSION, h.inner_codec, h.coded_depth, len(h.ks)])
    for k in h.ks:
        out += _varint(int(k))
    if h.ks:
        mid = h.model_id.encode("ascii")
        same = False
        if h.inner_codec == 7:          # the inner learned header already names the model: length 0
            from . import learned
            info = learned.parse_header(h.inner_header)
            same = info["model_id"] == h.model_id and bytes(info["model_hash"]) == bytes(h.model_hash)
        out += b"\0" if same else bytes([len(mid)]) + mid + bytes(h.model_hash)
    out += _varint(len(h.inner_header)) + bytes(h.inner_header)
    return bytes(out)


def parse_header(data: bytes) -> LossyHeader:
    """Typed errors: UnsupportedError (version / inner codec), CorruptPayloadError
    (field out of range, trailing bytes), TruncatedError."""
    r = _Reader(data)
    ver = r.u8("version")
    if ver != HEADER_VERSION:
        raise UnsupportedError(f"learned lossy header version {ver} (this build reads {HEADER_VERSION})")
    inner = r.u8("inner codec")
    if inner not in INNER_CODECS:
        raise UnsupportedError(f"learned lossy: inner geometry codec {inner} is not supported")
    depth = r.u8("coded depth")
    m = r.u8("omitted scales")
    if not 1 <= depth <= 21 or m > MAX_OMIT or depth + m > 21:
        raise CorruptPayloadError(f"learned lossy header: coded depth {depth} with {m} omitted scales", r.i)
    ks = [r.varint("k") for _ in range(m)]
    mid, mhash = "", b""
    same_model = False
    if m:
        n = r.u8("model id length")
        if n > 64 or (n == 0 and inner != 7):
            raise CorruptPayloadError("learned lossy header: model id length out of range", r.i)
        same_model = n == 0
        if n:
            try:
                mid = r.raw(n, "model id").decode("ascii")
            except UnicodeDecodeError:
                raise CorruptPayloadError("learned lossy header: model id is not ASCII", r.i) from None
            mhash = r.raw(32, "model hash")
    ilen = r.varint("inner header length")
    inner_header = r.raw(ilen, "inner header")
    if r.i != len(r.d):
        raise CorruptPayloadError("learned lossy header: trailing bytes", r.i)
    if same_model:                      # the inner learned stream names the model
        from . import learned
        info = learned.parse_header(inner_header)
        mid, mhash = info["model_id"], bytes(info["model_hash"])
    return LossyHeader(inner, depth, ks, mid, mhash, inner_header)


# --------------------------------------------------------------------------- helpers

def _inner_module(cid: int):
    if cid == 1:
        from . import geometry
        return geometry
    from . import learned
    return learned


def _load_model(model):
    # The lossy codec's figures were measured with the default model; it does not
    # switch models by density (see learned.choose_model).
    from . import learned
    return learned.load_model(learned.DEFAULT_MODEL_ID if model is None else model)


def _threads(threads):
    from . import learned
    return learned.DEFAULT_THREADS if threads is None else int(threads)


def upsample(model, voxels, level: int, ks, threads=None) -> np.ndarray:
    """Top-k upsampling of voxels (M,3) at ``level`` by len(ks) scales (C++ runtime)."""
    v = np.ascontiguousarray(np.asarray(voxels, dtype=np.uint32).reshape(-1, 3))
    return _core.learned_topk_upsample(_load_model(model), v, int(level), [int(k) for k in ks], _threads(threads))


def reconstruction(step: float, omit: int) -> tuple:
    """(scale, offset) in input-grid units of the decoded integer voxels u: x = u*scale + offset
    (the voxel centre of step T = step / 2**omit)."""
    t = float(step) / float(1 << int(omit))
    return t, (t - 1.0) / 2.0


def coarse_voxels(q: np.ndarray, step: float) -> np.ndarray:
    """floor(q / step) for integer input-grid points q (N,3)."""
    q = np.asarray(q, dtype=np.int64)
    s = float(step)
    if s == int(s) and int(s) & (int(s) - 1) == 0:
        return q >> (int(s).bit_length() - 1)
    return np.floor(q / s).astype(np.int64)


def _depth_of(c: np.ndarray) -> int:
    return max(1, int(c.max()).bit_length()) if c.size else 1


@dataclass
class LossyEncoded:
    header: bytes
    chunks: list                # GeometryChunk list of the inner codec
    points: np.ndarray          # (M,3) uint32 decoded voxels (the decoder's output, Morton order)
    depth: int                  # decoded grid depth
    scale: float                # decoded voxel u -> input grid: u * scale + offset
    offset: float
    voxel_of_point: np.ndarray  # int64 (N,): coarse voxel row of each input point
    parent_of_point: np.ndarray  # int64 (M,): coarse voxel row of each decoded point
    step: float = 1.0
    omit: int = 0
    inner_codec: int = 1

    @property
    def nbytes(self) -> int:
        return len(self.header) + sum(len(c.payload) for c in self.chunks)

    def xyz(self) -> np.ndarray:
        """Decoded points in input-grid units (float64)."""
        return self.points.astype(np.float64) * self.scale + self.offset


def _morton_rows(c: np.ndarray) -> np.ndarray:
    """Row order sorting integer points by Morton key (same key as the core)."""
    key = np.zeros(c.shape[0], dtype=np.uint64)
    cu = c.astype(np.uint64)
    for b in range(21):
        for a, s in ((0, 2), (1, 1), (2, 0)):
            key |= ((cu[:, a] >> np.uint64(b)) & np.uint64(1)) << np.uint64(3 * b + s)
    return np.argsort(key, kind="stable")


def _count_distinct(c: np.ndarray) -> int:
    """Distinct rows of non-negative integer points (N,3) (1-D keys: much faster than unique(axis=0))."""
    key = (c[:, 0].astype(np.int64) << 42) | (c[:, 1].astype(np.int64) << 21) | c[:, 2].astype(np.int64)
    return int(np.unique(key).shape[0])


def encode_geometry(points, depth: int | None = None, *, step: float = 1.0, omit: int = 0, inner="auto",
                    model=None, threads=None, ks=None, tune_k: bool = False,
                    _inner_cache: dict | None = None) -> LossyEncoded:
    """Lossy coding of integer points (N,3) >= 0 at rate point (step, omit).

    ``inner``: "classic", "learned" or "auto" (both, keep the smaller); ``ks`` overrides the
    sent counts (default: the true occupied-voxel counts of the omitted scales);
    ``tune_k`` (needs scipy): send the counts, among the true ones scaled by
    ``K_FACTORS``, whose decoded points have the smallest D1 error.
    """
    q = np.asarray(points)
    if q.ndim != 2 or q.shape[1] != 3 or (q.size and q.min() < 0):
        raise InvalidArgumentError("points must be non-negative integers of shape (N,3)")
    if q.shape[0] == 0:
        raise InvalidArgumentError("lossy coding needs at least one point")
    step = float(step)
    omit = int(omit)
    if not (math.isfinite(step) and step >= 1.0):
        raise InvalidArgumentError(f"step must be >= 1, got {step}")
    if not 0 <= omit <= MAX_OMIT or step / (1 << omit) < 1.0:
        raise InvalidArgumentError(f"omit must be in 0..{MAX_OMIT} with step / 2**omit >= 1 (step {step}, omit {omit})")
    c = coarse_voxels(q, step)
    d = _depth_of(c)
    if d + omit > 21:
        raise InvalidArgumentError("coarse grid too deep for the omitted scales")
    order = _morton_rows(c)
    cs = c[order]
    keep = np.ones(cs.shape[0], dtype=bool)
    keep[1:] = np.any(cs[1:] != cs[:-1], axis=1)
    coarse = cs[keep]
    vop = np.empty(q.shape[0], dtype=np.int64)
    vop[order] = np.cumsum(keep) - 1
    if ks is None:
        ks = []
        for i in range(1, omit + 1):
            ks.append(_count_distinct(coarse_voxels(q, step / (1 << i))))
    ks = [int(k) for k in ks]
    if len(ks) != omit:
        raise InvalidArgumentError("ks must give one count per omitted scale")
    cands = {"classic": [1], "learned": [7], "auto": [1, 7]}.get(inner)
    if cands is None:
        raise InvalidArgumentError(f"inner must be classic, learned or auto, got {inner!r}")
    cache_key = (step, inner)
    if _inner_cache is not None and cache_key in _inner_cache:
        cid, e = _inner_cache[cache_key]
    else:
        best = None
        for cid in cands:
            kw = {} if cid == 1 else {"model": _load_model(model), "threads": threads}
            e = _inner_module(cid).encode_geometry(coarse.astype(np.uint32), d, **kw)
            size = len(e.header) + sum(len(x.payload) for x in e.chunks)
            if best is None or size < best[0]:
                best = (size, cid, e)
        _, cid, e = best
        if _inner_cache is not None:
            _inner_cache[cache_key] = (cid, e)
    mid, mhash = "", b""
    if omit:
        m = _load_model(model)
        mid, mhash = m.id, bytes(m.hash)
    if omit:
        scale, offset = reconstruction(step, omit)
        best = None
        tree = None
        if tune_k:
            try:
                from scipy.spatial import cKDTree
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise InvalidArgumentError("tune_k needs scipy (pip install scipy)") from exc
            tree = cKDTree(np.asarray(q, dtype=np.float64))
        for f in (K_FACTORS if tune_k else (1.0,)):
            kf, prev = [], coarse.shape[0]
            for k in ks:
                kf.append(int(min(8 * prev, max(prev, round(k * f)))))
                prev = kf[-1]
            pts_f = upsample(model, coarse, d, kf, threads)
            err = d1_mse(q, pts_f.astype(np.float64) * scale + offset, tree) if tune_k else 0.0
            if best is None or err < best[0]:
                best = (err, kf, pts_f)
        _, ks, pts = best
        parent = _parent_rows(coarse, pts.astype(np.int64) >> omit)
    else:
        pts = coarse.astype(np.uint32)
        parent = np.arange(coarse.shape[0], dtype=np.int64)
    header = write_header(LossyHeader(cid, d, ks, mid, mhash, bytes(e.header)))
    scale, offset = reconstruction(step, omit)
    return LossyEncoded(header, list(e.chunks), pts, d + omit, scale, offset, vop, parent, step, omit, cid)


def _parent_rows(coarse: np.ndarray, anc: np.ndarray) -> np.ndarray:
    """Row of each ancestor (in `coarse`, Morton order) of the decoded points."""
    w = int(max(int(coarse.max()), int(anc.max()) if anc.size else 0)).bit_length() + 1
    key_c = (coarse[:, 0] << (2 * w)) | (coarse[:, 1] << w) | coarse[:, 2]
    key_a = (anc[:, 0] << (2 * w)) | (anc[:, 1] << w) | anc[:, 2]
    srt = np.argsort(key_c)
    pos = np.searchsorted(key_c[srt], key_a)
    return srt[np.minimum(pos, len(srt) - 1)]


# --------------------------------------------------------------------------- decoder

class LossyGeometryDecoder:
    """Progressive decoder of codec 10: the inner codec's levels, then (once all chunks
    are in) the top-k upsampled scales. ``points()``: (M,3) uint32 at ``level``."""

    def __init__(self, header: bytes, *, max_points: int = DEFAULT_MAX_POINTS, model=None, threads=None):
        self.h = parse_header(header)
        self.max_points = int(max_points)
        for k in self.h.ks:
            if k > self.max_points:
                raise LimitError(f"learned lossy: {k} voxels exceed the decoder limit of {self.max_points}")
        self._model = None
        if self.h.ks:
            m = _load_model(self.h.model_id if model is None else model)
            if m.id != self.h.model_id or bytes(m.hash) != self.h.model_hash:
                raise ModelMismatchError(f"the stream needs learned model {self.h.model_id!r}, the decoder has {m.id!r}")
            self._model = m
        self._threads = threads
        mod = _inner_module(self.h.inner_codec)
        cls = mod.GeometryDecoder if self.h.inner_codec == 1 else mod.LearnedGeometryDecoder
        self._inner = cls(self.h.inner_header, max_points=self.max_points)
        if int(self._inner.depth) != self.h.coded_depth:
            raise CorruptPayloadError("learned lossy: inner header depth differs from the coded depth")
        self._final = None

    @property
    def chunks_expected(self) -> int:
        return int(getattr(self._inner, "chunks_expected", 0) or 0)

    @property
    def depth(self) -> int:
        return self.h.depth

    @property
    def done(self) -> bool:
        return bool(self._inner.done)

    @property
    def level(self) -> int:
        return self.h.depth if self._inner.done else int(self._inner.level)

    def feed(self, payload: bytes) -> None:
        self._inner.feed(payload)
        if self._inner.done and self.h.ks:
            self._final = upsample(self._model, np.asarray(self._inner.points()), self.h.coded_depth, self.h.ks,
                                   self._threads)

    def points(self) -> np.ndarray:
        if self._final is not None:
            return self._final
        p = np.asarray(self._inner.points())
        if self._inner.done and p.shape[0] > 1:        # coarse voxels are distinct; drop any duplicate
            keep = np.ones(p.shape[0], dtype=bool)
            keep[1:] = np.any(p[1:] != p[:-1], axis=1)
            p = p[keep]
        return p


def decode_geometry(header: bytes, payloads, *, model=None, threads=None,
                    max_points: int = DEFAULT_MAX_POINTS) -> np.ndarray:
    """Decoded voxels (M,3) uint32 at the header's depth, Morton order."""
    d = LossyGeometryDecoder(header, model=model, threads=threads, max_points=max_points)
    for p in payloads:
        d.feed(p)
    if not d.done:
        raise TruncatedError("learned lossy geometry: chunks missing")
    return d.points()


# --------------------------------------------------------------------------- distortion, rate search

def d1_psnr(ref, rec, peak: float) -> float:
    """MPEG D1 (point-to-point) PSNR: 10*log10(3*peak^2 / MSE), MSE the larger of the two
    directions' mean squared nearest-neighbour distances. Needs scipy."""
    mse = d1_mse(ref, rec)
    if mse == 0.0:
        return float("inf")
    return 10.0 * math.log10(3.0 * float(peak) ** 2 / mse)


def d1_mse(ref, rec, ref_tree=None) -> float:
    """The D1 MSE: the larger of the two directions' mean squared nearest-neighbour distances
    (``ref_tree``: a cKDTree of ``ref`` to reuse)."""
    try:
        from scipy.spatial import cKDTree
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InvalidArgumentError("D1 PSNR needs scipy (pip install scipy)") from exc
    a = np.asarray(ref, dtype=np.float64)
    b = np.asarray(rec, dtype=np.float64)
    dab, _ = cKDTree(b).query(a, k=1, workers=-1)
    dba, _ = (ref_tree if ref_tree is not None else cKDTree(a)).query(b, k=1, workers=-1)
    return max(float(np.mean(dab ** 2)), float(np.mean(dba ** 2)))


def _steps(depth: int) -> list:
    """Steps of the rate search: powers of two and the sqrt(2) steps between them (rounded to
    1/1000), up to a coarse grid of about 2 bits."""
    top = max(1, depth - 1)
    return [1.0] + [round(2.0 ** (j / 2.0), 3) for j in range(1, 2 * top - 1)]


def choose(points, depth: int, *, bpp: float | None = None, psnr: float | None = None, peak: float | None = None,
           inner="auto", model=None, threads=None, steps=None, tune_k: bool = False) -> tuple:
    """The rate point for a target: ``bpp`` (bits per input point: the finest step of the
    ladder (powers of two and sqrt(2) steps) whose stream fits, with the omitted-scale count
    of best D1) or ``psnr`` (D1 dB: the coarsest
    step, and the fewest bits, reaching it; binary search over the steps). Returns
    (LossyEncoded, table) with table rows (step, omit, bpp, psnr)."""
    if (bpp is None) == (psnr is None):
        raise InvalidArgumentError("give exactly one of bpp= or psnr=")
    q = np.asarray(points, dtype=np.int64)
    n = q.shape[0]
    if n == 0:
        raise InvalidArgumentError("lossy coding needs at least one point")
    peak = float((1 << depth) - 1) if peak is None else float(peak)
    steps = sorted(steps or _steps(depth))
    rows: list = []
    cache: dict = {}
    inner_cache: dict = {}
    encs: dict = {}

    def at_step(step):
        """Best (by D1, then size) encoding at one step over its omitted-scale counts."""
        if step in cache:
            return cache[step]
        best = None
        for omit in [m for m in range(0, MAX_OMIT + 1) if step / (1 << m) >= 1.0]:
            e = encode_geometry(q, depth, step=step, omit=omit, inner=inner, model=model, threads=threads,
                                tune_k=tune_k, _inner_cache=inner_cache)
            p = d1_psnr(q, e.xyz(), peak)
            rows.append((step, omit, 8.0 * e.nbytes / n, p))
            encs[(step, omit)] = e
            if best is None or p > best[1]:
                best = (e, p)
        cache[step] = best
        return best

    if bpp is not None:
        # Rate depends on the step only (the counts cost a few bytes): finest fitting step.
        lo, hi = 0, len(steps) - 1
        fit = None
        while lo <= hi:
            mid = (lo + hi) // 2
            e = encode_geometry(q, depth, step=steps[mid], omit=0, inner=inner, model=model, threads=threads,
                                _inner_cache=inner_cache)
            if 8.0 * (e.nbytes + 32) / n <= bpp:
                fit, hi = mid, mid - 1
            else:
                lo = mid + 1
        if fit is None:
            raise InvalidArgumentError(f"no rate point at or below {bpp} bpp (the coarsest step gives more)")
        e, _ = at_step(steps[fit])
        if 8.0 * e.nbytes / n > bpp:                     # the counts tipped it over: plain quantization
            e = encode_geometry(q, depth, step=steps[fit], omit=0, inner=inner, model=model, threads=threads,
                                _inner_cache=inner_cache)
        return e, rows
    lo, hi = 0, len(steps) - 1
    found = None
    while lo <= hi:                                      # coarsest step whose best D1 reaches psnr
        mid = (lo + hi) // 2
        e, p = at_step(steps[mid])
        if p >= psnr:
            found, lo = mid, mid + 1
        else:
            hi = mid - 1
    if found is None:
        return at_step(steps[0])[0], rows                # unreachable target: the finest point
    step = steps[found]
    reach = [r for r in rows if r[0] == step and r[3] >= psnr]
    omit = min(reach, key=lambda r: r[2])[1]
    return encs[(step, omit)], rows


def encode_for_api(q, depth: int, *, bpp=None, psnr=None, rate=None, peak=None, inner="auto", model=None,
                   threads=None, tune_k: bool = False) -> LossyEncoded:
    """The encoding behind ``pcstream.encode(lossy=True, bpp=|psnr=|rate=)``."""
    if sum(v is not None for v in (bpp, psnr, rate)) != 1:
        raise InvalidArgumentError("give exactly one of bpp=, psnr= or rate=(step, omit)")
    if rate is not None:
        try:
            step, omit = rate
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"rate must be (step, omit), got {rate!r}") from None
        return encode_geometry(q, depth, step=step, omit=omit, inner=inner, model=model, threads=threads,
                               tune_k=tune_k)
    return choose(q, depth, bpp=bpp, psnr=psnr, peak=peak, inner=inner, model=model, threads=threads,
                  tune_k=tune_k)[0]
