"""Every `pcstream` subcommand through a subprocess (python -m pcstream.cli)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pcstream.geometry", reason="geometry codec not built")
pytest.importorskip("pcstream.container", reason="container not built")

from pcstream import cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _env():
    env = dict(os.environ)
    # Run against this checkout when the package is not installed (developer builds).
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python"), env.get("PYTHONPATH", "")])
    return env


def run(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "pcstream.cli", *map(str, args)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(r):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture
def cloud_ply(tmp_path):
    from pcstream.io import write_points
    rng = np.random.default_rng(0)
    xyz = rng.integers(0, 512, (3000, 3)).astype(np.float32)
    rgb = rng.integers(0, 256, (3000, 3)).astype(np.uint8)
    p = tmp_path / "in.ply"
    write_points(p, xyz, {"rgb": rgb})
    return p, xyz, rgb


def test_pack_unpack_info_verify(tmp_path, cloud_ply):
    src, xyz, rgb = cloud_ply
    pcs = tmp_path / "a.pcs"
    r = run("pack", src, pcs)
    assert r.returncode == 0, r.stderr
    assert "bits/point" in r.stdout and pcs.exists()
    for ext in ("ply", "npy", "bin"):
        out = tmp_path / f"out.{ext}"
        r = run("unpack", pcs, out)
        assert r.returncode == 0, r.stderr
        assert out.exists()
    import pcstream
    back = pcstream.read_points(tmp_path / "out.ply")
    a = np.concatenate([xyz, rgb], 1).astype(float)
    b = np.concatenate([back.xyz, back.attributes["rgb"]], 1).astype(float)
    assert np.array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)])
    r = run("unpack", pcs, tmp_path / "c.ply", "--level", "4")
    assert r.returncode == 0 and "level 4/9" in r.stdout
    r = run("info", pcs)
    assert r.returncode == 0 and "GEOM" in r.stdout and "ATTR" in r.stdout and "point_count" in r.stdout
    r = run("info", pcs, "--json")
    info = json.loads(r.stdout)
    assert info["metadata"]["point_count"] == 3000 and len(info["chunks"]) >= 2
    r = run("verify", pcs)
    assert r.returncode == 0 and "OK" in r.stdout


def test_pack_precision_and_lossy(tmp_path):
    a = np.random.default_rng(1).uniform(-20, 20, (2000, 4)).astype("<f4")
    a.tofile(tmp_path / "scan.bin")
    r = run("pack", tmp_path / "scan.bin", tmp_path / "x.pcs")
    assert "precision" in one_line_error(r) and "scan.bin" in r.stderr
    r = run("pack", tmp_path / "scan.bin", tmp_path / "k.pcs", "--precision", "0.001")
    assert r.returncode == 0, r.stderr
    r = run("pack", tmp_path / "scan.bin", tmp_path / "l.pcs", "--precision", "0.001", "--lossy", "--level", "8")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "l.pcs").stat().st_size < (tmp_path / "k.pcs").stat().st_size
    r = run("info", tmp_path / "l.pcs", "--json")
    assert json.loads(r.stdout)["metadata"]["lossy"] is True


def test_verify_exit_codes(tmp_path, cloud_ply):
    src, _, _ = cloud_ply
    pcs = tmp_path / "a.pcs"
    assert run("pack", src, pcs).returncode == 0
    data = pcs.read_bytes()
    (tmp_path / "sig.pcs").write_bytes(b"XX" + data[2:])
    assert run("verify", tmp_path / "sig.pcs").returncode == cli.EXIT_SIGNATURE
    # Flip one bit in the middle of the largest payload: a checksum failure.
    import pcstream
    r = pcstream.open(pcs)
    entries = [cli.entry_dict(e) for e in r.chunks]
    big = max(entries, key=lambda d: cli._entry_size(d) or 0)
    pos = big["offset"] + (cli._entry_size(big) or 0) // 2
    bad = bytearray(data)
    bad[pos] ^= 0x04
    (tmp_path / "crc.pcs").write_bytes(bytes(bad))
    rc = run("verify", tmp_path / "crc.pcs").returncode
    assert rc == cli.EXIT_CHECKSUM
    (tmp_path / "cut.pcs").write_bytes(data[: len(data) // 2])
    rc = run("verify", tmp_path / "cut.pcs").returncode
    assert rc in (cli.EXIT_TRUNCATED, cli.EXIT_INDEX, cli.EXIT_SIGNATURE)
    r = run("verify", tmp_path / "missing.pcs")
    assert r.returncode == cli.EXIT_IO and "missing.pcs" in one_line_error(r)
    r = run("verify", "--help")
    assert "exit codes" in r.stdout and "checksum" in r.stdout


def test_errors_are_one_line(tmp_path):
    assert "nope.ply" in one_line_error(run("pack", tmp_path / "nope.ply", tmp_path / "o.pcs"))
    (tmp_path / "junk.pcs").write_bytes(b"hello world, not a point cloud")
    assert "junk.pcs" in one_line_error(run("unpack", tmp_path / "junk.pcs", tmp_path / "o.ply"))
    assert "junk.pcs" in one_line_error(run("info", tmp_path / "junk.pcs"))
    r = run("pack", tmp_path / "junk.pcs")
    assert r.returncode == cli.EXIT_USAGE


def test_demo_and_sample():
    r = run("sample")
    assert r.returncode == 0 and Path(r.stdout.strip()).is_file()
    r = run("demo", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "round trip  OK" in r.stdout and "bits/point" in r.stdout


def test_bench_entry():
    try:
        import pcstream.benchmarks.geometry  # noqa: F401
    except ImportError:
        r = run("bench")
        assert r.returncode != 0 and "bench" in one_line_error(r)
        return
    r = run("bench", "--help")
    assert r.returncode == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve(tmp_path):
    pytest.importorskip("aiohttp")
    (tmp_path / "f.pcs").write_bytes(bytes(range(256)) * 4)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pcstream.cli", "serve", str(tmp_path), "--port", str(port)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while True:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/f.pcs", headers={"Range": "bytes=-16"})
                with urllib.request.urlopen(req, timeout=5) as resp:
                    assert resp.status == 206
                    assert resp.headers["Content-Range"] == "bytes 1008-1023/1024"
                    assert resp.read() == bytes(range(240, 256))
                break
            except (ConnectionError, urllib.error.URLError):
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    r = run("serve", tmp_path / "nodir")
    assert r.returncode == cli.EXIT_IO


def test_pack_attribute_codecs(tmp_path, cloud_ply):
    pytest.importorskip("pcstream.attributes", reason="attribute codecs not built")
    src, _, _ = cloud_ply
    sizes = {}
    for codec in ("raw", "predictive", "raht"):
        out = tmp_path / f"{codec}.pcs"
        r = run("pack", src, out, "--attribute-codec", codec, "--quality", "30")
        assert r.returncode == 0, r.stderr
        assert run("verify", out).returncode == 0
        sizes[codec] = out.stat().st_size
    assert sizes["raht"] < sizes["raw"]
