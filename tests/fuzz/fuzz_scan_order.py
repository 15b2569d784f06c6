#!/usr/bin/env python3
"""Atheris fuzz harness for the scan-order codecs (GEOM codec 8, ATTR codec 9) behind
pcstream.decode / ProgressiveDecoder, and for stripping such files.

Each input damages one part of a valid scan-order file (geometry header, an inline
codec-9 payload in the metadata, or a chunk payload) and re-wraps it with valid CRCs;
see ``FileCase`` in tests/fuzz/scan_order_corpus.py, which also holds the checks:
no crash or hang, only pcstream.errors exceptions from both decode paths, and a file
that decodes strips to files that decode to the same points and remaining fields.

    PYTHONPATH=python python3 tests/fuzz/fuzz_scan_order.py -max_total_time=600

tests/test_scan_fuzz.py runs it briefly. (Coverage is that of the Python layer: the
C++ decoders have their own libFuzzer target, csrc/fuzz/fuzz_scan_order.cpp.)
"""
from __future__ import annotations

import sys
from pathlib import Path

import atheris
from atheris_main import run  # noqa: E402  (the shared main, beside this file)

sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgpack  # noqa: E402,F401  (imported first: not instrumented, the harness starts faster)
import numpy  # noqa: E402,F401

with atheris.instrument_imports():
    import pcstream  # noqa: F401  (instrumented)
    from scan_order_corpus import FileCase

CASE = FileCase()


def TestOneInput(data: bytes) -> None:
    CASE.check(data)


def main() -> None:
    run(TestOneInput, CASE.seeds(), "pcs-scan-corpus-")

if __name__ == "__main__":
    main()
