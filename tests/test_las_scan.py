"""Scan-order codecs (GEOM 8, ATTR 9): LAS round trips with every dimension equal,
synthetic point formats, API dispatch, corrupt and truncated payloads."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pcstream
from pcstream import _core, errors, scan_order

from conftest import data_file

laspy = pytest.importorskip("laspy")


def _same_las(a, b):
    assert a.header.point_format.id == b.header.point_format.id
    assert np.allclose(a.header.scales, b.header.scales) and np.allclose(a.header.offsets, b.header.offsets)
    assert len(a.points) == len(b.points)
    for dim in a.point_format.dimension_names:
        assert np.array_equal(np.asarray(a[dim]), np.asarray(b[dim])), dim


def _cli(*args):
    from pcstream import cli
    assert cli.main(["-q" if a == "-q" else str(a) for a in args]) == 0


@pytest.mark.parametrize("name", ["lidar/4_6_crop.las", "lidar/autzen_trim.las"])
def test_real_las_roundtrip_cli(name, tmp_path):
    src = data_file(name)
    out, back = tmp_path / "x.pcs", tmp_path / "y.las"
    _cli("pack", "-q", src, out)
    _cli("unpack", "-q", out, back)
    with pcstream.open(out) as r:
        assert r.metadata["geometry_codec"] == 8
    _same_las(laspy.read(str(src)), laspy.read(str(back)))   # same order, every dimension


def _synthetic_las(path, fmt, n, seed):
    rng = np.random.default_rng(seed)
    hdr = laspy.LasHeader(point_format=fmt, version="1.4" if fmt >= 6 else "1.2")
    hdr.scales = np.array([0.01, 0.01, 0.001])
    hdr.offsets = np.array([1000.0, 2000.0, 0.0])
    las = laspy.LasData(hdr)
    t = np.cumsum(rng.integers(0, 3, n)) * 1e-5 + 1e5
    las.X = np.cumsum(rng.integers(-50, 60, n)).astype(np.int32)
    las.Y = (rng.integers(0, 2000, n)).astype(np.int32)
    las.Z = (rng.normal(0, 300, n)).astype(np.int32)
    las.intensity = rng.integers(0, 65535, n).astype(np.uint16)
    maxr = 15 if fmt >= 6 else 7
    nr = rng.integers(1, maxr + 1, n)
    las.number_of_returns = nr
    las.return_number = np.minimum(rng.integers(1, maxr + 1, n), nr)
    las.classification = rng.integers(0, 32, n)
    las.scan_direction_flag = rng.integers(0, 2, n)
    las.point_source_id = np.full(n, 7, np.uint16)
    dims = set(las.point_format.dimension_names)
    if "gps_time" in dims:
        las.gps_time = t
    if "scan_angle" in dims:
        las.scan_angle = rng.integers(-3000, 3000, n).astype(np.int16)
    else:
        las.scan_angle_rank = rng.integers(-90, 90, n).astype(np.int8)
    if "red" in dims:
        for c in ("red", "green", "blue"):
            las[c] = rng.integers(0, 65535, n).astype(np.uint16)
    if "nir" in dims:
        las.nir = rng.integers(0, 4096, n).astype(np.uint16)
    las.write(str(path))
    return laspy.read(str(path))


@settings(max_examples=7, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from([0, 1, 2, 3, 6, 7, 8]), n=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_synthetic_point_formats_roundtrip(tmp_path, fmt, n, seed):
    src, out, back = tmp_path / f"s{fmt}.las", tmp_path / "s.pcs", tmp_path / "b.las"
    a = _synthetic_las(src, fmt, n, seed)
    _cli("pack", "-q", src, out)
    _cli("unpack", "-q", out, back)
    _same_las(a, laspy.read(str(back)))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 200), seed=st.integers(0, 2**16), pulse=st.booleans(),
       dtype=st.sampled_from(["u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f4", "<f8", "?"]),
       comps=st.integers(1, 4))
def test_api_roundtrip_keeps_order(n, seed, pulse, dtype, comps):
    rng = np.random.default_rng(seed)
    xyz = rng.integers(0, 5000, (n, 3))
    dt = np.dtype(dtype)
    if dt.kind == "f":
        vals = rng.normal(0, 1e3, (n, comps)).astype(dt)
        if n:
            vals.flat[0] = np.nan
    elif dt.kind == "b":
        vals = rng.integers(0, 2, (n, comps)).astype(bool)
    else:
        info = np.iinfo(dt)
        vals = rng.integers(info.min, info.max, (n, comps), dtype=dt, endpoint=True)
    attrs = {"v": vals if comps > 1 else vals[:, 0]}
    if pulse:
        nr = rng.integers(1, 5, n).astype(np.uint8)
        attrs["number_of_returns"] = nr
        attrs["return_number"] = np.minimum(rng.integers(1, 5, n), nr).astype(np.uint8)
    blob = pcstream.encode(xyz, attrs, codec="scan")
    cloud = pcstream.decode(blob)
    assert cloud.metadata["geometry_codec"] == 8
    assert np.array_equal(cloud.xyz, xyz.astype(np.float64))          # input order kept
    for k, v in attrs.items():
        got = cloud.attributes[k]
        assert got.dtype == v.dtype and got.shape == v.shape
        assert np.array_equal(got.view(np.uint8), np.ascontiguousarray(v).view(np.uint8)), k   # bit-exact


def test_progressive_decoder_gets_everything_in_one_update():
    rng = np.random.default_rng(1)
    xyz = rng.integers(0, 1000, (500, 3))
    blob = pcstream.encode(xyz, {"i": rng.integers(0, 9, 500).astype(np.uint16)}, codec="scan")
    dec = pcstream.ProgressiveDecoder()
    updates = []
    for k in range(0, len(blob), 97):
        updates += dec.feed(blob[k:k + 97])
    cloud = dec.close()
    assert cloud.complete and np.array_equal(cloud.xyz, xyz)
    assert updates[-1].complete


def test_lossy_scan_is_refused():
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(np.arange(300).reshape(100, 3), codec="scan", lossy=True, level=2)


# --------------------------------------------------------------------------- broken payloads

def _geometry(n=400, seed=3):
    rng = np.random.default_rng(seed)
    q = np.cumsum(rng.integers(0, 20, (n, 3)), axis=0).astype(np.uint32)
    nr = rng.integers(1, 4, n)
    pulse = np.stack([np.minimum(rng.integers(1, 4, n), nr), nr], 1).astype(np.uint8)
    depth = int(q.max()).bit_length()
    return q, pulse, depth


def test_geometry_truncated_and_corrupt_payloads_raise_typed_errors():
    q, pulse, depth = _geometry()
    header, payload = _core.scan_geometry_encode(q, depth, pulse)
    pts, pl = _core.scan_geometry_decode(header, payload, 1 << 20)
    assert np.array_equal(pts, q) and np.array_equal(pl, pulse)
    for cut in (0, 1, 2, 5, len(payload) // 2, len(payload) - 1):
        with pytest.raises((errors.TruncatedError, errors.CorruptPayloadError)):
            _core.scan_geometry_decode(header, payload[:cut], 1 << 20)
    rng = np.random.default_rng(0)
    for _ in range(40):
        bad = bytearray(payload)
        bad[rng.integers(0, len(bad))] ^= 1 << int(rng.integers(0, 8))
        try:
            _core.scan_geometry_decode(header, bytes(bad), 1 << 20)
        except (errors.CorruptPayloadError, errors.TruncatedError):
            pass


def test_geometry_header_errors():
    with pytest.raises(errors.UnsupportedError):
        _core.scan_geometry_header(b"\x02\x05\x00\x01", 10)
    with pytest.raises(errors.ReservedBitsError):
        _core.scan_geometry_header(b"\x01\x05\x02\x01", 10)
    with pytest.raises(errors.LimitError):
        _core.scan_geometry_header(b"\x01\x05\x00\x0b", 10)
    with pytest.raises(errors.TruncatedError):
        _core.scan_geometry_header(b"\x01\x05", 10)
    # A huge announced count with a tiny payload is refused before allocating.
    with pytest.raises(errors.CorruptPayloadError):
        _core.scan_geometry_decode(b"\x01\x05\x00\xff\xff\xff\x7f", b"\x00\x01\x00", 1 << 30)


def test_attribute_truncated_corrupt_and_mismatched_payloads():
    q, pulse, _ = _geometry()
    vals = (np.arange(q.shape[0]) * 7 % 300).astype(np.uint64).reshape(-1, 1)
    payload = _core.scan_attr_encode(q, pulse, vals)
    assert np.array_equal(_core.scan_attr_decode(q, pulse, payload, 1), vals)
    for cut in (0, 1, 3, 6, len(payload) // 2, len(payload) - 1):
        with pytest.raises((errors.TruncatedError, errors.CorruptPayloadError)):
            _core.scan_attr_decode(q, pulse, payload[:cut], 1)
    with pytest.raises(errors.CorruptPayloadError):         # component count disagrees
        _core.scan_attr_decode(q, pulse, payload, 2)
    with pytest.raises(errors.CorruptPayloadError):         # point count disagrees
        _core.scan_attr_decode(q[:-1], pulse[:-1], payload, 1)
    with pytest.raises(errors.UnsupportedError):
        _core.scan_attr_decode(q, pulse, b"\x07" + payload[1:], 1)
    with pytest.raises(errors.CorruptPayloadError):         # unknown model
        _core.scan_attr_decode(q, pulse, payload[:1] + b"\x09" + payload[2:], 1)
    ref = _core.scan_attr_encode(q, pulse, pulse[:, :1].astype(np.uint64))   # pulse reference
    assert scan_order.inline_payload(ref)
    with pytest.raises(errors.CorruptPayloadError):         # ... without a pulse channel
        _core.scan_attr_decode(q, None, ref, 1)
    rng = np.random.default_rng(1)
    for _ in range(40):
        bad = bytearray(payload)
        bad[rng.integers(0, len(bad))] ^= 1 << int(rng.integers(0, 8))
        try:
            _core.scan_attr_decode(q, pulse, bytes(bad), 1)
        except (errors.CorruptPayloadError, errors.TruncatedError, errors.UnsupportedError,
                errors.ReservedBitsError):
            pass


def test_decoded_values_outside_the_dtype_are_corrupt():
    q, pulse, _ = _geometry(50)
    payload = _core.scan_attr_encode(q, pulse, np.full((50, 1), 300, np.uint64))
    with pytest.raises(errors.CorruptPayloadError):
        scan_order._attr_decode(payload, count=50, dtype="u1", components=1, points=q, params={}, context=pulse)


def test_corrupt_chunk_in_a_file_gives_typed_error():
    rng = np.random.default_rng(2)
    xyz = rng.integers(0, 4000, (3000, 3))
    blob = bytearray(pcstream.encode(xyz, {"i": rng.integers(0, 900, 3000).astype(np.uint16)}, codec="scan"))
    from pcstream import container
    with container.PcsReader(bytes(blob)) as r:
        e = [x for x in r.entries if x.type == b"ATTR"][0]
    blob[e.offset + 96 + 2] ^= 0x40   # inside the payload: the CRC catches it
    with pytest.raises(errors.PcsError):
        pcstream.decode(bytes(blob))


# --------------------------------------------------------------------------- frozen format

def _golden_scan():
    """300 pulses of the golden-vector scan generator (formats/testvectors/make_attr_vectors.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "formats" / "testvectors"))
    from make_attr_vectors import scan_pulses
    pts, pulse, t = scan_pulses(300)
    return pts.astype(np.uint32), pulse, np.asarray(t, np.uint64).reshape(-1, 1)


def test_golden_payloads_are_frozen():
    """Codec 8 / 9 version 1 payloads of a fixed input: a change here is a format change
    (bump the codec version and update formats/scan-order.md)."""
    import hashlib
    q, pulse, t = _golden_scan()
    header, geom = _core.scan_geometry_encode(q, 12, pulse)
    intensity = ((q[:, 2].astype(np.uint64) * 3) % 200).reshape(-1, 1)
    attr_t = _core.scan_attr_encode(q, pulse, t)
    attr_i = _core.scan_attr_encode(q, pulse, intensity)
    got = {k: hashlib.sha256(v).hexdigest()[:16] for k, v in
           (("header", header), ("geometry", geom), ("time", attr_t), ("intensity", attr_i))}
    assert got == GOLDEN, got
    dq, dp = _core.scan_geometry_decode(header, geom, 1 << 20)
    assert np.array_equal(dq, q) and np.array_equal(dp, pulse)
    assert np.array_equal(_core.scan_attr_decode(q, pulse, attr_t, 1), t)


GOLDEN = {'geometry': 'bbf751b40aa3f8e7', 'header': 'a1708cf12a9197d2', 'intensity': 'f793ef3f4c1845c2',
          'time': '202c5a95ccfd7821'}


def test_strip_keeps_inline_streams_and_drops_asked_ones():
    from pcstream.attr_strip import strip_attributes
    rng = np.random.default_rng(4)
    n = 2000
    attrs = {"intensity": rng.integers(0, 900, n).astype(np.uint16), "flag": np.zeros(n, np.uint8),
             "number_of_returns": np.ones(n, np.uint8), "return_number": np.ones(n, np.uint8)}
    blob = pcstream.encode(rng.integers(0, 4000, (n, 3)), attrs, codec="scan")
    md = pcstream.open(blob).metadata
    assert "inline" in {a["name"]: a for a in md["attributes"]}["flag"]["params"]
    out = pcstream.decode(strip_attributes(blob, drop=["intensity"]))
    assert set(out.attributes) == {"flag", "number_of_returns", "return_number"}
    out = pcstream.decode(strip_attributes(blob, drop=["flag"]))
    assert set(out.attributes) == {"intensity", "number_of_returns", "return_number"}
    assert np.array_equal(out.attributes["intensity"], attrs["intensity"])
