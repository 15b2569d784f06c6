"""The `main()` every atheris harness here shares: without a corpus directory on the
command line, the harness's seeds go into a fresh temporary corpus first."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable

import atheris


def run(test_one_input: Callable[[bytes], None], seeds: Iterable[bytes], prefix: str) -> None:
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):
        corpus = tempfile.mkdtemp(prefix=prefix)
        for i, seed in enumerate(seeds):
            Path(corpus, f"seed{i}").write_bytes(seed)
        argv.append(corpus)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
