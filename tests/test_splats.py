"""Splat scenes: IO round trips, the SPLT codec (quality knob, progressive order, LoD),
fidelity measures and typed errors on broken input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pcstream import errors
from pcstream.splats import (SplatScene, codec, decode, decode_prefix, encode, fidelity, is_inria_ply,
                             read_inria_ply, read_splat, read_spz, write_inria_ply, write_splat, write_spz)
from pcstream.splats.scene import SH_COEFFS, normalized_rotations


def synthetic(n=2000, degree=2, seed=0, extent=1.0, centre=0.0) -> SplatScene:
    rng = np.random.default_rng(seed)
    # clustered centres, like trained scenes
    c = rng.normal(size=(max(n // 50, 1), 3)) * extent * 0.3
    pos = c[rng.integers(0, len(c), n)] + rng.normal(size=(n, 3)) * extent * 0.02 + centre
    q = rng.normal(size=(n, 4))
    return SplatScene(
        positions=pos.astype(np.float32), opacity=rng.normal(0, 2, n).astype(np.float32),
        f_dc=rng.normal(0, 1, (n, 3)).astype(np.float32),
        sh_rest=(rng.normal(0, 0.15, (n, SH_COEFFS[degree], 3))).astype(np.float32),
        log_scales=rng.normal(-5, 1, (n, 3)).astype(np.float32), rotations=q.astype(np.float32))


def same_set(a: SplatScene, b: SplatScene, order) -> SplatScene:
    return a.subset(order)


# ---------------------------------------------------------------- IO

@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_inria_ply_roundtrip(tmp_path, degree):
    s = synthetic(300, degree)
    p = tmp_path / "s.ply"
    write_inria_ply(s, p)
    assert is_inria_ply(p)
    r = read_inria_ply(p)
    assert r.sh_degree == degree
    for k in ("positions", "opacity", "f_dc", "sh_rest", "log_scales", "rotations"):
        np.testing.assert_array_equal(getattr(r, k), getattr(s, k))


def test_inria_trims_zero_bands_and_detects(tmp_path):
    s = synthetic(100, 3)
    s.sh_rest[:, 3:] = 0
    p = tmp_path / "s.ply"
    write_inria_ply(s, p)
    assert read_inria_ply(p).sh_degree == 1
    assert read_inria_ply(p, trim_zero_bands=False).sh_degree == 3
    from plyfile import PlyData, PlyElement
    arr = np.zeros(5, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u1")])
    q = tmp_path / "pc.ply"
    PlyData([PlyElement.describe(arr, "vertex")]).write(str(q))
    assert not is_inria_ply(q)
    with pytest.raises(errors.InputFileError):
        read_inria_ply(q)


@pytest.mark.parametrize("version", [2, 3, 4])
@pytest.mark.parametrize("degree", [0, 3])
def test_spz_roundtrip(version, degree):
    s = synthetic(500, degree)
    s.positions *= 0.5
    a = read_spz(write_spz(s, version))
    f = fidelity(s, a, match="order")
    assert f["position_max_err"] <= 0.5 / 4096 + 1e-6
    assert f["log_scale_max_err"] <= 0.5 / 16 + 1e-5 or np.abs(s.log_scales).max() > 6
    assert f["dc_psnr"] > 35
    assert f["rotation_mean_deg"] < (1.0 if version >= 3 else 2.0)
    # SPZ's own quantisation is idempotent: a second pass changes nothing
    b = read_spz(write_spz(a, version))
    np.testing.assert_allclose(b.positions, a.positions, atol=1e-6)
    np.testing.assert_allclose(b.f_dc, a.f_dc, atol=1e-5)


def test_spz_range_and_corrupt():
    s = synthetic(50, 0)
    s.positions[0, 0] = 5000.0
    with pytest.raises(errors.InvalidArgumentError):
        write_spz(s)
    good = write_spz(synthetic(50, 0), 4)
    with pytest.raises(errors.InputFileError):
        read_spz(good[:40])
    with pytest.raises(errors.InputFileError):
        read_spz(b"\x1f\x8b" + good[2:30])
    with pytest.raises(errors.InputFileError):
        read_spz(b"XXXX" + good[4:])


def test_splat_format_roundtrip():
    s = synthetic(200, 0)
    r = read_splat(write_splat(s))
    assert len(r) == 200
    np.testing.assert_allclose(r.positions, s.positions)
    np.testing.assert_allclose(r.log_scales, s.log_scales, atol=1e-5)
    with pytest.raises(errors.InputFileError):
        read_splat(b"\0" * 33)


# ---------------------------------------------------------------- codec

@pytest.mark.parametrize("degree", [0, 1, 2, 3])
@pytest.mark.parametrize("positions", ["octree", "keys"])
def test_codec_roundtrip_all_degrees(degree, positions):
    s = synthetic(1500, degree, seed=degree)
    blob, order = encode(s, 0.5, positions=positions, return_order=True)
    d = decode(blob)
    assert len(d) == len(s) and d.sh_degree == degree
    f = fidelity(s.subset(order), d, match="order")
    st_ = codec.steps_for_quality(0.5)
    assert f["position_max_err"] <= 0.5 / 4096 + 1e-7
    assert f["log_scale_max_err"] <= st_["scale"] / 2 + 1e-5
    assert f["dc_psnr"] > 40 and f["opacity_psnr"] > 40
    assert f["rotation_p99_deg"] < 0.5
    if degree:
        assert f["sh_psnr"] > 26  # synthetic SH (std 0.15) at step 0.145
    # valid for viewers: unit quaternions, finite values
    np.testing.assert_allclose(np.linalg.norm(d.rotations, axis=1), 1, atol=1e-5)
    d.validate()
    assert encode(s, 0.5, positions=positions) == blob  # deterministic


def test_quality_knob_is_monotone():
    s = synthetic(3000, 2)
    sizes, errs = [], []
    for q in (0.1, 0.3, 0.5, 0.7, 0.9):
        blob, order = encode(s, q, positions="keys", return_order=True)
        f = fidelity(s.subset(order), decode(blob), match="order")
        sizes.append(len(blob))
        errs.append(f["dc_psnr"])
    assert sizes == sorted(sizes)
    assert errs == sorted(errs)
    with pytest.raises(errors.InvalidArgumentError):
        encode(s, 1.5)
    assert len(encode(s, "small")) < len(encode(s, "spz"))


def test_huge_coordinates_beyond_spz_range():
    s = synthetic(1000, 1, extent=20000.0, centre=1e5)
    blob, order = encode(s, 0.5, return_order=True)
    d = decode(blob)
    h = codec._parse(blob, allow_partial=False).header
    f = fidelity(s.subset(order), d, match="order")
    assert f["position_max_err"] <= h["pos_step"] / 2 * 1.0001 + 1e-2  # float32 input precision at 1e5
    assert h["depth"] <= 21
    with pytest.raises(errors.InvalidArgumentError):
        write_spz(s)


def test_degenerate_quaternions_and_nonfinite():
    s = synthetic(200, 0)
    s.rotations[:10] = 0
    s.rotations[10] = [-1e-30, 0, 0, 0]
    d = decode(encode(s, 0.5, positions="keys"))
    assert np.all(np.isfinite(d.rotations))
    np.testing.assert_allclose(np.linalg.norm(d.rotations, axis=1), 1, atol=1e-5)
    n = normalized_rotations(s.rotations[:10])
    np.testing.assert_array_equal(n, np.tile([1.0, 0, 0, 0], (10, 1)))
    for field in ("positions", "opacity", "f_dc", "log_scales", "sh_rest"):
        bad = synthetic(50, 1)
        getattr(bad, field).reshape(50, -1)[7, 0] = np.nan
        with pytest.raises(errors.InvalidArgumentError, match="not finite"):
            encode(bad)
    bad = synthetic(50, 0)
    bad.positions[3, 1] = np.inf
    with pytest.raises(errors.InvalidArgumentError):
        encode(bad)


def test_progressive_prefix_without_sh_is_valid_scene():
    s = synthetic(2000, 3)
    blob, order = encode(s, 0.5, positions="keys", return_order=True)
    parts = codec.chunk_sizes(blob)
    names = [p[0] for p in parts]
    assert names == ["header", "positions", "opacity+dc", "scale+rotation", "sh1", "sh2", "sh3"]
    upto = sum(sz for nm, sz in parts[:4])
    pre = decode_prefix(blob[:upto])
    assert pre.sh_degree == 0 and len(pre) == len(s)
    pre.validate()
    full = decode(blob)
    np.testing.assert_array_equal(pre.f_dc, full.f_dc)
    np.testing.assert_array_equal(pre.rotations, full.rotations)
    # one SH band more
    pre1 = decode_prefix(blob[:upto + parts[4][1] + 3])
    assert pre1.sh_degree == 1
    assert decode(blob, max_sh_degree=1).sh_degree == 1
    # positions only: still a drawable scene with defaults
    pre0 = decode_prefix(blob[:sum(sz for nm, sz in parts[:3])])
    pre0.validate()
    with pytest.raises(errors.TruncatedError):
        decode(blob[:upto])


@pytest.mark.parametrize("degree", [0, 1])
def test_lod_levels_and_overhead(degree):
    s = synthetic(6000, degree, seed=3)
    plain = encode(s, 0.5, positions="keys")
    blob, order = encode(s, 0.5, positions="keys", lod=True, return_order=True)
    levels = codec.lod_levels(blob)
    assert levels and levels == sorted(levels)
    counts = [len(decode(blob, lod_level=i)) for i in range(len(levels))]
    assert counts == sorted(counts) and counts[-1] <= len(s) // 2
    for i in range(len(levels)):
        decode(blob, lod_level=i).validate()
    # the full scene is unchanged by LoD, and the overhead is well below a full copy
    d = decode(blob)
    f = fidelity(s.subset(order), d, match="order")
    assert f["dc_psnr"] > 40
    assert len(blob) < 1.5 * len(plain)
    # a prefix with only the LoD chunks draws the finest complete level
    parts = codec.chunk_sizes(blob)
    upto = sum(sz for nm, sz in parts if nm == "header" or nm.startswith("lod"))
    assert len(decode_prefix(blob[:upto])) == counts[-1]


def test_broken_chunks_give_typed_errors():
    s = synthetic(1500, 2)
    blob = encode(s, 0.5, positions="keys")
    with pytest.raises(errors.PcsError):
        decode(b"garbage" * 10)
    for cut in (5, 20, len(blob) // 2, len(blob) - 1):
        with pytest.raises(errors.PcsError):
            decode(blob[:cut])
    rng = np.random.default_rng(1)
    parts = codec.chunk_sizes(blob)
    start = parts[0][1]
    for trial in range(25):
        b = bytearray(blob)
        pos = int(rng.integers(start, len(b)))
        b[pos] ^= 1 << int(rng.integers(0, 8))
        try:
            d = decode(bytes(b))
            d.validate()  # if it decodes, it must at least be a valid scene
        except errors.PcsError:
            pass


@settings(max_examples=15, deadline=None)
@given(n=st.integers(0, 300), degree=st.integers(0, 3), q=st.floats(0.05, 0.95), seed=st.integers(0, 10**6),
       dup=st.booleans())
def test_roundtrip_property(n, degree, q, seed, dup):
    s = synthetic(max(n, 1), degree, seed=seed).subset(slice(0, n))
    if dup and n > 2:
        s.positions[1:] = s.positions[0]  # many splats in one voxel
    blob, order = encode(s, q, positions="keys" if seed % 2 else "octree", return_order=True)
    d = decode(blob)
    assert len(d) == n and d.sh_degree == degree
    if n:
        st_ = codec.steps_for_quality(q)
        f = fidelity(s.subset(order), d, match="order")
        assert f["log_scale_max_err"] <= st_["scale"] / 2 + 1e-4
        assert f["position_max_err"] <= st_["position"] * 0.5 / 4096 + 1e-6


# ---------------------------------------------------------------- container

def test_pcs_container_roundtrip(tmp_path):
    from pcstream.container import PcsReader
    from pcstream.splats import container_io
    s = synthetic(3000, 2, seed=5)
    p = tmp_path / "s.pcs"
    container_io.pack(s, p, quality=0.5, lod=True)
    with PcsReader.open(str(p)) as r:
        assert container_io.is_splat_metadata(r.metadata)
        assert r.verify()
        types = [e.type for e in r.entries]
    assert types[0] == b"GEOM" and types.count(b"SPLT") >= 4
    d = container_io.unpack(str(p))
    ref = decode(encode(s, 0.5, lod=True))
    np.testing.assert_array_equal(d.positions, ref.positions)
    np.testing.assert_array_equal(d.sh_rest, ref.sh_rest)
    assert len(container_io.unpack(str(p), lod_level=0)) < len(s)
    # PLY in, PLY out through the file helpers
    ply = tmp_path / "in.ply"
    write_inria_ply(s, ply)
    container_io.pack_file(ply, tmp_path / "f.pcs", quality="small")
    out = container_io.unpack_file(tmp_path / "f.pcs", tmp_path / "out.ply")
    assert is_inria_ply(tmp_path / "out.ply") and len(read_inria_ply(tmp_path / "out.ply")) == len(out) == len(s)
    bad = bytearray(p.read_bytes())
    bad[len(bad) // 2] ^= 0xFF
    with pytest.raises(errors.PcsError):
        container_io.unpack(bytes(bad))


def mutated_splat_file(meta0: dict, chunks0: list, rng) -> "bytes | None":
    """A copy of a splat .pcs with one chunk payload (bit flip or truncation) or the splat
    stream header (one byte) damaged, re-wrapped with valid CRCs; None if unparseable."""
    import msgpack

    from pcstream import container

    chunks = [container.Chunk(**c.__dict__) for c in chunks0]
    meta = dict(meta0)
    which = rng.randrange(len(chunks) + 1)
    if which == len(chunks):
        b = bytearray(msgpack.packb(meta["splats"], use_bin_type=True))
        b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            meta["splats"] = msgpack.unpackb(bytes(b), raw=False, strict_map_key=False)
        except Exception:
            return None
    else:
        p = bytearray(chunks[which].payload)
        if rng.random() < 0.5 and p:
            p[rng.randrange(len(p))] ^= 1 << rng.randrange(8)
        else:
            p = p[: rng.randrange(len(p) + 1)]
        chunks[which].payload = bytes(p)
    return container.write_pcs(meta, chunks)


def splat_fuzz_seed():
    from pcstream import container
    from pcstream.splats import container_io

    return container.read_pcs(container_io.pack(synthetic(n=300, degree=3, seed=1), quality=0.5, lod=True))


def test_mutated_splat_streams_give_typed_errors():
    """Damaged splat files decode or raise a PcsError: never another exception, never
    non-finite values (long runs: tests/fuzz/fuzz_splats.py)."""
    import random

    from pcstream.splats import container_io

    meta0, chunks0 = splat_fuzz_seed()
    rng = random.Random(0)
    for _ in range(300):
        blob = mutated_splat_file(meta0, chunks0, rng)
        if blob is None:
            continue
        try:
            scene = container_io.unpack(blob)
        except errors.PcsError:
            continue
        assert np.isfinite(scene.positions).all() and np.isfinite(scene.rotations).all()
