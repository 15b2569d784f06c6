"""Choosing the geometry codec: classic (1), learned (7) or auto, through the API and the CLI;
learned files decode through decode / open / ProgressiveDecoder without torch."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pcstream
from pcstream import container, errors, learned
from test_cli import _env, one_line_error, run
from test_learned import ROOT, sphere

pytestmark = pytest.mark.skipif(not learned.available_models(), reason="no shipped learned model")


def _cloud(n=2000, depth=7, seed=3):
    xyz = sphere(n, depth, seed=seed)
    rgb = np.random.default_rng(seed).integers(0, 256, (n, 3)).astype(np.uint8)
    return xyz, rgb


def _geometry_codec(blob_or_path) -> int:
    with container.PcsReader(blob_or_path) as r:
        ids = {int(e.codec_id) for e in r.entries if bytes(e.type) in (b"GEOM", "GEOM")}
        assert len(ids) == 1
        assert int(r.metadata["geometry_codec"]) in ids
        return ids.pop()


def _same_multiset(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    np.testing.assert_array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)])


def test_api_learned_roundtrip_and_progressive():
    xyz, rgb = _cloud()
    blob = pcstream.encode(xyz, {"rgb": rgb}, codec="learned")
    assert _geometry_codec(blob) == learned.CODEC_ID
    cloud = pcstream.decode(blob)
    _same_multiset(np.c_[xyz, rgb], np.c_[cloud.xyz, cloud.attributes["rgb"]])
    # random access to a prefix and streaming decode
    coarse = pcstream.open(blob).decode(level=4)
    assert coarse.level == 4 and 0 < len(coarse) < len(xyz)
    dec = pcstream.ProgressiveDecoder()
    updates = []
    for i in range(0, len(blob), 997):
        updates += dec.feed(blob[i:i + 997])
    final = dec.close()
    assert final.complete and len(final) == len(xyz)
    assert [u.level for u in updates] == sorted(u.level for u in updates)
    np.testing.assert_array_equal(final.xyz, cloud.xyz)


def test_api_codec_choice():
    xyz, rgb = _cloud(seed=5)
    classic = pcstream.encode(xyz, {"rgb": rgb})
    assert _geometry_codec(classic) == 1
    assert pcstream.encode(xyz, {"rgb": rgb}, codec="auto") == classic          # prefer speed: classic
    lrn = pcstream.encode(xyz, {"rgb": rgb}, codec="learned")
    small = pcstream.encode(xyz, {"rgb": rgb}, codec="auto", prefer="size")
    assert len(small) == min(len(classic), len(lrn))
    assert small in (classic, lrn)
    assert pcstream.encode(xyz, codec="learned") == pcstream.encode(xyz, geometry_codec="learned")
    # lossy streams are classic only; auto falls back to classic
    lossy = pcstream.encode(xyz, codec="auto", prefer="size", lossy=True, level=4)
    assert _geometry_codec(lossy) == 1
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(xyz, codec="learned", lossy=True, level=4)
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(xyz, codec="nope")
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(xyz, codec="auto", prefer="quality")


def test_cli_learned_roundtrip(tmp_path):
    from pcstream.io import read_points, write_points
    xyz, rgb = _cloud(seed=9)
    src, pcs, out = tmp_path / "in.ply", tmp_path / "in.pcs", tmp_path / "out.ply"
    write_points(src, xyz.astype(np.float32), {"rgb": rgb})
    r = run("pack", src, pcs, "--codec", "learned")
    assert r.returncode == 0, r.stderr
    assert "geometry codec learned" in r.stdout
    assert _geometry_codec(pcs) == learned.CODEC_ID
    r = run("unpack", pcs, out)
    assert r.returncode == 0, r.stderr
    back = read_points(out)
    _same_multiset(np.c_[xyz, rgb], np.c_[back.xyz, back.attributes["rgb"]])
    r = run("info", pcs)
    assert r.returncode == 0 and "positions (learned octree)" in r.stdout
    assert run("verify", pcs).returncode == 0
    r = run("pack", src, tmp_path / "auto.pcs", "--codec", "auto", "--prefer", "size")
    assert r.returncode == 0, r.stderr
    assert pcs.stat().st_size >= (tmp_path / "auto.pcs").stat().st_size or _geometry_codec(tmp_path / "auto.pcs") == 1
    line = one_line_error(run("pack", src, tmp_path / "x.pcs", "--codec", "learned", "--lossy", "--level", "3"))
    assert "lossless" in line


def test_learned_file_decodes_without_torch(tmp_path):
    xyz, rgb = _cloud(seed=11)
    pcs = tmp_path / "l.pcs"
    pcs.write_bytes(pcstream.encode(xyz, {"rgb": rgb}, codec="learned"))
    ref = pcstream.decode(pcs.read_bytes())
    np.save(tmp_path / "ref.npy", ref.xyz)
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from torchless import block_torch
        block_torch()
        import numpy as np, pcstream
        from pcstream import cli
        data = open({str(pcs)!r}, "rb").read()
        ref = np.load({str(tmp_path / 'ref.npy')!r})
        assert (pcstream.decode(data).xyz == ref).all()
        assert (pcstream.open({str(pcs)!r}).decode().xyz == ref).all()
        dec = pcstream.ProgressiveDecoder()
        dec.feed(data)
        assert (dec.close().xyz == ref).all()
        assert cli.main(["unpack", {str(pcs)!r}, {str(tmp_path / 'o.ply')!r}, "-q"]) == 0
        assert "torch" not in sys.modules
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
