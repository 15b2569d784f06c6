"""Classic geometry codec: round trips, progressive prefixes, lossy levels,
corrupt and truncated payloads, limits."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck, strategies as st

from pcstream import errors
from pcstream.geometry import (GeometryDecoder, decode_geometry, encode_geometry, EncodedGeometry,
                               GeometryChunk)


def morton_sorted_unique(p: np.ndarray) -> np.ndarray:
    """Reference: distinct points in Morton order (via lexsort of interleaved bits)."""
    p = np.asarray(p, dtype=np.uint64)
    code = np.zeros(len(p), dtype=np.uint64)
    for b in range(21):
        for a, s in ((0, 2), (1, 1), (2, 0)):
            code |= ((p[:, a] >> np.uint64(b)) & np.uint64(1)) << np.uint64(3 * b + s)
    u, idx = np.unique(code, return_index=True)
    return p[idx].astype(np.uint32)


def payloads(enc: EncodedGeometry):
    return [c.payload for c in enc.chunks]


@st.composite
def clouds(draw):
    depth = draw(st.integers(0, 21))
    n = draw(st.integers(0, 300))
    hi = (1 << depth) - 1
    kind = draw(st.sampled_from(["uniform", "extreme", "cluster"]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        p = rng.integers(0, hi + 1, (n, 3), dtype=np.int64)
    elif kind == "extreme":
        p = rng.choice(np.array([0, hi, hi // 2], dtype=np.int64), (n, 3))
    else:
        c = rng.integers(0, hi + 1, 3)
        p = np.clip(c + rng.integers(-3, 4, (n, 3)), 0, hi)
    if n > 2 and draw(st.booleans()):
        p[: n // 3] = p[n - n // 3 - 1: n - 1][: n // 3]  # duplicates
    return depth, p


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clouds())
def test_lossless_roundtrip(case):
    depth, p = case
    enc = encode_geometry(p, depth)
    q = decode_geometry(enc.header, payloads(enc))
    assert q.dtype == np.uint32 and q.shape == (len(p), 3)
    assert np.array_equal(q, p[enc.order].astype(np.uint32))
    assert enc.voxel_of_point is None
    if len(p):
        assert enc.chunks[-1].point_count == len(p)


@settings(max_examples=40, deadline=None)
@given(clouds(), st.integers(0, 21))
def test_lossy_levels(case, levels):
    depth, p = case
    levels = min(levels, depth)
    enc = encode_geometry(p, depth, levels=levels)
    q = decode_geometry(enc.header, payloads(enc))
    shift = depth - levels
    if shift == 0:  # levels == depth is lossless
        assert np.array_equal(q, p[enc.order].astype(np.uint32))
        return
    ref = morton_sorted_unique(np.asarray(p, dtype=np.int64) >> shift) if len(p) else np.zeros((0, 3), np.uint32)
    assert np.array_equal(q, ref)
    if levels < depth:
        assert np.array_equal(q[enc.voxel_of_point], (np.asarray(p) >> shift).astype(np.uint32))


def surface_cloud(n=4000, depth=10, seed=1):
    rng = np.random.default_rng(seed)
    u = rng.uniform(0, 1, (n, 2))
    x = u[:, 0] * (2**depth - 1)
    y = u[:, 1] * (2**depth - 1)
    z = (np.sin(u[:, 0] * 6) * 0.3 + 0.5) * (2**depth - 1)
    return np.round(np.stack([x, y, z], 1)).astype(np.int64)


def test_every_prefix_decodes_to_its_level():
    p = surface_cloud()
    enc = encode_geometry(p, 10)
    assert len(enc.chunks) >= 3
    for k in range(1, len(enc.chunks) + 1):
        dec = GeometryDecoder(enc.header)
        for c in enc.chunks[:k]:
            dec.feed(c.payload)
        L = enc.chunks[k - 1].level_hi
        assert dec.level == L
        pts = dec.points()
        if k < len(enc.chunks):
            assert not dec.done
            ref = morton_sorted_unique(p >> (10 - L))
            assert np.array_equal(pts, ref)
            assert len(pts) == enc.chunks[k - 1].point_count
        else:
            assert dec.done
            assert np.array_equal(pts, p[enc.order])
    with pytest.raises(errors.TruncatedError) as ei:
        decode_geometry(enc.header, payloads(enc)[:2])
    assert ei.value.partial is not None and len(ei.value.partial) == enc.chunks[1].point_count


def test_chunk_levels_are_contiguous():
    enc = encode_geometry(surface_cloud(depth=14), 14)
    assert enc.chunks[0].level_lo == 1
    for a, b in zip(enc.chunks, enc.chunks[1:]):
        assert b.level_lo == a.level_hi + 1
    assert enc.chunks[-1].level_hi == 14
    assert all(isinstance(c, GeometryChunk) for c in enc.chunks)


def test_deterministic_bytes():
    p = surface_cloud()
    a, b = encode_geometry(p, 10), encode_geometry(p.copy(), 10)
    assert a.header == b.header and payloads(a) == payloads(b)


def _decode_or_typed_error(header, chunks):
    try:
        dec = GeometryDecoder(header)
        for c in chunks:
            dec.feed(c)
        dec.points()
    except (errors.CorruptPayloadError, errors.TruncatedError, errors.LimitError, errors.UnsupportedError):
        pass


def test_truncation_sweep():
    p = surface_cloud(n=1500)
    enc = encode_geometry(p, 10)
    pl = payloads(enc)
    for ci in range(len(pl)):
        for cut in range(0, len(pl[ci]), max(1, len(pl[ci]) // 40)):
            chunks = pl[:ci] + [pl[ci][:cut]]
            dec = GeometryDecoder(enc.header)
            for c in pl[:ci]:
                dec.feed(c)
            good_level = dec.level
            with pytest.raises((errors.CorruptPayloadError, errors.TruncatedError)):
                dec.feed(chunks[-1])
            assert dec.level == good_level  # keeps the last complete level
            dec.points()
    for cut in range(len(enc.header)):
        with pytest.raises(errors.TruncatedError):
            GeometryDecoder(enc.header[:cut])


def test_random_bit_flips():
    p = surface_cloud(n=1500)
    enc = encode_geometry(p, 10)
    pl = payloads(enc)
    rng = np.random.default_rng(7)
    for _ in range(300):
        chunks = [bytearray(c) for c in pl]
        i = rng.integers(len(chunks))
        for _ in range(rng.integers(1, 4)):
            j = rng.integers(len(chunks[i]))
            chunks[i][j] ^= 1 << int(rng.integers(8))
        _decode_or_typed_error(enc.header, [bytes(c) for c in chunks])
    for _ in range(100):
        h = bytearray(enc.header)
        h[rng.integers(len(h))] ^= 1 << int(rng.integers(8))
        _decode_or_typed_error(bytes(h), pl)


def test_limits_and_arguments():
    p = surface_cloud(n=1000)
    enc = encode_geometry(p, 10)
    with pytest.raises(errors.LimitError):
        GeometryDecoder(enc.header, max_points=999)
    with pytest.raises(errors.LimitError):
        GeometryDecoder(enc.header, max_depth=9)
    # A header announcing billions of points is refused before any allocation.
    huge = bytes([1, 10, 10, 3]) + bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    with pytest.raises(errors.LimitError):
        GeometryDecoder(huge)
    with pytest.raises(errors.UnsupportedError):
        GeometryDecoder(bytes([2]) + enc.header[1:])
    with pytest.raises(errors.InvalidArgumentError):
        encode_geometry(np.array([[1024, 0, 0]]), 10)
    with pytest.raises(errors.InvalidArgumentError):
        encode_geometry(np.array([[-1, 0, 0]]), 10)
    with pytest.raises(errors.InvalidArgumentError):
        encode_geometry(np.zeros((3, 2)), 10)
    with pytest.raises(errors.InvalidArgumentError):
        encode_geometry(p, 22)
    with pytest.raises(errors.InvalidArgumentError):
        encode_geometry(p, 10, levels=11)
    dec = GeometryDecoder(enc.header)
    for c in payloads(enc):
        dec.feed(c)
    with pytest.raises(errors.InvalidArgumentError):
        dec.feed(payloads(enc)[-1])


def test_sparse_lidar_like_uses_direct_mode():
    rng = np.random.default_rng(3)
    ang = rng.uniform(0, 2 * np.pi, 3000)
    r = rng.uniform(5000, 60000, 3000)
    p = np.stack([r * np.cos(ang) + 70000, r * np.sin(ang) + 70000, rng.uniform(0, 3000, 3000)], 1).astype(np.int64)
    a = encode_geometry(p, 18)
    b = encode_geometry(p, 18, direct_mode=False)
    for e in (a, b):
        assert np.array_equal(decode_geometry(e.header, payloads(e)), p[e.order])
    size = lambda e: sum(len(c.payload) for c in e.chunks)
    assert size(a) < 1.05 * size(b)


def test_real_dense_frame_roundtrip(shared_data):
    from plyfile import PlyData
    v = PlyData.read(str(shared_data("dense/loot_vox10_1200.ply")))["vertex"].data
    p = np.stack([v["x"], v["y"], v["z"]], 1).astype(np.int64)
    enc = encode_geometry(p, 10)
    bits = 8 * (len(enc.header) + sum(len(c.payload) for c in enc.chunks))
    assert np.array_equal(decode_geometry(enc.header, payloads(enc)), p[enc.order])
    assert bits / len(p) < 0.80


@settings(max_examples=40, deadline=None)
@given(clouds())
def test_octree_build_expand(case):
    from pcstream import _core
    depth, p = case
    pts = np.asarray(p, dtype=np.uint32).reshape(-1, 3)
    occ, leaves, counts, perm = _core.octree_build(pts, depth)
    assert len(occ) == (depth if len(pts) else 0)
    assert int(counts.sum()) == len(pts)
    srt = pts[perm]
    keep = np.ones(len(srt), dtype=bool)
    keep[1:] = np.any(srt[1:] != srt[:-1], axis=1)
    assert len(leaves) == int(keep.sum())
    if len(pts) and depth > 0:  # depth 0 has no levels: the root voxel is implied
        assert np.array_equal(_core.octree_expand(occ, depth), srt[keep])
