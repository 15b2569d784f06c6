#!/usr/bin/env python3
"""Atheris fuzz harness for the .pcs container (Python layer over the C++ core).

Run by hand for long (the corpus directory receives new inputs, so use a copy):

    mkdir -p /tmp/pcs-corpus
    cp formats/testvectors/*.pcs formats/testvectors/broken/*.pcs /tmp/pcs-corpus/
    PYTHONPATH=python python3 tests/fuzz/fuzz_container.py /tmp/pcs-corpus -max_total_time=3600

Without a corpus argument it seeds a temporary corpus from formats/testvectors.
tests/test_container.py runs it briefly. Checked: no crash, only pcstream.errors
exceptions, and a file that verify() accepts also opens, reads and streams.
"""
from __future__ import annotations

from pathlib import Path

import atheris
from atheris_main import run  # noqa: E402  (the shared main, beside this file)

with atheris.instrument_imports():
    from pcstream import container as pc
    from pcstream import errors

LIMITS = pc.Limits(max_chunk_bytes=1 << 20, max_metadata_bytes=1 << 20, max_chunks=1 << 12)


def TestOneInput(data: bytes) -> None:
    rep = pc.verify(data, LIMITS)
    read_ok = True
    try:
        r = pc.PcsReader(data, LIMITS)
        for e in r.entries:
            assert len(r.read_payload(e.index)) == e.payload_length
    except errors.PcsError:
        read_ok = False
    split = (data[len(data) // 2] * len(data)) // 256 if data else 0
    p = pc.StreamParser(LIMITS)
    stream_ok = True
    try:
        p.feed(data[:split])
        p.feed(data[split:])
        p.finish()
    except errors.PcsError as exc:
        stream_ok = False
        assert 0 <= exc.last_good_offset <= len(data)
    if rep.ok:
        assert read_ok and stream_ok, "verify() accepted a file that does not read"


def main() -> None:
    vec = Path(__file__).resolve().parents[2] / "formats" / "testvectors"
    run(TestOneInput, (f.read_bytes() for f in sorted(vec.glob("*.pcs")) + sorted(vec.glob("broken/*.pcs"))),
        "pcs-corpus-")

if __name__ == "__main__":
    main()
