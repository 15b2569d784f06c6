"""Splat scenes in the `.pcs` container: GEOM chunks of the fast octree geometry codec
(codec 11; `geometry_codec=1` for the classic codec) and SPLT chunks (codec 6), one per
attribute group / LoD level, in progressive order.

    pack(scene, "scene.pcs", quality=0.5)       # or bytes = pack(scene)
    scene = unpack("scene.pcs")                  # path, bytes or file object
    is_splat_metadata(PcsReader.open(p).metadata)

Metadata keys: the common ones of docs/interfaces.md (`point_count`, `depth`, `transform`,
`bbox`, `geometry_codec` (11 or 1), `geometry_header`, `attributes`) plus `splats`: the SPLT
stream header (formats/splats.md). SPLT chunk `stream_id` = group id (1 opacity+DC,
2 scale+rotation, 2+b SH band b); LoD chunks have stream_id 0 and level_lo = level_hi = L.
"""
from __future__ import annotations

import struct

import msgpack
import numpy as np

from .. import __version__
from ..errors import CorruptPayloadError, InvalidArgumentError, TruncatedError, UnsupportedError
from . import codec
from .scene import SplatScene

CLASSIC_GEOMETRY_CODEC = 1
FAST_GEOMETRY_CODEC = 11

ATTRIBUTES = [
    {"name": "splat_lod", "dtype": "<i4", "components": 0, "codec": codec.CODEC_ID, "params": {}},
    {"name": "splat_opacity_dc", "dtype": "<i4", "components": 4, "codec": codec.CODEC_ID, "params": {}},
    {"name": "splat_scale_rotation", "dtype": "<i4", "components": 7, "codec": codec.CODEC_ID, "params": {}},
    {"name": "splat_sh1", "dtype": "<i4", "components": 9, "codec": codec.CODEC_ID, "params": {}},
    {"name": "splat_sh2", "dtype": "<i4", "components": 15, "codec": codec.CODEC_ID, "params": {}},
    {"name": "splat_sh3", "dtype": "<i4", "components": 21, "codec": codec.CODEC_ID, "params": {}},
]


def is_splat_metadata(md) -> bool:
    return isinstance(md, dict) and "splats" in md


#: GEOM codec ids of splat positions: the fast octree codec (default) and the classic one.
GEOMETRY_CODECS = {FAST_GEOMETRY_CODEC: "octree-fast", CLASSIC_GEOMETRY_CODEC: "octree"}


def pack(scene: SplatScene, dest=None, *, quality=0.5, geometry_codec=FAST_GEOMETRY_CODEC, **kw):
    """Encode `scene` into a .pcs container; writes to `dest` (path or file) or returns bytes.

    geometry_codec: 11 (fast octree geometry, default) or 1 (classic octree geometry: about
    1.7 % fewer position bytes, ten times slower to decode)."""
    from ..container import Chunk, PcsWriter, write_pcs
    if geometry_codec not in GEOMETRY_CODECS:
        raise InvalidArgumentError(f"geometry_codec must be one of {sorted(GEOMETRY_CODECS)}, got {geometry_codec!r}")
    mode = GEOMETRY_CODECS[geometry_codec]
    if kw.get("positions", mode) != mode:
        raise InvalidArgumentError(".pcs splat scenes code positions with an octree geometry codec "
                                   "(choose it with geometry_codec=11 or 1)")
    parts: dict = {}
    codec.encode(scene, quality, _parts=parts, **{**kw, "positions": mode})
    h = parts["header"]
    n = int(h["n"])
    step = float(h["pos_step"])
    pos = scene.positions.astype(np.float64)
    bbox = [float(x) for x in np.r_[pos.min(0), pos.max(0)]] if n else [0.0] * 6
    ghead, gchunks = parts["geometry"]
    md = {
        "producer": f"pcstream {__version__}", "point_count": n, "depth": int(h["depth"]),
        "transform": {"scale": [step] * 3, "offset": list(h["origin"])}, "units": "unknown",
        "axes": "unknown", "bbox": bbox, "geometry_codec": geometry_codec, "geometry_header": bytes(ghead),
        "attributes": ATTRIBUTES[:3 + int(h["sh"])], "splats": h,
        "source": {k: v for k, v in scene.extra.items() if isinstance(v, (str, int, float, bool))},
    }
    lod_chunks = [Chunk(b"SPLT", codec.CODEC_ID, codec.FORMAT_VERSION, p, level_lo=p[0], level_hi=p[0],
                        point_count=struct.unpack_from("<I", p, 1)[0], stream_id=0)
                  for t, p in parts["chunks"] if t == b"LODL"]
    chunks = []
    # Geometry first; each LoD level right after the geometry chunk that completes its level.
    for gp, lo, hi, cnt in gchunks:
        chunks.append(Chunk(b"GEOM", geometry_codec, 1, bytes(gp), level_lo=lo, level_hi=hi, point_count=cnt))
        while lod_chunks and lod_chunks[0].level_lo <= hi:
            chunks.append(lod_chunks.pop(0))
    chunks += lod_chunks
    for typ, payload in parts["chunks"]:
        if typ == b"SPLT":
            chunks.append(Chunk(b"SPLT", codec.CODEC_ID, codec.FORMAT_VERSION, payload, level_lo=int(h["depth"]),
                                level_hi=int(h["depth"]), point_count=n, stream_id=payload[0],
                                decoded_size=n * 4 * ATTRIBUTES[payload[0]]["components"]))
    if dest is None:
        return write_pcs(md, chunks)
    with PcsWriter(dest, md) as w:
        for c in chunks:
            w.add_chunk(c)
    return None


def _stream_from(md: dict, chunks: list) -> bytes:
    """Rebuild the stand-alone SPLT stream from container chunks (in file order)."""
    h = md.get("splats")
    if not isinstance(h, dict):
        raise CorruptPayloadError("not a splat scene: metadata has no 'splats' header")
    ghead = md.get("geometry_header")
    if not isinstance(ghead, (bytes, bytearray)):
        raise CorruptPayloadError("splat scene: metadata has no geometry header")
    lods = [c for c in chunks if c.type == b"SPLT" and c.stream_id == 0]
    geom = [c.payload for c in chunks if c.type == b"GEOM"]
    groups = [c for c in chunks if c.type == b"SPLT" and c.stream_id != 0]
    hb = msgpack.packb(h)
    out = [codec.MAGIC, struct.pack("<I", len(hb)), hb]

    def add(typ, payload):
        out.extend([typ, struct.pack("<HI", codec.CODEC_ID, len(payload)), payload])

    for c in lods:
        add(b"LODL", c.payload)
    gid = md.get("geometry_codec", CLASSIC_GEOMETRY_CODEC)
    if gid not in GEOMETRY_CODECS:
        raise UnsupportedError(f"splat scene: geometry codec {gid!r} is not supported")
    if geom:
        add(b"GEOF" if gid == FAST_GEOMETRY_CODEC else b"GEOM", codec._pack_list([bytes(ghead)] + geom))
    for c in groups:
        add(b"SPLT", c.payload)
    return b"".join(out)


def unpack(source, *, max_sh_degree=None, lod_level=None, limits=None) -> SplatScene:
    """Decode a splat scene from a .pcs file (path, bytes or file object)."""
    from ..container import PcsReader
    with PcsReader.open(source, limits) as r:
        md = r.metadata
        chunks = list(r.chunks())
    blob = _stream_from(md, chunks)
    if lod_level is not None:
        return codec.decode(blob, lod_level=lod_level)
    try:
        return codec.decode(blob, max_sh_degree=max_sh_degree)
    except TruncatedError:
        raise


def pack_file(src, dest, *, quality=0.5, **kw) -> SplatScene:
    """`pcstream pack scene.ply scene.pcs` for 3DGS inputs (.ply detected by its properties, .spz, .splat)."""
    from . import load
    scene = load(src)
    pack(scene, dest, quality=quality, **kw)
    return scene


def unpack_file(src, dest, **kw) -> SplatScene:
    """Decode a splat .pcs into an INRIA PLY (or .spz / .splat by extension)."""
    from .io_inria import write_inria_ply
    from .io_splat import write_splat
    from .io_spz import write_spz
    scene = unpack(src, **kw)
    d = str(dest)
    if d.endswith(".spz"):
        with open(d, "wb") as f:
            f.write(write_spz(scene))
    elif d.endswith(".splat"):
        with open(d, "wb") as f:
            f.write(write_splat(scene))
    else:
        write_inria_ply(scene, d)
    return scene
