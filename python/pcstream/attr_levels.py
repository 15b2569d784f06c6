"""Attribute streams split into octree level ranges (one ATTR chunk per attribute and
level range), for the API layer (pcstream.api).

Writing: :func:`encode_stream` codes one attribute into ATTR chunk pieces, by level
range where the codec supports it (RAHT, codec 4 version 2) and as one full-resolution
chunk otherwise; :func:`interleave` puts every ATTR chunk right after the first GEOM
chunk that completes its level_hi, so a prefix of the file carries the colours of the
levels it holds, and a server can still strip any stream (all its chunks share a
stream_id) or the fine levels of one.

Reading: :class:`AttributeStreams` collects the ATTR chunks as they arrive and gives the
attributes of the decoded points at any level: level-range streams the values of each
point's ancestor at the finest level range decoded so far (``levels[name]``), the other
streams only at full resolution.

The ``levels`` codec option (``attribute_options={"rgb": {"quality": 30, "levels": ...}}``)
chooses the ranges of a level-range codec: ``"coarse"`` (default): the first GEOM
chunk's levels 0..depth-5, then the rest in one chunk (+1.3 % colour bits on
loot_vox10_1200, see docs/attributes.md); ``"geometry"``: one chunk per GEOM chunk
(colour at every level, +12 %); ``"single"``: one chunk; or a list of level_hi values.
"""
from __future__ import annotations

import numpy as np

from . import attr_codecs
from .errors import CorruptPayloadError, InvalidArgumentError, TruncatedError, UnsupportedError

LEVEL_POLICIES = ("coarse", "geometry", "single")


def level_his(option, geometry_his: list, final_level: int) -> list:
    """The level_hi of each chunk for the ``levels`` option (see the module docstring)."""
    geo = sorted({int(h) for h in geometry_his if 0 < int(h) <= final_level})
    if option is None or option == "coarse":
        his = geo[:1]
    elif option == "geometry":
        his = geo
    elif option == "single":
        his = []
    elif isinstance(option, (list, tuple)):
        try:
            his = [int(h) for h in option]
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"levels must be a list of integers, got {option!r}") from None
        if any(not 0 < h <= final_level for h in his) or his != sorted(set(his)):
            raise InvalidArgumentError(f"levels {his} must increase within 1..{final_level}")
    else:
        raise InvalidArgumentError(f"levels must be one of {', '.join(LEVEL_POLICIES)} or a list, got {option!r}")
    his = [h for h in his if h < final_level]
    return his + [int(final_level)]


def _voxels_at(points: np.ndarray, shift: int) -> int:
    """Distinct voxels of Morton-ordered points `shift` levels coarser."""
    if shift <= 0 or len(points) == 0:
        return int(len(points))
    c = np.asarray(points, dtype=np.int64) >> shift
    return int(1 + np.count_nonzero(np.any(c[1:] != c[:-1], axis=1)))


def encode_stream(codec, values, points, options: dict, geometry_his: list, final_level: int, *,
                  single: bool = False, context=None):
    """-> ([(level_lo, level_hi, payload, codec_version, point_count)], params) of one attribute.
    Level-capable codecs write one payload per level range unless `single`; the others
    (and `single`) one full-resolution payload. `context` goes to codecs that need it
    (scan order: the pulse channel)."""
    opts = dict(options or {})
    levels = opts.pop("levels", None)
    if codec.encode_levels is not None and not single:
        his = level_his(levels, geometry_his, final_level)
        pieces, params = codec.encode_levels(values, points=points, params=opts, depth=int(final_level),
                                             level_his=his)
        out = [(int(lo), int(hi), bytes(p), codec.levels_version, _voxels_at(points, final_level - int(hi)))
               for lo, hi, p in pieces]
        return out, params
    kw = {"context": context} if getattr(codec.encode, "needs_context", False) else {}
    payload, params = codec.encode(values, points=points, params=opts, **kw)
    return [(int(final_level), int(final_level), bytes(payload), plain_version(codec), int(len(points)))], params


def plain_version(codec) -> int:
    """Codec version of a full-resolution payload (codec.encode); a level-capable codec's
    `version` is that of its newest (level-range) payloads."""
    if not codec.levels_version:
        return int(codec.version)
    from . import attributes as attr_mod
    return int(attr_mod.CODEC_VERSION.get(codec.codec_id, 1))


def interleave(geom_chunks: list, attr_chunks: list) -> list:
    """GEOM chunks in order, each ATTR chunk right after the first GEOM chunk whose
    level_hi reaches its level_hi (stream order, then level order, kept)."""
    if not geom_chunks:
        return list(geom_chunks) + list(attr_chunks)
    out, pending = [], list(attr_chunks)
    for i, g in enumerate(geom_chunks):
        out.append(g)
        last = i == len(geom_chunks) - 1
        out += [c for c in pending if last or c.level_hi <= g.level_hi]
        pending = [c for c in pending if not (last or c.level_hi <= g.level_hi)]
    return out


class AttributeStreams:
    """ATTR chunks of one file, by stream, and their decoding at any decoded level."""

    def __init__(self, schema: list):
        self.schema = list(schema or [])
        self.chunks: dict = {}      # stream id -> [(codec_id, version, payload, level_lo, level_hi)]
        self._dec: dict = {}        # stream id -> (level decoder, chunks fed)
        self.context = None         # passed to codecs that need it (scan order: the pulse channel)

    def add(self, stream_id: int, codec_id: int, payload: bytes, version: int = 1, level_lo=None,
            level_hi=None) -> None:
        self.chunks.setdefault(int(stream_id), []).append(
            (int(codec_id), int(version), payload, level_lo, level_hi))

    def _codec(self, sid: int):
        codec_id, version = self.chunks[sid][-1][:2]
        codec = attr_codecs.get(codec_id)
        if version > codec.version:
            raise UnsupportedError(f"attribute {self.schema[sid]['name']!r}: codec {codec_id} version {version} is "
                                   f"newer than this build supports ({codec.version})")
        return codec

    def levelled(self, sid: int) -> bool:
        """Stream coded in level ranges (decodable below full resolution)."""
        if sid not in self.chunks:
            return False
        codec = self._codec(sid)
        return codec.level_decoder is not None and self.chunks[sid][0][1] >= codec.levels_version > 0

    def present(self) -> bool:
        """Every stream of the schema has at least one chunk."""
        return all(sid in self.chunks for sid in range(len(self.schema)))

    def ready(self, final_level: int) -> bool:
        """Every stream of the schema is complete at `final_level`."""
        for sid in range(len(self.schema)):
            if sid not in self.chunks:
                return False
            if self.levelled(sid) and max(int(c[4] or 0) for c in self.chunks[sid]) < final_level:
                return False
        return True

    def _level_values(self, sid: int, points: np.ndarray, level: int):
        """(values, attribute level) of a level-range stream at `level`, or None."""
        a = self.schema[sid]
        dec, fed = self._dec.get(sid, (None, 0))
        if dec is None:
            dec = self._codec(sid).level_decoder(a["dtype"], int(a["components"]))
        todo = [c for c in self.chunks[sid][fed:]]
        todo = todo[:next((k for k, c in enumerate(todo) if int(c[4] or 0) > level), len(todo))]
        if (not todo and dec.level < 0) or level < dec.level:
            return None
        dec.set_points(points, level)
        try:
            for c in todo:
                got = dec.feed(c[2])
                if c[4] is not None and got != int(c[4]):
                    raise CorruptPayloadError(f"attribute {a['name']!r}: ATTR chunk of levels up to {c[4]} "
                                              f"holds levels up to {got}")
                fed += 1
        finally:
            self._dec[sid] = (dec, fed)
        return dec.values(), dec.level

    def values(self, points: np.ndarray, level: int, full: bool) -> tuple:
        """(attributes, levels) of `points` (decoded order) at `level`; `full`: the points
        are the full-resolution decode and every stream must be present."""
        out, levels = {}, {}
        count = int(points.shape[0])
        for sid, a in enumerate(self.schema):
            comps = int(a["components"])
            if sid not in self.chunks:
                if full:
                    raise TruncatedError(f"attribute stream {a['name']!r} is missing")
                continue
            if self.levelled(sid):
                got = self._level_values(sid, points, level)
                if got is None:
                    continue
                vals, levels[a["name"]] = got
            elif full:
                codec = self._codec(sid)
                kw = {"context": self.context} if getattr(codec.decode, "needs_context", False) else {}
                vals = codec.decode(self.chunks[sid][-1][2], count=count, dtype=a["dtype"], components=comps,
                                    points=points, params=a.get("params") or {}, **kw)
                levels[a["name"]] = level
            else:
                continue
            vals = np.asarray(vals).reshape(count, comps)
            if a.get("shape", "scalar" if comps == 1 else "vector") == "scalar" and comps == 1:
                vals = vals.reshape(count)
            out[a["name"]] = vals
        return out, levels
