#!/usr/bin/env python3
"""Container bench: CRC32C throughput against anchors measured in the same run, and
write / random-read / stream / verify throughput of .pcs files with synthetic payloads.

    PYTHONPATH=python python3 bench/container.py [--mib 64]

Prints a table and writes bench/results/container.json. Timings are medians of
repeated runs; compare ratios to the anchors, not absolute numbers (shared machine).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from pcstream import _core  # noqa: E402
from pcstream import container as pc  # noqa: E402


def timed(fn, repeat=5):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=64, help="payload MiB per measurement")
    args = ap.parse_args(argv)
    n = args.mib << 20
    buf = os.urandom(n)
    rows = []

    def row(name, seconds, nbytes, note=""):
        rows.append({"name": name, "seconds": seconds, "MB_per_s": nbytes / seconds / 1e6, "note": note})

    row("crc32c (pcstream, SSE4.2)" if _core.crc32c_hardware() else "crc32c (pcstream, table)",
        timed(lambda: _core.crc32c(buf)), n, "used by the container")
    row("crc32c (pcstream, slicing-by-8 table)", timed(lambda: _core.crc32c_portable(buf)), n, "fallback path")
    try:
        import crcmod.predefined
        f = crcmod.predefined.mkCrcFun("crc-32c")
        assert f(b"123456789") == _core.crc32c(b"123456789")
        row("crc32c (crcmod, anchor)", timed(lambda: f(buf), repeat=3), n, "anchor")
    except ImportError:
        pass
    row("crc32 (zlib, anchor)", timed(lambda: zlib.crc32(buf)), n, "anchor, other polynomial")

    chunk = 1 << 20
    chunks = [pc.Chunk(b"GEOM", 1, 1, buf[i:i + chunk], level_lo=k, level_hi=k) for k, i in
              enumerate(range(0, n, chunk))][:30]
    chunks += [pc.Chunk(b"ATTR", 2, 1, buf[i:i + chunk], level_lo=0, level_hi=29)
               for i in range(30 * chunk, n, chunk)]
    total = sum(len(c.payload) for c in chunks)
    data = pc.write_pcs({"producer": "bench"}, chunks)
    row("write_pcs (1 MiB chunks)", timed(lambda: pc.write_pcs({"producer": "bench"}, chunks)), total)

    def read_all():
        r = pc.PcsReader(data)
        for e in r.entries:
            r.read_payload(e.index)
    row("PcsReader read every chunk", timed(read_all), total)

    def stream_all():
        p = pc.StreamParser()
        for i in range(0, len(data), 1 << 16):
            p.feed(data[i:i + (1 << 16)])
        p.finish()
    row("StreamParser (64 KiB feeds)", timed(stream_all), total)
    row("verify", timed(lambda: pc.verify(data)), len(data))
    overhead = len(data) - total
    fixed = len(pc.write_pcs({"producer": "bench"}, []))
    per_chunk = (overhead - fixed) / len(chunks)

    print(f"{'measurement':40s} {'MB/s':>10s}  note")
    for r in rows:
        print(f"{r['name']:40s} {r['MB_per_s']:10.0f}  {r['note']}")
    print(f"container overhead: {fixed} bytes fixed (header, empty index, footer, metadata {{'producer': 'bench'}})"
          f" + {per_chunk:.0f} bytes per chunk (96 header + 4 CRC + 96 index entry)")
    out = {"machine": platform.processor() or platform.machine(), "mib": args.mib, "rows": rows,
           "fixed_overhead_bytes": fixed, "per_chunk_overhead_bytes": per_chunk}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "container.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
