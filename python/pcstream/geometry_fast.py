"""Fast octree geometry codec (GEOM chunks, codec id 11): lossless, several points per voxel.

The octree of the classic codec (codec 1); per level the encoder codes the occupancy bytes
either as 8-bit symbols with static-table rANS (tables stored per level, optionally one
per number of occupied face neighbours) or, on small or structured levels, as adaptive
binary decisions (``adaptive=False`` turns that off); duplicate counts are a list of the
leaves with more than one point. About ten times faster to decode than codec 1 for 1-3 %
more bytes. Same interface as ``pcstream.geometry``; byte layout: ``formats/geometry-fast.md``.

Example::

    enc = encode_geometry(xyz, depth=10)
    xyz2 = decode_geometry(enc.header, [c.payload for c in enc.chunks])
    assert (xyz2 == xyz[enc.order]).all()
"""
from __future__ import annotations

import numpy as np

from . import _core
from .errors import InvalidArgumentError
from .geometry import (DEFAULT_MAX_POINTS, EncodedGeometry, _as_points, _checked_depth, _core_chunks, _decode_all,
                       _OctreeDecoderView)

__all__ = ["CODEC_ID", "encode_geometry", "FastGeometryDecoder", "decode_geometry"]

CODEC_ID = 11


def encode_geometry(points, depth: int, *, levels: "int | None" = None, context_levels: "int | None" = None,
                    first_chunk_levels: "int | None" = None, adaptive: bool = True) -> EncodedGeometry:
    """Encode integer points (N, 3) in ``[0, 2**depth)`` losslessly.

    ``levels`` must be None or ``depth`` (the codec is lossless only).
    ``context_levels``: levels 1..K coded with the neighbour-count context (default: chosen
    by the encoder). ``first_chunk_levels``: levels grouped in the first chunk (default: depth - 5).
    ``adaptive=False``: static-table levels only (decodes faster, a few % more bytes on small clouds).
    """
    depth = _checked_depth(depth)
    if levels is not None and int(levels) != depth:
        raise InvalidArgumentError("the fast octree geometry codec is lossless only (levels must equal depth)")
    if context_levels is not None and not 0 <= int(context_levels) <= depth:
        raise InvalidArgumentError(f"context_levels must be in [0, depth={depth}], got {context_levels}")
    pts = _as_points(points, depth)
    header, chunks, order = _core.fast_geometry_encode(
        pts, depth, -1 if context_levels is None else int(context_levels),
        -1 if first_chunk_levels is None else int(first_chunk_levels), bool(adaptive))
    return EncodedGeometry(header=header,
                           chunks=_core_chunks(chunks),
                           order=np.asarray(order, dtype=np.int64), voxel_of_point=None)


class FastGeometryDecoder(_OctreeDecoderView):
    """Progressive decoder: feed chunk payloads in order, read points at any time.

    Raises (from ``pcstream.errors``): ``UnsupportedError`` for an unknown header version,
    ``LimitError`` when the header exceeds ``max_points``/``max_depth``,
    ``CorruptPayloadError``/``TruncatedError`` for damaged chunks (the
    decoder then keeps its last complete chunk and accepts no further chunks).
    """

    _CORE = _core.FastGeometryDecoder

    @property
    def context_levels(self) -> int:
        """Levels 1..K coded with the neighbour-count context."""
        return self._d.context_levels


def decode_geometry(header: bytes, payloads, *, allow_partial: bool = False,
                    max_points: int = DEFAULT_MAX_POINTS) -> np.ndarray:
    """Decode a header and its chunk payloads to (M, 3) uint32 points (Morton order, duplicates
    adjacent). Missing chunks raise ``TruncatedError`` (its ``partial`` holds the deepest complete
    level) unless ``allow_partial``."""
    return _decode_all(FastGeometryDecoder(header, max_points=max_points), payloads, allow_partial)
