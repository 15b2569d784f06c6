"""The user-facing API: numpy arrays in, ``.pcs`` bytes out, and back.

    data = pcstream.encode(xyz, attributes={"rgb": rgb}, precision=None)   # -> bytes
    cloud = pcstream.decode(data)                  # cloud.xyz (N,3) float64, cloud.attributes
    reader = pcstream.open("scan.pcs")             # random access through the index, lazy
    dec = pcstream.ProgressiveDecoder()
    for update in dec.feed(chunk_of_bytes): ...    # coarse-to-fine point sets as bytes arrive

Point order after decoding is canonical: Morton (z-order) order of the quantized
coordinates, duplicates adjacent. It is *not* the input order; attributes follow their
points. Lossless mode returns the exact multiset of quantized points. The scan-order
codec (``codec="scan"``, GEOM 8, the CLI default for LAS) keeps the input order instead.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
import numpy as np

from . import __version__, attr_codecs, attr_levels, attr_raw  # noqa: F401  (attr_raw registers codec 2)
from .errors import InvalidArgumentError, MetadataError, PcsError, TruncatedError, UnsupportedError
from .quantize import MAX_BITS, dequantize, quantize

#: Geometry codec id -> (name, module implementing encode_geometry, its progressive decoder class).
GEOMETRY_CODECS = {1: ("classic", "pcstream.geometry", "GeometryDecoder"),
                   7: ("learned", "pcstream.learned", "LearnedGeometryDecoder"),
                   8: ("scan", "pcstream.scan_order", "ScanOrderGeometryDecoder"),
                   10: ("learned-lossy", "pcstream.lossy", "LossyGeometryDecoder"),
                   11: ("fast", "pcstream.geometry_fast", "FastGeometryDecoder")}
GEOMETRY_NAMES = {name: cid for cid, (name, _, _) in GEOMETRY_CODECS.items()}
#: ``codec="auto"`` preferences: "speed" keeps the classic coder (several times faster),
#: "size" encodes with both and keeps the smaller stream.
PREFERENCES = ("speed", "size")
#: The naive lossless attribute codec: the fallback of attribute_codec="auto" (the default).
DEFAULT_ATTRIBUTE_CODEC = attr_raw.CODEC_ID
#: Attribute element types accepted (numpy dtype kinds) and the most components per point.
_ATTR_KINDS = "biuf"
MAX_COMPONENTS = 4096
_COLOUR_NAMES = {"rgb", "rgba", "color", "colors", "colour", "colours"}


@dataclass
class PointCloud:
    """A decoded point set.

    ``xyz``: (N,3) float64 in original units (voxel centres below full resolution);
    ``attributes``: name -> (N,) or (N,k) array (at partial levels only the streams coded
    in level ranges, e.g. RAHT colour, each point having its ancestor voxel's value at
    ``attribute_levels[name]``); ``level``: octree levels decoded (``depth`` = full resolution);
    ``complete``: every chunk of the stream was decoded; ``metadata``: the file's metadata.
    """

    xyz: np.ndarray
    attributes: dict = field(default_factory=dict)
    level: int = 0
    depth: int = 0
    metadata: dict = field(default_factory=dict)
    complete: bool = False
    #: name -> octree level the values come from (< level: each point has the value of
    #: its ancestor voxel at that level, from level-range ATTR chunks).
    attribute_levels: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}:{v.dtype}x{1 if v.ndim == 1 else v.shape[1]}" for k, v in self.attributes.items())
        return (f"PointCloud({len(self)} points, level {self.level}/{self.depth}, "
                f"complete={self.complete}, attributes=[{attrs}])")


@dataclass
class Update:
    """One step of progressive decoding: the best point set available so far."""

    level: int
    xyz: np.ndarray
    bytes_consumed: int
    point_count: int
    attributes: dict = field(default_factory=dict)
    complete: bool = False
    attribute_levels: dict = field(default_factory=dict)   # as PointCloud.attribute_levels


def _geometry_module(codec_id: int):
    if codec_id not in GEOMETRY_CODECS:
        raise UnsupportedError(f"geometry codec id {codec_id} is not supported by this build")
    return importlib.import_module(GEOMETRY_CODECS[codec_id][1])


def _geometry_decoder(codec_id: int):
    """The progressive decoder class of a geometry codec (feed / level / done / points)."""
    return getattr(_geometry_module(codec_id), GEOMETRY_CODECS[codec_id][2])


def _geometry_candidates(codec, geometry_codec, prefer: str, lossy: bool) -> list:
    """Geometry codec ids to try, in order; the encoder keeps the smallest result."""
    if codec is not None and geometry_codec not in ("classic", 1) and codec != geometry_codec:
        raise InvalidArgumentError(f"codec={codec!r} and geometry_codec={geometry_codec!r} disagree: give one")
    name = geometry_codec if codec is None else codec
    if prefer not in PREFERENCES:
        raise InvalidArgumentError(f"prefer must be one of {', '.join(PREFERENCES)}, got {prefer!r}")
    if name == "auto":
        if prefer == "speed" or lossy:      # the learned codec is lossless only
            return [1]
        try:                                # no shipped model: the classic coder alone
            has_model = bool(_geometry_module(7).available_models())
        except ImportError:
            has_model = False
        return ([1, 7] if has_model else [1]) + [8]
    gid = GEOMETRY_NAMES.get(name, name)
    if gid == 8 and lossy:
        raise InvalidArgumentError("the scan-order geometry codec is lossless only (no lossy=True / level=)")
    if gid not in GEOMETRY_CODECS:
        raise InvalidArgumentError(f"unknown geometry codec {name!r} (known: {', '.join(GEOMETRY_NAMES)}, auto)")
    return [gid]


def _container():
    return importlib.import_module("pcstream.container")


def _codec_version(mod) -> int:
    return int(getattr(mod, "CODEC_VERSION", 1))


# --------------------------------------------------------------------------- encode

def _prepare_attributes(attributes, n: int) -> dict:
    out = {}
    for name, arr in (attributes or {}).items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"attribute names must be non-empty strings, got {name!r}")
        a = np.asarray(arr)
        if a.ndim == 0 or a.shape[0] != n:
            raise InvalidArgumentError(f"attribute {name!r} has shape {a.shape}, expected ({n},) or ({n},k)")
        if a.dtype.kind not in _ATTR_KINDS:
            raise InvalidArgumentError(f"attribute {name!r} has unsupported dtype {a.dtype} (numbers or bool only)")
        if a.ndim > 2 or (a.ndim == 2 and not 1 <= a.shape[1] <= MAX_COMPONENTS):
            raise InvalidArgumentError(f"attribute {name!r} has shape {a.shape}: use (N,) or (N,k) with "
                                       f"1 <= k <= {MAX_COMPONENTS}")
        out[name] = a
    return out


def _per_voxel(name: str, a: np.ndarray, voxel_of_point: np.ndarray, m: int) -> np.ndarray:
    """Attribute of each voxel of a lossy decode: the mean for floats and colours (rounded
    for integer colours), the value of the first point for other integers."""
    two_d = a.reshape(a.shape[0], -1)
    if a.dtype.kind == "f" or name.lower() in _COLOUR_NAMES:
        counts = np.bincount(voxel_of_point, minlength=m).astype(np.float64)
        out = np.empty((m, two_d.shape[1]), dtype=np.float64)
        for c in range(two_d.shape[1]):
            out[:, c] = np.bincount(voxel_of_point, weights=two_d[:, c].astype(np.float64), minlength=m) / counts
        if a.dtype.kind != "f":
            info = np.iinfo(a.dtype) if a.dtype.kind in "iu" else None
            out = np.floor(out + 0.5)
            if info is not None:
                out = np.clip(out, info.min, info.max)
        out = out.astype(a.dtype)
    else:
        first = np.full(m, -1, dtype=np.int64)
        idx = np.arange(voxel_of_point.shape[0], dtype=np.int64)
        # Reverse assignment leaves the smallest input index of each voxel.
        first[voxel_of_point[::-1]] = idx[::-1]
        out = two_d[first]
    return out.reshape((m,) + a.shape[1:])


#: Bytes an ATTR chunk adds besides its payload (chunk header, CRC, index entry; formats/pcs-v1.md).
_CHUNK_OVERHEAD = 188


def _stored_size(codec, pieces) -> int:
    """Bytes an attribute's ATTR pieces cost in a scan-order file: a small codec 9 payload
    lives in the metadata (no chunk), every other piece in its own chunk."""
    if codec.codec_id == 9 and len(pieces) == 1 and _geometry_module(8).inline_payload(pieces[0][2]):
        return len(pieces[0][2])
    return sum(len(p[2]) + _CHUNK_OVERHEAD for p in pieces)


def _options_for(name: str, attribute_options: dict | None) -> dict:
    """Codec options of one attribute: attribute_options is either one dict for every
    attribute ({"quality": 40}) or a dict keyed by attribute name ({"rgb": {"quality": 40}})."""
    opts = dict(attribute_options or {})
    if any(isinstance(v, dict) for v in opts.values()):
        return dict(opts.get(name) or {})
    return opts


def encode(xyz, attributes: dict | None = None, *, precision=None, origin=None, lossy: bool = False,
           level: int | None = None, units: str = "unknown", axes: str = "unknown",
           geometry_codec="classic", attribute_codec="auto",
           attribute_options: dict | None = None, source: dict | None = None,
           geometry_options: dict | None = None, codec: str | None = None, prefer: str = "speed",
           bpp: float | None = None, psnr: float | None = None, rate=None, peak: float | None = None,
           adapt: bool = False, adapt_steps: int | None = None) -> bytes:
    """Encode points (and per-point attributes) into a ``.pcs`` byte string.

    xyz: (N,3) numbers. Integer coordinates are coded as they are; float coordinates are
    quantized to ``precision`` (scalar or per axis, in input units) or, when None, to the
    integer/regular grid they already lie on (else InvalidArgumentError asks for one).
    attributes: name -> (N,) or (N,k) numeric array, carried losslessly by default.
    lossy=True with level=L keeps only the first L octree levels: the decoder returns voxel
    centres and per-voxel attributes (mean for floats and colours, first for integers).
    attribute_codec: an id or name from pcstream.attr_codecs ("raw" = 2, "predictive" = 3,
    "raht" = 4 lossy colour, "auto" = the smaller of predictive (where it applies) and raw,
    both lossless), one for all attributes or a dict name -> codec (others use "auto").
    attribute_options: codec options, e.g. {"quality": 40} for RAHT; a dict keyed by
    attribute name gives per-attribute options.
    codec: the geometry codec, "classic" (codec 1, the default), "learned" (codec 7,
    lossless only, decoded without torch), "scan" (codec 8, lossless only: points in the
    input order, attributes by codec 9; attributes named return_number/number_of_returns
    become its pulse channel) or "auto": with prefer="speed" (default) the classic coder,
    with prefer="size" every lossless candidate (learned when a model is installed, scan)
    and the smallest stream is kept. geometry_codec is the older
    spelling of the same choice (a name or a codec id).
    Learned lossy geometry (codec 10, ``pcstream.lossy``): lossy=True with ``bpp=`` (bits
    per input point), ``psnr=`` (D1 dB against ``peak``, default 2**depth - 1 grid units;
    needs scipy) or ``rate=(step, omit)`` quantizes with a power-of-two step, codes the
    coarse voxels losslessly and lets the decoder upsample ``omit`` scales with the model.
    adapt=True (learned codec only): fine-tune the model's heads on this input and store
    the weight delta in a WGHT chunk before the geometry, when that makes the file smaller
    (``adapt_steps`` optimizer steps; see pcstream.learned_adapt); metadata
    "learned_adapt" reports weight and geometry sizes with and without it.
    """
    q = quantize(xyz, precision, origin=origin)
    n = q.q.shape[0]
    attrs = _prepare_attributes(attributes, n)
    learned_lossy = bpp is not None or psnr is not None or rate is not None
    if learned_lossy and (not lossy or level is not None):
        raise InvalidArgumentError("bpp=/psnr=/rate= need lossy=True and no level=")
    if learned_lossy:
        lmod = _geometry_module(10)
        le = lmod.encode_for_api(q.q, q.depth, bpp=bpp, psnr=psnr, rate=rate, peak=peak,
                                 **(geometry_options or {}))
        gid, gmod = 10, lmod
        ncoarse = int(le.voxel_of_point.max()) + 1
        points = le.points.astype(np.int64)
        stream = {k: _per_voxel(k, a, le.voxel_of_point, ncoarse)[le.parent_of_point] for k, a in attrs.items()}
        count = int(points.shape[0])
        depth_out = int(le.depth)
        # ATTR chunks sit at the last coded GEOM level (the container's order rule).
        final_level = int(le.chunks[-1].level_hi) if le.chunks else depth_out
        scale = q.scale * le.scale
        transform = {"scale": [float(v) for v in scale],
                     "offset": [float(v) for v in q.offset + q.scale * le.offset]}
        eg = le
    elif lossy:
        if level is None:
            raise InvalidArgumentError("lossy=True needs level= (the number of octree levels to keep)")
        level = int(level)
        if not 1 <= level <= MAX_BITS:
            raise InvalidArgumentError(f"level must be between 1 and {MAX_BITS}, got {level}")
        level = min(level, q.depth)
    elif level is not None:
        raise InvalidArgumentError("level= is for lossy encoding (lossy=True); decode(level=N) reads a prefix")
    if not learned_lossy:
        candidates = _geometry_candidates(codec, geometry_codec, prefer, bool(lossy and level < q.depth))
        keep = level if lossy and level < q.depth else None
        gid = eg = None
        depth_out, transform = q.depth, q.transform()
    if adapt and (learned_lossy or 7 not in candidates):
        raise InvalidArgumentError("adapt=True needs the learned geometry codec (codec='learned', or 'auto' "
                                   "with prefer='size') and a lossless encode")

    def coded_size(e) -> int:
        return sum(len(c.payload) for c in e.chunks) + len(e.header) + len(getattr(e, "weights", None) or b"")

    for cid in ([] if learned_lossy else candidates):
        if len(candidates) > 1 and cid == 7 and n == 0:
            continue
        gopts = dict(geometry_options or {})
        if cid == 8 and "pulse" not in gopts:   # scan order: LAS return fields become the pulse channel
            gopts["pulse"] = _geometry_module(8).pulse_from_attributes(attrs)
        if adapt and cid == 7:
            gopts.update(adapt=True, adapt_steps=adapt_steps)
        e = _geometry_module(cid).encode_geometry(q.q, q.depth, levels=keep, **gopts)
        if eg is None or coded_size(e) < coded_size(eg):
            gid, eg = cid, e
    gmod = _geometry_module(gid)
    cont = _container()
    if learned_lossy:
        pass    # points, stream, count and final_level come from the lossy encoder above
    elif lossy and level < q.depth:
        vop = np.asarray(eg.voxel_of_point, dtype=np.int64)
        m = int(eg.chunks[-1].point_count) if eg.chunks else 0
        vox = q.q >> (q.depth - level)
        first = np.full(m, -1, dtype=np.int64)
        first[vop[::-1]] = np.arange(n, dtype=np.int64)[::-1]
        points = vox[first] if m else np.zeros((0, 3), np.int64)
        stream = {k: _per_voxel(k, a, vop, m) for k, a in attrs.items()}
        count = m
        final_level = eg.chunks[-1].level_hi if eg.chunks else keep
    else:
        final_level = eg.chunks[-1].level_hi if eg.chunks else q.depth
        order = np.asarray(eg.order, dtype=np.int64)
        points = q.q[order]
        stream = {k: a[order] for k, a in attrs.items()}
        count = n

    xf = np.asarray(xyz, dtype=np.float64)
    bbox = [float(v) for v in (np.concatenate([xf.min(axis=0), xf.max(axis=0)]) if n else np.zeros(6))]
    chunks = []
    if getattr(eg, "weights", None):        # adapted learned model: its delta precedes the geometry
        wmod = importlib.import_module("pcstream.weights")
        chunks.append(cont.Chunk(type=wmod.CHUNK_TYPE, codec_id=wmod.CODEC_ID, codec_version=wmod.CODEC_VERSION,
                                 payload=bytes(eg.weights), critical=True, level_lo=0, level_hi=0,
                                 point_count=0, decoded_size=0, bounds=tuple(bbox), stream_id=0))
    for gc in eg.chunks:
        chunks.append(cont.Chunk(type=b"GEOM", codec_id=gid, codec_version=_codec_version(gmod),
                                 payload=bytes(gc.payload), critical=True, level_lo=int(gc.level_lo),
                                 level_hi=int(gc.level_hi), point_count=int(gc.point_count),
                                 decoded_size=int(gc.point_count) * 12, bounds=tuple(bbox), stream_id=0))
    schema, attr_chunks = [], []
    geometry_his = [int(gc.level_hi) for gc in eg.chunks]
    for i, (name, a) in enumerate(stream.items()):
        cid = attribute_codec.get(name, "auto") if isinstance(attribute_codec, dict) else attribute_codec
        comps = 1 if a.ndim == 1 else int(a.shape[1])
        best = None
        cands = attr_codecs.candidates(cid, a)
        if gid == 8 and cid == "auto" and _geometry_module(8).attribute_applies(a):
            cands = [attr_codecs.get(9), attr_codecs.get(DEFAULT_ATTRIBUTE_CODEC)]   # scan order: codec 9 or raw
        for codec in cands:     # "auto": the smallest lossless payload
            opts = {} if codec.codec_id == DEFAULT_ATTRIBUTE_CODEC else _options_for(name, attribute_options)
            # Learned lossy: one full-resolution chunk (level ranges need points at the coded depth).
            pieces, params = attr_levels.encode_stream(codec, a, points, opts, geometry_his, final_level,
                                                       single=learned_lossy, context=getattr(eg, "pulse", None))
            size = _stored_size(codec, pieces) if gid == 8 else sum(len(p[2]) for p in pieces)
            if best is None or size < best[0]:
                best = (size, codec, pieces, params)
        _, codec, pieces, params = best
        dt = a.dtype.newbyteorder("<") if a.dtype.itemsize > 1 else a.dtype
        inline = codec.codec_id == 9 and len(pieces) == 1 and _geometry_module(8).inline_payload(pieces[0][2])
        if inline:   # scan order: a payload of a few bytes goes in the metadata, no chunk
            params = dict(params or {}, inline=bytes(pieces[0][2]))
        schema.append({"name": name, "dtype": dt.str, "components": comps, "codec": codec.codec_id,
                       "params": params or {}, "shape": "vector" if a.ndim == 2 else "scalar"})
        if inline:
            continue
        for lo, hi, payload, version, pc in pieces:     # one ATTR chunk per level range
            attr_chunks.append(cont.Chunk(type=b"ATTR", codec_id=codec.codec_id, codec_version=version,
                                          payload=payload, critical=True, level_lo=lo, level_hi=hi,
                                          point_count=pc, decoded_size=pc * comps * a.dtype.itemsize,
                                          bounds=tuple(bbox), stream_id=i))
    chunks = attr_levels.interleave(chunks, attr_chunks)
    metadata = {
        "producer": f"pcstream {__version__}",
        "point_count": int(count),
        "input_point_count": int(n),
        "depth": int(depth_out),
        "transform": transform,
        "units": str(units),
        "axes": str(axes),
        "bbox": bbox,
        "geometry_codec": int(gid),
        "geometry_header": bytes(eg.header),
        "levels": int(depth_out if learned_lossy else final_level),
        "lossy": bool(learned_lossy or (lossy and level < q.depth)),
        "attributes": schema,
    }
    if learned_lossy:
        metadata["learned_lossy"] = {"step": float(le.step), "omit": int(le.omit), "inner_codec": int(le.inner_codec),
                                     "geometry_bytes": int(le.nbytes)}
    if source:
        metadata["source"] = source
    if getattr(eg, "weights", None):        # only when kept: else the file equals the unadapted one
        metadata["learned_adapt"] = eg.report.metadata()
    return cont.write_pcs(metadata, chunks)


# --------------------------------------------------------------------------- decode helpers

def _check_metadata(md) -> dict:
    """Validate the fields the API layer relies on before trusting them."""
    if not isinstance(md, dict):
        raise MetadataError("metadata is not a map")
    try:
        depth = int(md["depth"])
        header = md["geometry_header"]
        gid = int(md.get("geometry_codec", 1))
        tr = md.get("transform", {"scale": [1, 1, 1], "offset": [0, 0, 0]})
        scale = np.asarray(tr["scale"], dtype=np.float64)
        offset = np.asarray(tr["offset"], dtype=np.float64)
        attrs = md.get("attributes", [])
    except (KeyError, TypeError, ValueError) as exc:
        raise MetadataError(f"metadata lacks or mangles a required field ({exc!r})") from None
    if not 0 <= depth <= MAX_BITS:
        raise MetadataError(f"metadata depth {depth} outside 0..{MAX_BITS}")
    if not isinstance(header, (bytes, bytearray)):
        raise MetadataError("metadata geometry_header is not binary")
    if scale.shape != (3,) or offset.shape != (3,) or not (np.isfinite(scale).all() and np.isfinite(offset).all()):
        raise MetadataError("metadata transform must hold 3 finite scales and offsets")
    if not isinstance(attrs, list):
        raise MetadataError("metadata attributes is not a list")
    for a in attrs:
        try:
            dt = np.dtype(a["dtype"])
            comps = int(a["components"])
            int(a["codec"])
            ok = isinstance(a["name"], str) and dt.kind in _ATTR_KINDS and 1 <= comps <= MAX_COMPONENTS
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise MetadataError(f"metadata attribute entry is invalid: {a!r}"[:200])
    _geometry_module(gid)
    return md


def _to_units(pts: np.ndarray, level: int, depth: int, md: dict) -> np.ndarray:
    """Decoded voxel coordinates at `level` to original units (voxel centres if coarse)."""
    shift = depth - level
    p = np.asarray(pts, dtype=np.float64)
    if shift > 0:
        p = p * float(1 << shift) + (float(1 << shift) - 1.0) / 2.0
    return dequantize(p.reshape(-1, 3), md.get("transform", {}))


def _coarsen(pts: np.ndarray, shift: int) -> np.ndarray:
    """Points in Morton order at level l -> unique voxels at level l - shift (order kept)."""
    if shift <= 0 or pts.shape[0] == 0:
        return pts
    c = pts >> shift
    keep = np.ones(c.shape[0], dtype=bool)
    keep[1:] = np.any(c[1:] != c[:-1], axis=1)
    return c[keep]


def _inline_payload(a: dict):
    """The payload of an attribute carried in the metadata (small scan-order codec 9
    payloads have no ATTR chunk), or None."""
    inl = (a.get("params") or {}).get("inline") if isinstance(a.get("params"), dict) else None
    return bytes(inl) if isinstance(inl, (bytes, bytearray)) and int(a.get("codec", 0)) == 9 else None


class _Assembler:
    """Turns GEOM/ATTR chunks, fed in file order, into point clouds (shared by the
    random-access Reader and the ProgressiveDecoder)."""

    def __init__(self, metadata: dict, limits=None):
        self.md = _check_metadata(metadata)
        self.depth = int(metadata["depth"])
        decoder = _geometry_decoder(int(metadata.get("geometry_codec", 1)))
        kw = {} if limits is None else {"max_points": int(limits.max_points)}
        self.geom = decoder(bytes(metadata["geometry_header"]), **kw)
        self.streams = attr_levels.AttributeStreams(self.md.get("attributes", []))
        for sid, a in enumerate(self.md.get("attributes", [])):   # scan order: payloads kept in the metadata
            if _inline_payload(a) is not None:
                self.streams.add(sid, 9, _inline_payload(a), 1)
        self.fed = 0

    @property
    def level(self) -> int:
        return int(self.geom.level)

    def feed_weights(self, payload: bytes) -> None:
        """A WGHT chunk before the geometry: the delta of an adapted learned model."""
        feed = getattr(self.geom, "feed_weights", None)
        if feed is not None and not self.fed:
            feed(payload)

    def feed_geometry(self, payload: bytes) -> None:
        self.geom.feed(payload)
        self.fed += 1

    def feed_attribute(self, stream_id: int, codec_id: int, payload: bytes, version: int = 1,
                       level_lo: int | None = None, level_hi: int | None = None) -> None:
        self.streams.add(stream_id, codec_id, payload, version, level_lo, level_hi)

    def attributes_ready(self) -> bool:
        return bool(self.geom.done) and self.streams.ready(self.level)

    def cloud(self, level: int | None = None, with_attributes: bool = True) -> PointCloud:
        """The point set at the decoded level, or coarsened to `level` if that is lower."""
        if self.fed == 0 and not self.geom.done:
            return PointCloud(np.zeros((0, 3)), {}, 0, self.depth, self.md, False)
        pts = np.asarray(self.geom.points())
        lvl = self.level
        if level is not None and level < lvl:
            pts = _coarsen(pts.astype(np.int64), lvl - level)
            lvl = level
        full = bool(self.geom.done) and lvl == self.level
        attrs, alevels = {}, {}
        if with_attributes:
            self.streams.context = getattr(self.geom, "pulse", None)   # scan order: codec 9's pulse channel
            # Full resolution with every stream present: all of them; else the level-range
            # streams decoded so far (their values at the finest level range received).
            attrs, alevels = self.streams.values(pts, lvl, full and self.streams.present())
        complete = full and self.attributes_ready()
        return PointCloud(_to_units(pts, lvl, self.depth, self.md), attrs, lvl, self.depth, self.md, complete,
                          alevels)


def _entry_type(e) -> bytes:
    t = getattr(e, "type", b"")
    return t.encode() if isinstance(t, str) else bytes(t)


# --------------------------------------------------------------------------- random access

class Reader:
    """A ``.pcs`` file opened for random access through its index.

    ``metadata``: the file's metadata dict; ``chunks``: the index entries (type, codec,
    level range, point count, sizes) in file order; ``decode(level=None)`` reads only the
    chunks needed for the first ``level`` octree levels.
    """

    def __init__(self, source, *, limits=None):
        cont = _container()
        self._r = cont.PcsReader.open(source) if limits is None else cont.PcsReader.open(source, limits=limits)
        self._limits = limits
        self.metadata = _check_metadata(self._r.metadata)

    @property
    def chunks(self) -> list:
        return list(self._r.entries)

    @property
    def depth(self) -> int:
        return int(self.metadata["depth"])

    @property
    def levels(self) -> int:
        """Number of octree levels stored (depth for lossless files)."""
        return int(self.metadata.get("levels", self.depth))

    def decode(self, level: int | None = None) -> PointCloud:
        if level is not None and level < 0:
            raise InvalidArgumentError(f"level must be >= 0, got {level}")
        asm = _Assembler(self.metadata, self._limits)
        entries = self.chunks
        for i, e in enumerate(entries):
            t = _entry_type(e)
            if t == b"WGHT":
                asm.feed_weights(self._r.read_payload(i))
            elif t == b"GEOM":
                if asm.geom.done or (level is not None and asm.fed and asm.level >= level):
                    continue
                asm.feed_geometry(self._r.read_payload(i))
        nth = 0
        schema = self.metadata.get("attributes", [])
        for i, e in enumerate(entries):
            if _entry_type(e) != b"ATTR":
                continue
            # Index entries may omit stream/codec ids: ATTR chunks are then in schema order.
            sid = getattr(e, "stream_id", None)
            sid = nth if sid is None else int(sid)
            nth += 1
            cid = getattr(e, "codec_id", None)
            if cid is None:
                cid = schema[sid]["codec"] if sid < len(schema) else DEFAULT_ATTRIBUTE_CODEC
            hi = getattr(e, "level_hi", None)
            want = level if level is not None and level < asm.level else asm.level
            if asm.geom.done or (asm.fed and hi is not None and int(hi) <= want):
                asm.feed_attribute(sid, cid, self._r.read_payload(i), getattr(e, "codec_version", 1),
                                   getattr(e, "level_lo", None), hi)
        return asm.cloud(level)

    def verify(self):
        """Check every CRC, the index and the chunk order; raises the typed error of the
        first failed check (see pcstream.container.verify for a report that never raises)."""
        report = self._r.verify()
        raise_for_error = getattr(report, "raise_for_error", None)
        if raise_for_error is not None:
            raise_for_error()
        return report

    def close(self) -> None:
        close = getattr(self._r, "close", None)
        if close:
            close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open(source, *, limits=None) -> Reader:  # noqa: A001  (pcstream.open mirrors builtins.open)
    """Open a ``.pcs`` file (path, bytes or binary file object) for random access."""
    return Reader(source, limits=limits)


def decode(data, level: int | None = None, *, limits=None) -> PointCloud:
    """Decode ``.pcs`` bytes (or a path) to a :class:`PointCloud`.

    ``level=N`` decodes only the first N octree levels (voxel centres; attributes only
    at the stored resolution, except streams coded in level ranges such as RAHT colour).
    """
    return Reader(data, limits=limits).decode(level)


# --------------------------------------------------------------------------- progressive

class ProgressiveDecoder:
    """Decode a ``.pcs`` stream from bytes as they arrive (network, pipe).

    ``feed(data)`` returns the list of :class:`Update` that the new bytes made possible:
    one per completed geometry chunk (coarse to fine), one more when a level-range ATTR
    chunk (RAHT colour, docs/attributes.md) adds values at the level on screen
    (``Update.attributes`` / ``attribute_levels``), and a final one with all attributes.
    ``close()`` returns the final :class:`PointCloud`, or raises TruncatedError (with
    ``.partial`` = the best point cloud so far and ``.last_good_offset``) if the stream
    ended before its end marker.
    """

    def __init__(self, *, limits=None, max_level: int | None = None):
        cont = _container()
        self._limits = limits
        self._parser = cont.StreamParser(limits if limits is not None else cont.Limits())
        self._asm: _Assembler | None = None
        self._received = 0
        self._ended = False
        self._final_sent = False
        self._latest: PointCloud | None = None
        self._latest_end = 0
        self._chunks_seen = 0
        self._error: Exception | None = None
        self.max_level = max_level

    @property
    def bytes_received(self) -> int:
        return self._received

    @property
    def last_good_offset(self) -> int:
        return int(getattr(self._parser, "last_good_offset", 0))

    @property
    def metadata(self) -> dict | None:
        return self._asm.md if self._asm else None

    @property
    def result(self) -> PointCloud | None:
        """The best point cloud decoded so far."""
        return self._latest

    def feed(self, data: bytes) -> list:
        """Process the next bytes of the stream; returns the updates they made possible.

        A corrupt stream raises the typed error after the updates of every chunk that
        was complete before the damage have been applied (see ``result``)."""
        updates: list = []
        if not data:
            return updates
        self._received += len(data)
        try:
            events = self._parser.feed(bytes(data))
        except Exception as exc:
            self._apply(getattr(exc, "partial", None) or [], updates)
            if isinstance(exc, PcsError):
                exc.partial = self._latest          # the best point cloud before the damage
            self._error = exc
            raise
        self._apply(events, updates)
        return updates

    def _chunk_end(self) -> int:
        """File offset just past the chunk event being applied (from the parser's entries)."""
        entries = getattr(self._parser, "entries", None)
        if entries is None:
            return self.last_good_offset
        known = [e for e in entries if getattr(e, "known", True)]
        if self._chunks_seen <= len(known):
            return int(known[self._chunks_seen - 1].end)
        return self.last_good_offset

    def _update(self, cloud: PointCloud, end: int) -> Update:
        self._latest = cloud
        self._latest_end = end
        return Update(cloud.level, cloud.xyz, end, len(cloud), cloud.attributes, cloud.complete,
                      cloud.attribute_levels)

    def _apply(self, events, updates: list) -> None:
        for kind, obj in events:
            if kind == "metadata":
                self._asm = _Assembler(obj, self._limits)
                continue
            if kind == "end":
                self._ended = True
                continue
            if kind != "chunk" or self._asm is None:
                continue
            self._chunks_seen += 1
            end = self._chunk_end()
            t = _entry_type(obj)
            asm = self._asm
            if t == b"WGHT":
                asm.feed_weights(obj.payload)
            elif t == b"GEOM" and not asm.geom.done:
                if self.max_level is None or not asm.fed or asm.level < self.max_level:
                    asm.feed_geometry(obj.payload)
                    if not asm.attributes_ready():  # else announced below with the attributes
                        updates.append(self._update(asm.cloud(self.max_level), end))
            elif t == b"ATTR":
                asm.feed_attribute(obj.stream_id, obj.codec_id, obj.payload, obj.codec_version,
                                   obj.level_lo, obj.level_hi)
                lvl = asm.level if self.max_level is None else min(asm.level, self.max_level)
                if asm.fed and not asm.geom.done and obj.level_hi <= lvl:
                    # A level-range ATTR chunk (e.g. colours) for the level on screen: one more update.
                    updates.append(self._update(asm.cloud(self.max_level), end))
            if asm.attributes_ready() and not self._final_sent:
                self._final_sent = True
                updates.append(self._update(asm.cloud(self.max_level), end))

    def close(self) -> PointCloud:
        """The final point cloud; TruncatedError (with ``.partial``, the best result so far,
        and ``.last_good_offset``) if the stream ended before its footer."""
        if self._error is not None:
            raise self._error
        if not self._ended:
            partial = self._latest
            what = f"reached level {partial.level}" if partial is not None else "no complete level"
            raise TruncatedError(
                f"stream ended early after {self._received} bytes ({what}; last complete structure ends at "
                f"byte {self.last_good_offset})", self._received,
                partial=partial, last_good_offset=self.last_good_offset)
        if self._latest is None:
            self._latest = self._asm.cloud(self.max_level) if self._asm else PointCloud(np.zeros((0, 3)))
        return self._latest
