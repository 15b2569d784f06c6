"""Readers and writers of pcstream.io on synthetic files, plus the real shared files."""
from __future__ import annotations

import numpy as np
import pytest

from pcstream import errors
from pcstream.io import detect_format, read_points, write_points
from conftest import data_file


def test_ply_float_and_int_with_extra_properties(tmp_path):
    from plyfile import PlyData, PlyElement
    rec = np.zeros(5, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"),
                             ("blue", "u1"), ("intensity", "<u2"), ("label", "i1")])
    rec["x"] = np.arange(5) * 0.5
    rec["red"] = 200
    rec["intensity"] = [1, 2, 3, 4, 5]
    rec["label"] = -1
    PlyData([PlyElement.describe(rec, "vertex")], text=True).write(str(tmp_path / "a.ply"))
    d = read_points(tmp_path / "a.ply")
    assert d.xyz.shape == (5, 3) and d.xyz.dtype == np.float32
    assert d.attributes["rgb"].shape == (5, 3) and d.attributes["rgb"][0, 0] == 200
    assert d.attributes["intensity"].dtype == np.uint16 and d.attributes["label"].dtype == np.int8
    irec = np.zeros(3, dtype=[("x", "<i4"), ("y", "<i4"), ("z", "<i4")])
    irec["z"] = [7, 8, 9]
    PlyData([PlyElement.describe(irec, "vertex")]).write(str(tmp_path / "i.ply"))
    d = read_points(tmp_path / "i.ply")
    assert d.xyz.dtype.kind == "i" and d.xyz[:, 2].tolist() == [7, 8, 9]


def test_ply_write_read_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    xyz = rng.random((50, 3))
    attrs = {"rgb": rng.integers(0, 256, (50, 3)).astype(np.uint8), "t": rng.random(50).astype(np.float32),
             "n": rng.random((50, 2))}
    write_points(tmp_path / "o.ply", xyz, attrs)
    d = read_points(tmp_path / "o.ply")
    np.testing.assert_array_equal(d.xyz, xyz)
    np.testing.assert_array_equal(d.attributes["rgb"], attrs["rgb"])
    np.testing.assert_array_equal(d.attributes["t"], attrs["t"])
    np.testing.assert_array_equal(d.attributes["n_1"], attrs["n"][:, 1])


def test_kitti_and_nuscenes_bin(tmp_path):
    a = np.arange(40, dtype="<f4").reshape(10, 4)
    a.tofile(tmp_path / "k.bin")
    d = read_points(tmp_path / "k.bin")
    np.testing.assert_array_equal(d.xyz, a[:, :3])
    np.testing.assert_array_equal(d.attributes["intensity"], a[:, 3])
    b = np.zeros((6, 5), dtype="<f4")
    b[:, 4] = np.arange(6)
    b.tofile(tmp_path / "n.pcd.bin")
    d = read_points(tmp_path / "n.pcd.bin")
    assert d.attributes["ring"].dtype == np.uint8 and d.attributes["ring"].tolist() == list(range(6))
    write_points(tmp_path / "w.bin", a[:, :3], {"intensity": a[:, 3]})
    assert (tmp_path / "w.bin").read_bytes() == a.tobytes()
    (tmp_path / "bad.bin").write_bytes(b"\0" * 18)
    with pytest.raises(errors.InputFileError, match=r"bad\.bin.*multiple of 16"):
        read_points(tmp_path / "bad.bin")


def test_npy_plain_and_structured(tmp_path):
    xyz = np.arange(12, dtype=np.int32).reshape(4, 3)
    write_points(tmp_path / "p.npy", xyz)
    np.testing.assert_array_equal(read_points(tmp_path / "p.npy").xyz, xyz)
    write_points(tmp_path / "s.npy", xyz.astype(float), {"rgb": np.ones((4, 3), np.uint8), "v": np.arange(4.0)})
    d = read_points(tmp_path / "s.npy")
    assert d.attributes["rgb"].shape == (4, 3) and d.attributes["v"].tolist() == [0, 1, 2, 3]
    np.save(tmp_path / "bad.npy", np.zeros((4, 2)))
    with pytest.raises(errors.InputFileError, match=r"bad\.npy.*shape"):
        read_points(tmp_path / "bad.npy")


def test_las_synthetic(tmp_path):
    laspy = pytest.importorskip("laspy")
    hdr = laspy.LasHeader(point_format=3, version="1.2")
    hdr.scales = [0.01, 0.01, 0.01]
    hdr.offsets = [1000.0, 2000.0, 0.0]
    las = laspy.LasData(hdr)
    las.x = np.array([1000.0, 1001.5, 1002.25])
    las.y = np.array([2000.0, 2000.1, 2000.2])
    las.z = np.array([1.0, 2.0, 3.0])
    las.intensity = np.array([10, 20, 30], np.uint16)
    las.classification = np.array([2, 2, 6], np.uint8)
    las.red = np.array([1, 2, 3], np.uint16)
    las.green = las.red
    las.blue = las.red
    las.write(str(tmp_path / "t.las"))
    d = read_points(tmp_path / "t.las")
    np.testing.assert_allclose(d.xyz[:, 0], [1000.0, 1001.5, 1002.25])
    assert d.attributes["intensity"].tolist() == [10, 20, 30]
    assert d.attributes["classification"].tolist() == [2, 2, 6]
    assert d.attributes["rgb"].shape == (3, 3) and "gps_time" in d.attributes
    np.testing.assert_allclose(d.precision, 0.01)
    np.testing.assert_allclose(d.origin, [1000.0, 2000.0, 0.0])


def test_pcd_synthetic(tmp_path):
    pypcd4 = pytest.importorskip("pypcd4")
    xyz = np.array([[0, 0, 0], [1, 2, 3]], np.float32)
    pc = pypcd4.PointCloud.from_xyz_points(xyz)
    pc.save(str(tmp_path / "a.pcd"))
    d = read_points(tmp_path / "a.pcd")
    np.testing.assert_array_equal(d.xyz, xyz)


def test_nonfinite_error_or_drop(tmp_path):
    a = np.zeros((3, 4), "<f4")
    a[1, 0] = np.nan
    a[2, 2] = np.inf
    a.tofile(tmp_path / "nan.bin")
    with pytest.raises(errors.InputFileError, match=r"nan\.bin.*2 of 3 points.*NaN"):
        read_points(tmp_path / "nan.bin")
    d = read_points(tmp_path / "nan.bin", drop_nonfinite=True)
    assert len(d) == 1 and d.attributes["intensity"].shape == (1,) and d.source["dropped_nonfinite"] == 2


def test_detection_and_errors(tmp_path):
    p = tmp_path / "x.ply"
    write_points(p, np.zeros((2, 3)))
    q = tmp_path / "renamed.dat"
    q.write_bytes(p.read_bytes())
    assert detect_format(q) == "ply"
    (tmp_path / "what.xyz").write_text("1 2 3\n")
    with pytest.raises(errors.InputFileError, match=r"what\.xyz.*unknown point cloud format"):
        read_points(tmp_path / "what.xyz")
    with pytest.raises(errors.InputFileError, match="no such file"):
        read_points(tmp_path / "missing.ply")
    (tmp_path / "broken.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n1\n")
    with pytest.raises(errors.InputFileError, match=r"broken\.ply"):
        read_points(tmp_path / "broken.ply")
    with pytest.raises(errors.InputFileError, match="cannot write"):
        write_points(tmp_path / "o.las", np.zeros((1, 3)))


# ---------------------------------------------------------------- real shared files

@pytest.mark.parametrize("rel,n,attrs", [
    ("dense/loot_vox10_1200.ply", 805285, {"rgb"}),
    ("dense/bun_zipper.ply", 35947, {"confidence", "intensity"}),
    ("lidar/semantickitti_11_000000.bin", 127405, {"intensity"}),
    ("lidar/nuscenes_n008_lidar_top.pcd.bin", 34752, {"intensity", "ring"}),
    ("lidar/autzen_trim.las", 110000, {"intensity", "rgb", "return_number", "number_of_returns",
                                       "classification", "gps_time"}),
    ("dense/lion_takanawa.copc.laz", 341989, {"intensity", "rgb"}),
    ("indoor/fragment.pcd", 113662, {"rgb"}),
])
def test_real_files(rel, n, attrs):
    d = read_points(data_file(rel))
    assert len(d) == n
    assert attrs <= set(d.attributes)
    assert all(len(v) == n for v in d.attributes.values())


def test_real_kinect_pcd_with_nan_holes():
    path = data_file("indoor/office1.pcd")
    with pytest.raises(errors.InputFileError, match="NaN"):
        read_points(path)
    d = read_points(path, drop_nonfinite=True)
    assert 0 < len(d) < 307200 and np.isfinite(d.xyz).all()


def test_xyzrgb_explicit_format(tmp_path):
    a = np.arange(24, dtype="<f4").reshape(4, 6)
    a.tofile(tmp_path / "room.bin")
    d = read_points(tmp_path / "room.bin", format="xyzrgb")
    np.testing.assert_array_equal(d.attributes["rgb"], a[:, 3:])
    assert read_points(tmp_path / "room.bin").source["format"] == "kitti"   # .bin defaults to KITTI
    d = read_points(data_file("indoor/scannet_scene0000_00.bin"), format="xyzrgb")
    assert len(d) == 40684


def test_laz_without_backend_gives_install_hint(tmp_path, monkeypatch):
    laspy = pytest.importorskip("laspy")

    def no_backend(*a, **k):
        raise laspy.errors.LaspyException("No LazBackend selected, cannot decompress data")
    monkeypatch.setattr(laspy, "read", no_backend)
    (tmp_path / "x.laz").write_bytes(b"LASF" + b"\0" * 300)
    with pytest.raises(errors.InputFileError, match=r"x\.laz.*pcstream\[las\]"):
        read_points(tmp_path / "x.laz")
