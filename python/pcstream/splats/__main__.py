"""python -m pcstream.splats pack|unpack|info|fidelity ... (until `pcstream pack` dispatches 3DGS inputs here).

    python -m pcstream.splats pack scene.ply scene.pcs [--quality 0.5|spz|small|high] [--lod] [--max-sh N]
    python -m pcstream.splats unpack scene.pcs out.ply [--lod-level K] [--max-sh N]
    python -m pcstream.splats fidelity original.ply decoded.ply
"""
from __future__ import annotations

import argparse
import sys

from ..errors import PcsError
from . import container_io, fidelity_report, load


def _quality(v: str):
    try:
        return float(v)
    except ValueError:
        return v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pcstream.splats")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--quality", type=_quality, default=0.5)
    p.add_argument("--lod", action="store_true")
    p.add_argument("--max-sh", type=int, default=None)
    u = sub.add_parser("unpack")
    u.add_argument("input")
    u.add_argument("output")
    u.add_argument("--lod-level", type=int, default=None)
    u.add_argument("--max-sh", type=int, default=None)
    f = sub.add_parser("fidelity")
    f.add_argument("original")
    f.add_argument("decoded")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "pack":
            s = container_io.pack_file(a.input, a.output, quality=a.quality, lod=a.lod, max_sh_degree=a.max_sh)
            import os
            size = os.path.getsize(a.output)
            print(f"{len(s)} splats (SH{s.sh_degree}) -> {size} bytes = {size / max(len(s), 1):.2f} bytes/splat")
        elif a.cmd == "unpack":
            s = container_io.unpack_file(a.input, a.output, lod_level=a.lod_level, max_sh_degree=a.max_sh)
            print(f"{len(s)} splats (SH{s.sh_degree}) -> {a.output}")
        else:
            print(fidelity_report(load(a.original), load(a.decoded)))
    except PcsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
