"""The streaming examples against each other on 127.0.0.1 (bounded time), and pack.py."""
from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("pcstream.geometry", reason="geometry codec not built")
pytest.importorskip("pcstream.container", reason="container not built")

import pcstream  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
import player  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python"), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture
def served(tmp_path):
    """examples/serve_http.py serving tmp_path with a packed cloud in it; yields (url, xyz, rgb)."""
    rng = np.random.default_rng(0)
    xyz = rng.integers(0, 1 << 10, (20000, 3))
    rgb = rng.integers(0, 256, (20000, 3)).astype(np.uint8)
    (tmp_path / "scene.pcs").write_bytes(pcstream.encode(xyz, {"rgb": rgb}))
    (tmp_path / "plain.bin").write_bytes(b"x" * 100)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "serve_http.py"), str(tmp_path),
                             "--port", str(port)], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=2).read()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"server did not start: {proc.stderr.read().decode()}")
            time.sleep(0.1)
    try:
        yield base, xyz, rgb
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _range(url, spec):
    req = urllib.request.Request(url, headers={"Range": spec})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Range"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Range"), e.read()


def test_server_range_semantics(served):
    base, _, _ = served
    url = base + "/plain.bin"
    assert _range(url, "bytes=0-9")[:2] == (206, "bytes 0-9/100")
    assert _range(url, "bytes=90-")[:2] == (206, "bytes 90-99/100")
    assert _range(url, "bytes=-5")[:2] == (206, "bytes 95-99/100")
    assert _range(url, "bytes=-500")[:2] == (206, "bytes 0-99/100")
    assert _range(url, "bytes=95-200")[:2] == (206, "bytes 95-99/100")
    assert _range(url, "bytes=100-")[:2] == (416, "bytes */100")
    assert _range(url, "bytes=5-2")[0] == 416
    assert _range(url, "bytes=0-1,5-6")[0] == 416
    assert _range(url, "items=0-1")[0] == 416
    assert _range(base + "/../etc/passwd", "bytes=0-1")[0] == 404
    assert _range(base + "/missing.pcs", "bytes=0-1")[0] == 404
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200 and r.read() == b"x" * 100


def test_player_streams_coarse_to_fine(served):
    base, xyz, rgb = served
    out = io.StringIO()
    cloud = player.play(base + "/scene.pcs", out=out)
    text = out.getvalue()
    levels = [int(line.split()[1].rstrip(":")) for line in text.splitlines() if line.startswith("level")]
    assert levels == sorted(levels) and levels[-1] == 10 and len(levels) >= 2
    received = [int(line.split()[4]) for line in text.splitlines() if line.startswith("level")]
    assert received == sorted(received)
    assert cloud.complete and len(cloud) == len(xyz)
    a = np.concatenate([xyz, rgb], 1).astype(float)
    b = np.concatenate([cloud.xyz, cloud.attributes["rgb"]], 1)
    assert np.array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)])
    coarse = player.play(base + "/scene.pcs", level=4, out=io.StringIO())
    assert coarse.level <= 6 and len(coarse) < len(xyz)


def test_player_as_script(served):
    base, _, _ = served
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "player.py"), base + "/scene.pcs"],
                       env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "bytes received" in r.stdout and "done:" in r.stdout


def test_player_rejects_server_without_ranges(tmp_path):
    """A plain server that ignores Range (answers 200) gets a clear error."""
    from aiohttp import web

    (tmp_path / "s.pcs").write_bytes(pcstream.encode(np.zeros((3, 3), int)))

    async def whole(request):
        return web.Response(body=(tmp_path / "s.pcs").read_bytes())

    port = _free_port()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/{name}", whole)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    try:
        with pytest.raises(player.PlayerError, match="206"):
            player.play(f"http://127.0.0.1:{port}/s.pcs", out=io.StringIO())
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(timeout=5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_pack_example(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "pack.py"), str(pcstream.sample_path()),
                        str(tmp_path / "s.pcs")], env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s.pcs").exists() and "bits/point" in r.stdout
