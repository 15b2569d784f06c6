"""A small HTTP server for ``.pcs`` files with byte-range requests (aiohttp).

``GET /NAME`` answers ``200`` with the whole file, or ``206 Partial Content`` with a
``Content-Range`` header for a single ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n``
(suffix: the last n bytes, which is how a player fetches the footer). A range that is
malformed, has several parts, or starts past the end answers ``416`` with
``Content-Range: bytes */SIZE``. ``GET /`` lists the served files as JSON. Only regular
files directly inside the served folder are reachable.

``GET /NAME?drop=gps_time,rgb`` (also ``keep=NAMES``, ``max_level=L``) serves the file
without those attribute streams, as ``pcstream strip`` writes it: the stripped bytes,
their own Content-Length, ranges within them (``pcstream.serve_strip``; computed once
per file and query, then cached). An unknown attribute or a bad ``max_level`` answers
``400``, a file that cannot be stripped (not a point cloud ``.pcs``) ``422``.

Used by ``pcstream serve DIR`` and ``examples/serve_http.py``.
"""
from __future__ import annotations

import re
from pathlib import Path

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int]:
    """First and last byte (inclusive) selected by a single-range ``Range`` header."""
    m = _RANGE.match(header.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        raise RangeNotSatisfiable(f"unsupported Range header {header!r}")
    first, last = m.group(1), m.group(2)
    if first == "":                      # suffix range: the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable("empty suffix range")
        return max(0, size - n), size - 1
    a = int(first)
    b = size - 1 if last == "" else min(int(last), size - 1)
    if a >= size or (last != "" and int(last) < a):
        raise RangeNotSatisfiable(f"range {header!r} outside a {size}-byte file")
    return a, b


def _bytes_response(web, request, body: bytes, headers: dict):
    """``body`` whole (200) or the one range the request asks for (206 / 416)."""
    size = len(body)
    rng = request.headers.get("Range")
    if rng is None:
        return web.Response(body=body, headers=headers)
    try:
        a, b = parse_range(rng, size)
    except RangeNotSatisfiable as exc:
        return web.Response(status=416, text=f"{exc}\n", headers={"Content-Range": f"bytes */{size}",
                                                                  "Accept-Ranges": "bytes"})
    headers = dict(headers)
    headers["Content-Range"] = f"bytes {a}-{b}/{size}"
    return web.Response(status=206, body=body[a:b + 1], headers=headers)


async def _serve_stripped(web, request, path: Path, cache):
    from . import errors
    from .serve_strip import parse_query

    try:
        q = parse_query(request.query)
        if q is None:
            return None
        body = await cache.get(path, q)
    except errors.InvalidArgumentError as exc:
        raise web.HTTPBadRequest(text=f"{request.match_info['name']}: {exc}\n") from None
    except errors.PcsError as exc:
        raise web.HTTPUnprocessableEntity(text=f"{request.match_info['name']}: cannot strip: {exc}\n") from None
    headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    return _bytes_response(web, request, body, headers)


def make_app(root, *, strip_cache_bytes: int | None = None):
    """The aiohttp application serving the files of folder ``root``; ``strip_cache_bytes``
    bounds the cache of stripped copies (default ``serve_strip.DEFAULT_CACHE_BYTES``)."""
    from aiohttp import web

    from .serve_strip import DEFAULT_CACHE_BYTES, STRIP_CACHE, StrippedCache

    cache = StrippedCache(DEFAULT_CACHE_BYTES if strip_cache_bytes is None else strip_cache_bytes)

    root = Path(root).resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a directory")

    async def listing(request):
        files = sorted(p.name for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
        return web.json_response({"files": files})

    async def serve_file(request):
        name = request.match_info["name"]
        path = (root / name).resolve()
        if path.parent != root or not path.is_file() or name.startswith("."):
            raise web.HTTPNotFound(text=f"{name}: not found\n")
        if request.query:
            stripped = await _serve_stripped(web, request, path, cache)
            if stripped is not None:
                return stripped
        size = path.stat().st_size
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        rng = request.headers.get("Range")
        if rng is None:
            return web.Response(body=path.read_bytes(), headers=headers)  # aiohttp drops the body for HEAD
        try:
            a, b = parse_range(rng, size)
        except RangeNotSatisfiable as exc:
            return web.Response(status=416, text=f"{exc}\n", headers={"Content-Range": f"bytes */{size}",
                                                                      "Accept-Ranges": "bytes"})
        with open(path, "rb") as f:
            f.seek(a)
            body = f.read(b - a + 1)
        headers["Content-Range"] = f"bytes {a}-{b}/{size}"
        return web.Response(status=206, body=body, headers=headers)

    app = web.Application()
    app[STRIP_CACHE] = cache
    app.router.add_get("/", listing)
    app.router.add_get("/{name}", serve_file)
    return app


def serve(root, host: str = "127.0.0.1", port: int = 8000, *, quiet: bool = False) -> None:
    """Serve ``root`` until interrupted (blocking)."""
    from aiohttp import web

    app = make_app(root)
    if not quiet:
        print(f"serving {Path(root).resolve()} on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    kwargs = {"access_log": None} if quiet else {}
    web.run_app(app, host=host, port=port, print=None, **kwargs)
