"""Stripped copies of served files for ``pcstream serve`` (``GET /f.pcs?drop=gps_time,rgb``).

A query with ``drop=NAMES``, ``keep=NAMES`` (comma-separated or repeated; ``keep=`` with
no names keeps none) or ``max_level=L`` asks for the file as
``pcstream.attr_strip.strip_attributes`` writes it: a valid ``.pcs`` file whose bytes
are served like any file (whole, or one byte range of the stripped bytes). Other query
keys are ignored. The stripped bytes are computed once per (file, its size and
modification time, normalised query) in a worker thread and kept in an LRU cache
bounded in bytes, so a player's footer / index / chunk range requests all see the same
bytes without stripping again.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidArgumentError

#: Query keys that ask for a stripped copy.
STRIP_KEYS = ("drop", "keep", "max_level")
#: Default bound of the cache of stripped copies (bytes).
DEFAULT_CACHE_BYTES = 256 << 20


def _app_key():
    try:
        from aiohttp import web
        return web.AppKey("strip_cache", object) if hasattr(web, "AppKey") else "strip_cache"
    except ImportError:   # the server is optional; the rest of this module needs no aiohttp
        return "strip_cache"


#: ``app[STRIP_CACHE]``: the StrippedCache of an application made by ``serve.make_app``.
STRIP_CACHE = _app_key()


@dataclass(frozen=True)
class StripQuery:
    drop: tuple = ()
    keep: "tuple | None" = None
    max_level: "int | None" = None


def _names(values) -> tuple:
    return tuple(sorted({n.strip() for v in values for n in v.split(",") if n.strip()}))


def parse_query(query) -> "StripQuery | None":
    """The strip request of a request's query (a multidict or a dict of lists), or None
    when it asks for none. Raises InvalidArgumentError for a malformed ``max_level``."""
    def getall(key):
        if hasattr(query, "getall"):
            return list(query.getall(key, []))
        v = query.get(key, [])
        return list(v) if isinstance(v, (list, tuple)) else [v]

    if not any(getall(k) for k in STRIP_KEYS) and not any(k in query for k in STRIP_KEYS):
        return None
    levels = getall("max_level")
    max_level = None
    if levels:
        if len(levels) > 1:
            raise InvalidArgumentError("give max_level once")
        try:
            max_level = int(levels[0])
        except ValueError:
            raise InvalidArgumentError(f"max_level={levels[0]!r}: expected an integer >= 0") from None
        if max_level < 0:
            raise InvalidArgumentError(f"max_level={max_level}: expected an integer >= 0")
    keep = _names(getall("keep")) if "keep" in query else None
    return StripQuery(drop=_names(getall("drop")), keep=keep, max_level=max_level)


def strip_file(path, q: StripQuery) -> bytes:
    """The stripped copy of the file at ``path`` (blocking)."""
    from .attr_strip import strip_attributes

    return strip_attributes(Path(path), q.drop, keep=None if q.keep is None else list(q.keep),
                            max_level=q.max_level)


class StrippedCache:
    """LRU cache of stripped copies keyed by (path, size, mtime, query); concurrent
    requests for the same key share one computation. Not thread safe: use it from the
    event loop only (the stripping itself runs in the default executor)."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.max_bytes = int(max_bytes)
        self._entries: "OrderedDict[tuple, bytes]" = OrderedDict()
        self._pending: dict = {}
        self.bytes = 0
        self.computed = 0   # strips run (for tests and logs)

    async def get(self, path: Path, q: StripQuery) -> bytes:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns, q)
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._compute(key, path, q))
            self._pending[key] = task
        # shield: a client that goes away does not cancel the strip the others wait for.
        return await asyncio.shield(task)

    async def _compute(self, key, path: Path, q: StripQuery) -> bytes:
        try:
            data = await asyncio.get_running_loop().run_in_executor(None, strip_file, path, q)
            self.computed += 1
            self._store(key, data)
            return data
        finally:
            self._pending.pop(key, None)

    def _store(self, key, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        self._entries[key] = data
        self.bytes += len(data)
        while self.bytes > self.max_bytes:
            _, old = self._entries.popitem(last=False)
            self.bytes -= len(old)


__all__ = ["STRIP_CACHE", "STRIP_KEYS", "StripQuery", "parse_query", "strip_file", "StrippedCache"]
