"""Attribute codecs: per-point fields coded conditioned on the decoded geometry.

Two codecs (ids from docs/interfaces.md):

* ``LOSSLESS`` (3): predictive lossless coding of any numeric field (uint8/16/32/64,
  int8/16/32/64, float32/64, 1..64 components). Bit-exact, NaN payloads included.
* ``RAHT`` (4): lossy colour (3 x uint8/uint16, coded in BT.709 Y'CbCr) or a lossy
  scalar (1 x uint8/uint16) by a region-adaptive hierarchical transform with
  inter-level prediction. ``quality`` in [0, 100]: the luma quantiser step is
  ``2 ** ((64 - quality) / 8)`` value units (64 -> step 1, each -8 doubles it).

``points`` is the (N, 3) integer geometry (coordinates in [0, 2**21)) exactly as the
decoder will see it, usually the canonical (Morton) order of the geometry decoder.
Values are coded in Morton order internally, so any order works as long as the
encoder and the decoder use the same one.

    >>> cid, payload = encode_attribute(points, rgb, mode="lossy", quality=40)
    >>> rgb2 = decode_attribute(points, cid, payload, rgb.dtype, 3)
"""
from __future__ import annotations

import numpy as np

from . import _core
from .errors import InvalidArgumentError, TruncatedError, UnsupportedError

LOSSLESS = 3
RAHT = 4
CODEC_VERSION = {LOSSLESS: 1, RAHT: 1}

# Value type codes of the payload formats (csrc/include/pcstream/attr_common.hpp).
_TYPE_CODES = {
    np.dtype("<u1"): 0, np.dtype("<u2"): 1, np.dtype("<u4"): 2, np.dtype("<u8"): 3,
    np.dtype("<i1"): 4, np.dtype("<i2"): 5, np.dtype("<i4"): 6, np.dtype("<i8"): 7,
    np.dtype("<f4"): 8, np.dtype("<f8"): 9,
}

#: Default quality of ``mode="lossy"``.
DEFAULT_QUALITY = 40.0


def _le_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind not in "uif" or dt.itemsize not in (1, 2, 4, 8) or (dt.kind == "f" and dt.itemsize < 4):
        raise InvalidArgumentError(f"attribute dtype {dt} is not supported (u1..u8, i1..i8, f4, f8)")
    return dt.newbyteorder("<")


def type_code(dtype) -> int:
    """Payload type code of a numpy dtype (raises InvalidArgumentError if unsupported)."""
    return _TYPE_CODES[_le_dtype(dtype)]


def _points(points) -> np.ndarray:
    p = np.asarray(points)
    if p.ndim != 2 or p.shape[1] != 3:
        raise InvalidArgumentError(f"points must have shape (N, 3), got {p.shape}")
    if p.dtype.kind not in "ui":
        raise InvalidArgumentError("points must be integer voxel coordinates")
    if len(p) and (p.min() < 0 or p.max() >= 1 << 21):
        raise InvalidArgumentError("point coordinates must be in [0, 2**21)")
    return np.ascontiguousarray(p, dtype=np.uint32)


def _values(values, n: int):
    v = np.asarray(values)
    if v.ndim == 1:
        comps = 1
    elif v.ndim == 2:
        comps = v.shape[1]
    else:
        raise InvalidArgumentError(f"values must have shape (N,) or (N, C), got {v.shape}")
    if v.shape[0] != n:
        raise InvalidArgumentError(f"{v.shape[0]} values for {n} points")
    if not 1 <= comps <= 64:
        raise InvalidArgumentError("values must have 1 to 64 components")
    dt = _le_dtype(v.dtype)
    raw = np.ascontiguousarray(v, dtype=dt).reshape(-1).view(np.uint8)
    return raw, dt, comps


def encode_attribute(points, values, *, mode: str = "lossless", quality: float = DEFAULT_QUALITY,
                     **options) -> tuple[int, bytes]:
    """Code ``values`` ((N,) or (N, C)) of ``points`` ((N, 3) ints). Returns (codec_id, payload).

    mode="lossless": codec 3; options ``predictor`` (-1 auto, 0 previous, 1 nearest,
    2 mean of 3 nearest) and ``window`` (1..256 earlier points searched).
    mode="lossy": codec 4 (RAHT), for 1 or 3 components of uint8/uint16; options
    ``chroma_scale`` (chroma step / luma step, default 3), ``deadzone`` (quantiser rounding
    offset, default 0.35), ``min_neighbours``, ``predict``, ``weights`` (5 integers:
    parent, face, edge, child-face, child-edge prediction weights; default (8, 3, 1, 5, 0)).
    """
    pts = _points(points)
    raw, dt, comps = _values(values, len(pts))
    code = _TYPE_CODES[dt]
    if mode == "lossless":
        return LOSSLESS, _core.attr_encode_lossless(pts, raw, code, comps, **options)
    if mode == "lossy":
        if dt.kind != "u" or dt.itemsize > 2 or comps not in (1, 3):
            raise InvalidArgumentError("lossy attributes (RAHT) need 1 or 3 components of uint8 or uint16")
        if "weights" in options:
            options["weights"] = tuple(int(w) for w in options["weights"])
        return RAHT, _core.attr_encode_raht(pts, raw, code, comps, float(quality), **options)
    raise InvalidArgumentError(f"unknown attribute mode {mode!r} (lossless or lossy)")


def decode_attribute(points, codec_id: int, payload: bytes, dtype, components: int) -> np.ndarray:
    """Decode a payload of :func:`encode_attribute` for the same ``points``.

    Returns an array of ``dtype`` (native byte order), shape (N,) for one component
    else (N, components). Bad payloads raise :class:`pcstream.errors.PcsError` subclasses.
    """
    pts = _points(points)
    dt = _le_dtype(dtype)
    components = int(components)
    if codec_id == LOSSLESS:
        raw = _core.attr_decode_lossless(pts, bytes(payload), _TYPE_CODES[dt], components)
    elif codec_id == RAHT:
        raw = _core.attr_decode_raht(pts, bytes(payload), _TYPE_CODES[dt], components)
    else:
        raise UnsupportedError(f"attribute codec id {codec_id} is not an attribute codec of this build")
    out = np.asarray(raw).view(dt).astype(dt.newbyteorder("="), copy=False)
    return out if components == 1 else out.reshape(-1, components)


#: Codec version of RAHT level-range chunks (one payload per octree level range).
RAHT_LEVELS_VERSION = 2


def default_level_his(depth: int) -> list:
    """The level ranges of the classic geometry's GEOM chunks: levels 0..depth-5 in the
    first chunk, then one chunk per level (returns the level_hi of each chunk)."""
    depth = int(depth)
    first = max(depth - 5, min(depth, 1))
    return list(range(first, depth + 1))


def encode_attribute_levels(points, values, depth: int, level_his=None, *, quality: float = DEFAULT_QUALITY,
                            **options) -> list:
    """RAHT (codec 4, version 2) in level-range chunks: returns [(level_lo, level_hi, payload)].

    ``points``: (N, 3) ints in [0, 2**depth) (the full-resolution decoded geometry);
    ``level_his``: the last level of each chunk (increasing, ending at ``depth``; default
    :func:`default_level_his`, the GEOM chunk ranges). A decoder with the geometry down to
    level L and the chunks up to level_hi <= L gets the colour of every level-L voxel
    (:class:`RahtLevelDecoder`). Options as for ``encode_attribute(mode="lossy")``."""
    pts = _points(points)
    raw, dt, comps = _values(values, len(pts))
    if dt.kind != "u" or dt.itemsize > 2 or comps not in (1, 3):
        raise InvalidArgumentError("lossy attributes (RAHT) need 1 or 3 components of uint8 or uint16")
    his = default_level_his(depth) if level_his is None else [int(h) for h in level_his]
    if "weights" in options:
        options["weights"] = tuple(int(w) for w in options["weights"])
    payloads = _core.attr_encode_raht_levels(pts, raw, _TYPE_CODES[dt], comps, float(quality), int(depth), his,
                                             **options)
    los = [0] + [h + 1 for h in his[:-1]]
    return [(lo, hi, bytes(p)) for lo, hi, p in zip(los, his, payloads)]


class RahtLevelDecoder:
    """Progressive decoder of RAHT level-range chunks (codec 4, version 2).

        dec = RahtLevelDecoder(np.uint8, 3)
        dec.set_points(points_at_level_L, L)   # geometry of a level >= the next chunk's level_hi
        dec.feed(payload)                      # chunks in order; returns the chunk's level_hi
        rgb = dec.values()                     # (M, 3): each point's ancestor colour at dec.level

    Bad chunks raise ``pcstream.errors`` subclasses and leave the decoder at its last
    complete level."""

    def __init__(self, dtype, components: int):
        self.dtype = _le_dtype(dtype)
        self.components = int(components)
        self._d = _core.RahtLevelDecoder(_TYPE_CODES[self.dtype], self.components)

    def set_points(self, points, level: int) -> None:
        self._d.set_points(_points(points), int(level))

    def feed(self, payload: bytes) -> int:
        return int(self._d.feed(bytes(payload)))

    def values(self) -> np.ndarray:
        out = np.asarray(self._d.values()).view(self.dtype).astype(self.dtype.newbyteorder("="), copy=False)
        return out if self.components == 1 else out.reshape(-1, self.components)

    @property
    def level(self) -> int:
        return int(self._d.level)

    @property
    def depth(self) -> int:
        return int(self._d.depth)

    @property
    def done(self) -> bool:
        return bool(self._d.done)


def decode_attribute_levels(points, payloads, dtype, components: int, depth: int) -> np.ndarray:
    """Decode every level-range chunk (payloads in order) on the full-resolution points."""
    dec = RahtLevelDecoder(dtype, components)
    dec.set_points(points, depth)
    for p in payloads:
        dec.feed(p)
    if not dec.done:
        raise TruncatedError(f"RAHT level-range chunks end at level {dec.level} of {depth}")
    return dec.values()


def raht_step(quality: float) -> float:
    """Luma quantiser step (value units) of a RAHT quality."""
    return float(_core.attr_raht_step(float(quality)))


__all__ = ["LOSSLESS", "RAHT", "CODEC_VERSION", "RAHT_LEVELS_VERSION", "DEFAULT_QUALITY", "encode_attribute",
           "decode_attribute", "encode_attribute_levels", "decode_attribute_levels", "RahtLevelDecoder",
           "default_level_his", "raht_step", "type_code"]
