"""Fuzzing of the scan-order codecs (GEOM codec 8, ATTR codec 9), briefly: the atheris
harness tests/fuzz/fuzz_scan_order.py for a few seconds, and its checks replayed on the
seeds and deterministic mutations of them without atheris. (The C++ decoders' libFuzzer
target, csrc/fuzz/fuzz_scan_order.cpp, is replayed under ASan/UBSan by test_cpp_core.py.)"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pcstream.geometry", reason="geometry codec not built")

import pcstream  # noqa: E402

FUZZ = Path(__file__).resolve().parent / "fuzz"
sys.path.insert(0, str(FUZZ))
from scan_order_corpus import FileCase, cpp_seeds, file_seed  # noqa: E402


@pytest.fixture(scope="module")
def case():
    return FileCase()


def test_seeds_rebuild_the_valid_file(case):
    """Every seed input rebuilds a file that decodes exactly like the original."""
    ref = pcstream.decode(file_seed())
    assert len(ref) == 240 and len(ref.attributes) == 7
    for seed in case.seeds():
        out = pcstream.decode(case.build(seed))
        assert np.array_equal(out.xyz, ref.xyz)
        assert {k: v.tobytes() for k, v in out.attributes.items()} == \
            {k: v.tobytes() for k, v in ref.attributes.items()}
        case.check(seed)


def _mutate(b: bytes, rng) -> bytes:
    b = bytearray(b)
    for _ in range(int(rng.integers(1, 4))):
        op = int(rng.integers(5))
        if op == 0 and len(b) > 1:
            b[int(rng.integers(1, len(b)))] ^= 1 << int(rng.integers(8))
        elif op == 1 and len(b) > 1:
            b[int(rng.integers(1, len(b)))] = int(rng.integers(256))
        elif op == 2 and len(b) > 1:
            del b[int(rng.integers(1, len(b))):]
        elif op == 3:
            at = int(rng.integers(1, len(b) + 1))
            b[at:at] = bytes(rng.integers(0, 256, int(rng.integers(1, 9))).astype(np.uint8))
        elif len(b) > 2:
            at = int(rng.integers(1, len(b)))
            del b[at:at + int(rng.integers(1, 17))]
    return bytes(b)


def test_mutations_give_typed_errors_only(case):
    """200 deterministic mutations of the seeds (header, inline payloads, GEOM and ATTR
    chunk payloads): only pcstream.errors, and stripping what decodes works."""
    rng = np.random.default_rng(20261121)
    seeds = case.seeds()
    for _ in range(200):
        case.check(_mutate(seeds[int(rng.integers(len(seeds)))], rng))


def test_atheris_harness_runs_briefly(tmp_path):
    pytest.importorskip("atheris")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(pcstream.__file__).resolve().parent.parent),
                                         env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, str(FUZZ / "fuzz_scan_order.py"), "-runs=150", "-max_total_time=3",
                        "-seed=1", "-rss_limit_mb=2048"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-4000:]


def test_cpp_seeds_decode():
    """The seeds of csrc/fuzz/fuzz_scan_order.cpp are valid inputs (they decode here)."""
    from pcstream import _core
    seeds = cpp_seeds()
    assert {k.split("-")[0] for k in seeds} == {"geom", "attr"}
    for name, blob in seeds.items():
        if blob[0] == 0:
            h = blob[1]
            _core.scan_geometry_decode(blob[2:2 + h], blob[2 + h:], 1 << 16)
        else:
            comps, flags, n = 1 + blob[1] % 4, blob[2], int.from_bytes(blob[3:5], "little")
            pos = 5
            q = np.frombuffer(blob[pos:pos + 6 * n], "<u2").reshape(n, 3).astype(np.uint32)
            pos += 6 * n
            pulse = np.frombuffer(blob[pos:pos + 2 * n], np.uint8).reshape(n, 2) if flags & 1 else None
            pos += 2 * n if flags & 1 else 0
            assert _core.scan_attr_decode(q, pulse, blob[pos:], comps).shape == (n, comps), name
