"""Builds the C++ core and its unit tests with ASan + UBSan (-DPCSTREAM_SANITIZE=ON) in a
temporary directory with cmake + ninja and runs them, plus the container fuzz target
replayed over the test vectors and thousands of random mutations of them.

This is how CI runs the sanitizer build. cmake and ninja come from PATH or from the pip
packages ``cmake`` / ``ninja``; the test is skipped (with the reason) when they or a C++
compiler are missing. Set PCSTREAM_SANITIZE_BUILD_DIR to reuse a build directory between
runs (incremental), PCSTREAM_SKIP_SANITIZE=1 to skip.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "formats" / "testvectors"
SAN_ENV = {
    "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def _tool(name: str):
    path = shutil.which(name)
    if path:
        return path
    try:  # pip packages `cmake` / `ninja` ship their binaries
        mod = __import__(name)
        d = getattr(mod, "CMAKE_BIN_DIR", None) or getattr(mod, "BIN_DIR", None)
        cand = Path(d) / name if d else None
        return str(cand) if cand and cand.exists() else None
    except ImportError:
        return None


def _compiler():
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _run(cmd, timeout, env=None, cwd=None):
    full_env = dict(os.environ, **(env or {}))
    r = subprocess.run(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-6000:]}"
    return r.stdout


@pytest.fixture(scope="module")
def sanitize_build(tmp_path_factory):
    if os.environ.get("PCSTREAM_SKIP_SANITIZE"):
        pytest.skip("PCSTREAM_SKIP_SANITIZE is set")
    cmake, ninja, cxx = _tool("cmake"), _tool("ninja"), _compiler()
    if not (cmake and ninja and cxx):
        pytest.skip(f"sanitizer build needs cmake, ninja and a C++ compiler (cmake={cmake}, ninja={ninja}, "
                    f"c++={cxx}); pip install cmake ninja")
    build = Path(os.environ.get("PCSTREAM_SANITIZE_BUILD_DIR") or tmp_path_factory.mktemp("build-sanitize"))
    _run([cmake, "-S", str(ROOT), "-B", str(build), "-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}",
          f"-DCMAKE_CXX_COMPILER={cxx}", "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1",
          "-DPCSTREAM_SANITIZE=ON", "-DPCSTREAM_BUILD_TESTS=ON", "-DPCSTREAM_BUILD_PYTHON=OFF"], timeout=300)
    _run([cmake, "--build", str(build), "-j2", "--target", "pcstream_tests"], timeout=600)
    return build, cxx


def test_cpp_unit_tests_under_asan_ubsan(sanitize_build):
    build, _ = sanitize_build
    out = _run([str(build / "pcstream_tests")], timeout=300, env=SAN_ENV)
    assert re.search(r"\b0 failed\b", out), out[-3000:]


def _replay(build, cxx, target: str, seeds: list, mutations: int) -> str:
    """Compile csrc/fuzz/<target>.cpp with the replay driver and run it on the seed files
    and `mutations` deterministic mutations of them, under ASan + UBSan."""
    lib = build / "libpcstream_core.a"
    assert lib.exists()
    exe = build / f"{target}_replay"
    _run([cxx, "-std=c++17", "-O1", "-g1", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
          "-fno-omit-frame-pointer", "-ffp-contract=off", f"-I{ROOT / 'csrc' / 'include'}",
          str(ROOT / "csrc" / "fuzz" / f"{target}.cpp"), str(ROOT / "csrc" / "fuzz" / "replay_main.cpp"),
          str(lib), "-pthread", "-o", str(exe)], timeout=300)
    out = _run([str(exe), "-mutate", str(mutations), "-seed", "7", *map(str, seeds)], timeout=300, env=SAN_ENV)
    assert f"{mutations} mutations" in out
    return out


def test_container_fuzz_target_replay_under_asan_ubsan(sanitize_build):
    """csrc/fuzz/fuzz_container.cpp over every golden and broken file, then 10000 mutations."""
    build, cxx = sanitize_build
    seeds = sorted(list(VECTORS.glob("*.pcs")) + list(VECTORS.glob("broken/*.pcs")))
    _replay(build, cxx, "fuzz_container", seeds, 10000)


def test_geometry_fuzz_target_replay_under_asan_ubsan(sanitize_build, tmp_path):
    """csrc/fuzz/fuzz_geometry.cpp (when present) seeded from the GEOM chunks of the recorded
    v1.0-geometry-*.pcs files, then 400 mutations (each decode is much slower than a container parse)."""
    if not (ROOT / "csrc" / "fuzz" / "fuzz_geometry.cpp").exists():
        pytest.skip("no geometry fuzz target in this tree")
    build, cxx = sanitize_build
    from pcstream import container as pc  # the pcstream under test (installed or dev build)
    seeds = []
    for f in sorted(VECTORS.glob("v1.0-geometry-*.pcs")):
        r = pc.PcsReader(f)
        header = r.metadata["geometry_header"]
        payloads = [r.read_payload(e.index) for e in r.entries if e.type == b"GEOM"]
        if len(header) > 255 or any(len(p) > 0xFFFF for p in payloads):
            continue
        # Input layout of fuzz_geometry.cpp: u8 header length, header, (u16 length, payload)*.
        blob = bytes([len(header)]) + header + b"".join(len(p).to_bytes(2, "little") + p for p in payloads)
        seeds.append(tmp_path / f.name)
        seeds[-1].write_bytes(blob)
    if not seeds:
        pytest.skip("no recorded geometry files small enough to seed the target")
    _replay(build, cxx, "fuzz_geometry", seeds, 400)


def test_context_prior_fuzz_target_replay_under_asan_ubsan(sanitize_build):
    """csrc/fuzz/fuzz_context_prior.cpp (the learned codec's .pcsp parser) seeded with the
    golden prior, then 2000 mutations."""
    if not (ROOT / "csrc" / "fuzz" / "fuzz_context_prior.cpp").exists():
        pytest.skip("no context prior fuzz target in this tree")
    build, cxx = sanitize_build
    _replay(build, cxx, "fuzz_context_prior", [VECTORS / "learned-v7.0-prior-rand4.pcsp"], 2000)


def test_scan_order_fuzz_target_replay_under_asan_ubsan(sanitize_build, tmp_path):
    """csrc/fuzz/fuzz_scan_order.cpp (GEOM codec 8 and ATTR codec 9 decoders) seeded with
    payloads of every z mode and attribute model (tests/fuzz/scan_order_corpus.py), then
    400 mutations."""
    if not (ROOT / "csrc" / "fuzz" / "fuzz_scan_order.cpp").exists():
        pytest.skip("no scan-order fuzz target in this tree")
    build, cxx = sanitize_build
    import sys
    sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
    try:
        from scan_order_corpus import cpp_seeds
    finally:
        sys.path.pop(0)
    seeds = []
    for name, blob in sorted(cpp_seeds().items()):
        seeds.append(tmp_path / name)
        seeds[-1].write_bytes(blob)
    _replay(build, cxx, "fuzz_scan_order", seeds, 400)
