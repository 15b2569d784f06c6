#!/usr/bin/env python3
"""Serve a folder of .pcs files over HTTP with byte-range requests (aiohttp).

    python examples/serve_http.py DIR [--host 127.0.0.1] [--port 8000]

Answers 206 Partial Content with Content-Range for `Range: bytes=a-b`, `bytes=a-` and the
suffix form `bytes=-n` (how a player reads the footer), 416 for unsatisfiable ranges.
The server itself is pcstream.serve (also behind `pcstream serve DIR`).
"""
from __future__ import annotations

import argparse

from pcstream.serve import serve


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Serve .pcs files with HTTP range requests.")
    ap.add_argument("dir")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    a = ap.parse_args(argv)
    serve(a.dir, host=a.host, port=a.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
