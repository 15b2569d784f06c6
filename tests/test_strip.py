"""Stripping attribute fields: `pcstream strip` and `pcstream serve` with ?drop= / ?keep= /
?max_level= queries, on classic files (ATTR codecs 3 and 4, level ranges) and scan-order
files (codec 9, including streams carried inline in the metadata)."""
from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pcstream.geometry", reason="geometry codec not built")
pytest.importorskip("pcstream.attributes", reason="attribute codecs not built")

import pcstream  # noqa: E402
from pcstream import cli, container  # noqa: E402
from pcstream.attr_strip import strip_attributes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _classic():
    """Classic geometry; RAHT colours in level ranges (codec 4 v2), codec-3 scalars."""
    rng = np.random.default_rng(5)
    n = 3000
    xyz = rng.integers(0, 512, (n, 3))
    attrs = {"rgb": np.clip(xyz // 2 + rng.integers(0, 9, (n, 3)), 0, 255).astype(np.uint8),
             "intensity": rng.integers(0, 900, n).astype(np.uint16),
             "gps_time": np.cumsum(rng.random(n)) + 4e5,
             "height": (xyz[:, 2] - 256).astype(np.int16)}
    blob = pcstream.encode(xyz, attrs, attribute_codec={"rgb": "raht", "intensity": "predictive",
                                                        "gps_time": "auto", "height": "auto"},
                           attribute_options={"rgb": {"quality": 40, "levels": "geometry"}})
    return blob


def _scan():
    """Scan-order geometry (codec 8) with LAS-like fields; some streams are inline."""
    rng = np.random.default_rng(6)
    n = 2500
    nr = rng.integers(1, 4, n).astype(np.uint8)
    attrs = {"intensity": rng.integers(0, 4000, n).astype(np.uint16),
             "return_number": np.minimum(rng.integers(1, 4, n), nr).astype(np.uint8),
             "number_of_returns": nr,
             "withheld": np.zeros(n, np.uint8),
             "gps_time": np.cumsum(rng.integers(0, 3, n)) * 1e-5 + 1e5,
             "rgb": rng.integers(0, 65535, (n, 3)).astype(np.uint16)}
    xyz = np.cumsum(rng.integers(-20, 30, (n, 3)), axis=0) + 5000
    return pcstream.encode(xyz, attrs, codec="scan")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("strip")
    (d / "classic.pcs").write_bytes(_classic())
    (d / "scan.pcs").write_bytes(_scan())
    return d


def _same_except(stripped: bytes, original: bytes, dropped):
    """Same geometry, the remaining fields bit-exactly equal, the dropped ones absent."""
    assert container.verify(stripped).ok
    a, b = pcstream.decode(original), pcstream.decode(stripped)
    assert b.complete and np.array_equal(a.xyz, b.xyz)
    assert list(b.attributes) == [k for k in a.attributes if k not in dropped]
    for k, v in b.attributes.items():
        assert v.dtype == a.attributes[k].dtype and v.tobytes() == a.attributes[k].tobytes(), k


def test_inline_streams_exist_in_the_scan_sample(files):
    md = pcstream.open(files / "scan.pcs").metadata
    inline = [a["name"] for a in md["attributes"] if "inline" in (a.get("params") or {})]
    chunked = {int(e.stream_id) for e in pcstream.open(files / "scan.pcs").chunks if e.type == b"ATTR"}
    assert {"withheld", "return_number", "number_of_returns"} <= set(inline) and chunked


@pytest.mark.parametrize("name,drop", [
    ("classic.pcs", ["intensity"]), ("classic.pcs", ["rgb"]), ("classic.pcs", ["rgb", "gps_time", "height"]),
    ("scan.pcs", ["gps_time"]), ("scan.pcs", ["withheld", "return_number"]),
    ("scan.pcs", ["intensity", "rgb", "number_of_returns"]),
])
def test_cli_strip_drop(files, tmp_path, name, drop, capsys):
    out = tmp_path / "out.pcs"
    args = ["strip", str(files / name), str(out)]
    for d in drop:
        args += ["--drop", d]
    assert cli.main(args) == cli.EXIT_OK
    assert "dropped" in capsys.readouterr().out
    assert cli.main(["verify", "-q", str(out)]) == cli.EXIT_OK
    original = (files / name).read_bytes()
    _same_except(out.read_bytes(), original, drop)
    assert out.read_bytes() == strip_attributes(original, drop)
    # The GEOM chunks are copied unchanged.
    geom = [c.payload for c in container.read_pcs(original)[1] if c.type == b"GEOM"]
    assert geom == [c.payload for c in container.read_pcs(out.read_bytes())[1] if c.type == b"GEOM"]


def test_cli_strip_keep_and_comma_lists(files, tmp_path):
    src = files / "scan.pcs"
    names = [a["name"] for a in pcstream.open(src).metadata["attributes"]]
    out = tmp_path / "k.pcs"
    assert cli.main(["strip", "-q", str(src), str(out), "--keep", "intensity,gps_time"]) == 0
    _same_except(out.read_bytes(), src.read_bytes(), [n for n in names if n not in ("intensity", "gps_time")])
    assert cli.main(["strip", "-q", str(src), str(out), "--keep", "intensity", "--drop", "intensity"]) == 0
    _same_except(out.read_bytes(), src.read_bytes(), names)
    assert cli.main(["strip", "-q", str(src), str(out), "--keep", ""]) == 0     # geometry only
    assert pcstream.decode(out.read_bytes()).attributes == {}
    assert cli.main(["strip", "-q", str(src), str(out), "--drop", "rgb,withheld"]) == 0
    _same_except(out.read_bytes(), src.read_bytes(), ["rgb", "withheld"])


def test_cli_strip_max_level_keeps_coarse_colours(files, tmp_path):
    src = files / "classic.pcs"
    r = pcstream.open(src)
    first = [e for e in r.chunks if e.type == b"GEOM"][0].level_hi
    out = tmp_path / "coarse.pcs"
    assert cli.main(["strip", "-q", str(src), str(out), "--max-level", str(first), "--drop", "height"]) == 0
    assert cli.main(["verify", "-q", str(out)]) == 0
    c = pcstream.decode(out.read_bytes())
    # Codec 3 streams have one chunk at the full level: gone; RAHT colours keep their coarse range.
    assert list(c.attributes) == ["rgb"] and c.attribute_levels == {"rgb": first}
    assert np.array_equal(c.xyz, pcstream.decode(src.read_bytes()).xyz)
    voxels = [e for e in r.chunks if e.type == b"GEOM"][0].point_count     # occupied voxels at that level
    assert 1 < len(np.unique(c.attributes["rgb"], axis=0)) <= voxels
    # Scan order has no octree levels: below the full level every stream goes.
    out2 = tmp_path / "scan0.pcs"
    assert cli.main(["strip", "-q", str(files / "scan.pcs"), str(out2), "--max-level", "3"]) == 0
    assert pcstream.decode(out2.read_bytes()).attributes == {}


def test_cli_strip_errors(files, tmp_path, capsys):
    out = tmp_path / "x.pcs"
    assert cli.main(["strip", str(files / "classic.pcs"), str(out), "--drop", "nope"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'nope'" in err and "intensity" in err and "classic.pcs" in err
    assert cli.main(["strip", str(files / "scan.pcs"), str(out), "--keep", "rgb,nope"]) == cli.EXIT_USAGE
    assert "'nope'" in capsys.readouterr().err
    assert cli.main(["strip", str(files / "scan.pcs"), str(out)]) == cli.EXIT_USAGE
    assert "nothing to strip" in capsys.readouterr().err
    assert cli.main(["strip", str(files / "scan.pcs"), str(out), "--max-level", "-1"]) == cli.EXIT_USAGE
    assert cli.main(["strip", str(tmp_path / "missing.pcs"), str(out), "--drop", "a"]) == cli.EXIT_IO
    (tmp_path / "junk.pcs").write_bytes(b"not a pcs file at all" * 4)
    assert cli.main(["strip", str(tmp_path / "junk.pcs"), str(out), "--drop", "a"]) == cli.EXIT_SIGNATURE
    assert not out.exists()
    capsys.readouterr()


def test_cli_strip_refuses_splat_scenes(tmp_path, capsys):
    from pcstream import splats
    r = np.random.default_rng(0)
    n = 50
    s = splats.SplatScene(positions=r.normal(size=(n, 3)).astype("f4"), opacity=r.normal(size=n).astype("f4"),
                          f_dc=r.normal(size=(n, 3)).astype("f4"), sh_rest=np.zeros((n, 0, 3), "f4"),
                          log_scales=r.normal(-4, .5, (n, 3)).astype("f4"),
                          rotations=r.normal(size=(n, 4)).astype("f4"))
    splats.write_inria_ply(s, tmp_path / "s.ply")
    assert cli.main(["pack", "-q", str(tmp_path / "s.ply"), str(tmp_path / "s.pcs")]) == 0
    assert cli.main(["strip", str(tmp_path / "s.pcs"), str(tmp_path / "o.pcs"), "--drop", "x"]) == cli.EXIT_USAGE
    assert "not a point cloud" in capsys.readouterr().err


# --------------------------------------------------------------------------- HTTP server

@pytest.fixture
def server(files, tmp_path):
    """pcstream.serve.make_app on 127.0.0.1 (a free port) in a background event loop."""
    pytest.importorskip("aiohttp")
    from aiohttp import web

    from pcstream.serve import make_app
    from pcstream.serve_strip import STRIP_CACHE

    for name in ("classic.pcs", "scan.pcs"):
        (tmp_path / name).write_bytes((files / name).read_bytes())
    (tmp_path / "junk.pcs").write_bytes(b"x" * 100)
    app = make_app(tmp_path)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", app[STRIP_CACHE], tmp_path
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _get(url, rng=None, method="GET"):
    req = urllib.request.Request(url, headers={"Range": rng} if rng else {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.mark.parametrize("name,query,drop", [
    ("classic.pcs", "drop=gps_time,rgb", ["gps_time", "rgb"]),
    ("scan.pcs", "drop=gps_time&drop=withheld", ["gps_time", "withheld"]),
    ("scan.pcs", "keep=intensity", ["return_number", "number_of_returns", "withheld", "gps_time", "rgb"]),
])
def test_server_serves_stripped_bytes_with_ranges(server, name, query, drop):
    base, cache, root = server
    expect = strip_attributes(root / name, drop)
    url = f"{base}/{name}?{query}"
    status, headers, body = _get(url)
    assert status == 200 and body == expect and int(headers["Content-Length"]) == len(expect)
    _same_except(body, (root / name).read_bytes(), drop)
    size = len(expect)
    status, headers, body = _get(url, "bytes=-40")                 # the footer, as a player asks
    assert status == 206 and headers["Content-Range"] == f"bytes {size - 40}-{size - 1}/{size}"
    assert body == expect[-40:] and int(headers["Content-Length"]) == 40
    status, headers, body = _get(url, "bytes=10-99")
    assert (status, headers["Content-Range"], body) == (206, f"bytes 10-99/{size}", expect[10:100])
    status, headers, body = _get(url, f"bytes={size - 5}-")
    assert (status, body) == (206, expect[-5:])
    status, headers, _ = _get(url, f"bytes={size}-")
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    status, headers, body = _get(url, method="HEAD")
    assert status == 200 and int(headers["Content-Length"]) == size and body == b""
    assert cache.computed == 1                                    # stripped once, then cached


def test_server_cache_keys_and_plain_files(server):
    base, cache, root = server
    plain = (root / "classic.pcs").read_bytes()
    assert _get(f"{base}/classic.pcs")[2] == plain                 # no query: the file itself
    assert _get(f"{base}/classic.pcs?v=3")[2] == plain             # other keys are ignored
    _get(f"{base}/classic.pcs?drop=rgb,gps_time")
    _get(f"{base}/classic.pcs?drop=gps_time&drop=rgb")             # same set of names: same entry
    assert cache.computed == 1
    _get(f"{base}/classic.pcs?drop=rgb")
    assert cache.computed == 2
    status, _, body = _get(f"{base}/classic.pcs?max_level=4")
    assert status == 200 and pcstream.decode(body).attribute_levels == {"rgb": 4}
    # A changed file is stripped again.
    time.sleep(0.01)
    (root / "classic.pcs").write_bytes(_classic())
    import os
    os.utime(root / "classic.pcs", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    _get(f"{base}/classic.pcs?drop=rgb")
    assert cache.computed == 4


def test_server_concurrent_requests_share_one_strip(server):
    from concurrent.futures import ThreadPoolExecutor
    base, cache, root = server
    expect = strip_attributes(root / "scan.pcs", ["intensity"])
    with ThreadPoolExecutor(6) as ex:
        got = list(ex.map(lambda i: _get(f"{base}/scan.pcs?drop=intensity", f"bytes={i * 50}-{i * 50 + 49}"),
                          range(12)))
    assert all(g[0] == 206 and g[2] == expect[i * 50:i * 50 + 50] for i, g in enumerate(got))
    assert cache.computed == 1


def test_server_strip_errors(server):
    base, *_ = server
    status, _, body = _get(f"{base}/classic.pcs?drop=nope")
    assert status == 400 and b"'nope'" in body and b"intensity" in body
    assert _get(f"{base}/classic.pcs?max_level=x")[0] == 400
    assert _get(f"{base}/classic.pcs?max_level=-2")[0] == 400
    assert _get(f"{base}/junk.pcs?drop=a")[0] == 422
    assert _get(f"{base}/missing.pcs?drop=a")[0] == 404
    assert _get(f"{base}/../classic.pcs?drop=a")[0] == 404


def test_player_streams_a_stripped_file(server):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import player
    finally:
        sys.path.pop(0)
    base, _, root = server
    cloud = player.play(f"{base}/classic.pcs?drop=intensity,height", out=io.StringIO())
    ref = pcstream.decode((root / "classic.pcs").read_bytes())
    assert cloud.complete and np.array_equal(cloud.xyz, ref.xyz)
    assert list(cloud.attributes) == ["rgb", "gps_time"]
    assert cloud.attributes["gps_time"].tobytes() == ref.attributes["gps_time"].tobytes()


def test_pcstream_serve_command_strips(files, tmp_path):
    """The `pcstream serve` command (a subprocess) answers a stripped range request."""
    pytest.importorskip("aiohttp")
    import os
    import socket
    (tmp_path / "scan.pcs").write_bytes((files / "scan.pcs").read_bytes())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(pcstream.__file__).resolve().parent.parent),
                                         env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-m", "pcstream.cli", "serve", str(tmp_path), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    expect = strip_attributes(files / "scan.pcs", ["gps_time"])
    try:
        deadline = time.time() + 30
        while True:
            try:
                status, headers, body = _get(f"http://127.0.0.1:{port}/scan.pcs?drop=gps_time", "bytes=-16")
                break
            except (ConnectionError, urllib.error.URLError):
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert status == 206 and body == expect[-16:]
        assert headers["Content-Range"] == f"bytes {len(expect) - 16}-{len(expect) - 1}/{len(expect)}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
