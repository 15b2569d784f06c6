"""Learned octree geometry codec (codec id 7), decodable without torch.

Mirrors :mod:`pcstream.geometry`: ``encode_geometry`` returns an
:class:`EncodedGeometry` (header + chunks + order), ``LearnedGeometryDecoder``
decodes chunk by chunk, ``decode_geometry`` all at once. The occupancy model is
a ``.pcsm`` file (shipped ones live in ``pcstream/models``); its id and SHA-256
are recorded in the header, and decoding with other weights raises
:class:`pcstream.errors.ModelMismatchError`. A model may ship a context prior
(``<id>.pcsp`` beside it, built by ``python -m pcstream.learn.prior``): streams
coded with it record its SHA-256 too.

    enc = encode_geometry(points, depth=10)          # shipped default model
    pts = decode_geometry(enc.header, [c.payload for c in enc.chunks])
    assert (pts == points[enc.order]).all()
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from . import _core
from .errors import InvalidArgumentError, ModelMismatchError

from .geometry import EncodedGeometry, GeometryChunk, _as_points, _CoreDecoderView

CODEC_ID = 7
CODEC_VERSION = 1
MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_ID = "occ16-v1"
#: Shipped model for dense voxelised surfaces, chosen by ``choose_model`` when installed.
DENSE_MODEL_ID = "occd32-v1"
#: Points per occupied 4x4x4 cell at or above which a cloud counts as a dense surface
#: (measured: redandblack 13.7; Kinect frame 5.1, office scan 2.8; LiDAR at 1 mm, airborne LAS,
#: splat centres 1.0-1.4).
DENSE_MIN_POINTS_PER_CELL = 6.0
#: Shipped model for LiDAR sweeps (trained on spinning LiDAR only), chosen by ``choose_model``
#: for sparse clouds coded with at least ``LIDAR_MIN_DEPTH`` bits per axis when installed.
LIDAR_MODEL_ID = "occl32-v1"
#: Sparse clouds this deep are scanner sweeps at millimetre-to-centimetre precision over tens
#: of metres (KITTI and nuScenes at 1 mm: 17-18 bits); splat centres, RGB-D frames and room
#: scans are coded at 10-12 bits, where the universal model is 0.5-0.8 % smaller.
LIDAR_MIN_DEPTH = 15
#: Decoder limit on points (as the classic codec): bounds memory on hostile headers.
DEFAULT_MAX_POINTS = 1 << 27
#: Threads for the runtime; results are identical for any value.
DEFAULT_THREADS = max(1, min(2, os.cpu_count() or 1))

_cache: dict = {}
_lock = threading.Lock()


def available_models() -> dict[str, Path]:
    """Shipped models: id -> path."""
    out = {}
    for p in sorted(MODELS_DIR.glob("*.pcsm")):
        out[p.stem] = p
    return out


def load_model(model=None) -> "_core.LearnedModel":
    """A parsed model: None (default), a shipped id, a path, .pcsm bytes or a LearnedModel.
    A shipped id or a path loads the context prior ``<stem>.pcsp`` beside the model too,
    when there is one (bytes load the model alone)."""
    if isinstance(model, _core.LearnedModel):
        return model
    if isinstance(model, (bytes, bytearray)):
        return _core.LearnedModel(bytes(model))
    if model is None:
        model = DEFAULT_MODEL_ID
    path = Path(model) if (os.sep in str(model) or str(model).endswith(".pcsm")) else available_models().get(str(model))
    if path is None:
        raise ModelMismatchError(f"learned model {model!r} is not installed (have: {sorted(available_models())})")
    key = str(Path(path).resolve())
    with _lock:
        if key not in _cache:
            prior = Path(path).with_suffix(".pcsp")
            _cache[key] = _core.LearnedModel(Path(path).read_bytes(),
                                             prior.read_bytes() if prior.is_file() else None)
        return _cache[key]


def choose_model(points: np.ndarray, depth: int) -> str:
    """The shipped model for this cloud: ``DENSE_MODEL_ID`` for dense voxelised surfaces
    (mean points per occupied 4x4x4 cell >= ``DENSE_MIN_POINTS_PER_CELL``); for sparse clouds
    ``LIDAR_MODEL_ID`` when ``depth >= LIDAR_MIN_DEPTH``, else ``DEFAULT_MODEL_ID`` (trained
    on sparse and dense data). A model that is not installed falls back to the default. The
    choice is recorded in the stream (model id and hash), so decoders need no rule."""
    pts = np.asarray(points)
    have = available_models()
    if depth < 3 or len(pts) == 0:
        return DEFAULT_MODEL_ID
    cells = pts.astype(np.int64) >> 2
    key = (cells[:, 0] << 42) | (cells[:, 1] << 21) | cells[:, 2]
    per_cell = len(pts) / len(np.unique(key))
    if per_cell >= DENSE_MIN_POINTS_PER_CELL:
        return DENSE_MODEL_ID if DENSE_MODEL_ID in have else DEFAULT_MODEL_ID
    if depth >= LIDAR_MIN_DEPTH and LIDAR_MODEL_ID in have:
        return LIDAR_MODEL_ID
    return DEFAULT_MODEL_ID


def parse_header(header: bytes) -> dict:
    """depth, learned_start, model_id, model_hash, point_count, adapted, refined (version 3/4),
    mixed (versions 5-8), prior and prior_digest (versions 7/8) of a learned header."""
    return _core.learned_parse_header(bytes(header))


def encode_geometry(points, depth: int, *, levels=None, model=None, threads: int | None = None,
                    min_learned_voxels: int | None = None, adapt: bool = False, adapt_steps: int | None = None,
                    progress=None, refine: bool = True, mix: bool = True, prior: bool = True) -> EncodedGeometry:
    """Lossless learned coding of integer points (N,3) in [0, 2**depth).

    ``model=None`` picks the shipped model by density (``choose_model``).
    By default the nibbles are coded through the context mixer (header version 5, or 6
    when adapted): the model's probabilities, their adaptive refinement and counters of the
    decoded neighbourhood mixed per bit (about 10 % smaller than version 3 on dense frames,
    0.5-1 % on LiDAR; decoding takes about twice the time). ``mix=False`` writes the refined
    version 3/4 stream, ``refine=False`` the version 1/2 stream of the first release.
    When the model ships a context prior (the dense model does) the mixer also reads it
    (header version 7, or 8 when adapted; 4.3 % smaller on the held-out dense frame);
    ``prior=False`` leaves it out.

    ``min_learned_voxels`` (testing/benchmarks): levels with fewer voxels use the
    adaptive binary coder instead of the model (default 64; a huge value codes
    everything without the model).
    ``adapt=True`` fine-tunes the heads on this input (``pcstream.learned_adapt``,
    ``adapt_steps`` optimizer steps, tqdm bar on stderr when ``progress``): the result is
    an ``AdaptedGeometry`` whose ``weights`` (a WGHT payload, or None when adaptation did
    not pay) must be stored before the GEOM chunks, and ``report`` says what it saved.
    """
    if levels is not None and levels != depth:
        raise InvalidArgumentError("the learned codec is lossless only (levels must equal depth)")
    pts = _as_points(points, int(depth))
    m = load_model(choose_model(pts, int(depth)) if model is None else model)
    t = DEFAULT_THREADS if threads is None else int(threads)
    mlv = _core.learned_default_min_voxels if min_learned_voxels is None else int(min_learned_voxels)
    if adapt:
        from .learned_adapt import encode_geometry_adapted
        if m.adapted:
            raise InvalidArgumentError("adapt=True needs a base model, not an adapted one")
        return encode_geometry_adapted(pts, int(depth), m, threads=t, min_learned_voxels=mlv, steps=adapt_steps,
                                       progress=progress, refine=refine, mix=mix, prior=prior)
    header, chunks, order = _core.learned_encode(m, pts, int(depth), t, mlv, bool(refine), bool(mix), bool(prior))
    return EncodedGeometry(
        header=header,
        chunks=[GeometryChunk(level_lo=lo, level_hi=hi, payload=p, point_count=c) for lo, hi, c, p in chunks],
        order=np.asarray(order, dtype=np.int64),
        voxel_of_point=None,
    )


class LearnedGeometryDecoder(_CoreDecoderView):
    """Progressive decoder: feed GEOM payloads in order; ``points()`` at the current level.

    A stream coded with an adapted model (header version 2) needs its WGHT payload
    first: ``feed_weights(payload)`` checks it against the header's SHA-256
    (ChecksumError otherwise) and applies the delta (CorruptPayloadError for a bad
    one); GEOM payloads fed before raise CorruptPayloadError. Other streams ignore
    ``feed_weights``.
    """

    def __init__(self, header: bytes, *, max_points: int = DEFAULT_MAX_POINTS, model=None,
                 threads: int | None = None):
        info = parse_header(header)
        if model is None:
            model = info["model_id"]
        m = load_model(model)
        if m.id != info["model_id"] or m.hash != info["model_hash"]:
            raise ModelMismatchError(
                f"the stream was coded with learned model {info['model_id']!r} "
                f"(sha256 {info['model_hash'].hex()[:16]}...), the decoder has {m.id!r} "
                f"(sha256 {m.hash.hex()[:16]}...)")
        t = DEFAULT_THREADS if threads is None else int(threads)
        self._header, self._model, self._max_points, self._threads = bytes(header), m, int(max_points), t
        self.adapted = bool(info.get("adapted"))
        self._digest = info.get("adapt_digest", b"")
        self._d = None if self.adapted else _core.LearnedDecoder(self._header, m, self._max_points, t)
        self._depth = int(info["depth"])
        self._expected = 0 if info["point_count"] == 0 else 1 + self._depth - int(info["learned_start"])

    def feed_weights(self, payload: bytes) -> None:
        """The WGHT payload of an adapted stream (before any GEOM payload)."""
        if not self.adapted:
            return
        if self._d is not None:
            from .errors import CorruptPayloadError
            raise CorruptPayloadError("adapted learned geometry: a second WGHT payload")
        import hashlib
        payload = bytes(payload)
        if hashlib.sha256(payload).digest() != self._digest:
            from .errors import ChecksumError
            raise ChecksumError("adapted learned geometry: the WGHT payload does not match the header's SHA-256")
        adapted = _core.learned_adapt_model(self._model, payload)
        self._d = _core.LearnedDecoder(self._header, adapted, self._max_points, self._threads)

    def feed(self, payload: bytes) -> None:
        if self._d is None:
            from .errors import CorruptPayloadError
            raise CorruptPayloadError("adapted learned geometry: its WGHT chunk must come before the GEOM chunks")
        self._d.feed(bytes(payload))

    @property
    def level(self) -> int:
        return 0 if self._d is None else self._d.level

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def done(self) -> bool:
        return self._expected == 0 if self._d is None else self._d.done

    def points(self):
        if self._d is None:
            return np.zeros((1 if self._expected else 0, 3), np.uint32)
        return self._d.points()

    @property
    def chunks_expected(self) -> int:
        return self._expected


def decode_geometry(header: bytes, payloads, *, model=None, threads: int | None = None,
                    max_points: int = DEFAULT_MAX_POINTS, weights: bytes | None = None) -> np.ndarray:
    """All points (M,3) uint32 in Morton order, duplicates adjacent. ``weights``: the
    WGHT payload of an adapted stream (``AdaptedGeometry.weights``)."""
    d = LearnedGeometryDecoder(header, model=model, threads=threads, max_points=max_points)
    if weights is not None:
        d.feed_weights(weights)
    payloads = list(payloads)
    if len(payloads) != d.chunks_expected:
        from .errors import TruncatedError
        raise TruncatedError(f"learned geometry needs {d.chunks_expected} chunks, got {len(payloads)}")
    for p in payloads:
        d.feed(p)
    return d.points()
