"""pcstream.encode / decode / open / ProgressiveDecoder: round trips and failure modes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pcstream
from pcstream import errors

pytest.importorskip("pcstream.geometry", reason="geometry codec not built")
pytest.importorskip("pcstream.container", reason="container not built")


def rows_sorted(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    a = a.reshape(a.shape[0], a.size // a.shape[0] if a.shape[0] else 1)
    return a[np.lexsort(a.T[::-1])]


def same_multiset(a, b) -> bool:
    return a.shape == b.shape and np.array_equal(rows_sorted(a), rows_sorted(b))


def with_attrs(xyz, attrs):
    n = len(xyz)
    cols = [np.asarray(xyz, np.float64)] + [np.asarray(v, np.float64).reshape(n, v.size // n if n else 1) for v in attrs]
    return np.concatenate(cols, axis=1)


@st.composite
def clouds(draw):
    depth = draw(st.integers(1, 21))
    n = draw(st.integers(0, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    hi = 1 << depth
    xyz = rng.integers(0, hi, size=(n, 3), dtype=np.int64)
    if n > 3 and draw(st.booleans()):
        xyz[n // 2:] = xyz[: n - n // 2]          # many exact duplicates
    if n and draw(st.booleans()):
        xyz[0] = hi - 1                            # extreme corner
    return xyz, rng


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clouds())
def test_lossless_roundtrip_integer(cloud):
    xyz, rng = cloud
    n = len(xyz)
    rgb = rng.integers(0, 256, size=(n, 3)).astype(np.uint8)
    val = rng.standard_normal(n).astype(np.float32)
    data = pcstream.encode(xyz, {"rgb": rgb, "val": val})
    out = pcstream.decode(data)
    assert out.xyz.shape == (n, 3) and out.xyz.dtype == np.float64
    assert out.attributes["rgb"].dtype == np.uint8 and out.attributes["rgb"].shape == (n, 3)
    assert out.attributes["val"].dtype == np.float32 and out.attributes["val"].shape == (n,)
    assert same_multiset(with_attrs(xyz, [rgb, val]), with_attrs(out.xyz, [out.attributes["rgb"], out.attributes["val"]]))
    assert out.complete and out.metadata["point_count"] == n


def test_deterministic_bytes():
    rng = np.random.default_rng(1)
    xyz = rng.integers(0, 1024, (2000, 3))
    assert pcstream.encode(xyz) == pcstream.encode(xyz.copy())


def test_decoded_order_is_morton():
    rng = np.random.default_rng(2)
    xyz = rng.integers(0, 256, (3000, 3))
    out = pcstream.decode(pcstream.encode(xyz)).xyz.astype(np.int64)

    def morton(p):
        m = np.zeros(len(p), np.int64)
        for b in range(8):
            for a in range(3):
                m |= ((p[:, a] >> b) & 1) << (3 * b + 2 - a)
        return m
    m = morton(out)
    assert np.all(np.diff(m) >= 0)


def test_empty_and_single_point():
    out = pcstream.decode(pcstream.encode(np.zeros((0, 3))))
    assert out.xyz.shape == (0, 3)
    out = pcstream.decode(pcstream.encode(np.array([[5.5, -2.25, 7.0]]), {"i": np.array([3], np.uint16)}))
    np.testing.assert_array_equal(out.xyz, [[5.5, -2.25, 7.0]])
    assert out.attributes["i"].tolist() == [3]


def test_float_precision_and_transform():
    rng = np.random.default_rng(3)
    xyz = rng.uniform(-50, 80, (5000, 3))
    data = pcstream.encode(xyz, precision=0.001)
    out = pcstream.decode(data)
    md = out.metadata
    assert md["transform"]["scale"] == [0.001] * 3
    # Each decoded point is its input point snapped to the 1 mm grid.
    expect = np.round(xyz / 0.001)
    assert same_multiset(np.round(out.xyz / 0.001), expect)
    assert np.abs(np.round(out.xyz / 0.001) * 0.001 - out.xyz).max() < 1e-9
    assert md["depth"] == int(np.ceil(np.log2(130 / 0.001 + 1)))


def test_inferred_grids():
    rng = np.random.default_rng(4)
    ints = rng.integers(0, 1024, (1000, 3)).astype(np.float32)      # 8i style: integers as float
    out = pcstream.decode(pcstream.encode(ints))
    assert out.metadata["depth"] == 10 and out.metadata["transform"]["scale"] == [1.0] * 3
    assert same_multiset(out.xyz, ints)
    grid = rng.integers(0, 100, (1000, 3)) * 0.25 + 3.0               # regular 0.25 grid
    out = pcstream.decode(pcstream.encode(grid))
    assert out.metadata["transform"]["scale"] == [0.25] * 3
    assert same_multiset(out.xyz, grid)
    neg = rng.integers(-5000, 5000, (500, 3))                         # integers with negatives
    assert same_multiset(pcstream.decode(pcstream.encode(neg)).xyz, neg)


def test_precision_errors():
    with pytest.raises(errors.InvalidArgumentError, match="precision"):
        pcstream.encode(np.random.default_rng(0).random((10, 3)))      # not on a grid
    with pytest.raises(errors.InvalidArgumentError, match="bits"):
        pcstream.encode(np.array([[0.0, 0, 0], [1000.0, 0, 0]]), precision=1e-6)
    with pytest.raises(errors.InvalidArgumentError, match="NaN"):
        pcstream.encode(np.array([[0.0, np.nan, 0]]), precision=0.1)
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(np.zeros((4, 2)))
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(np.zeros((4, 3)), {"rgb": np.zeros((3, 3))})
    with pytest.raises(ValueError):                                   # InvalidArgumentError is a ValueError
        pcstream.encode(np.zeros((4, 3)), precision=-1)


def test_lossy_level_voxels_and_attributes():
    rng = np.random.default_rng(5)
    xyz = rng.integers(0, 1024, (4000, 3))
    rgb = rng.integers(0, 256, (4000, 3)).astype(np.uint8)
    label = rng.integers(0, 5, 4000).astype(np.uint8)
    data = pcstream.encode(xyz, {"rgb": rgb, "label": label}, lossy=True, level=6)
    out = pcstream.decode(data)
    assert out.level == 6 and out.complete
    shift = 10 - 6
    vox = np.unique(xyz >> shift, axis=0)
    centres = vox * (1 << shift) + ((1 << shift) - 1) / 2
    assert same_multiset(out.xyz, centres)
    # Colour = rounded mean of the voxel's points; label = one of the voxel's labels.
    key = out.xyz.astype(np.int64) >> shift
    i = 0
    members = np.all((xyz >> shift) == key[i], axis=1)
    assert np.all(np.abs(out.attributes["rgb"][i].astype(float) - rgb[members].mean(axis=0)) <= 0.5 + 1e-9)
    assert out.attributes["label"][i] in label[members]
    assert len(data) < len(pcstream.encode(xyz, {"rgb": rgb, "label": label}))
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(xyz, lossy=True)
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(xyz, level=4)


def test_partial_level_decode_and_reader(tmp_path):
    rng = np.random.default_rng(6)
    xyz = rng.integers(0, 1 << 12, (5000, 3))
    data = pcstream.encode(xyz, {"i": rng.integers(0, 9, 5000).astype(np.int16)})
    path = tmp_path / "a.pcs"
    path.write_bytes(data)
    with pcstream.open(path) as r:
        assert r.metadata["point_count"] == 5000 and r.depth == 12
        assert [bytes(c.type) if not isinstance(c.type, str) else c.type.encode() for c in r.chunks].count(b"ATTR") == 1
        for lv in (1, 3, 7, 12):
            c = r.decode(level=lv)
            shift = 12 - lv
            assert c.level == lv
            expect = np.unique(xyz >> shift, axis=0) * (1 << shift) + ((1 << shift) - 1) / 2
            assert same_multiset(c.xyz, expect)
        assert r.decode().attributes["i"].dtype == np.int16


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=1, max_size=40), st.integers(0, 1000))
def test_progressive_feed_any_split(sizes, seed):
    rng = np.random.default_rng(seed)
    xyz = rng.integers(0, 1 << 10, (3000, 3))
    rgb = rng.integers(0, 256, (3000, 3)).astype(np.uint8)
    data = pcstream.encode(xyz, {"rgb": rgb})
    dec = pcstream.ProgressiveDecoder()
    updates, pos, k = [], 0, 0
    while pos < len(data):
        step = sizes[k % len(sizes)]
        updates += dec.feed(data[pos:pos + step])
        pos += step
        k += 1
    final = dec.close()
    levels = [u.level for u in updates]
    assert levels == sorted(levels) and levels[-1] == 10
    assert all(b.bytes_consumed >= a.bytes_consumed for a, b in zip(updates, updates[1:]))
    assert all(u.bytes_consumed <= len(data) for u in updates)
    assert updates[-1].complete and "rgb" in updates[-1].attributes
    assert same_multiset(with_attrs(final.xyz, [final.attributes["rgb"]]), with_attrs(xyz, [rgb]))


def test_truncated_stream_gives_partial():
    rng = np.random.default_rng(7)
    xyz = rng.integers(0, 1 << 10, (4000, 3))
    data = pcstream.encode(xyz)
    full = pcstream.ProgressiveDecoder()
    ups = []
    for i in range(0, len(data), 500):
        ups += full.feed(data[i:i + 500])
    full.close()
    first_end = ups[0].bytes_consumed
    coarse = [u for u in ups if u.bytes_consumed == first_end][-1]   # best result at that offset
    dec = pcstream.ProgressiveDecoder()
    dec.feed(data[:first_end + 1])
    with pytest.raises(errors.TruncatedError) as ei:
        dec.close()
    e = ei.value
    assert e.partial is not None and e.partial.level == coarse.level
    assert e.last_good_offset == first_end
    assert len(e.partial) == coarse.point_count
    # Nothing but a few bytes: no partial result, still a typed error.
    dec = pcstream.ProgressiveDecoder()
    dec.feed(data[:5])
    with pytest.raises(errors.TruncatedError) as ei:
        dec.close()
    assert ei.value.partial is None


def test_corrupt_inputs_give_typed_errors():
    rng = np.random.default_rng(8)
    data = bytearray(pcstream.encode(rng.integers(0, 256, (500, 3)), {"c": rng.integers(0, 9, 500).astype(np.uint8)}))
    with pytest.raises(errors.PcsError):
        pcstream.decode(b"not a pcs file at all")
    with pytest.raises(errors.PcsError):
        pcstream.decode(bytes(data[: len(data) // 2]))
    flips = rng.integers(0, len(data), 40)
    for pos in flips:
        bad = bytearray(data)
        bad[pos] ^= 0x10
        try:
            pcstream.decode(bytes(bad))
        except errors.PcsError:
            pass


def test_attribute_codec_registry():
    from pcstream import attr_codecs
    assert attr_codecs.get(2).name == "raw" and attr_codecs.get("raw").codec_id == 2
    with pytest.raises(errors.UnsupportedError):
        attr_codecs.get(999)
    from pcstream import attr_raw
    payload, _ = attr_raw.encode(np.arange(12, dtype=np.uint16).reshape(4, 3))
    with pytest.raises(errors.CorruptPayloadError):
        attr_raw.decode(payload, count=5, dtype="<u2", components=3)
    with pytest.raises(errors.CorruptPayloadError):
        attr_raw.decode(b"garbage", count=4, dtype="<u2", components=3)


def test_truncation_sweep_every_prefix():
    """Every prefix of a small file: a typed TruncatedError with a coarse partial (or none
    before the first chunk), never a crash; the full file decodes completely."""
    rng = np.random.default_rng(9)
    xyz = rng.integers(0, 64, (150, 3))
    data = pcstream.encode(xyz, {"c": rng.integers(0, 255, 150).astype(np.uint8)})
    levels_seen = set()
    for cut in range(len(data)):
        dec = pcstream.ProgressiveDecoder()
        dec.feed(data[:cut])
        with pytest.raises(errors.TruncatedError) as ei:
            dec.close()
        p = ei.value.partial
        assert ei.value.last_good_offset <= cut
        if p is not None:
            levels_seen.add(p.level)
            assert len(p) > 0 and p.xyz.shape[1] == 3
        if cut % 7 == 0:                          # random access on a prefix: no footer
            with pytest.raises(errors.PcsError):
                pcstream.decode(data[:cut])
    assert len(levels_seen) >= 2
    dec = pcstream.ProgressiveDecoder()
    dec.feed(data)
    assert dec.close().complete


def test_random_bit_flips_never_crash():
    rng = np.random.default_rng(10)
    xyz = rng.integers(0, 256, (300, 3))
    data = pcstream.encode(xyz, {"c": rng.integers(0, 255, 300).astype(np.uint8)})
    for _ in range(150):
        bad = bytearray(data)
        for pos in rng.integers(0, len(data), rng.integers(1, 4)):
            bad[pos] ^= 1 << int(rng.integers(0, 8))
        try:
            out = pcstream.decode(bytes(bad))
            assert out.xyz.shape[1] == 3
        except errors.PcsError:
            pass
        dec = pcstream.ProgressiveDecoder()
        try:
            dec.feed(bytes(bad))
            dec.close()
        except errors.PcsError:
            pass


def test_limits_are_applied():
    from pcstream.container import Limits
    data = pcstream.encode(np.random.default_rng(11).integers(0, 256, (1000, 3)))
    with pytest.raises(errors.LimitError):
        pcstream.decode(data, limits=Limits(max_points=10))


def test_other_attribute_codecs_through_the_registry():
    pytest.importorskip("pcstream.attributes", reason="attribute codecs not built")
    rng = np.random.default_rng(12)
    xyz = rng.integers(0, 256, (3000, 3))
    rgb = (xyz * 0.9).astype(np.uint8)
    inten = rng.integers(0, 4000, 3000).astype(np.uint16)
    flag = rng.integers(0, 2, 3000).astype(bool)
    attrs = {"rgb": rgb, "intensity": inten, "flag": flag}
    data = pcstream.encode(xyz, attrs, attribute_codec="auto")
    out = pcstream.decode(data)
    codecs = {a["name"]: a["codec"] for a in out.metadata["attributes"]}
    assert codecs["rgb"] in (2, 3) and codecs["intensity"] in (2, 3) and codecs["flag"] == 2   # smallest wins
    assert same_multiset(with_attrs(xyz, [rgb, inten, flag]),
                         with_attrs(out.xyz, [out.attributes["rgb"], out.attributes["intensity"], out.attributes["flag"]]))
    lossy = pcstream.encode(xyz, attrs, attribute_codec={"rgb": "raht"}, attribute_options={"rgb": {"quality": 40}})
    out = pcstream.decode(lossy)
    codecs = {a["name"]: a["codec"] for a in out.metadata["attributes"]}
    assert codecs["rgb"] == 4 and codecs["intensity"] in (2, 3) and codecs["flag"] == 2
    raw = pcstream.decode(pcstream.encode(xyz, attrs, attribute_codec="raw"))
    assert {a["codec"] for a in raw.metadata["attributes"]} == {2}
    assert out.attributes["rgb"].shape == (3000, 3) and out.attributes["rgb"].dtype == np.uint8
    assert len(lossy) < len(data)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([1.0, 0.25, 0.01, 0.001]), st.floats(-1e6, 1e6), st.integers(1, 400), st.integers(0, 999))
def test_float_precision_property(precision, shift, n, seed):
    """Every decoded point is an input point snapped to the precision grid (multiset),
    in original units, whatever the offset of the coordinates."""
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-50, 50, (n, 3)) + shift
    out = pcstream.decode(pcstream.encode(xyz, precision=precision))
    snapped_in = np.round(xyz / precision)
    snapped_out = np.round(out.xyz / precision)
    assert same_multiset(snapped_in, snapped_out)
    assert np.abs(out.xyz - snapped_out * precision).max() <= 1e-9 * max(1.0, abs(shift))


def test_newer_attribute_codec_version_is_unsupported():
    from pcstream import container
    data = pcstream.encode(np.arange(30).reshape(10, 3), {"v": np.arange(10, dtype=np.uint8)})
    md, chunks = container.read_pcs(data)
    for c in chunks:
        if c.type == b"ATTR":
            c.codec_version = 99
    with pytest.raises(errors.UnsupportedError, match="version 99"):
        pcstream.decode(container.write_pcs(md, chunks))


def test_fuzz_harness_runs_briefly(tmp_path):
    """tests/fuzz/fuzz_api.py (atheris) for a few seconds: no crash, only typed errors."""
    pytest.importorskip("atheris")
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(pcstream.__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, str(root / "tests" / "fuzz" / "fuzz_api.py"), "-runs=300",
                        "-max_total_time=5", "-seed=1", "-rss_limit_mb=2048"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-4000:]


def test_auto_keeps_the_smaller_lossless_payload():
    pytest.importorskip("pcstream.attributes", reason="attribute codecs not built")
    rng = np.random.default_rng(13)
    xyz = rng.integers(0, 512, (4000, 3))
    quantized_float = (rng.integers(0, 100, 4000) / 100).astype(np.float32)   # KITTI-like intensity
    smooth = (xyz[:, :1] // 2).astype(np.uint16) * np.ones((1, 3), np.uint16)
    sizes = {}
    for codec in ("raw", "predictive", "auto"):
        data = pcstream.encode(xyz, {"i": quantized_float, "c": smooth}, attribute_codec=codec)
        sizes[codec] = len(data)
        out = pcstream.decode(data)
        assert out.complete
    assert sizes["auto"] <= min(sizes["raw"], sizes["predictive"])
