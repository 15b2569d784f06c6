"""Learned geometry codec: runtime vs torch, determinism, golden stream, torch-free decode, errors."""
from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pcstream import _core, errors, learned
from pcstream.learn.model_file import random_model, read_header

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "formats" / "testvectors"
GOLDEN_MODEL = VECTORS / "learned-v1.0-model-rand4.pcsm"
GOLDEN_STREAM = VECTORS / "learned-v1.0-sphere.bin"
# The same points coded with the adaptive refiner (header version 3), same model.
GOLDEN_REFINED = VECTORS / "learned-v3.0-sphere-refined.bin"
# ... and with the context mixer (header version 5), same model.
GOLDEN_MIXED = VECTORS / "learned-v5.0-sphere-mixed.bin"
# SHA-256 of the decoded golden points (uint32 little-endian, (N,3) row-major).
GOLDEN_POINTS_SHA256 = "4eccb24fd1159506fc573448e21314ede101062398bc9ebfd5ed0c313ea8da3a"

RAND8 = random_model("test-rand8", channels=8, kernel=3, seed=1)
RAND4 = random_model("test-rand4", channels=4, kernel=3, seed=2)


def sphere(n: int, depth: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return np.floor((0.5 + 0.45 * v) * (2 ** depth)).astype(np.int64).clip(0, 2 ** depth - 1)


def golden_points() -> np.ndarray:
    p = sphere(3000, 7, seed=42)
    return np.concatenate([p, p[:50]])  # with duplicates


def pack_stream(header: bytes, payloads: list[bytes]) -> bytes:
    out = struct.pack("<I", len(header)) + header + struct.pack("<I", len(payloads))
    for p in payloads:
        out += struct.pack("<I", len(p)) + p
    return out


def unpack_stream(data: bytes) -> tuple[bytes, list[bytes]]:
    n = struct.unpack_from("<I", data, 0)[0]
    header, pos = data[4:4 + n], 4 + n
    count = struct.unpack_from("<I", data, pos)[0]
    pos += 4
    payloads = []
    for _ in range(count):
        m = struct.unpack_from("<I", data, pos)[0]
        payloads.append(data[pos + 4:pos + 4 + m])
        pos += 4 + m
    return header, payloads


def roundtrip(points, depth, model, threads=1):
    enc = learned.encode_geometry(points, depth, model=model, threads=threads)
    dec = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=model, threads=threads)
    np.testing.assert_array_equal(dec, np.asarray(points)[enc.order])
    return enc


# ---------------------------------------------------------------- runtime layers

def test_sha256_matches_hashlib():
    for n in (0, 1, 55, 56, 63, 64, 65, 1000):
        b = bytes(range(256)) * 4
        assert _core.learned_sha256(b[:n]) == hashlib.sha256(b[:n]).digest()


def test_model_file_hash_and_header():
    m = _core.LearnedModel(RAND8)
    assert (m.id, m.hash) == read_header(RAND8)
    assert m.channels == 8 and m.kernel == 3
    bad = bytearray(RAND8)
    bad[-1] ^= 1
    with pytest.raises(errors.ChecksumError):
        _core.LearnedModel(bytes(bad))
    for cut in (3, 20, 100, len(RAND8) - 1):  # truncation: a typed error (bad hash or Truncated)
        with pytest.raises(errors.PcsError):
            _core.LearnedModel(RAND8[:cut])


def test_softmax_cdf_and_exp():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=5, size=(500, 16)).astype(np.float32)
    cdf = _core.nn_softmax_cdf(logits, 16)
    assert (cdf[:, 0] == 0).all() and (cdf[:, -1] == 65536).all() and (np.diff(cdf, axis=1) >= 1).all()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert np.abs(np.diff(cdf, axis=1) / 65536.0 - p).max() < 1e-3
    x = -np.linspace(0, 80, 10001).astype(np.float32)
    np.testing.assert_allclose(_core.nn_exp(x), np.exp(x.astype(np.float64)), rtol=2e-6)


def test_layers_exact_across_threads():
    rng = np.random.default_rng(1)
    xyz = np.unique(rng.integers(0, 40, (12000, 3)), axis=0).astype(np.int32)
    table = _core.learned_neighbor_table(xyz, xyz, 3, 1)
    np.testing.assert_array_equal(table, _core.learned_neighbor_table(xyz, xyz, 3, 2))
    x = rng.normal(size=(len(xyz), 8)).astype(np.float32)
    w = rng.normal(size=(27, 8, 12)).astype(np.float32)
    b = rng.normal(size=12).astype(np.float32)
    a1, a2 = _core.nn_sparse_conv(x, table, w, b, 1), _core.nn_sparse_conv(x, table, w, b, 2)
    assert a1.tobytes() == a2.tobytes()
    l1 = _core.nn_linear(x, w[0], b, 1)
    assert l1.tobytes() == _core.nn_linear(x, w[0], b, 2).tobytes()


def test_neighbor_pairs_match_table():
    rng = np.random.default_rng(2)
    xyz = np.unique(rng.integers(0, 10, (300, 3)), axis=0).astype(np.int32)
    table = _core.learned_neighbor_table(xyz, xyz, 3, 1)
    ins, outs, start = _core.learned_neighbor_pairs(xyz, xyz, 3)
    offsets = _core.learned_kernel_offsets(3)
    for j in range(27):
        sl = slice(start[j], start[j + 1])
        np.testing.assert_array_equal(xyz[ins[sl]] - xyz[outs[sl]], np.broadcast_to(offsets[j], (sl.stop - sl.start, 3)))
        np.testing.assert_array_equal(table[outs[sl], j], ins[sl])


def test_layers_match_torch():
    torch = pytest.importorskip("torch")
    from pcstream.learn.sparse_ops import neighbor_table, sparse_conv
    rng = np.random.default_rng(3)
    xyz = np.unique(rng.integers(0, 12, (800, 3)), axis=0).astype(np.int32)
    x = rng.normal(size=(len(xyz), 16)).astype(np.float32)
    w = rng.normal(size=(27, 16, 16)).astype(np.float32) * 0.1
    b = rng.normal(size=16).astype(np.float32)
    ours = _core.nn_sparse_conv(x, _core.learned_neighbor_table(xyz, xyz, 3, 1), w, b, 2)
    ref = sparse_conv(torch.from_numpy(x), neighbor_table(xyz, xyz, 3), torch.from_numpy(w), torch.from_numpy(b))
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-5, atol=1e-5)
    from pcstream.learn.sparse_ops import neighbor_pairs, sparse_conv_pairs
    ref2 = sparse_conv_pairs(torch.from_numpy(x), neighbor_pairs(xyz, xyz, 3), len(xyz), torch.from_numpy(w),
                             torch.from_numpy(b))
    np.testing.assert_allclose(ours, ref2.numpy(), rtol=1e-5, atol=1e-5)
    lin = _core.nn_linear(x, w[0], b, 1)
    np.testing.assert_allclose(lin, x @ w[0] + b, rtol=1e-5, atol=1e-5)


def test_model_matches_torch():
    torch = pytest.importorskip("torch")
    from pcstream.learn import data
    from pcstream.learn.export import export_model
    from pcstream.learn.model import OccupancyModel, make_batch
    torch.manual_seed(0)
    model = OccupancyModel(8, 3)
    pts = sphere(4000, 8, seed=5)
    parent, pc, child, cc = data.cloud_samples(np.unique(pts, axis=0), 8, budget=10**6)[-1]   # the finest scale
    with torch.no_grad():
        ref = model(make_batch(parent, pc, child, cc, 3))
    cm = _core.LearnedModel(export_model(model, "torch-twin"))
    out = cm.logits(parent.astype(np.int32), pc.astype(np.uint8), child.astype(np.int32), cc.astype(np.uint8), 2)
    for s in range(4):
        np.testing.assert_allclose(out[f"logits{s}"], ref[s].numpy(), rtol=1e-4, atol=1e-4)


def test_cloud_samples_cover_every_scale_in_complete_pieces():
    from pcstream.learn import data
    pts = np.unique(sphere(20000, 9, seed=3), axis=0)
    pieces = data.cloud_samples(pts, 9, budget=700)
    per_level = {}
    for parent, pc, child, cc in pieces:
        assert len(child) <= 700 + 7 and len(parent) and len(cc) == len(child)
        # every parent's code lists exactly the children present in the piece (cuts fall between parents)
        _, inv = data._unique_level(child, 1)
        assert (data._codes(len(parent), inv, child) == pc).all()
        assert ((cc > 0) & (cc < 256)).all()
        lvl = int(max(1, child.max())).bit_length()
        per_level[lvl] = per_level.get(lvl, 0) + len(child)
    # the finest coded scale (children at level 8) is there in full
    assert sum(len(c) for _, _, c, _ in pieces if len(c)) >= len(np.unique(pts >> 1, axis=0))
    order = data.morton_order(pts)
    k = pts[order]
    assert (np.diff(k[:, 0] >> 8) >= 0).all()  # Morton order puts x's top bit first


def test_choose_model_by_density_and_depth(monkeypatch):
    dense = np.unique(sphere(100000, 7, seed=1), axis=0)      # a filled sphere surface: ~11 points per 4^3 cell
    sparse = np.random.default_rng(0).integers(0, 2 ** 16, (5000, 3))
    monkeypatch.setattr(learned, "available_models", lambda: {
        learned.DEFAULT_MODEL_ID: None, learned.DENSE_MODEL_ID: None, learned.LIDAR_MODEL_ID: None})
    assert learned.choose_model(dense, 7) == learned.DENSE_MODEL_ID
    assert learned.choose_model(sparse, 16) == learned.LIDAR_MODEL_ID       # deep and sparse: a scanner sweep
    assert learned.choose_model(sparse >> 5, 11) == learned.DEFAULT_MODEL_ID  # e.g. splat centres
    monkeypatch.setattr(learned, "available_models", lambda: {learned.DEFAULT_MODEL_ID: None})
    assert learned.choose_model(dense, 7) == learned.DEFAULT_MODEL_ID
    assert learned.choose_model(sparse, 16) == learned.DEFAULT_MODEL_ID


# ---------------------------------------------------------------- codec

@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.integers(0, 400), st.integers(0, 2**31), st.booleans())
def test_roundtrip_random_clouds(depth, n, seed, clustered):
    rng = np.random.default_rng(seed)
    hi = 2 ** depth
    if clustered and n:
        pts = (rng.normal(size=(n, 3)) * hi / 8 + hi / 2).astype(np.int64).clip(0, hi - 1)
    else:
        pts = rng.integers(0, hi, (n, 3))
    enc = roundtrip(pts, depth, RAND4)
    assert len(enc.chunks) == (0 if n == 0 else 1 + depth - learned.parse_header(enc.header)["learned_start"])


def test_roundtrip_sphere_all_learned_levels_and_progressive():
    pts = sphere(5000, 9, seed=1)
    enc = roundtrip(pts, 9, RAND8)
    info = learned.parse_header(enc.header)
    assert info["learned_start"] < 9 and info["point_count"] == len(pts)
    d = learned.LearnedGeometryDecoder(enc.header, model=RAND8)
    for c in enc.chunks:
        d.feed(c.payload)
        assert d.level == c.level_hi
        lvl = d.points()
        assert len(lvl) == c.point_count
        if not d.done:
            expect = np.unique(pts >> (9 - d.level), axis=0)
            assert len(expect) == len(lvl)
    assert d.done


def test_same_bytes_one_and_two_threads():
    pts = sphere(40000, 10, seed=3)
    e1 = learned.encode_geometry(pts, 10, model=RAND8, threads=1)
    e2 = learned.encode_geometry(pts, 10, model=RAND8, threads=2)
    assert e1.header == e2.header
    assert [c.payload for c in e1.chunks] == [c.payload for c in e2.chunks]
    d2 = learned.decode_geometry(e1.header, [c.payload for c in e1.chunks], model=RAND8, threads=2)
    np.testing.assert_array_equal(d2, pts[e1.order])


def test_model_mismatch():
    pts = sphere(2000, 7)
    enc = learned.encode_geometry(pts, 7, model=RAND8)
    same_id_other_weights = random_model("test-rand8", channels=8, seed=99)
    with pytest.raises(errors.ModelMismatchError):
        learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=same_id_other_weights)
    with pytest.raises(errors.ModelMismatchError):
        learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=RAND4)
    with pytest.raises(errors.ModelMismatchError):  # id not installed
        learned.decode_geometry(enc.header, [c.payload for c in enc.chunks])


def test_corrupt_and_truncated_streams():
    pts = sphere(3000, 8)
    enc = learned.encode_geometry(pts, 8, model=RAND8)
    payloads = [c.payload for c in enc.chunks]
    with pytest.raises(errors.PcsError):
        learned.decode_geometry(enc.header[:-3], payloads, model=RAND8)
    with pytest.raises(errors.TruncatedError):
        learned.decode_geometry(enc.header, payloads[:-1], model=RAND8)
    with pytest.raises(errors.LimitError):
        learned.decode_geometry(enc.header, payloads, model=RAND8, max_points=100)
    rng = np.random.default_rng(0)
    for trial in range(6):
        bad = list(payloads)
        i = trial % len(bad)
        b = bytearray(bad[i])
        if trial % 2:
            b = b[: len(b) // 2]
        else:
            for _ in range(4):
                b[rng.integers(len(b))] ^= 0xFF
        bad[i] = bytes(b)
        try:
            out = learned.decode_geometry(enc.header, bad, model=RAND8)
        except errors.PcsError:
            continue
        assert len(out) == len(pts)  # a flip that still decodes must keep the point count


_FUZZ_ENC = None


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 200))
def test_random_payloads_give_typed_errors(seed, length):
    global _FUZZ_ENC
    if _FUZZ_ENC is None:
        _FUZZ_ENC = learned.encode_geometry(sphere(1500, 7), 7, model=RAND4)
    enc = _FUZZ_ENC
    rng = np.random.default_rng(seed)
    payloads = [c.payload for c in enc.chunks]
    payloads[seed % len(payloads)] = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
    try:
        out = learned.decode_geometry(enc.header, payloads, model=RAND4)
    except errors.PcsError:
        return
    assert len(out) == 1500


def test_invalid_arguments():
    with pytest.raises(errors.InvalidArgumentError):
        learned.encode_geometry(np.array([[8, 0, 0]]), 3, model=RAND4)
    with pytest.raises(errors.InvalidArgumentError):
        learned.encode_geometry(np.zeros((4, 3), int), 3, levels=2, model=RAND4)


# ---------------------------------------------------------------- golden stream, torch-free decode

def test_golden_stream_decodes_and_reencodes():
    if not GOLDEN_STREAM.exists():
        pytest.fail("golden vector missing: run `python tests/test_learned.py regen`")
    model = GOLDEN_MODEL.read_bytes()
    header, payloads = unpack_stream(GOLDEN_STREAM.read_bytes())
    pts = learned.decode_geometry(header, payloads, model=model)
    assert hashlib.sha256(pts.astype("<u4").tobytes()).hexdigest() == GOLDEN_POINTS_SHA256
    enc = learned.encode_geometry(golden_points(), 7, model=model, refine=False)
    assert pack_stream(enc.header, [c.payload for c in enc.chunks]) == GOLDEN_STREAM.read_bytes()


def test_golden_refined_stream_decodes_and_reencodes():
    if not GOLDEN_REFINED.exists():
        pytest.fail("golden vector missing: run `python tests/test_learned.py regen-refined`")
    model = GOLDEN_MODEL.read_bytes()
    header, payloads = unpack_stream(GOLDEN_REFINED.read_bytes())
    assert header[0] == 3 and learned.parse_header(header)["refined"]
    pts = learned.decode_geometry(header, payloads, model=model)
    assert hashlib.sha256(pts.astype("<u4").tobytes()).hexdigest() == GOLDEN_POINTS_SHA256
    enc = learned.encode_geometry(golden_points(), 7, model=model, mix=False)
    assert pack_stream(enc.header, [c.payload for c in enc.chunks]) == GOLDEN_REFINED.read_bytes()
    # the refiner pays for itself even on this small random-weight model's stream
    assert len(GOLDEN_REFINED.read_bytes()) < len(GOLDEN_STREAM.read_bytes())


def test_golden_mixed_stream_decodes_and_reencodes():
    if not GOLDEN_MIXED.exists():
        pytest.fail("golden vector missing: run `python tests/test_learned.py regen-mixed`")
    model = GOLDEN_MODEL.read_bytes()
    header, payloads = unpack_stream(GOLDEN_MIXED.read_bytes())
    info = learned.parse_header(header)
    assert header[0] == 5 and info["mixed"] and not info["refined"]
    pts = learned.decode_geometry(header, payloads, model=model)
    assert hashlib.sha256(pts.astype("<u4").tobytes()).hexdigest() == GOLDEN_POINTS_SHA256
    enc = learned.encode_geometry(golden_points(), 7, model=model)  # the default
    assert pack_stream(enc.header, [c.payload for c in enc.chunks]) == GOLDEN_MIXED.read_bytes()
    # the neighbourhood contexts pay for themselves on top of the refiner
    assert len(GOLDEN_MIXED.read_bytes()) < len(GOLDEN_REFINED.read_bytes())


def test_mixed_streams_with_a_5x5x5_kernel_model():
    # the mixer reads the 26 neighbours out of the model's neighbour table: another kernel
    # size puts them in other columns
    k5 = random_model("test-rand4-k5", channels=4, kernel=5, seed=3)
    pts = sphere(3000, 8, seed=4)
    for mix in (False, True):
        enc = learned.encode_geometry(pts, 8, model=k5, mix=mix)
        out = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=k5)
        assert np.array_equal(out, pts[enc.order])
    sizes = [sum(len(c.payload) for c in learned.encode_geometry(pts, 8, model=k5, mix=m).chunks) for m in (False, True)]
    assert sizes[1] < sizes[0]


def test_unknown_header_version_is_unsupported():
    header, payloads = unpack_stream(GOLDEN_MIXED.read_bytes())
    with pytest.raises(errors.UnsupportedError):
        learned.decode_geometry(b"\x09" + header[1:], payloads, model=GOLDEN_MODEL.read_bytes())


@pytest.mark.parametrize("refine,mix", [(False, False), (True, False), (True, True)])
def test_levels_with_an_empty_checkerboard_group(refine, mix):
    # one voxel per level: one parity group is empty at every model-coded level
    pts = np.array([[0, 0, 1]])
    for depth in (2, 5):
        enc = learned.encode_geometry(pts, depth, model=RAND4, refine=refine, mix=mix, min_learned_voxels=1)
        out = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=RAND4)
        assert np.array_equal(out, pts)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 9), st.integers(1, 3000), st.integers(0, 2**31), st.sampled_from(["plain", "refined", "mixed"]),
       st.booleans())
def test_plain_refined_and_mixed_streams_roundtrip(depth, n, seed, kind, clustered):
    rng = np.random.default_rng(seed)
    if clustered:  # a dense blob: the mixer's neighbourhood contexts see occupied neighbours
        pts = np.clip(rng.normal(2 ** (depth - 1), 2 ** depth / 10, (n, 3)).round(), 0, 2 ** depth - 1).astype(np.int64)
    else:
        pts = rng.integers(0, 2 ** depth, (n, 3))
    enc = learned.encode_geometry(pts, depth, model=RAND4, refine=kind != "plain", mix=kind == "mixed",
                                  min_learned_voxels=1)
    info = learned.parse_header(enc.header)
    assert (info["refined"], info["mixed"]) == (kind == "refined", kind == "mixed")
    out = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=RAND4)
    assert np.array_equal(out, pts[enc.order])


def test_decode_without_torch():
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from torchless import block_torch
        block_torch()
        import numpy as np
        from pcstream import learned
        from test_learned import unpack_stream, GOLDEN_MODEL, GOLDEN_STREAM
        header, payloads = unpack_stream(GOLDEN_STREAM.read_bytes())
        pts = learned.decode_geometry(header, payloads, model=GOLDEN_MODEL.read_bytes())
        if learned.available_models():
            p = np.random.default_rng(0).integers(0, 64, (500, 3))
            e = learned.encode_geometry(p, 6)
            d = learned.decode_geometry(e.header, [c.payload for c in e.chunks])
            assert (d == p[e.order]).all()
        assert "torch" not in sys.modules
        print("ok", len(pts))
    """)
    import pcstream  # the package under test (installed, or the dev build under python/)
    env_path = str(Path(pcstream.__file__).resolve().parent.parent)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok")


def test_shipped_model_roundtrip():
    models = learned.available_models()
    if not models:
        pytest.skip("no shipped model")
    assert learned.DEFAULT_MODEL_ID in models
    m = learned.load_model()
    assert m.id == learned.DEFAULT_MODEL_ID
    roundtrip(sphere(3000, 8, seed=9), 8, None)


def _regen() -> None:
    VECTORS.mkdir(parents=True, exist_ok=True)
    GOLDEN_MODEL.write_bytes(random_model("golden-rand4", channels=4, kernel=3, seed=7))
    model = GOLDEN_MODEL.read_bytes()
    enc = learned.encode_geometry(golden_points(), 7, model=model, refine=False)
    GOLDEN_STREAM.write_bytes(pack_stream(enc.header, [c.payload for c in enc.chunks]))
    pts = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=model)
    print("GOLDEN_POINTS_SHA256 =", hashlib.sha256(pts.astype("<u4").tobytes()).hexdigest())


def _regen_refined() -> None:
    """Writes the version 3 vector only (the model and the version 1 vector stay)."""
    enc = learned.encode_geometry(golden_points(), 7, model=GOLDEN_MODEL.read_bytes(), mix=False)
    GOLDEN_REFINED.write_bytes(pack_stream(enc.header, [c.payload for c in enc.chunks]))


def _regen_mixed() -> None:
    """Writes the version 5 vector only (the model and the other vectors stay)."""
    enc = learned.encode_geometry(golden_points(), 7, model=GOLDEN_MODEL.read_bytes())
    GOLDEN_MIXED.write_bytes(pack_stream(enc.header, [c.payload for c in enc.chunks]))


if __name__ == "__main__" and sys.argv[1:] == ["regen"]:
    _regen()
if __name__ == "__main__" and sys.argv[1:] == ["regen-refined"]:
    _regen_refined()
if __name__ == "__main__" and sys.argv[1:] == ["regen-mixed"]:
    _regen_mixed()
