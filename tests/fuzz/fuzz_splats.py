#!/usr/bin/env python3
"""Mutation fuzzing of the splat decode path, for long runs by hand:

    PYTHONPATH=python python3 tests/fuzz/fuzz_splats.py SECONDS

Damages one chunk payload or the splat stream header of a valid file (the routine of
tests/test_splats.py), decodes it, and reports any exception that is not a
pcstream.errors.PcsError and any non-finite decoded value.
"""
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_splats import mutated_splat_file, splat_fuzz_seed  # noqa: E402

from pcstream import errors  # noqa: E402
from pcstream.splats import container_io  # noqa: E402


def main(seconds: float) -> int:
    meta0, chunks0 = splat_fuzz_seed()
    rng = random.Random(0)
    runs, failures = 0, {}
    end = time.time() + seconds
    while time.time() < end:
        blob = mutated_splat_file(meta0, chunks0, rng)
        if blob is None:
            continue
        runs += 1
        try:
            scene = container_io.unpack(blob)
            if not (np.isfinite(scene.positions).all() and np.isfinite(scene.rotations).all()):
                raise AssertionError("non-finite decoded values")
        except errors.PcsError:
            pass
        except Exception as e:  # anything else is a finding
            key = f"{type(e).__name__}: {str(e)[:100]}"
            if key not in failures:
                print("FINDING", key, flush=True)
            failures[key] = failures.get(key, 0) + 1
    print(f"{runs} runs, {len(failures)} kinds of finding")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0))
