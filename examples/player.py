#!/usr/bin/env python3
"""Stream a .pcs file over HTTP, coarse to fine, with range requests.

    python examples/player.py URL [--level N] [--budget BYTES] [--wait SECONDS]

1. one suffix range request (`Range: bytes=-65536`) returns the fixed 32-byte footer and,
   for files with up to ~680 chunks, the whole index (formats/pcs-v1.md sections 7-8);
   with the 24-byte file header (for the metadata length) the index is parsed and checked
   by pcstream.container; one more request fetches the index if it was not inside;
2. every answer must be `206 Partial Content` with a `Content-Range` matching the request;
   otherwise the player stops with a clear error (a server without range support);
3. it plans from the index (chunk sizes, levels, point counts, decoded sizes), fetches the
   file head (signature, header, metadata), then the chunks in file order (coarse levels
   first), feeding them to pcstream.ProgressiveDecoder, and prints each level's point count
   and the bytes received so far, with the attributes available at that level (`rgb@5`:
   colours from the level-5 ATTR chunk, see docs/attributes.md). `--level N` stops after level N; `--budget BYTES` stops
   before the chunk whose decoded scene (deepest level's points + attributes, from the
   index's decoded sizes) would exceed the memory budget.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
import urllib.error
import urllib.request

import pcstream
from pcstream import container

FIRST_REQUEST = 65536        # suffix bytes asked for first: footer + index of up to ~680 chunks
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class PlayerError(Exception):
    pass


class RangeClient:
    """Byte-range GETs on one URL that insist on 206 answers with a matching Content-Range."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url
        self.timeout = timeout
        self.received = 0
        self.size: int | None = None
        self._tail: tuple[int, bytes] | None = None   # the suffix fetched first, reused when it covers a range

    def get(self, first: int | None, last: int | None) -> tuple[int, bytes]:
        """Bytes first..last (inclusive); first=None means a suffix of `last` bytes."""
        if first is not None and self._tail and first >= self._tail[0] and last < self._tail[0] + len(self._tail[1]):
            a = first - self._tail[0]                     # already received with the footer request
            return first, self._tail[1][a:a + last - first + 1]
        spec = f"bytes=-{last}" if first is None else f"bytes={first}-{last}"
        req = urllib.request.Request(self.url, headers={"Range": spec})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, cr, body = resp.status, resp.headers.get("Content-Range"), resp.read()
        except urllib.error.HTTPError as exc:
            raise PlayerError(f"{self.url}: server answered {exc.code} {exc.reason} to Range: {spec}") from None
        except urllib.error.URLError as exc:
            raise PlayerError(f"{self.url}: cannot connect ({exc.reason})") from None
        self.received += len(body)
        if status != 206:
            raise PlayerError(f"{self.url}: server answered {status} instead of 206 Partial Content to "
                              f"Range: {spec}; it does not support range requests")
        m = _CONTENT_RANGE.match(cr or "")
        if not m:
            raise PlayerError(f"{self.url}: 206 answer without a valid Content-Range header (got {cr!r})")
        a, b = int(m.group(1)), int(m.group(2))
        if m.group(3) != "*":
            self.size = int(m.group(3))
        if first is None:
            ok = self.size is not None and b == self.size - 1 and b - a + 1 == min(last, self.size)
        else:
            ok = a == first and (b == last or (self.size is not None and b == self.size - 1 and last >= b))
        if not ok or len(body) != b - a + 1:
            raise PlayerError(f"{self.url}: Content-Range {cr!r} does not match the request {spec!r} "
                              f"({len(body)} bytes received)")
        if first is None:
            self._tail = (a, body)
        return a, body


def play(url: str, *, level: int | None = None, budget: int | None = None, out=sys.stdout) -> pcstream.PointCloud:
    http = RangeClient(url)
    tail_start, tail = http.get(None, FIRST_REQUEST)               # footer (+ index) in one request
    size = http.size if http.size is not None else tail_start + len(tail)
    _, head = http.get(0, container.FILE_HEADER_SIZE - 1)         # signature + file header
    _, meta_len, _ = container.parse_head(head)
    data_start = container.FILE_HEADER_SIZE + meta_len
    footer, entries = container.index_from_tail(tail, size, data_start)
    if entries is None:                                            # a big index: one more request
        _, index = http.get(footer.index_offset, footer.index_offset + footer.index_length - 1)
        entries = container.parse_index(index, footer, data_start)
    print(f"{url}: {size} bytes, {len(entries)} chunks; footer and index read, "
          f"{http.received} bytes received", file=out)
    for e in entries:
        print(f"  plan: {e.type.decode()} levels {e.level_lo}-{e.level_hi}: {e.point_count} points, "
              f"{e.size} bytes, decoded {e.decoded_size} bytes", file=out)

    dec = pcstream.ProgressiveDecoder(max_level=level)
    dec.feed(head)
    if meta_len:
        dec.feed(http.get(container.FILE_HEADER_SIZE, data_start - 1)[1])
    meta = dec.metadata or {}
    print(f"metadata: {meta.get('point_count')} points, depth {meta.get('depth')}, "
          f"attributes {[a['name'] for a in meta.get('attributes', [])]}", file=out)
    geom_bytes = attr_bytes = 0
    attr_sizes: dict = {}        # (type, stream) -> decoded size of its latest (finest) chunk
    for e in entries:
        if level is not None and e.type == b"GEOM" and e.level_lo > level:
            break
        if level is not None and e.type != b"GEOM" and e.level_hi > level:
            continue
        # Memory of the decoded scene: the point set of the deepest level (each geometry
        # chunk's decoded_size replaces the previous one) plus every attribute stream (a
        # finer level-range chunk of a stream replaces its coarser one).
        key = (e.type, e.stream_id)
        need = (e.decoded_size + attr_bytes) if e.type == b"GEOM" else \
            (geom_bytes + attr_bytes - attr_sizes.get(key, 0) + e.decoded_size)
        if budget is not None and need > budget:
            print(f"stopping: the next chunk needs {need} decoded bytes, over the budget of {budget}", file=out)
            break
        if e.type == b"GEOM":
            geom_bytes = e.decoded_size
        else:
            attr_bytes += e.decoded_size - attr_sizes.get(key, 0)
            attr_sizes[key] = e.decoded_size
        _, body = http.get(e.offset, e.end - 1)
        for up in dec.feed(body):
            # Level-range ATTR chunks (e.g. RAHT colour) colour coarse levels too: each voxel
            # then shows its ancestor's value at the attribute level named here.
            extra = ", attributes " + ", ".join(
                f"{k}@{up.attribute_levels.get(k, up.level)}" for k in sorted(up.attributes)) if up.attributes else ""
            print(f"level {up.level:>2}: {up.point_count:>9} points, {http.received:>9} bytes received{extra}",
                  file=out)
    if dec.result is None:
        raise PlayerError(f"{url}: no level could be decoded")
    return dec.result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Stream a .pcs file over HTTP, coarse to fine.")
    ap.add_argument("url")
    ap.add_argument("--level", type=int, help="stop after this octree level")
    ap.add_argument("--budget", type=int, help="memory budget in decoded bytes")
    ap.add_argument("--wait", type=float, default=0.0, help="retry connecting for this many seconds")
    a = ap.parse_args(argv)
    deadline = time.time() + a.wait
    while True:
        try:
            cloud = play(a.url, level=a.level, budget=a.budget)
            break
        except PlayerError as exc:
            if "cannot connect" in str(exc) and time.time() < deadline:
                time.sleep(0.2)
                continue
            print(f"player: error: {exc}", file=sys.stderr)
            return 1
        except pcstream.PcsError as exc:
            print(f"player: error: {a.url}: {exc}", file=sys.stderr)
            return 1
    print(f"done: {len(cloud)} points at level {cloud.level}/{cloud.depth}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
