"""Classic octree geometry codec (GEOM chunks, codec id 1).

Encodes integer points in ``[0, 2**depth)^3`` as a header plus a list of
chunks, coarse levels first; any prefix of the chunks decodes to the points
of the deepest level it completes. Lossless coding keeps the exact multiset of
points (duplicates included); ``levels < depth`` keeps only the first
``levels`` octree levels (lossy). Decoded points are in canonical Morton
order, duplicates adjacent. Byte layout: ``formats/geometry-classic.md``.

Example::

    enc = encode_geometry(xyz, depth=10)
    xyz2 = decode_geometry(enc.header, [c.payload for c in enc.chunks])
    assert (xyz2 == xyz[enc.order]).all()
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _core
from .errors import InvalidArgumentError, TruncatedError

__all__ = [
    "GeometryChunk",
    "EncodedGeometry",
    "encode_geometry",
    "GeometryDecoder",
    "decode_geometry",
    "DEFAULT_MAX_POINTS",
    "MAX_DEPTH",
]

#: Decoder limit on the number of points a header may announce.
DEFAULT_MAX_POINTS = 1 << 27
#: Deepest octree supported (bits per coordinate).
MAX_DEPTH = 21


@dataclass
class GeometryChunk:
    level_lo: int      # first octree level completed by this chunk (level 0 = root)
    level_hi: int      # last level completed (inclusive)
    payload: bytes
    point_count: int   # occupied voxels at level_hi (points incl. duplicates for the final lossless chunk)


@dataclass
class EncodedGeometry:
    header: bytes              # codec parameters; stored in metadata "geometry_header"
    chunks: list               # list[GeometryChunk]
    order: np.ndarray          # int64 (N,): decoded_points[i] == input_points[order[i]] (lossless)
    voxel_of_point: "np.ndarray | None"  # lossy: int64 (N,) index of each input point's decoded voxel


def _as_points(points, depth: int) -> np.ndarray:
    a = np.asarray(points)
    if a.ndim != 2 or a.shape[1] != 3:
        if a.size == 0:
            return np.zeros((0, 3), np.uint32)
        raise InvalidArgumentError(f"points must have shape (N, 3), got {a.shape}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.array_equal(a, np.round(a)):
            raise InvalidArgumentError("float points must hold integer values (quantize them first)")
    elif a.dtype.kind not in "iu" and a.dtype != np.bool_:
        raise InvalidArgumentError(f"points must be integers, got dtype {a.dtype}")
    if a.size:
        lo, hi = a.min(), a.max()
        if lo < 0 or hi >= (1 << depth):
            raise InvalidArgumentError(
                f"coordinates must lie in [0, 2**{depth}) = [0, {1 << depth}), got [{lo}, {hi}]")
    return np.ascontiguousarray(a, dtype=np.uint32)


def _checked_depth(depth) -> int:
    depth = int(depth)
    if not 0 <= depth <= MAX_DEPTH:
        raise InvalidArgumentError(f"depth must be in [0, {MAX_DEPTH}], got {depth}")
    return depth


def _core_chunks(chunks) -> "list[GeometryChunk]":
    """The compiled encoders' [(level_lo, level_hi, payload, point_count)] as GeometryChunks."""
    return [GeometryChunk(int(lo), int(hi), payload, int(n)) for lo, hi, payload, n in chunks]


def encode_geometry(points, depth: int, *, levels: "int | None" = None, direct_mode: bool = True,
                    first_chunk_levels: "int | None" = None) -> EncodedGeometry:
    """Encode integer points (N, 3) in ``[0, 2**depth)``.

    ``levels``: keep only the first ``levels`` octree levels (lossy; decoded
    points are then voxel coordinates at that level, i.e. ``p >> (depth - levels)``).
    ``direct_mode``: code isolated nodes with few points directly (helps sparse data).
    ``first_chunk_levels``: levels grouped in the first chunk (default: depth - 5).
    """
    depth = _checked_depth(depth)
    if levels is not None and not 0 <= int(levels) <= depth:
        raise InvalidArgumentError(f"levels must be in [0, depth={depth}], got {levels}")
    pts = _as_points(points, depth)
    header, chunks, order, vop = _core.geometry_encode(
        pts, depth, -1 if levels is None else int(levels), bool(direct_mode),
        -1 if first_chunk_levels is None else int(first_chunk_levels))
    return EncodedGeometry(
        header=header,
        chunks=_core_chunks(chunks),
        order=np.asarray(order, dtype=np.int64),
        voxel_of_point=None if vop is None else np.asarray(vop, dtype=np.int64),
    )


class _CoreDecoderView:
    """Python face of a compiled progressive geometry decoder held in ``self._d``."""

    def feed(self, payload: bytes) -> None:
        """Decode the next GEOM chunk."""
        self._d.feed(bytes(payload))

    @property
    def level(self) -> int:
        """Deepest complete octree level."""
        return self._d.level

    @property
    def depth(self) -> int:
        return self._d.depth

    @property
    def done(self) -> bool:
        return self._d.done

    def points(self) -> np.ndarray:
        """(M, 3) uint32 voxel coordinates at ``level`` in Morton order; all points
        (with duplicates) once done and lossless."""
        return self._d.points()


class _OctreeDecoderView(_CoreDecoderView):
    """A compiled octree decoder (codec 1 or 11) built from ``_CORE(header, max_points, max_depth)``."""

    _CORE = None

    def __init__(self, header: bytes, *, max_points: int = DEFAULT_MAX_POINTS, max_depth: int = MAX_DEPTH):
        self._d = self._CORE(bytes(header), int(max_points), int(max_depth))

    @property
    def coded_levels(self) -> int:
        """Level reached when all chunks are decoded (== depth when lossless)."""
        return self._d.coded_levels

    @property
    def point_count(self) -> int:
        """Points of the full decode as announced by the header."""
        return self._d.point_count


def _decode_all(dec: _OctreeDecoderView, payloads, allow_partial: bool) -> np.ndarray:
    """Feeds every payload; TruncatedError (with ``partial``) when the chunks end early, unless allowed."""
    for p in payloads:
        dec.feed(p)
    pts = dec.points()
    if not dec.done and not allow_partial:
        raise TruncatedError(f"geometry chunks end at level {dec.level} of {dec.coded_levels}", partial=pts)
    return pts


class GeometryDecoder(_OctreeDecoderView):
    """Progressive decoder: feed chunk payloads in order, read points at any time.

    Raises (from ``pcstream.errors``): ``UnsupportedError`` for an unknown header
    version, ``LimitError`` when the header exceeds ``max_points``/``max_depth``,
    ``CorruptPayloadError``/``TruncatedError`` for damaged chunks (the decoder
    then keeps its last complete level and accepts no further chunks).
    """

    _CORE = _core.GeometryDecoder


def decode_geometry(header: bytes, payloads, *, allow_partial: bool = False,
                    max_points: int = DEFAULT_MAX_POINTS) -> np.ndarray:
    """Decode a header and its chunk payloads to (M, 3) uint32 points.

    If the payloads end before the last level, raises ``TruncatedError`` whose
    ``partial`` holds the points of the deepest complete level, unless
    ``allow_partial`` is set (then those points are returned).
    """
    return _decode_all(GeometryDecoder(header, max_points=max_points), payloads, allow_partial)
