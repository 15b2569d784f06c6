"""The ``pcstream`` command line.

    pcstream pack IN OUT.pcs [--precision P] [--lossy --level N] [--codec classic]
    pcstream unpack IN.pcs OUT.{ply,npy,bin} [--level N]
    pcstream info IN.pcs [--json]
    pcstream verify IN.pcs
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

def cmd_pack(a) -> int:
    import pcstream
    from .io import read_points

    data = read_points(a.input, format=a.format, drop_nonfinite=a.drop_nonfinite)
    precision = a.precision if a.precision is not None else data.precision
    origin = data.origin if a.precision is None else None
    codec, options = a.attribute_codec, None
    if codec == "raht":
        # RAHT codes colours (1 or 3 components of uint8/uint16); the rest stays lossless.
        codec = {k: ("raht" if k.lower() in ("rgb", "rgba", "color", "colour") and v.dtype.kind == "u"
                     and v.dtype.itemsize <= 2 and (v.ndim == 1 or v.shape[1] in (1, 3)) else "auto")
                 for k, v in data.attributes.items()}
        options = {k: {"quality": a.quality} for k, c in codec.items() if c == "raht" and a.quality is not None}
    try:
        blob = pcstream.encode(data.xyz, data.attributes, precision=precision, origin=origin,
                               lossy=a.lossy, level=a.level, units=a.units, geometry_codec=a.codec,
                               attribute_codec=codec, attribute_options=options, source=data.source)
    except errors.InvalidArgumentError as exc:
        raise CliError(_with_file(a.input, exc), EXIT_ERROR) from None
    Path(a.output).write_bytes(blob)
    n = len(data)
    bpp = 8.0 * len(blob) / n if n else 0.0
    if not a.quiet:
        print(f"{a.input} -> {a.output}: {n} points, {len(blob)} bytes, {bpp:.3f} bits/point")
    return EXIT_OK


def cmd_unpack(a) -> int:
    import pcstream
    from .io import write_points

    cloud = pcstream.open(a.input).decode(level=a.level)
    write_points(a.output, cloud.xyz, cloud.attributes)
    if not a.quiet:
        print(f"{a.input} -> {a.output}: {len(cloud)} points at level {cloud.level}/{cloud.depth}"
              f"{'' if cloud.attributes or not cloud.metadata.get('attributes') else ' (attributes need the full level)'}")
    return EXIT_OK


def cmd_info(a) -> int:
    import pcstream

    reader = pcstream.open(a.input)
    md = reader.metadata
    entries = [entry_dict(e) for e in reader.chunks]
    size = Path(a.input).stat().st_size
    version = getattr(reader._r, "version", None)
    if a.json:
        print(json.dumps(_jsonable({"file": str(a.input), "size": size, "version": version,
                                    "metadata": md, "chunks": entries}), indent=2, default=str))
        return EXIT_OK
    n = md.get("input_point_count", md.get("point_count", 0))
    print(f"file        {a.input} ({size} bytes, {8.0 * size / n if n else 0:.3f} bits per input point)")
    if version is not None:
        print(f"container   version {'.'.join(map(str, version)) if isinstance(version, (tuple, list)) else version}")
    for k in ("producer", "point_count", "input_point_count", "depth", "levels", "lossy", "units", "axes", "geometry_codec"):
        if k in md:
            print(f"{k:<11} {md[k]}")
    tr = md.get("transform", {})
    print(f"transform   scale {tr.get('scale')} offset {tr.get('offset')}")
    if "bbox" in md:
        print(f"bbox        {[round(v, 6) for v in md['bbox']]}")
    for att in md.get("attributes", []):
        print(f"attribute   {att['name']}: {att['dtype']} x{att['components']} codec {att['codec']}")
    if md.get("source"):
        print(f"source      {json.dumps(_jsonable(md['source']))}")
    print(f"chunks      {len(entries)}")
    print(f"  {'#':>3} {'type':<5} {'codec':>5} {'levels':>7} {'points':>10} {'offset':>10} {'size':>10}")
    for i, d in enumerate(entries):
        lv = f"{d.get('level_lo', '')}-{d.get('level_hi', '')}"
        sz = _entry_size(d)
        print(f"  {i:>3} {d.get('type', '?'):<5} {d.get('codec_id', ''):>5} {lv:>7} {d.get('point_count', ''):>10} "
              f"{d.get('offset', ''):>10} {'' if sz is None else sz:>10}")
    return EXIT_OK


def cmd_verify(a) -> int:
    import pcstream

    reader = pcstream.open(a.input)
    reader.verify()
    cloud = reader.decode()
    md = reader.metadata
    if len(cloud) != int(md.get("point_count", len(cloud))):
        raise errors.CorruptPayloadError(f"decoded {len(cloud)} points, metadata says {md.get('point_count')}")
    if not a.quiet:
        print(f"{a.input}: OK ({len(reader.chunks)} chunks, {len(cloud)} points, "
              f"{len(cloud.attributes)} attributes)")
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

    s = sub.add_parser("pack", help="encode a point cloud file into .pcs",
                       description="Encode PLY, KITTI .bin, nuScenes .pcd.bin, LAS/LAZ, .npy or .pcd into .pcs.")
    s.add_argument("input", metavar="IN")
    s.add_argument("output", metavar="OUT.pcs")
    s.add_argument("--precision", type=float, help="quantization step for float coordinates, in input units "
                   "(default: the grid the values lie on; the LAS scale for LAS/LAZ)")
    s.add_argument("--lossy", action="store_true", help="keep only --level octree levels")
    s.add_argument("--level", type=int, help="octree levels kept with --lossy")
    s.add_argument("--codec", default="classic", choices=["classic"], help="geometry codec (default classic)")
    s.add_argument("--attribute-codec", default="raw", choices=["raw", "predictive", "auto", "raht"],
                   help="raw (codec 2, default), predictive (lossless codec 3), auto (3 where it applies, "
                        "else 2), raht (lossy colour codec 4 for rgb, auto for the other attributes)")
    s.add_argument("--quality", type=float, default=None, help="RAHT colour quality 0..100 (with --attribute-codec raht)")
    s.add_argument("--units", default="unknown", help='units of the input coordinates, e.g. "m"')
    s.add_argument("--format", choices=["ply", "kitti", "nuscenes", "las", "npy", "pcd", "xyzrgb"],
                   help="input format (default: from the extension / content)")
    s.add_argument("--drop-nonfinite", action="store_true", help="skip points with NaN/inf coordinates")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_pack, file_arg="input")

    s = sub.add_parser("unpack", help="decode .pcs into PLY, NPY or KITTI .bin")
    s.add_argument("input", metavar="IN.pcs")
    s.add_argument("output", metavar="OUT.{ply,npy,bin}")
    s.add_argument("--level", type=int, help="decode only the first N octree levels (progressive)")
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
