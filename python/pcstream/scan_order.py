"""Scan-order codecs: GEOM codec 8 (scan-order geometry) and ATTR codec 9 (scan-order
attributes). Byte layout: ``formats/scan-order.md``.

Points are coded in their input (acquisition) order, each predicted from the points
before it, LASzip-style but with more context modelling: x/y from the median of the
recent deltas of the same pulse class (return number / number of returns), z from the
nearest earlier point in the plane or from the previous return of the same pulse;
attributes from the previous point, the last point of the same pulse class or the
nearest earlier point in space; GPS times through a cache of recent time deltas.
The LAS pulse structure (return number, number of returns) is coded inside the GEOM
chunk (the "pulse channel") and used as context by geometry and attributes; the ATTR
chunks of those two fields then only refer to it. Every ATTR chunk depends on the
geometry alone, so any attribute can be stripped.

Decoded points come back in the input order (``order`` is the identity), so
``pcstream pack --keep-order`` costs nothing in this mode. There are no octree levels:
the one GEOM chunk decodes to the full-resolution points (a progressive decoder gets
one update). Lossless only.

Example::

    enc = encode_geometry(q, depth=17, pulse=np.stack([ret, nret], 1))
    dec = ScanOrderGeometryDecoder(enc.header)
    dec.feed(enc.chunks[0].payload)
    assert (dec.points() == q).all() and (dec.pulse == np.stack([ret, nret], 1)).all()
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _core, attr_codecs
from .errors import CorruptPayloadError, InvalidArgumentError, TruncatedError
from .geometry import DEFAULT_MAX_POINTS, MAX_DEPTH, EncodedGeometry, GeometryChunk, _as_points

__all__ = ["GEOMETRY_CODEC_ID", "ATTRIBUTE_CODEC_ID", "CODEC_VERSION", "encode_geometry", "decode_geometry",
           "ScanOrderGeometryDecoder", "pulse_from_attributes", "attribute_applies"]

GEOMETRY_CODEC_ID = 8
ATTRIBUTE_CODEC_ID = 9
CODEC_VERSION = 1
#: Attribute names whose values form the pulse channel (LAS return number, number of returns).
PULSE_FIELDS = ("return_number", "number_of_returns")
#: Most components an ATTR codec 9 stream carries.
MAX_COMPONENTS = 4


@dataclass
class ScanEncodedGeometry(EncodedGeometry):
    pulse: "np.ndarray | None" = None   # (N, 2) uint8 pulse channel coded in the GEOM chunk


def pulse_from_attributes(attributes: dict):
    """The (N, 2) uint8 pulse channel from LAS-style attributes, or None when the two
    fields are absent or do not fit in 0..255."""
    if not all(k in attributes for k in PULSE_FIELDS):
        return None
    cols = []
    for k in PULSE_FIELDS:
        a = np.asarray(attributes[k])
        if a.ndim != 1 or a.dtype.kind not in "iub" or (a.size and (a.min() < 0 or a.max() > 255)):
            return None
        cols.append(a.astype(np.uint8))
    return np.ascontiguousarray(np.stack(cols, axis=1))


def encode_geometry(points, depth: int, *, levels: "int | None" = None, pulse=None, z_mode: int = -1,
                    cell: int = 0) -> ScanEncodedGeometry:
    """Encode integer points (N, 3) in ``[0, 2**depth)`` in their given order.

    ``pulse``: optional (N, 2) return number / number of returns (0..255) coded with the
    points and used as context. ``z_mode`` (-1 = try all, 0..2) and ``cell`` (neighbour
    grid cell in grid units, 0 = from the point spacing) are encoder choices stored in the
    payload. ``levels`` must be None or ``depth``: the codec is lossless only."""
    depth = int(depth)
    if not 0 <= depth <= MAX_DEPTH:
        raise InvalidArgumentError(f"depth must be in [0, {MAX_DEPTH}], got {depth}")
    if levels is not None and int(levels) != depth:
        raise InvalidArgumentError("scan-order geometry (codec 8) is lossless only: levels must be None")
    pts = _as_points(points, depth)
    n = pts.shape[0]
    pl = None
    if pulse is not None:
        pl = np.asarray(pulse)
        if pl.shape != (n, 2) or pl.dtype.kind not in "iub" or (pl.size and (pl.min() < 0 or pl.max() > 255)):
            raise InvalidArgumentError(f"pulse must be (N, 2) integers in 0..255, got shape {pl.shape}")
        pl = np.ascontiguousarray(pl, dtype=np.uint8)
    header, payload = _core.scan_geometry_encode(pts, depth, pl, int(z_mode), int(cell))
    return ScanEncodedGeometry(header=header, chunks=[GeometryChunk(0, depth, payload, n)],
                               order=np.arange(n, dtype=np.int64), voxel_of_point=None, pulse=pl)


class ScanOrderGeometryDecoder:
    """Decoder of GEOM codec 8 with the progressive-decoder interface of
    :class:`pcstream.geometry.GeometryDecoder`: one chunk holds every point, so after
    ``feed`` the decoder is ``done`` at ``level == depth``. ``points()`` are in the input
    order; ``pulse`` is the (N, 2) pulse channel or None.

    Raises ``UnsupportedError`` (header version), ``ReservedBitsError``, ``LimitError``
    (more than ``max_points``), ``CorruptPayloadError`` / ``TruncatedError`` (damaged
    payload), ``CorruptPayloadError`` for a second chunk."""

    def __init__(self, header: bytes, *, max_points: int = DEFAULT_MAX_POINTS, max_depth: int = MAX_DEPTH):
        self._header = bytes(header)
        n, depth, has_pulse = _core.scan_geometry_header(self._header, int(max_points))
        if depth > max_depth:
            raise CorruptPayloadError(f"scan-order geometry depth {depth} exceeds the limit {max_depth}")
        self._max_points = int(max_points)
        self._n, self._depth = int(n), int(depth)
        self._points = np.zeros((0, 3), np.uint32)
        self.pulse = None
        self._done = False

    def feed(self, payload: bytes) -> None:
        if self._done:
            raise CorruptPayloadError("scan-order geometry has one GEOM chunk; got another")
        pts, pulse = _core.scan_geometry_decode(self._header, bytes(payload), self._max_points)
        self._points, self.pulse, self._done = pts, pulse, True

    @property
    def level(self) -> int:
        return self._depth if self._done else 0

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def coded_levels(self) -> int:
        return self._depth

    @property
    def point_count(self) -> int:
        return self._n

    @property
    def done(self) -> bool:
        return self._done

    def points(self) -> np.ndarray:
        """(N, 3) uint32 points in the input order (empty before the chunk is fed)."""
        return self._points


def decode_geometry(header: bytes, payloads, *, max_points: int = DEFAULT_MAX_POINTS) -> np.ndarray:
    dec = ScanOrderGeometryDecoder(header, max_points=max_points)
    for p in payloads:
        dec.feed(p)
    if not dec.done:
        raise TruncatedError("scan-order geometry: the GEOM chunk is missing")
    return dec.points()


# --------------------------------------------------------------------------- ATTR codec 9

def attribute_applies(values) -> bool:
    v = np.asarray(values)
    comps = 1 if v.ndim == 1 else v.shape[1]
    return v.ndim in (1, 2) and v.dtype.kind in "biuf" and v.dtype.itemsize <= 8 and 1 <= comps <= MAX_COMPONENTS


def _to_u64(values) -> np.ndarray:
    """Values as 64-bit patterns: integers sign/zero-extended, floats as IEEE bits."""
    v = np.asarray(values)
    v2 = v.reshape(v.shape[0], 1 if v.ndim == 1 else v.shape[1])
    if v.dtype.kind == "f":
        bits = {2: np.uint16, 4: np.uint32, 8: np.uint64}[v.dtype.itemsize]
        return np.ascontiguousarray(v2.astype(v.dtype.newbyteorder("=")).view(bits).astype(np.uint64))
    if v.dtype.kind == "b":
        return np.ascontiguousarray(v2.astype(np.uint64))
    if v.dtype.kind == "i":
        return np.ascontiguousarray(v2.astype(np.int64).view(np.uint64))
    return np.ascontiguousarray(v2.astype(np.uint64))


def _from_u64(u: np.ndarray, dtype) -> np.ndarray:
    """Inverse of _to_u64; CorruptPayloadError when a value does not fit the dtype."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        bits = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
        if dt.itemsize < 8 and u.size and int(u.max()) >> (8 * dt.itemsize):
            raise CorruptPayloadError(f"scan-order attribute: decoded value does not fit {dt}")
        return u.astype(bits).view(dt.newbyteorder("=")).astype(dt)
    if dt.kind == "b":
        if u.size and int(u.max()) > 1:
            raise CorruptPayloadError("scan-order attribute: decoded value is not a bool")
        return u.astype(bool)
    if dt.kind == "i":
        s = u.view(np.int64)
        info = np.iinfo(dt)
        if s.size and (int(s.min()) < info.min or int(s.max()) > info.max):
            raise CorruptPayloadError(f"scan-order attribute: decoded value does not fit {dt}")
        return s.astype(dt)
    info = np.iinfo(dt)
    if u.size and int(u.max()) > info.max:
        raise CorruptPayloadError(f"scan-order attribute: decoded value does not fit {dt}")
    return u.astype(dt)


#: Codec 9 payloads up to this size go in the attribute's metadata entry, not in a chunk.
INLINE_MAX_BYTES = 64


def inline_payload(payload: bytes) -> bool:
    """True for codec 9 payloads of at most INLINE_MAX_BYTES (constants, pulse references,
    near-constant fields): the API keeps them in the attribute's metadata entry
    (``params["inline"]``) instead of an ATTR chunk, whose header and index entry would
    cost ~190 bytes more."""
    return 2 <= len(payload) <= INLINE_MAX_BYTES


def _attr_encode(values, *, points, params, context=None):
    if not attribute_applies(values):
        raise InvalidArgumentError("scan-order attributes take 1..4 numeric components of at most 64 bits")
    opts = dict(params or {})
    payload = _core.scan_attr_encode(np.ascontiguousarray(points, dtype=np.uint32), context, _to_u64(values),
                                     int(opts.get("model", -1)), int(opts.get("predictor", -1)))
    return payload, {}


def _attr_decode(payload, *, count, dtype, components, points, params, context=None):
    if not 1 <= int(components) <= MAX_COMPONENTS:
        raise CorruptPayloadError(f"scan-order attribute: {components} components (1..{MAX_COMPONENTS})")
    pts = np.ascontiguousarray(points, dtype=np.uint32).reshape(-1, 3)
    if pts.shape[0] != count:
        raise CorruptPayloadError(f"scan-order attribute: {count} values for {pts.shape[0]} points")
    u = _core.scan_attr_decode(pts, context, bytes(payload), int(components))
    return _from_u64(np.asarray(u), dtype)


# Codec 9 needs the pulse channel of the scan-order geometry: the API passes it as `context`.
_attr_encode.needs_context = True
_attr_decode.needs_context = True
attr_codecs.register(attr_codecs.AttributeCodec(ATTRIBUTE_CODEC_ID, "scan", _attr_encode, _attr_decode,
                                                lossless=True, version=CODEC_VERSION))
