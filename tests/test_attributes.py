"""Attribute codecs (issue 6): lossless round trips of every field type, the lossy
error bound per quality, typed errors for broken payloads, a LAS field round trip."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from pcstream import attributes as A
from pcstream import errors

DTYPES = ["u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f4", "f8"]


def surface(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, n)
    y = rng.integers(0, 256, n)
    z = (128 + 40 * np.sin(x / 20.0) + rng.integers(0, 3, n)).astype(np.int64)
    return np.stack([x, y, z], 1).astype(np.uint32)


def ycc_y(rgb):
    rgb = rgb.astype(np.float64)
    return 0.2126 * rgb[:, 0] + 0.7152 * rgb[:, 1] + 0.0722 * rgb[:, 2]


@settings(max_examples=25, deadline=None)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), comps=st.sampled_from([1, 2, 3]))
def test_lossless_roundtrip_any_type(data, dtype, comps):
    n = data.draw(st.integers(0, 300))
    pts = data.draw(hnp.arrays(np.uint32, (n, 3), elements=st.integers(0, 63)))
    shape = (n,) if comps == 1 else (n, comps)
    vals = data.draw(hnp.arrays(np.dtype(dtype), shape))  # includes NaN/inf/-0.0 for floats
    cid, payload = A.encode_attribute(pts, vals)
    assert cid == A.LOSSLESS
    out = A.decode_attribute(pts, cid, payload, vals.dtype, comps)
    assert out.dtype == vals.dtype and out.shape == vals.shape
    assert out.tobytes() == vals.tobytes()  # bit-exact, NaN payloads included


@pytest.mark.parametrize("dtype", DTYPES)
def test_lossless_smooth_fields_compress(dtype):
    pts = surface(5000)
    v = (pts[:, 0].astype(np.float64) * 3 + pts[:, 1]).astype(dtype)
    cid, payload = A.encode_attribute(pts, v)
    assert np.array_equal(A.decode_attribute(pts, cid, payload, dtype, 1), v)
    assert len(payload) < v.nbytes


def test_lossless_independent_of_point_order():
    pts = np.unique(surface(3000, 1), axis=0)  # duplicates keep their input order
    n = len(pts)
    v = np.random.default_rng(1).integers(0, 1000, (n, 3)).astype(np.uint16)
    perm = np.random.default_rng(2).permutation(n)
    cid, p1 = A.encode_attribute(pts, v)
    cid, p2 = A.encode_attribute(pts[perm], v[perm])
    assert p1 == p2  # coded in Morton order of the geometry
    assert np.array_equal(A.decode_attribute(pts[perm], cid, p2, np.uint16, 3), v[perm])


@pytest.mark.parametrize("quality", [10, 30, 50, 70])
def test_raht_error_bound_per_quality(quality):
    pts = surface(8000, 3)
    rng = np.random.default_rng(3)
    rgb = np.stack([pts[:, 0], pts[:, 2], 255 - pts[:, 1]], 1).astype(np.int64)
    rgb = np.clip(rgb + rng.integers(-8, 9, rgb.shape), 0, 255).astype(np.uint8)
    cid, payload = A.encode_attribute(pts, rgb, mode="lossy", quality=quality)
    assert cid == A.RAHT
    out = A.decode_attribute(pts, cid, payload, np.uint8, 3)
    rmse_y = np.sqrt(np.mean((ycc_y(out) - ycc_y(rgb)) ** 2))
    # Orthonormal transform: RMSE <= quantiser step, plus 0.5 for integer output.
    assert rmse_y <= A.raht_step(quality) + 0.5
    # Same bytes for the same input.
    assert A.encode_attribute(pts, rgb, mode="lossy", quality=quality)[1] == payload


def test_raht_rate_and_error_monotonic():
    pts = surface(8000, 4)
    v = (pts[:, 0] + pts[:, 1] // 2).astype(np.uint16)
    sizes, errs = [], []
    for q in (20, 40, 60, 80):
        cid, payload = A.encode_attribute(pts, v, mode="lossy", quality=q)
        out = A.decode_attribute(pts, cid, payload, np.uint16, 1)
        sizes.append(len(payload))
        errs.append(np.mean((out.astype(float) - v) ** 2))
    assert sizes == sorted(sizes)
    assert errs == sorted(errs, reverse=True)


def test_bad_arguments_are_typed():
    pts = surface(100)
    with pytest.raises(errors.InvalidArgumentError):
        A.encode_attribute(pts, np.zeros(99, np.uint8))
    with pytest.raises(errors.InvalidArgumentError):
        A.encode_attribute(pts, np.zeros((100, 3), np.float32), mode="lossy")
    with pytest.raises(errors.InvalidArgumentError):
        A.encode_attribute(pts, np.zeros(100, np.bool_))
    with pytest.raises(errors.InvalidArgumentError):
        A.encode_attribute(pts * 0 + (1 << 22), np.zeros(100, np.uint8))
    with pytest.raises(errors.UnsupportedError):
        A.decode_attribute(pts, 99, b"", np.uint8, 1)


@pytest.mark.parametrize("mode", ["lossless", "lossy"])
def test_broken_payloads_give_typed_errors(mode):
    pts = surface(3000, 5)
    v = np.random.default_rng(5).integers(0, 255, (3000, 3)).astype(np.uint8)
    cid, payload = A.encode_attribute(pts, v, mode=mode, quality=50)
    for cut in (0, 2, 5, len(payload) // 2, len(payload) - 3):
        with pytest.raises((errors.TruncatedError, errors.CorruptPayloadError)):
            A.decode_attribute(pts, cid, payload[:cut], np.uint8, 3)
    with pytest.raises(errors.CorruptPayloadError):
        A.decode_attribute(pts[:-1], cid, payload, np.uint8, 3)  # other geometry
    with pytest.raises(errors.CorruptPayloadError):
        A.decode_attribute(pts, cid, payload, np.uint16, 3)  # other dtype than the metadata
    bad = bytearray(payload)
    bad[0] = 200
    with pytest.raises(errors.UnsupportedError):
        A.decode_attribute(pts, cid, bytes(bad), np.uint8, 3)
    rng = np.random.default_rng(6)
    for _ in range(100):  # random corruption: a typed error or some output, never a crash
        bad = bytearray(payload)
        bad[rng.integers(len(bad))] ^= int(rng.integers(1, 256))
        try:
            out = A.decode_attribute(pts, cid, bytes(bad), np.uint8, 3)
            assert out.shape == v.shape
        except errors.PcsError:
            pass


def test_las_every_dimension_lossless(shared_data):
    laspy = pytest.importorskip("laspy")
    las = laspy.read(shared_data("lidar/4_6_crop.las"))
    xyz = np.stack([las.X, las.Y, las.Z], 1).astype(np.int64)
    pts = (xyz - xyz.min(0)).astype(np.uint32)
    for name in las.point_format.dimension_names:
        if name in ("X", "Y", "Z"):
            continue
        v = np.ascontiguousarray(np.asarray(las[name]))
        cid, payload = A.encode_attribute(pts, v)
        out = A.decode_attribute(pts, cid, payload, v.dtype, 1)
        assert out.tobytes() == v.tobytes(), name


# ---------------------------------------------------------------- LAS / CLI integration

def _records(las):
    """Point records as a sorted multiset of raw byte strings."""
    arr = np.ascontiguousarray(las.points.array)
    return np.sort(arr.view(np.uint8).reshape(len(arr), -1).view(f"V{arr.dtype.itemsize}").ravel())


def test_las_pack_unpack_every_dimension(shared_data, tmp_path):
    laspy = pytest.importorskip("laspy")
    from pcstream import cli

    src = shared_data("lidar/4_6_crop.las")
    orig = laspy.read(src)
    assert cli.main(["pack", "-q", str(src), str(tmp_path / "a.pcs")]) == 0
    assert cli.main(["unpack", "-q", str(tmp_path / "a.pcs"), str(tmp_path / "a.las")]) == 0
    back = laspy.read(tmp_path / "a.las")
    assert back.header.point_format.id == orig.header.point_format.id
    assert back.points.array.dtype == orig.points.array.dtype
    assert np.array_equal(_records(back), _records(orig))  # same records, Morton order
    # --keep-order restores the input order exactly.
    assert cli.main(["pack", "-q", "--keep-order", str(src), str(tmp_path / "b.pcs")]) == 0
    assert cli.main(["unpack", "-q", str(tmp_path / "b.pcs"), str(tmp_path / "b.las")]) == 0
    kept = laspy.read(tmp_path / "b.las")
    assert np.asarray(kept.points.array).tobytes() == np.asarray(orig.points.array).tobytes()


def test_cli_drop_and_lossy_attr(tmp_path):
    laspy = pytest.importorskip("laspy")
    import pcstream
    from pcstream import cli

    rng = np.random.default_rng(0)
    hdr = laspy.LasHeader(point_format=3, version="1.2")
    hdr.scales = np.array([0.01, 0.01, 0.01])
    hdr.offsets = np.zeros(3)
    las = laspy.LasData(hdr)
    n = 2000
    las.X = rng.integers(0, 3000, n)
    las.Y = rng.integers(0, 3000, n)
    las.Z = rng.integers(0, 100, n)
    las.intensity = rng.integers(0, 500, n).astype(np.uint16)
    for c in ("red", "green", "blue"):
        las[c] = (np.asarray(las.X) // 12).astype(np.uint16)
    las.write(tmp_path / "s.las")
    assert cli.main(["pack", "-q", "--drop", "intensity", "--lossy-attr", "40", str(tmp_path / "s.las"),
                     str(tmp_path / "s.pcs")]) == 0
    meta = pcstream.open(str(tmp_path / "s.pcs")).metadata
    by_name = {m["name"]: m for m in meta["attributes"]}
    assert "intensity" not in by_name
    assert by_name["rgb"]["codec"] == A.RAHT
    assert by_name["classification"]["codec"] == A.LOSSLESS
    assert cli.main(["pack", "-q", "--drop", "nope", str(tmp_path / "s.las"), str(tmp_path / "t.pcs")]) == cli.EXIT_USAGE
    assert cli.main(["pack", "-q", "--lossy-attr", "gps_time=30", str(tmp_path / "s.las"),
                     str(tmp_path / "t.pcs")]) == cli.EXIT_USAGE
