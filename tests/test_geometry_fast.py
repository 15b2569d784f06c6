"""Fast octree geometry codec (GEOM codec 11, formats/geometry-fast.md): round trips
(hypothesis), the frozen golden file and broken-file corpus, hostile payloads, the public
API and the splat .pcs files that use it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import pcstream
from pcstream import errors, geometry_fast
from pcstream.container import read_pcs

VECTORS = Path(__file__).resolve().parent.parent / "formats" / "testvectors"
MANIFEST = json.loads((VECTORS / "fast-geometry-manifest.json").read_text())


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, "<u4").tobytes()).hexdigest()


def _roundtrip(pts, depth, **kw):
    enc = geometry_fast.encode_geometry(pts, depth, **kw)
    out = geometry_fast.decode_geometry(enc.header, [c.payload for c in enc.chunks])
    np.testing.assert_array_equal(out, np.asarray(pts, np.uint32)[enc.order])
    return enc


@st.composite
def clouds(draw):
    depth = draw(st.integers(0, 21))
    n = draw(st.integers(0, 300))
    hi = (1 << depth) - 1
    spread = draw(st.integers(0, hi)) if depth else 0
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, hi + 1, 3)
    pts = np.clip(centre + rng.integers(-spread, spread + 1, (n, 3)), 0, hi).astype(np.uint32)
    if n and draw(st.booleans()):                       # exact duplicates
        pts = np.concatenate([pts, pts[rng.integers(0, n, draw(st.integers(1, 50)))]])
    return pts, depth


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clouds(), st.one_of(st.none(), st.integers(0, 21)), st.booleans())
def test_roundtrip_property(cloud, k, adaptive):
    pts, depth = cloud
    k = None if k is None else min(k, depth)
    enc = _roundtrip(pts, depth, context_levels=k, adaptive=adaptive)
    again = geometry_fast.encode_geometry(pts, depth, context_levels=k, adaptive=adaptive)
    assert again.header == enc.header and [c.payload for c in again.chunks] == [c.payload for c in enc.chunks]


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 3))
def test_garbage_payloads_give_typed_errors(junk, which):
    """Random bytes in place of a chunk: decodes to something or raises a PcsError."""
    pts = np.random.default_rng(5).integers(0, 256, (400, 3)).astype(np.uint32)
    enc = geometry_fast.encode_geometry(pts, 8, context_levels=4)
    dec = geometry_fast.FastGeometryDecoder(enc.header, max_points=1000)
    try:
        for i, c in enumerate(enc.chunks):
            dec.feed(bytes([c.level_lo, c.level_hi]) + junk if i == which else c.payload)
    except errors.PcsError:
        assert dec.level <= 8
    dec.points()


def test_progressive_prefixes_and_limits():
    rng = np.random.default_rng(2)
    pts = rng.integers(0, 1 << 12, (5000, 3)).astype(np.uint32)
    enc = _roundtrip(pts, 12)
    dec = geometry_fast.FastGeometryDecoder(enc.header)
    for c in enc.chunks:
        dec.feed(c.payload)
        assert dec.level == c.level_hi
        if not dec.done:
            assert len(dec.points()) == c.point_count
    assert dec.done and dec.point_count == 5000
    with pytest.raises(errors.LimitError):
        geometry_fast.FastGeometryDecoder(enc.header, max_points=4999)
    with pytest.raises(errors.TruncatedError) as ei:
        geometry_fast.decode_geometry(enc.header, [c.payload for c in enc.chunks[:-1]])
    assert ei.value.partial is not None and len(ei.value.partial) == enc.chunks[-2].point_count
    with pytest.raises(errors.InvalidArgumentError):
        geometry_fast.encode_geometry(pts, 12, levels=8)     # lossless only
    with pytest.raises(errors.InvalidArgumentError):
        geometry_fast.encode_geometry(pts, 11)               # coordinates out of range


def test_prefix_points_are_the_voxels_of_the_level():
    rng = np.random.default_rng(3)
    pts = rng.integers(0, 1 << 10, (3000, 3)).astype(np.uint32)
    enc = geometry_fast.encode_geometry(pts, 10, first_chunk_levels=4)
    dec = geometry_fast.FastGeometryDecoder(enc.header)
    dec.feed(enc.chunks[0].payload)
    vox = np.unique(pts >> 6, axis=0)
    got = dec.points()
    assert dec.level == 4 and len(got) == len(vox)
    assert set(map(tuple, got.tolist())) == set(map(tuple, vox.tolist()))


@pytest.mark.parametrize("g", MANIFEST["goldens"], ids=lambda g: g["file"])
def test_golden_files_decode_forever(g):
    data = (VECTORS / g["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == g["sha256"]
    out = pcstream.decode(data)
    assert out.metadata["geometry_codec"] == 11 and len(out) == g["decoded_points"]
    md, chunks = read_pcs(data)
    dec = geometry_fast.FastGeometryDecoder(md["geometry_header"])
    assert dec.context_levels == g["context_levels"]
    for c, step in zip([c for c in chunks if c.type == b"GEOM"], g["steps"]):
        dec.feed(c.payload)
        p = dec.points()
        assert (dec.level, len(p), _sha(p)) == (step["level"], step["points"], step["points_sha256"])
    assert dec.done and _sha(dec.points()) == g["points_sha256"]


def test_goldens_cover_every_level_mode():
    assert set().union(*(g["level_modes"] for g in MANIFEST["goldens"])) == {0, 1, 2}


@pytest.mark.parametrize("entry", MANIFEST["broken"], ids=lambda e: e["file"])
def test_broken_files_give_typed_errors(entry):
    data = (VECTORS / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    with pytest.raises(getattr(errors, entry["error"])):
        out = pcstream.decode(data)
        if not out.complete:
            raise errors.TruncatedError("incomplete")


def test_api_codec_fast_roundtrip():
    rng = np.random.default_rng(4)
    xyz = rng.normal(size=(2000, 3))
    xyz = np.r_[xyz, xyz[:10]]
    blob = pcstream.encode(xyz, codec="fast", precision=1e-3)
    out = pcstream.decode(blob)
    assert out.metadata["geometry_codec"] == 11 and len(out) == len(xyz)
    ref = pcstream.decode(pcstream.encode(xyz, codec="classic", precision=1e-3))
    np.testing.assert_array_equal(np.sort(out.xyz, axis=0), np.sort(ref.xyz, axis=0))


def test_splat_pcs_uses_codec_11_and_reads_codec_1():
    from pcstream.splats import container_io, decode as sdecode, encode as sencode
    from test_splats import synthetic
    s = synthetic(400, 1, seed=9)
    fast = container_io.pack(s)
    classic = container_io.pack(s, geometry_codec=1)
    md, chunks = read_pcs(fast)
    assert md["geometry_codec"] == 11 and {c.codec_id for c in chunks if c.type == b"GEOM"} == {11}
    assert read_pcs(classic)[0]["geometry_codec"] == 1
    a, b = container_io.unpack(fast), container_io.unpack(classic)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.sh_rest, b.sh_rest)
    ref = sdecode(sencode(s, 0.5, positions="octree-fast"))
    np.testing.assert_array_equal(a.rotations, ref.rotations)
    with pytest.raises(errors.InvalidArgumentError):
        container_io.pack(s, geometry_codec=7)
