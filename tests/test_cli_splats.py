"""3D Gaussian splat scenes through the normal `pcstream` CLI (pack / unpack / info / verify)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from plyfile import PlyData

from pcstream import splats
from test_cli import one_line_error, run
from test_splats import synthetic


@pytest.fixture(params=[1, 2, 3])
def scene_ply(request, tmp_path):
    scene = synthetic(n=300, degree=request.param, seed=request.param)
    p = tmp_path / "scene.ply"
    splats.write_inria_ply(scene, p)
    return p, scene


def _check_inria_ply(path, n, degree):
    """A valid INRIA 3DGS PLY as viewers read it: the standard properties, unit quaternions."""
    v = PlyData.read(str(path))["vertex"]
    names = v.data.dtype.names
    for k in ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
              "rot_0", "rot_1", "rot_2", "rot_3"):
        assert k in names, k
    assert sum(nm.startswith("f_rest_") for nm in names) == 3 * ((degree + 1) ** 2 - 1)
    assert len(v.data) == n
    q = np.stack([v[f"rot_{i}"] for i in range(4)], 1).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    for nm in names:
        assert np.isfinite(v[nm]).all(), nm


def test_pack_unpack_inria_roundtrip(tmp_path, scene_ply):
    src, scene = scene_ply
    pcs, out = tmp_path / "scene.pcs", tmp_path / "decoded.ply"
    r = run("pack", src, pcs)
    assert r.returncode == 0, r.stderr
    assert "300 splats" in r.stdout and "bytes/splat" in r.stdout
    r = run("unpack", pcs, out)
    assert r.returncode == 0, r.stderr
    assert "300 splats" in r.stdout
    _check_inria_ply(out, len(scene), scene.sh_degree)
    back = splats.read_inria_ply(out)
    rep = splats.fidelity(scene, back, match="position")
    step = 1.0 / 4096
    assert rep["position_max_err"] <= step
    # DC colour on the rendered scale stays close (preset spz).
    assert rep["dc_psnr"] > 35
    r = run("verify", pcs)
    assert r.returncode == 0 and "300 splats" in r.stdout, r.stderr


def test_info_shows_splat_chunks(tmp_path, scene_ply):
    src, scene = scene_ply
    pcs = tmp_path / "scene.pcs"
    assert run("pack", src, pcs, "--lod").returncode == 0
    r = run("info", pcs)
    assert r.returncode == 0, r.stderr
    assert f"300 Gaussian splats, SH degree {scene.sh_degree}" in r.stdout
    assert "SPLT" in r.stdout and "splat opacity + DC colour" in r.stdout and "splat scale + rotation" in r.stdout
    for band in range(1, scene.sh_degree + 1):
        assert f"splat SH band {band}" in r.stdout
    assert "splat LoD representatives" in r.stdout and "positions (fast octree)" in r.stdout
    info = json.loads(run("info", pcs, "--json").stdout)
    assert info["metadata"]["splats"]["n"] == 300
    # a coarse LoD level unpacks to a smaller valid scene
    out = tmp_path / "coarse.ply"
    r = run("unpack", pcs, out, "--lod-level", "0")
    assert r.returncode == 0, r.stderr
    coarse = splats.read_inria_ply(out)
    assert 0 < len(coarse) < 300


def test_quality_presets_spz_and_splat_outputs(tmp_path):
    scene = synthetic(n=400, degree=2, seed=7)
    spz = tmp_path / "scene.spz"
    spz.write_bytes(splats.write_spz(scene))
    sizes = {}
    for name, args in (("small", ["--preset", "small"]), ("q50", ["--quality", "50"]), ("high", ["--quality", "90"])):
        pcs = tmp_path / f"{name}.pcs"
        r = run("pack", spz, pcs, *args)
        assert r.returncode == 0, r.stderr
        sizes[name] = pcs.stat().st_size
    assert sizes["small"] < sizes["q50"] < sizes["high"]
    # quality 50 is preset spz: the same bytes
    assert run("pack", spz, tmp_path / "spz.pcs", "--preset", "spz").returncode == 0
    assert (tmp_path / "spz.pcs").read_bytes() == (tmp_path / "q50.pcs").read_bytes()
    for ext, reader in ((".spz", splats.read_spz), (".splat", splats.read_splat)):
        out = tmp_path / f"out{ext}"
        r = run("unpack", tmp_path / "q50.pcs", out)
        assert r.returncode == 0, r.stderr
        assert len(reader(out)) == 400
    r = run("pack", spz, tmp_path / "nosh.pcs", "--max-sh", "0")
    assert r.returncode == 0
    r = run("unpack", tmp_path / "nosh.pcs", tmp_path / "nosh.ply")
    assert r.returncode == 0 and "SH degree 0" in r.stdout


def test_splat_option_errors(tmp_path, scene_ply):
    src, _ = scene_ply
    pcs = tmp_path / "s.pcs"
    line = one_line_error(run("pack", src, pcs, "--codec", "learned"))
    assert "splat" in line and "--codec" in line
    line = one_line_error(run("pack", src, pcs, "--quality", "150"))
    assert "0..100" in line
    assert run("pack", src, pcs).returncode == 0
    line = one_line_error(run("unpack", pcs, tmp_path / "x.npy"))
    assert ".spz" in line
    line = one_line_error(run("unpack", pcs, tmp_path / "x.ply", "--level", "3"))
    assert "--lod-level" in line
    # splat-only options on a point cloud
    from pcstream.io import write_points
    cloud = tmp_path / "cloud.ply"
    write_points(cloud, np.random.default_rng(0).integers(0, 64, (100, 3)).astype(np.float32), {})
    line = one_line_error(run("pack", cloud, pcs, "--lod"))
    assert "--lod" in line and "point cloud" in line


def test_truncated_splat_file_is_a_clear_error(tmp_path, scene_ply):
    src, _ = scene_ply
    pcs, cut = tmp_path / "s.pcs", tmp_path / "cut.pcs"
    assert run("pack", src, pcs).returncode == 0
    cut.write_bytes(pcs.read_bytes()[: pcs.stat().st_size // 2])
    for extra in ([], ["--allow-partial"]):
        r = run("unpack", cut, tmp_path / "o.ply", *extra)
        assert "splat scene" in one_line_error(r)
        assert r.returncode == 13
