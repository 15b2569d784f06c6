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


# ------------------------------------------------------------ level-range chunks (codec 4 version 2)

import hashlib  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

VECTORS = Path(__file__).resolve().parent.parent / "formats" / "testvectors"
ATTR_MANIFEST = json.loads((VECTORS / "attributes-manifest.json").read_text())


def _shell_rgb(seed=3):
    pts = surface(8000, seed)
    rng = np.random.default_rng(seed)
    rgb = np.stack([pts[:, 0], pts[:, 2], 255 - pts[:, 1]], 1).astype(np.int64)
    return pts, np.clip(rgb + rng.integers(-8, 9, rgb.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("his", [[8], [3, 8], [4, 6, 8], [1, 2, 3, 4, 5, 6, 7, 8]])
@pytest.mark.parametrize("quality", [10, 40, 70])
def test_raht_levels_error_bound_per_quality(his, quality):
    """Level ranges keep the per-quality bound of one range: RMSE(Y) <= step + 0.5."""
    pts, rgb = _shell_rgb()
    chunks = A.encode_attribute_levels(pts, rgb, 8, his, quality=quality)
    assert [(lo, hi) for lo, hi, _ in chunks] == list(zip([0] + [h + 1 for h in his[:-1]], his))
    out = A.decode_attribute_levels(pts, [p for *_, p in chunks], np.uint8, 3, 8)
    assert np.sqrt(np.mean((ycc_y(out) - ycc_y(rgb)) ** 2)) <= A.raht_step(quality) + 0.5
    assert A.encode_attribute_levels(pts, rgb, 8, his, quality=quality) == chunks   # deterministic


def test_raht_one_range_equals_version_1():
    """One level range is the version-1 transform: the same decoded values."""
    pts, rgb = _shell_rgb(4)
    (_, _, p2), = A.encode_attribute_levels(pts, rgb, 8, [8], quality=35)
    cid, p1 = A.encode_attribute(pts, rgb, mode="lossy", quality=35)
    assert np.array_equal(A.decode_attribute_levels(pts, [p2], np.uint8, 3, 8),
                          A.decode_attribute(pts, cid, p1, np.uint8, 3))


def test_raht_levels_coarse_geometry_gives_the_same_colours():
    """A decoder with the geometry of level L only gets exactly the colours that the
    full-resolution decoder gives the level-L ancestors (every level, every prefix)."""
    pts, rgb = _shell_rgb(5)
    order = np.lexsort(pts.T[::-1])
    pts, rgb = pts[order], rgb[order]
    chunks = A.encode_attribute_levels(pts, rgb, 8, [2, 4, 5, 6, 7, 8], quality=45)
    full = A.RahtLevelDecoder(np.uint8, 3)
    full.set_points(pts, 8)
    part = A.RahtLevelDecoder(np.uint8, 3)
    for lo, hi, payload in chunks:
        full.feed(payload)
        vox, first = np.unique(pts >> (8 - hi), axis=0, return_index=True)
        part.set_points(vox if hi < 8 else pts, hi)
        assert part.feed(payload) == hi and part.level == hi
        got = part.values()
        ref = full.values()
        expect = ref[first] if hi < 8 else ref
        assert np.array_equal(got, expect)
        # every point of a voxel has its voxel's colour
        inv = np.unique(pts >> (8 - hi), axis=0, return_inverse=True)[1].reshape(-1)
        assert np.array_equal(ref, got[inv] if hi < 8 else got)
    assert part.done and full.done


@pytest.mark.parametrize("entry", ATTR_MANIFEST["vectors"], ids=[v["name"] for v in ATTR_MANIFEST["vectors"]])
def test_attribute_golden_payloads(entry):
    """Frozen codec-3 and codec-4 payloads decode forever to the recorded values."""
    z = np.load(VECTORS / entry["npz"])
    payloads = [(VECTORS / p["file"]).read_bytes() for p in entry["payloads"]]
    for p, meta in zip(payloads, entry["payloads"]):
        assert hashlib.sha256(p).hexdigest() == meta["sha256"]
    if entry["codec_version"] == 1:
        out = A.decode_attribute(z["points"], entry["codec_id"], payloads[0], entry["dtype"], entry["components"])
        assert np.array_equal(out, z["expected"])
    else:
        dec = A.RahtLevelDecoder(entry["dtype"], entry["components"])
        dec.set_points(z["points"], entry["depth"])
        for k, (p, meta) in enumerate(zip(payloads, entry["payloads"])):
            assert dec.feed(p) == meta["level_hi"]
            out = dec.values()
            assert np.array_equal(out, z[f"expected_{k}"])
            part = A.RahtLevelDecoder(entry["dtype"], entry["components"])
            for p2 in payloads[:k + 1]:
                part.set_points(z[f"coarse_points_{k}"], meta["level_hi"])
                part.feed(p2)
            assert np.array_equal(part.values(), z[f"coarse_expected_{k}"])
    assert hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest() == entry["expected_sha256"]


def test_attribute_golden_file_levels():
    """The frozen .pcs file with interleaved GEOM / level-range ATTR chunks."""
    import pcstream
    entry = ATTR_MANIFEST["pcs"]
    data = (VECTORS / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    r = pcstream.open(data)
    r.verify()
    for step in entry["steps"]:
        c = r.decode(level=step["level"])
        assert (c.level, len(c), c.attribute_levels) == (step["level"], step["points"], step["attribute_levels"])
        assert hashlib.sha256(np.ascontiguousarray(c.attributes["rgb"]).tobytes()).hexdigest() == step["rgb_sha256"]
    full = pcstream.decode(data)
    assert full.complete
    assert hashlib.sha256(np.ascontiguousarray(full.attributes["label"]).tobytes()).hexdigest() == \
        entry["label_sha256"]


@pytest.mark.parametrize("entry", ATTR_MANIFEST["broken"], ids=[b["file"] for b in ATTR_MANIFEST["broken"]])
def test_broken_attribute_chunks(entry):
    """Valid containers with damaged ATTR payloads: the listed typed error, from random
    access and from the progressive decoder, never a crash."""
    import pcstream
    data = (VECTORS / entry["file"]).read_bytes()
    with pytest.raises(errors.PcsError) as info:
        pcstream.decode(data)
    assert info.value.code == entry["decode_code"], str(info.value)
    dec = pcstream.ProgressiveDecoder()
    with pytest.raises(errors.PcsError) as info:
        dec.feed(data)
        dec.close()
    assert info.value.code == entry["decode_code"]


def test_broken_level_chunks_random_damage():
    pts, rgb = _shell_rgb(6)
    chunks = A.encode_attribute_levels(pts, rgb, 8, [3, 6, 8], quality=50)
    payloads = [p for *_, p in chunks]
    rng = np.random.default_rng(7)
    for _ in range(150):
        k = int(rng.integers(len(payloads)))
        bad = list(payloads)
        b = bytearray(bad[k])
        if rng.random() < 0.3:
            b = b[:int(rng.integers(len(b)))]
        else:
            b[rng.integers(len(b))] ^= int(rng.integers(1, 256))
        bad[k] = bytes(b)
        try:
            out = A.decode_attribute_levels(pts, bad, np.uint8, 3, 8)
            assert out.shape == rgb.shape
        except errors.PcsError:
            pass
    dec = A.RahtLevelDecoder(np.uint8, 3)
    dec.set_points(pts, 8)
    with pytest.raises(errors.CorruptPayloadError):
        dec.feed(payloads[1])                       # out of order
    dec.feed(payloads[0])
    with pytest.raises(errors.CorruptPayloadError):
        dec.feed(payloads[0])                       # twice
    assert dec.level == 3                           # the last complete level is kept
    with pytest.raises(errors.InvalidArgumentError):
        dec.set_points(pts >> 6, 2)                 # coarser than what is decoded
    other = A.RahtLevelDecoder(np.uint8, 3)
    other.set_points(pts[:-1], 8)
    with pytest.raises(errors.CorruptPayloadError):
        for p in payloads:
            other.feed(p)                           # another geometry


def test_progressive_prefix_has_colours_per_level():
    """pcstream.encode with RAHT level ranges: a byte prefix decodes to coarse levels whose
    voxels carry colours (attribute_levels says from which level), equal to decode(level=L)."""
    import pcstream
    pts, rgb = _shell_rgb(8)
    lab = (pts[:, 0] % 3).astype(np.uint8)
    data = pcstream.encode(pts.astype(np.int64), {"rgb": rgb, "lab": lab}, attribute_codec={"rgb": "raht"},
                           attribute_options={"rgb": {"quality": 40, "levels": "geometry"}})
    entries = pcstream.open(data).chunks
    kinds = [(e.type, e.level_hi) for e in entries]
    assert [k for k in kinds if k[0] == b"ATTR"][:1] == [(b"ATTR", kinds[0][1])]   # after the first GEOM chunk
    cut = entries[len(entries) // 2].offset
    dec = pcstream.ProgressiveDecoder()
    ups = dec.feed(data[:cut])
    coloured = [u for u in ups if "rgb" in u.attributes]
    assert coloured and all(u.attributes["rgb"].shape == (u.point_count, 3) for u in coloured)
    assert all(u.attribute_levels["rgb"] <= u.level for u in coloured)
    assert all("lab" not in u.attributes for u in ups)       # lossless: full resolution only
    last = coloured[-1]
    ref = pcstream.decode(data, level=last.level)
    assert ref.attribute_levels["rgb"] >= last.attribute_levels["rgb"]
    if ref.attribute_levels["rgb"] == last.attribute_levels["rgb"]:
        assert np.array_equal(ref.attributes["rgb"], last.attributes["rgb"])
    with pytest.raises(errors.TruncatedError):
        dec.close()
    full = pcstream.decode(data)
    assert full.complete and full.attribute_levels == {"rgb": 8, "lab": 8}


def test_default_levels_and_strip():
    """Default RAHT ranges: the first GEOM chunk's levels, then the rest; a server can strip
    one attribute or the fine levels and the file stays valid."""
    import pcstream
    from pcstream.attr_strip import strip_attributes
    pts, rgb = _shell_rgb(9)
    lab = (pts[:, 1] % 4).astype(np.uint8)
    data = pcstream.encode(pts.astype(np.int64), {"rgb": rgb, "lab": lab}, attribute_codec={"rgb": "raht"},
                           attribute_options={"rgb": {"quality": 40}})
    ents = pcstream.open(data).chunks
    geo = [e for e in ents if e.type == b"GEOM"]
    rgb_ranges = [(e.level_lo, e.level_hi) for e in ents if e.type == b"ATTR" and e.stream_id == 0]
    assert rgb_ranges == [(0, geo[0].level_hi), (geo[0].level_hi + 1, 8)]
    no_lab = strip_attributes(data, drop=["lab"])
    pcstream.open(no_lab).verify()
    c = pcstream.decode(no_lab)
    assert c.complete and list(c.attributes) == ["rgb"]
    assert np.array_equal(c.attributes["rgb"], pcstream.decode(data).attributes["rgb"])
    coarse = strip_attributes(data, max_level=geo[0].level_hi)
    pcstream.open(coarse).verify()
    c = pcstream.decode(coarse)
    assert list(c.attributes) == ["rgb"] and c.attribute_levels == {"rgb": geo[0].level_hi} and not c.complete
    with pytest.raises(errors.InvalidArgumentError):
        strip_attributes(data, drop=["nope"])
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(pts.astype(np.int64), {"rgb": rgb}, attribute_codec="raht",
                        attribute_options={"levels": [9]})


def test_info_lists_attribute_level_ranges(tmp_path, capsys):
    import pcstream
    from pcstream import cli
    pts, rgb = _shell_rgb(10)
    path = tmp_path / "c.pcs"
    path.write_bytes(pcstream.encode(pts.astype(np.int64), {"rgb": rgb}, attribute_codec="raht",
                                     attribute_options={"levels": "geometry"}))
    cli.main(["info", str(path)])
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if " ATTR " in line]
    assert [r[3] for r in rows] == [f"{e.level_lo}-{e.level_hi}" for e in pcstream.open(path).chunks
                                    if e.type == b"ATTR"]
    assert len(rows) > 2
