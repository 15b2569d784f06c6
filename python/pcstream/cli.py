"""The ``pcstream`` command line.

    pcstream pack IN OUT.pcs [--precision P] [--lossy --level N] [--codec classic|learned|fast|auto [--prefer speed|size]] [--adapt [--adapt-steps N]]
    pcstream pack scene.{ply,spz,splat} OUT.pcs [--quality Q | --preset spz] [--lod] [--max-sh N]   (3DGS splats)
    pcstream unpack IN.pcs OUT.{ply,npy,bin} [--level N]
    pcstream unpack scene.pcs OUT.{ply,spz,splat} [--lod-level K] [--max-sh N]              (3DGS splats)
    pcstream info IN.pcs [--json]
    pcstream verify IN.pcs
    pcstream strip IN.pcs OUT.pcs [--drop NAME ...] [--keep NAME ...] [--max-level L]
    pcstream bench [ARGS...]
    pcstream serve DIR [--port 8000]
    pcstream demo
    pcstream sample

Errors print one line naming the file and exit non-zero (no traceback).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import errors

#: Exit codes of ``pcstream verify`` (also used by the other commands where they apply).
EXIT_OK = 0
EXIT_ERROR = 1          # any other failure (bad arguments to the API, internal error)
EXIT_USAGE = 2          # command line not understood (argparse)
EXIT_IO = 3             # the file cannot be read or written
EXIT_INPUT = 4          # an input point cloud file is not understood
EXIT_SIGNATURE = 10     # not a .pcs file, or an unsupported container version
EXIT_CHECKSUM = 11      # a chunk checksum (CRC32C) does not match
EXIT_INDEX = 12         # the footer or index is missing, inconsistent or corrupt
EXIT_TRUNCATED = 13     # the file ends early
EXIT_STRUCTURE = 14     # bad lengths, reserved bits, unknown critical chunk, bad metadata
EXIT_PAYLOAD = 15       # a payload does not decode (corrupt or unsupported codec)
EXIT_LIMIT = 16         # a decoder limit would be exceeded

_EXIT_BY_ERROR = [
    (errors.SignatureError, EXIT_SIGNATURE), (errors.VersionError, EXIT_SIGNATURE),
    (errors.ChecksumError, EXIT_CHECKSUM), (errors.IndexError_, EXIT_INDEX),
    (errors.TruncatedError, EXIT_TRUNCATED), (errors.FormatError, EXIT_STRUCTURE),
    (errors.CorruptPayloadError, EXIT_PAYLOAD), (errors.UnsupportedError, EXIT_PAYLOAD),
    (errors.ModelMismatchError, EXIT_PAYLOAD), (errors.LimitError, EXIT_LIMIT),
    (errors.InputFileError, EXIT_INPUT),
]

VERIFY_HELP = f"""exit codes:
  {EXIT_OK}   the file is valid (every checksum, the index, every payload decodes)
  {EXIT_USAGE}   command line not understood
  {EXIT_IO}   the file cannot be read
  {EXIT_SIGNATURE}  not a .pcs file, or an unsupported container version
  {EXIT_CHECKSUM}  a chunk checksum (CRC32C) does not match
  {EXIT_INDEX}  the footer or index is missing, inconsistent or corrupt
  {EXIT_TRUNCATED}  the file ends early
  {EXIT_STRUCTURE}  bad lengths, reserved bits, unknown critical chunk or bad metadata
  {EXIT_PAYLOAD}  a payload does not decode (corrupt, or an unsupported codec)
  {EXIT_LIMIT}  a decoder limit would be exceeded
  {EXIT_ERROR}   any other error"""


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_ERROR):
        super().__init__(message)
        self.code = code


def exit_code_for(exc: BaseException) -> int:
    for cls, code in _EXIT_BY_ERROR:
        if isinstance(exc, cls):
            return code
    if isinstance(exc, OSError):
        return EXIT_IO
    return EXIT_ERROR


def _with_file(path, exc: BaseException) -> str:
    msg = str(exc) or type(exc).__name__
    p = str(path)
    return msg if p in msg else f"{p}: {msg}"


# --------------------------------------------------------------------------- helpers

def _jsonable(obj):
    if isinstance(obj, (bytes, bytearray)):
        return {"binary_bytes": len(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def entry_dict(e) -> dict:
    """Index entry as a plain dict (whatever fields the container provides, no payload)."""
    if dataclasses.is_dataclass(e):
        d = {f.name: getattr(e, f.name) for f in dataclasses.fields(e)}
    elif isinstance(e, dict):
        d = dict(e)
    else:
        d = {k: v for k, v in vars(e).items() if not k.startswith("_")}
    d.pop("payload", None)
    d.pop("raw", None)
    if isinstance(d.get("type"), (bytes, bytearray)):
        d["type"] = d["type"].decode("ascii", "replace")
    return d


def _entry_size(d: dict):
    for k in ("size", "total_size", "length", "payload_size", "payload_length", "stored_size"):
        if k in d:
            return d[k]
    return None


# --------------------------------------------------------------------------- commands

#: Attribute added by ``pack --keep-order``: the input index of every point.
ORDER_ATTRIBUTE = "_pcstream_input_order"
_COLOUR_ATTRS = ("rgb", "rgba", "color", "colour")


def _raht_ok(v) -> bool:
    return v.dtype.kind == "u" and v.dtype.itemsize <= 2 and (v.ndim == 1 or v.shape[1] in (1, 3))


def _lossy_attr_specs(specs, attributes, path) -> dict:
    """``--lossy-attr [NAME=]Q`` values -> {attribute: quality}; no NAME = the colours."""
    out = {}
    for spec in specs or []:
        name, _, q = spec.rpartition("=")
        try:
            quality = float(q)
        except ValueError:
            raise CliError(f"--lossy-attr {spec!r}: expected [NAME=]QUALITY with QUALITY in 0..100", EXIT_USAGE) from None
        names = [name] if name else [k for k in attributes if k.lower() in _COLOUR_ATTRS]
        for nm in names:
            if nm not in attributes:
                raise CliError(f"--lossy-attr: {path} has no attribute {nm!r} (has: {', '.join(attributes)})", EXIT_USAGE)
            if not _raht_ok(np.asarray(attributes[nm])):
                raise CliError(f"--lossy-attr: attribute {nm!r} is not 1 or 3 components of uint8/uint16", EXIT_USAGE)
            out[nm] = quality
    return out


SPLAT_EXTENSIONS = (".spz", ".splat")
SPLAT_PRESETS = ("high", "spz", "small")


def is_splat_input(path, fmt=None) -> bool:
    """A 3DGS scene: .spz / .splat, or a PLY whose vertex properties are the INRIA layout."""
    p = str(path).lower()
    if fmt not in (None, "ply"):
        return False
    if p.endswith(SPLAT_EXTENSIONS):
        return fmt is None
    if p.endswith(".ply") or fmt == "ply":
        from .splats import is_inria_ply
        return is_inria_ply(path)
    return False


def _splat_quality(a):
    """The splat codec's one knob in [0, 1] from --preset or --quality 0..100 (default: preset spz)."""
    if a.preset is not None and a.quality is not None:
        raise CliError("give --quality or --preset, not both", EXIT_USAGE)
    if a.preset is not None:
        return a.preset
    if a.quality is None:
        return "spz"
    if not 0.0 <= a.quality <= 100.0:
        raise CliError(f"--quality {a.quality:g}: expected 0..100 (50 = preset spz)", EXIT_USAGE)
    return a.quality / 100.0


def cmd_pack_splats(a) -> int:
    from .splats import container_io

    given = [opt for opt, on in (("--lossy", a.lossy), ("--level", a.level is not None),
                                 ("--drop", a.drop), ("--lossy-attr", a.lossy_attr), ("--keep-order", a.keep_order),
                                 ("--attribute-codec", a.attribute_codec != "auto"),
                                 ("--codec", a.codec not in (None, "classic", "auto")), ("--adapt", a.adapt)) if on]
    if given:
        raise CliError(f"{a.input} is a 3D Gaussian splat scene: {', '.join(given)} do not apply "
                       "(use --quality/--preset, --lod, --max-sh, --precision)", EXIT_USAGE)
    kw = {"lod": a.lod, "max_sh_degree": a.max_sh}
    if a.precision is not None:
        kw["position_step"] = a.precision
    try:
        scene = container_io.pack_file(a.input, a.output, quality=_splat_quality(a), **kw)
    except errors.InvalidArgumentError as exc:
        raise CliError(_with_file(a.input, exc), EXIT_ERROR) from None
    n = len(scene)
    size = Path(a.output).stat().st_size
    if not a.quiet:
        print(f"{a.input} -> {a.output}: {n} splats (SH degree {scene.sh_degree}), {size} bytes, "
              f"{size / n if n else 0.0:.2f} bytes/splat")
    return EXIT_OK


def cmd_pack(a) -> int:
    import pcstream
    from .io import read_points

    if is_splat_input(a.input, a.format):
        return cmd_pack_splats(a)
    splat_only = [opt for opt, on in (("--preset", a.preset is not None), ("--lod", a.lod),
                                      ("--max-sh", a.max_sh is not None)) if on]
    if splat_only:
        raise CliError(f"{', '.join(splat_only)}: only for 3D Gaussian splat scenes (INRIA PLY, .spz, .splat); "
                       f"{a.input} is a point cloud", EXIT_USAGE)
    data = read_points(a.input, format=a.format, drop_nonfinite=a.drop_nonfinite)
    if a.codec is None:   # LAS/LAZ, lossless, default codecs: scan order (codec 8); see docs/attributes.md
        las = (data.source or {}).get("format") == "las"
        plain = not (a.lossy or a.lossy_attr or a.precision is not None or a.attribute_codec != "auto")
        a.codec = "scan" if las and plain else "classic"
    precision = a.precision if a.precision is not None else data.precision
    origin = data.origin if a.precision is None else None
    attributes = dict(data.attributes)
    for name in a.drop or []:
        if name not in attributes:
            raise CliError(f"--drop: {a.input} has no attribute {name!r} (has: {', '.join(attributes)})", EXIT_USAGE)
        del attributes[name]
    if a.keep_order and a.codec != "scan":   # scan order keeps the input order anyway
        n = len(data)
        attributes[ORDER_ATTRIBUTE] = np.arange(n, dtype=np.uint32 if n < 2**32 else np.uint64)
    codec, options = a.attribute_codec, None
    if codec == "raht":
        # RAHT codes colours (1 or 3 components of uint8/uint16); the rest stays lossless.
        codec = {k: ("raht" if k.lower() in _COLOUR_ATTRS and _raht_ok(v) else "auto")
                 for k, v in attributes.items()}
        options = {k: {"quality": a.quality} for k, c in codec.items() if c == "raht" and a.quality is not None}
    lossy = _lossy_attr_specs(a.lossy_attr, attributes, a.input)
    if lossy:
        if not isinstance(codec, dict):
            codec = {k: codec for k in attributes}
        options = dict(options or {})
        for name, quality in lossy.items():
            codec[name] = "raht"
            options[name] = {"quality": quality}
    rate = {k: v for k, v in (("bpp", a.bpp), ("psnr", a.psnr), ("peak", a.peak)) if v is not None}
    if rate and not a.lossy:
        raise CliError("--bpp/--psnr/--peak choose a learned lossy rate point: add --lossy", EXIT_USAGE)
    if a.lossy and a.level is None and not {"bpp", "psnr"} & set(rate):
        raise CliError("--lossy needs --level N (keep N octree levels) or --bpp X / --psnr Y (learned lossy)",
                       EXIT_USAGE)
    try:
        blob = pcstream.encode(data.xyz, attributes, precision=precision, origin=origin,
                               lossy=a.lossy, level=a.level, units=a.units, codec=a.codec, prefer=a.prefer,
                               attribute_codec=codec, attribute_options=options, source=data.source, **rate,
                               **({"adapt": True, "adapt_steps": a.adapt_steps} if a.adapt else {}))
    except errors.InvalidArgumentError as exc:
        raise CliError(_with_file(a.input, exc), EXIT_ERROR) from None
    Path(a.output).write_bytes(blob)
    n = len(data)
    bpp = 8.0 * len(blob) / n if n else 0.0
    if not a.quiet:
        gname = ""
        if a.codec != "classic":
            from . import container
            with container.PcsReader(blob) as r:
                gid = int(r.metadata.get("geometry_codec", 1))
            from .api import GEOMETRY_CODECS
            gname = f" (geometry codec {GEOMETRY_CODECS[gid][0]})"
        if rate:
            from . import container
            with container.PcsReader(blob) as r:
                ll = r.metadata.get("learned_lossy", {})
            gname = (f" (learned lossy geometry: step {ll.get('step', 0):g}, {ll.get('omit', 0)} omitted scales, "
                     f"{8.0 * ll.get('geometry_bytes', 0) / n if n else 0.0:.4f} geometry bits/point)")
        print(f"{a.input} -> {a.output}: {n} points, {len(blob)} bytes, {bpp:.3f} bits/point{gname}")
    return EXIT_OK


def _metadata(path) -> dict:
    from . import container

    with container.PcsReader(path) as r:
        return r.metadata


def _leading_metadata(path):
    """The metadata at the start of a (possibly truncated) file, or None."""
    from . import container

    parser = container.StreamParser(container.Limits())
    try:
        with open(path, "rb") as f:
            for kind, obj in parser.feed(f.read(1 << 20)):
                if kind == "metadata":
                    return obj
    except (errors.PcsError, OSError):
        pass
    return None


def cmd_unpack_splats(a) -> int:
    from .splats import container_io

    if a.level is not None or a.allow_partial:
        raise CliError(f"{a.input} is a 3D Gaussian splat scene: use --lod-level K for a coarse level "
                       "(--level/--allow-partial are for point clouds)", EXIT_USAGE)
    if not str(a.output).lower().endswith((".ply",) + SPLAT_EXTENSIONS):
        raise CliError(f"{a.output}: a splat scene is written as .ply (INRIA 3DGS), .spz or .splat", EXIT_USAGE)
    scene = container_io.unpack_file(a.input, a.output, lod_level=a.lod_level, max_sh_degree=a.max_sh)
    if not a.quiet:
        what = f"LoD level {a.lod_level}" if a.lod_level is not None else "full scene"
        print(f"{a.input} -> {a.output}: {len(scene)} splats (SH degree {scene.sh_degree}, {what})")
    return EXIT_OK


def cmd_unpack(a) -> int:
    import pcstream
    from .io import write_points
    from .splats.container_io import is_splat_metadata

    try:
        splat = is_splat_metadata(_metadata(a.input))
    except errors.PcsError as exc:         # damaged: a splat scene says so, else the point cloud path reports it
        if is_splat_metadata(_leading_metadata(a.input)):
            raise type(exc)(f"{exc} (a damaged 3D Gaussian splat scene: unpack needs the whole file)",
                            exc.offset) from None
        splat = False
    except OSError:                        # missing: the point cloud path reports it
        splat = False
    if splat:
        return cmd_unpack_splats(a)
    if a.lod_level is not None or a.max_sh is not None:
        raise CliError(f"--lod-level/--max-sh are for 3D Gaussian splat scenes; {a.input} is a point cloud",
                       EXIT_USAGE)
    try:
        cloud = pcstream.open(a.input).decode(level=a.level)
    except errors.TruncatedError as exc:
        if not a.allow_partial:
            raise errors.TruncatedError(f"{exc} (--allow-partial writes the coarse levels present)",
                                        exc.offset) from None
        cloud = _decode_prefix(a.input, a.level)
        print(f"pcstream unpack: warning: {a.input} is truncated; wrote the {len(cloud)} points of level "
              f"{cloud.level} present", file=sys.stderr)
    xyz, attributes = cloud.xyz, dict(cloud.attributes)
    order = attributes.pop(ORDER_ATTRIBUTE, None)
    if order is not None:  # packed with --keep-order: back to the input order
        perm = np.argsort(order, kind="stable")
        xyz = xyz[perm]
        attributes = {k: v[perm] for k, v in attributes.items()}
    write_points(a.output, xyz, attributes, source=cloud.metadata.get("source"))
    if not a.quiet:
        print(f"{a.input} -> {a.output}: {len(cloud)} points at level {cloud.level}/{cloud.depth}"
              f"{'' if cloud.attributes or not cloud.metadata.get('attributes') else ' (attributes need the full level)'}")
    return EXIT_OK


def _decode_prefix(path, level):
    """Coarse levels of a file whose end is missing, decoded as a stream."""
    import pcstream

    dec = pcstream.ProgressiveDecoder(max_level=level)
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            dec.feed(block)
    try:
        return dec.close()
    except errors.TruncatedError as exc:
        if exc.partial is None:
            raise errors.TruncatedError(f"{path}: no complete level before the file ends", exc.offset) from None
        return exc.partial


def cmd_info(a) -> int:
    import pcstream

    from . import container

    # The container reader alone: info works for any .pcs file (point clouds, weights, ...).
    with container.PcsReader(a.input) as reader:
        md = reader.metadata
        entries = [entry_dict(e) for e in reader.entries]
        version = reader.version
    size = Path(a.input).stat().st_size
    if a.json:
        print(json.dumps(_jsonable({"file": str(a.input), "size": size, "version": version,
                                    "metadata": md, "chunks": entries}), indent=2, default=str))
        return EXIT_OK
    n = md.get("input_point_count", md.get("point_count", 0))
    splats = md.get("splats") if isinstance(md.get("splats"), dict) else None
    if splats is not None:
        print(f"file        {a.input} ({size} bytes, {size / n if n else 0:.2f} bytes per splat)")
    else:
        print(f"file        {a.input} ({size} bytes, {8.0 * size / n if n else 0:.3f} bits per input point)")
    if version is not None:
        print(f"container   version {'.'.join(map(str, version)) if isinstance(version, (tuple, list)) else version}")
    for k in ("producer", "point_count", "input_point_count", "depth", "levels", "lossy", "units", "axes",
              "geometry_codec", "learned_lossy"):
        if k in md:
            print(f"{k:<11} {md[k]}")
    tr = md.get("transform", {})
    print(f"transform   scale {tr.get('scale')} offset {tr.get('offset')}")
    if "bbox" in md:
        print(f"bbox        {[round(v, 6) for v in md['bbox']]}")
    for att in ([] if splats is not None else md.get("attributes", [])):   # splats: see the chunk table
        print(f"attribute   {att['name']}: {att['dtype']} x{att['components']} codec {att['codec']}")
    if md.get("source"):
        print(f"source      {json.dumps(_jsonable(md['source']))}")
    if splats is not None:
        lod = splats.get("lod") or []
        print(f"splats      {splats.get('n')} Gaussian splats, SH degree {splats.get('sh')}, quality "
              f"{splats.get('quality')}, position step {splats.get('pos_step')}, "
              f"LoD levels {list(lod) if lod else 'none'}")
    ad = md.get("learned_adapt")
    if isinstance(ad, dict):
        print(_adapt_line(ad, n))
    print(f"chunks      {len(entries)}")
    print(f"  {'#':>3} {'type':<5} {'codec':>5} {'levels':>7} {'points':>10} {'offset':>10} {'size':>10}  content")
    for i, d in enumerate(entries):
        lv = f"{d.get('level_lo', '')}-{d.get('level_hi', '')}"
        sz = _entry_size(d)
        print(f"  {i:>3} {d.get('type', '?'):<5} {d.get('codec_id', ''):>5} {lv:>7} {d.get('point_count', ''):>10} "
              f"{d.get('offset', ''):>10} {'' if sz is None else sz:>10}  {_chunk_content(d, md)}")
    return EXIT_OK


def _adapt_line(ad: dict, n: int) -> str:
    """The learned codec's instance adaptation in words (weight and geometry sizes)."""
    try:
        w, g, g0 = (8 * int(ad.get(k, 0)) for k in ("weight_bytes", "geometry_bytes", "geometry_bytes_unadapted"))
    except (TypeError, ValueError):
        return "adaptation  (unreadable metadata)"
    per = (lambda b: f"{b / n:.3f} bpp") if n else (lambda b: f"{b} bits")
    saved = g0 - g
    state = "kept" if ad.get("kept") else "not kept (saving did not exceed the weights)"
    return (f"adaptation  model {ad.get('model')}, {state}: weights {w} bits ({per(w)}), geometry {g} bits "
            f"({per(g)}) vs {g0} bits unadapted ({per(g0)}), saving {saved} bits, net {saved - w} bits")


def _chunk_content(d: dict, md: dict) -> str:
    """What a chunk carries, in words (the chunk table's last column)."""
    t, sid = d.get("type"), d.get("stream_id")
    if t == "GEOM":
        from .api import GEOMETRY_CODECS
        name = GEOMETRY_CODECS.get(d.get("codec_id"), ("codec?",))[0]
        return f"positions ({name} octree)"
    if t == "SPLT":
        if sid == 0:
            return f"splat LoD representatives, octree level {d.get('level_lo')}"
        if sid == 1:
            return "splat opacity + DC colour"
        if sid == 2:
            return "splat scale + rotation"
        return f"splat SH band {sid - 2}" if isinstance(sid, int) else "splat attributes"
    if t == "WGHT" and isinstance(md.get("learned_adapt"), dict):
        return f"adapted weights of learned model {md['learned_adapt'].get('model')} (delta)"
    if t == "ATTR":
        schema = md.get("attributes", [])
        if isinstance(sid, int) and 0 <= sid < len(schema) and isinstance(schema[sid], dict):
            return f"attribute {schema[sid].get('name')}"
        return "attribute"
    return ""


def cmd_verify(a) -> int:
    import pcstream

    from . import container

    report = container.verify(a.input)          # every CRC, the index, the chunk order
    if not report.ok:
        if report.check == "open" and not Path(a.input).exists():
            raise FileNotFoundError(2, "No such file or directory", str(a.input))
        report.raise_for_error()
    with container.PcsReader(a.input) as r:
        md = r.metadata
        chunks = len(r.entries)
    if "geometry_header" not in md:             # not a point cloud (e.g. weights): container checks only
        if not a.quiet:
            print(f"{a.input}: OK ({chunks} chunks; container checks only, no point cloud inside)")
        return EXIT_OK
    if "splats" in md:                          # a splat scene: every SPLT payload decodes
        from .splats import container_io
        scene = container_io.unpack(a.input)
        if len(scene) != int(md.get("point_count", len(scene))):
            raise errors.CorruptPayloadError(f"decoded {len(scene)} splats, metadata says {md.get('point_count')}")
        if not a.quiet:
            print(f"{a.input}: OK ({chunks} chunks, {len(scene)} splats, SH degree {scene.sh_degree})")
        return EXIT_OK
    cloud = pcstream.open(a.input).decode()     # every payload decodes
    if len(cloud) != int(md.get("point_count", len(cloud))):
        raise errors.CorruptPayloadError(f"decoded {len(cloud)} points, metadata says {md.get('point_count')}")
    if not a.quiet:
        print(f"{a.input}: OK ({chunks} chunks, {len(cloud)} points, {len(cloud.attributes)} attributes)")
    return EXIT_OK


def cmd_strip(a) -> int:
    from . import container
    from .attr_strip import resolve_drop, strip_attributes

    if not (a.drop or a.keep is not None or a.max_level is not None):
        raise CliError("nothing to strip: give --drop NAME, --keep NAME or --max-level L", EXIT_USAGE)
    if a.max_level is not None and a.max_level < 0:
        raise CliError(f"--max-level {a.max_level}: expected a level >= 0", EXIT_USAGE)
    with container.PcsReader(a.input) as r:
        md = r.metadata
    if "splats" in md or "geometry_header" not in md:
        raise CliError(f"{a.input}: not a point cloud with attributes (nothing to strip)", EXIT_USAGE)
    names = [x.get("name") for x in md.get("attributes", []) or [] if isinstance(x, dict)]
    keep = None if a.keep is None else [k for group in a.keep for k in group.split(",") if k]
    drop = [d for group in a.drop or [] for d in group.split(",") if d]
    try:
        drop = resolve_drop(names, drop, keep)
    except errors.InvalidArgumentError as exc:
        raise CliError(f"{a.input}: {exc}", EXIT_USAGE) from None
    blob = strip_attributes(a.input, drop, max_level=a.max_level)
    Path(a.output).write_bytes(blob)
    if not a.quiet:
        size_in = Path(a.input).stat().st_size
        left = [x.get("name") for x in container.PcsReader(blob).metadata.get("attributes", [])]
        print(f"{a.input} -> {a.output}: {size_in} -> {len(blob)} bytes; dropped {', '.join(drop) or 'nothing'}"
              f"{'' if a.max_level is None else f', levels above {a.max_level}'}; attributes left: "
              f"{', '.join(left) or 'none'}")
    return EXIT_OK


def cmd_bench(a) -> int:
    try:
        from .benchmarks import geometry as bench
    except ImportError as exc:
        raise CliError(f"the geometry bench is not available in this build ({exc})") from None
    rc = bench.main(a.args)
    return int(rc or 0)


def cmd_serve(a) -> int:
    from .serve import serve

    if not Path(a.dir).is_dir():
        raise CliError(f"{a.dir}: not a directory", EXIT_IO)
    serve(a.dir, host=a.host, port=a.port)
    return EXIT_OK


def _multiset_equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    return np.array_equal(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])])


def cmd_demo(a) -> int:
    import pcstream
    from .io import read_points, write_points
    from .sample import sample_path

    src = sample_path()
    data = read_points(src)
    n = len(data)
    with tempfile.TemporaryDirectory(prefix="pcstream-demo-") as tmp:
        pcs = Path(tmp) / "sample.pcs"
        out = Path(tmp) / "sample_out.ply"
        t0 = time.perf_counter()
        blob = pcstream.encode(data.xyz, data.attributes)
        t1 = time.perf_counter()
        pcs.write_bytes(blob)
        cloud = pcstream.open(pcs).decode()
        t2 = time.perf_counter()
        write_points(out, cloud.xyz, cloud.attributes)
        back = read_points(out)
        raw = src.stat().st_size
        print(f"sample      {src} ({n} points, {raw} bytes as PLY)")
        print(f"packed      {len(blob)} bytes = {8.0 * len(blob) / n:.3f} bits/point "
              f"({raw / len(blob):.1f}x smaller than the PLY), encode {t1 - t0:.2f} s, decode {t2 - t1:.2f} s")
        reader = pcstream.open(pcs)
        geom_bytes = sum(_entry_size(entry_dict(e)) or 0 for e in reader.chunks if entry_dict(e).get("type") == "GEOM")
        if geom_bytes:
            print(f"geometry    {geom_bytes} bytes = {8.0 * geom_bytes / n:.3f} bits/point")
        levels = reader.levels
        steps = sorted({max(1, levels // 4), max(1, levels // 2), max(1, 3 * levels // 4), levels})
        for lv in steps:
            c = reader.decode(level=lv)
            print(f"level {lv:>2}    {len(c):>8} points")
        a_pts = np.concatenate([data.xyz, data.attributes["rgb"]], axis=1).astype(np.float64)
        b_pts = np.concatenate([back.xyz, back.attributes["rgb"]], axis=1).astype(np.float64)
        if not _multiset_equal(a_pts, b_pts):
            print("round trip  FAILED: decoded points differ from the input", file=sys.stderr)
            return EXIT_ERROR
        print(f"round trip  OK: {n} points with colours identical after pack/unpack (lossless)")
    return EXIT_OK


def cmd_sample(a) -> int:
    from .sample import sample_path

    print(sample_path())
    return EXIT_OK


# --------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pcstream", description="Streaming point cloud codec (.pcs files).",
                                epilog=VERIFY_HELP.replace("the file is valid", "success"),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("pack", help="encode a point cloud file or a 3D Gaussian splat scene into .pcs",
                       description="Encode PLY, KITTI .bin, nuScenes .pcd.bin, LAS/LAZ, .npy or .pcd into .pcs. "
                                   "3D Gaussian splat scenes (a PLY with the INRIA 3DGS properties, .spz, .splat) "
                                   "are detected and packed with the splat codec (--quality/--preset, --lod, "
                                   "--max-sh, --precision).")
    s.add_argument("input", metavar="IN")
    s.add_argument("output", metavar="OUT.pcs")
    s.add_argument("--precision", type=float, help="quantization step for float coordinates, in input units "
                   "(default: the grid the values lie on; the LAS scale for LAS/LAZ)")
    s.add_argument("--lossy", action="store_true", help="keep only --level octree levels")
    s.add_argument("--level", type=int, help="octree levels kept with --lossy")
    s.add_argument("--bpp", type=float, default=None,
                   help="with --lossy: learned lossy geometry (codec 10) at most X geometry bits per input point")
    s.add_argument("--psnr", type=float, default=None,
                   help="with --lossy: learned lossy geometry reaching a D1 PSNR of Y dB (needs scipy)")
    s.add_argument("--peak", type=float, default=None,
                   help="D1 peak for --psnr in input-grid units (default 2^depth - 1)")
    s.add_argument("--codec", default=None, choices=["classic", "learned", "scan", "fast", "auto"],
                   help="geometry codec: classic (default, codec 1), learned (codec 7, lossless, decoded without "
                        "torch), scan (codec 8: input order, lossless; the default for LAS/LAZ input), "
                        "fast (codec 11: octree with static-table rANS, several times faster to decode, "
                        "a few %% larger), auto (chosen by --prefer)")
    s.add_argument("--prefer", default="speed", choices=["speed", "size"],
                   help="for --codec auto: speed (default) = classic; size = encode with both, keep the smaller")
    s.add_argument("--adapt", action="store_true",
                   help="learned codec: fine-tune the model's heads on this input and send the weight delta "
                        "when it makes the file smaller (progress bar on stderr)")
    s.add_argument("--adapt-steps", type=int, default=None, metavar="N",
                   help="optimizer steps of --adapt (default: pcstream.learned_adapt.DEFAULT_STEPS)")
    s.add_argument("--attribute-codec", default="auto", choices=["raw", "predictive", "auto", "raht"],
                   help="auto (default: predictive lossless codec 3 where it applies, else 2), raw (codec 2), "
                        "predictive (codec 3), raht (lossy colour codec 4 for rgb, auto for the other attributes)")
    s.add_argument("--drop", action="append", metavar="NAME",
                   help="leave out attribute NAME (repeatable; every field is kept by default)")
    s.add_argument("--lossy-attr", action="append", metavar="[NAME=]Q",
                   help="code attribute NAME (default: the colour) with the lossy RAHT codec at quality Q "
                        "0..100 (repeatable)")
    s.add_argument("--keep-order", action="store_true",
                   help="store the input point order (as a lossless attribute) so that unpack restores it; "
                        "costs bytes, see docs/attributes.md")
    s.add_argument("--quality", type=float, default=None,
                   help="0..100: RAHT colour quality (with --attribute-codec raht), or for splat scenes the "
                        "splat codec's quality knob x100 (default 50 = preset spz)")
    s.add_argument("--preset", choices=list(SPLAT_PRESETS), default=None,
                   help="splat scenes: quality preset (high, spz = SPZ v4 fidelity, small = renders ~40 dB)")
    s.add_argument("--lod", action="store_true",
                   help="splat scenes: add level-of-detail representatives for coarse-to-fine streaming")
    s.add_argument("--max-sh", type=int, default=None, metavar="N", help="splat scenes: keep SH degree <= N")
    s.add_argument("--units", default="unknown", help='units of the input coordinates, e.g. "m"')
    s.add_argument("--format", choices=["ply", "kitti", "nuscenes", "las", "npy", "pcd", "xyzrgb"],
                   help="input format (default: from the extension / content)")
    s.add_argument("--drop-nonfinite", action="store_true", help="skip points with NaN/inf coordinates")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_pack, file_arg="input")

    s = sub.add_parser("unpack", help="decode .pcs into PLY, NPY, KITTI .bin or LAS (splat scenes: INRIA PLY, "
                                      ".spz or .splat)")
    s.add_argument("input", metavar="IN.pcs")
    s.add_argument("output", metavar="OUT.{ply,npy,bin,las,spz,splat}")
    s.add_argument("--level", type=int, help="decode only the first N octree levels (progressive)")
    s.add_argument("--lod-level", type=int, default=None, metavar="K",
                   help="splat scenes packed with --lod: decode LoD level K (0 = coarsest)")
    s.add_argument("--max-sh", type=int, default=None, metavar="N", help="splat scenes: decode SH bands up to N")
    s.add_argument("--allow-partial", action="store_true",
                   help="for a truncated file, write the coarse levels present instead of failing")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_unpack, file_arg="input")

    s = sub.add_parser("info", help="print header, metadata and the chunk table")
    s.add_argument("input", metavar="IN.pcs")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_info, file_arg="input")

    s = sub.add_parser("verify", help="check every checksum, the index and every payload",
                       epilog=VERIFY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("input", metavar="IN.pcs")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_verify, file_arg="input")

    s = sub.add_parser("strip", help="copy a .pcs file without some attributes (or their fine levels)",
                       description="Write a valid .pcs file without the given attribute streams: their metadata "
                                   "entries and ATTR chunks go, everything else (geometry, the other fields) is "
                                   "copied bit for bit. --max-level L also drops the ATTR chunks above octree "
                                   "level L (level-range RAHT colours keep their coarse levels). An attribute "
                                   f"name the file does not have exits with code {EXIT_USAGE}.")
    s.add_argument("input", metavar="IN.pcs")
    s.add_argument("output", metavar="OUT.pcs")
    s.add_argument("--drop", action="append", metavar="NAME",
                   help="drop attribute NAME (repeatable, or comma-separated)")
    s.add_argument("--keep", action="append", metavar="NAME",
                   help="keep only these attributes (repeatable, or comma-separated); --keep '' keeps none")
    s.add_argument("--max-level", type=int, default=None, metavar="L",
                   help="drop attribute chunks above octree level L (a stream with no chunk left goes)")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_strip, file_arg="input")

    s = sub.add_parser("bench", help="run the geometry benchmark (arguments passed through)")
    s.add_argument("args", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_bench, file_arg=None)

    s = sub.add_parser("serve", help="serve a folder of .pcs files over HTTP with range requests")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--host", default="127.0.0.1")
    s.set_defaults(func=cmd_serve, file_arg="dir")

    s = sub.add_parser("demo", help="pack and unpack the shipped sample scene and check the round trip")
    s.set_defaults(func=cmd_demo, file_arg=None)

    s = sub.add_parser("sample", help="print the path of the shipped sample scene")
    s.set_defaults(func=cmd_sample, file_arg=None)
    return p


def _version() -> str:
    from . import __version__
    return f"pcstream {__version__}"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] == ["bench"]:
        # Everything after "bench" (options included) belongs to the benchmark's own parser.
        a = argparse.Namespace(command="bench", func=cmd_bench, file_arg=None, args=argv[1:])
    else:
        a = parser.parse_args(argv)
    where = getattr(a, a.file_arg) if getattr(a, "file_arg", None) else "pcstream"
    try:
        return a.func(a)
    except CliError as exc:
        print(f"pcstream {a.command}: error: {exc}", file=sys.stderr)
        return exc.code
    except errors.PcsError as exc:
        print(f"pcstream {a.command}: error: {_with_file(where, exc)}", file=sys.stderr)
        return exit_code_for(exc)
    except OSError as exc:
        fname = exc.filename or where
        print(f"pcstream {a.command}: error: {fname}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line, but say it is unexpected
        print(f"pcstream {a.command}: internal error on {where}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
