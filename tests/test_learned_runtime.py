"""Learned-codec runtime: every SIMD path (PCSTREAM_NN_ISA) gives the same bytes."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from pcstream import learned
from pcstream.learn.model_file import random_model


# Encode a shell with random 16- and 32-channel models (the register-blocked
# kernels) at 2 threads, decode it, print the SHA-256 of each stream.
SCRIPT = textwrap.dedent("""
    import hashlib, sys
    import numpy as np
    from pcstream import learned
    from pcstream.learn.model_file import random_model
    rng = np.random.default_rng(7)
    v = rng.normal(size=(12000, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    pts = np.floor((0.5 + 0.4 * v) * 1024).astype(np.int64)
    for c in (16, 32):
        m = random_model(f"test-rand{c}", channels=c, kernel=3, seed=c)
        e = learned.encode_geometry(pts, 10, model=m, threads=2)
        payloads = [x.payload for x in e.chunks]
        d = learned.decode_geometry(e.header, payloads, model=m, threads=2)
        assert np.array_equal(d, pts[e.order])
        print(c, hashlib.sha256(e.header + b"".join(payloads)).hexdigest())
""")


def run(isa: str | None) -> str:
    import pcstream   # the package under test: installed (CI) or the dev tree under python/
    env = dict(os.environ, PYTHONPATH=str(Path(pcstream.__file__).resolve().parent.parent))
    env.pop("PCSTREAM_NN_ISA", None)
    if isa:
        env["PCSTREAM_NN_ISA"] = isa
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_same_bytes_for_every_instruction_set():
    # An ISA the CPU lacks falls back to the best one: the comparison still holds.
    ref = run(None)
    assert len(ref.splitlines()) == 2
    for isa in ("baseline", "avx2", "avx512"):
        assert run(isa) == ref, isa


def test_one_and_two_threads_same_bytes_simd_channels():
    rng = np.random.default_rng(1)
    pts = rng.integers(0, 2 ** 12, size=(20000, 3))  # sparse, LiDAR-like
    m = random_model("test-rand16", channels=16, kernel=3, seed=3)
    e1 = learned.encode_geometry(pts, 12, model=m, threads=1)
    e2 = learned.encode_geometry(pts, 12, model=m, threads=2)
    h1 = hashlib.sha256(e1.header + b"".join(c.payload for c in e1.chunks)).digest()
    h2 = hashlib.sha256(e2.header + b"".join(c.payload for c in e2.chunks)).digest()
    assert h1 == h2
    d = learned.decode_geometry(e1.header, [c.payload for c in e1.chunks], model=m, threads=2)
    np.testing.assert_array_equal(d, pts[e1.order])
