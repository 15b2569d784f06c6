"""Instance adaptation of the learned geometry codec (encoder option --adapt)."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import pcstream
from pcstream import _core, errors, learned, learned_adapt, weights
from pcstream.learn.model_file import random_model

ROOT = Path(__file__).resolve().parents[1]
STEPS = 25
pytestmark = pytest.mark.skipif(not learned.available_models(), reason="no shipped learned model")


# These tests exercise the adaptation mechanism on version 2 streams with the default
# model: the adaptive refiner of version 3/4 streams already repairs most of what
# adaptation fixes on synthetic inputs (tested separately below).
V2 = {"refine": False, "model": learned.DEFAULT_MODEL_ID}


def lattice(side: int = 128) -> np.ndarray:
    """A tilted plane where only even x are occupied: far from the training data, so the
    heads learn its fixed child patterns quickly."""
    x, y = np.meshgrid(np.arange(0, 2 * side, 2), np.arange(side))
    z = 40 + (y // 3)
    return np.stack([x.ravel() + 20, y.ravel() + 30, z.ravel()], 1).astype(np.int64)


@pytest.fixture(scope="module")
def adapted():
    pts = lattice()
    return pts, learned.encode_geometry(pts, 9, adapt=True, adapt_steps=STEPS, progress=False, **V2)


@pytest.fixture(scope="module")
def adapted_file(adapted):
    pts, _ = adapted
    return pcstream.encode(pts, codec="learned", adapt=True, adapt_steps=STEPS, geometry_options=V2)


def payloads(e):
    return [c.payload for c in e.chunks]


def test_adapted_roundtrip_is_bit_exact(adapted):
    pts, e = adapted
    r = e.report
    assert r.kept and e.weights and r.weight_bytes == len(e.weights)
    assert r.geometry_bytes + r.weight_bytes < r.geometry_bytes_unadapted
    info = learned.parse_header(e.header)
    assert e.header[0] == 2 and info["adapted"] and not info["refined"]
    assert info["adapt_digest"] == hashlib.sha256(e.weights).digest()
    # The delta is what the core applies: names in the format's order, qp -32.
    q = weights.decode_quantized(e.weights)
    assert list(q) == [k for k in _core.learned_adaptable_tensors() if k in q]
    assert all(t.qp == -32 for t in q.values())
    out = learned.decode_geometry(e.header, payloads(e), weights=e.weights)
    assert np.array_equal(out, pts[e.order])
    plain = learned.encode_geometry(pts, 9, **V2)
    assert r.geometry_bytes_unadapted == len(plain.header) + sum(map(len, payloads(plain)))


def test_file_level_roundtrip_info_and_progressive(adapted, adapted_file, tmp_path):
    pts, _ = adapted
    blob = adapted_file
    plain = pcstream.encode(pts, codec="learned", geometry_options=V2)
    assert len(blob) < len(plain)
    c = pcstream.decode(blob)
    assert c.complete and np.array_equal(np.sort(c.xyz, axis=0), np.sort(pts.astype(float), axis=0))
    md = c.metadata["learned_adapt"]
    assert md["kept"] and md["model"] == learned.DEFAULT_MODEL_ID and md["tensors"]
    types = [bytes(e.type) if not isinstance(e.type, str) else e.type.encode() for e in pcstream.open(blob).chunks]
    assert types[0] == b"WGHT" and types[1] == b"GEOM"
    dec = pcstream.ProgressiveDecoder()
    for i in range(0, len(blob), 997):
        dec.feed(blob[i:i + 997])
    assert len(dec.close()) == len(pts)
    f = tmp_path / "a.pcs"
    f.write_bytes(blob)
    r = subprocess.run([sys.executable, "-m", "pcstream", "info", str(f)], capture_output=True, text=True,
                       env={"PYTHONPATH": str(Path(pcstream.__file__).resolve().parent.parent), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "adaptation" in r.stdout and "unadapted" in r.stdout and "weights" in r.stdout


def test_never_worse_keeps_the_plain_stream():
    # Uniform noise: a single optimizer step cannot pay for a delta on every weight.
    pts = np.unique(np.random.default_rng(3).integers(0, 256, (3000, 3)), axis=0)
    e = learned.encode_geometry(pts, 8, adapt=True, adapt_steps=1, progress=False, **V2)
    plain = learned.encode_geometry(pts, 8, **V2)
    assert not e.report.kept and e.weights is None
    assert e.header == plain.header and payloads(e) == payloads(plain)
    assert pcstream.encode(pts, codec="learned", adapt=True, adapt_steps=1, geometry_options=V2) == pcstream.encode(pts, codec="learned", geometry_options=V2)
    # adapt_steps=0 never tries.
    assert learned.encode_geometry(pts, 8, adapt=True, adapt_steps=0, **V2).weights is None


def test_same_bytes_one_and_two_threads(adapted):
    pts, e2 = adapted
    e1 = learned.encode_geometry(pts, 9, adapt=True, adapt_steps=STEPS, threads=1, progress=False, **V2)
    assert e1.weights == e2.weights and e1.header == e2.header and payloads(e1) == payloads(e2)
    a = _core.learned_head_samples(learned.load_model(), pts.astype(np.uint32), 9, 1, 64, 5000)
    b = _core.learned_head_samples(learned.load_model(), pts.astype(np.uint32), 9, 2, 64, 5000)
    assert a["stride"] > 1 and all(np.array_equal(a[k], b[k]) for k in ("fc1_in", "fc2_in", "symbol", "level"))


def _v2_header(plain_header: bytes, payload: bytes) -> bytes:
    """A version-2 header: version 1's fields (version byte 2) plus the payload's SHA-256."""
    return bytes([2]) + plain_header[1:] + hashlib.sha256(payload).digest()


def test_corrupt_or_missing_weights_give_typed_errors(adapted, adapted_file):
    pts, e = adapted
    bad = bytearray(e.weights)
    bad[len(bad) // 2] ^= 0x10
    with pytest.raises(errors.ChecksumError):
        learned.decode_geometry(e.header, payloads(e), weights=bytes(bad))
    with pytest.raises(errors.CorruptPayloadError):
        learned.decode_geometry(e.header, payloads(e))             # no WGHT payload
    d = learned.LearnedGeometryDecoder(e.header)
    d.feed_weights(e.weights)
    with pytest.raises(errors.CorruptPayloadError):
        d.feed_weights(e.weights)                                  # a second one
    plain = learned.encode_geometry(pts, 9, **V2)
    C = learned.load_model().channels
    crafted = {
        "unknown tensor": weights.encode_quantized({"prior.emb_code": np.zeros((256, C), np.int64)}, qp=-32),
        "wrong qp": weights.encode_quantized({"head0.fc2.bias": np.ones(16, np.int64)}, qp=-28),
        "wrong shape": weights.encode_quantized({"head0.fc2.bias": np.ones(8, np.int64)}, qp=-32),
        "out of order": weights.encode_quantized({"head1.fc2.bias": np.ones(16, np.int64),
                                                  "head0.fc2.bias": np.ones(16, np.int64)}, qp=-32),
        "too large": weights.encode_quantized({"head0.fc2.bias": np.full(16, 1 << 21, np.int64)}, qp=-32),
        "garbage": bytes(range(7, 60)),
    }
    for what, payload in crafted.items():
        with pytest.raises(errors.PcsError) as ex:
            learned.decode_geometry(_v2_header(plain.header, payload), payloads(plain), weights=payload)
        assert not isinstance(ex.value, errors.InternalError), what
    # A valid delta the stream was not coded with decodes to a different model: the digest
    # binds it, so the v2 header of another payload refuses it.
    with pytest.raises(errors.ChecksumError):
        learned.decode_geometry(_v2_header(plain.header, b"other"), payloads(e), weights=e.weights)
    # File level: a flipped byte of the WGHT chunk is caught (container CRC).
    blob = bytearray(adapted_file)
    at = bytes(blob).find(e.weights[:16])
    assert at > 0
    blob[at + 3] ^= 0x01
    with pytest.raises(errors.PcsError):
        pcstream.decode(bytes(blob))


def test_random_delta_payloads_and_truncated_headers_give_typed_errors(adapted):
    pts, e = adapted
    plain = learned.encode_geometry(pts, 9, **V2)
    rng = np.random.default_rng(5)
    good = bytearray(e.weights)
    for i in range(40):
        if i % 2:
            p = bytes(rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8))
        else:                                   # the real payload with a few bytes changed
            p = bytearray(good)
            for j in rng.integers(0, len(p), 3):
                p[j] = int(rng.integers(0, 256))
            p = bytes(p)
        try:
            learned.decode_geometry(_v2_header(plain.header, p), payloads(plain), weights=p)
        except errors.PcsError as ex:
            assert not isinstance(ex, errors.InternalError)
    for cut in (1, 16, 31):
        with pytest.raises(errors.TruncatedError):
            learned.parse_header(e.header[:-cut])


def test_model_mismatch(adapted):
    _, e = adapted
    other = random_model("occ16-v1", channels=16)               # same id, other weights
    with pytest.raises(errors.ModelMismatchError):
        learned.decode_geometry(e.header, payloads(e), weights=e.weights, model=other)
    other_id = random_model("other-model", channels=16)
    with pytest.raises(errors.ModelMismatchError):
        learned.decode_geometry(e.header, payloads(e), weights=e.weights, model=other_id)
    # The adapted model itself is refused for an unadapted stream, and vice versa.
    m = learned.load_model()
    adapted_model = _core.learned_adapt_model(m, e.weights)
    assert adapted_model.adapted and adapted_model.hash == m.hash
    plain = learned.encode_geometry(lattice(), 9, **V2)
    with pytest.raises(errors.ModelMismatchError):
        _core.LearnedDecoder(plain.header, adapted_model, 1 << 20, 1)
    with pytest.raises(errors.ModelMismatchError):
        _core.LearnedDecoder(e.header, m, 1 << 20, 1)
    with pytest.raises(errors.InvalidArgumentError):
        _core.learned_adapt_model(adapted_model, e.weights)


def test_adapt_needs_the_learned_codec():
    with pytest.raises(errors.InvalidArgumentError):
        pcstream.encode(lattice(8), codec="classic", adapt=True)
    with pytest.raises(errors.InvalidArgumentError):
        learned.encode_geometry(lattice(8), 9, adapt=True, adapt_steps=-1, **V2)


def test_fit_lowers_the_cost_it_optimises():
    pts = lattice(40).astype(np.uint32)
    m = learned.load_model()
    s = _core.learned_head_samples(m, pts, 8, 2, 64, 0)
    assert s["stride"] == 1 and s["total"] == len(s["step"]) and set(np.unique(s["step"])) == {0, 1, 2, 3}
    # Features reproduce the runtime's logits: fc2_in @ W2 + b2 vs the teacher-forced logits.
    W = _core.learned_model_tensor(m, "head0.fc2.weight")
    b = _core.learned_model_tensor(m, "head0.fc2.bias")
    z = s["fc2_in"][s["step"] == 0] @ W + b
    assert np.isfinite(z).all()
    delta = learned_adapt.fit_delta(m, s, steps=30, progress=False)
    assert delta and all(v.dtype == np.int64 for v in delta.values())
    payload = learned_adapt.delta_payload(delta)
    assert _core.learned_adapt_model(m, payload).adapted


def test_decode_without_torch(adapted, adapted_file, tmp_path):
    pts, _ = adapted
    f = tmp_path / "a.pcs"
    f.write_bytes(adapted_file)
    np.save(tmp_path / "p.npy", pts)
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from torchless import block_torch
        block_torch()
        import numpy as np, pcstream
        c = pcstream.decode({str(f)!r})
        assert c.metadata["learned_adapt"]["kept"]
        p = np.load({str(tmp_path / 'p.npy')!r}).astype(float)
        assert np.array_equal(np.sort(c.xyz, axis=0), np.sort(p, axis=0))
        assert "torch" not in sys.modules
        print("ok")
    """)
    env_path = str(Path(pcstream.__file__).resolve().parent.parent)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok")


# ----------------------------------------------------------------- golden adapted stream

GOLDEN_DELTA = ROOT / "formats" / "testvectors" / "learned-v2.0-adapt-delta.wght"
GOLDEN_ADAPTED = ROOT / "formats" / "testvectors" / "learned-v2.0-adapt-sphere.bin"


def golden_delta() -> dict:
    """A fixed delta on the 4-channel golden model: both layers of heads 0 and 3."""
    out = {}
    for name in _core.learned_adaptable_tensors():
        if name.startswith(("head0.", "head3.")):
            shape = {"fc1.weight": (4, 4), "fc1.bias": (4,), "fc2.weight": (4, 16), "fc2.bias": (16,)}[name[6:]]
            k = np.arange(int(np.prod(shape)), dtype=np.int64)
            out[name] = ((k * 37 + len(name)) % 41 - 20).reshape(shape)
    return out


def test_golden_adapted_stream_decodes_and_reencodes():
    from test_learned import GOLDEN_MODEL, GOLDEN_POINTS_SHA256, golden_points, pack_stream, unpack_stream
    if not GOLDEN_ADAPTED.exists():
        pytest.fail("golden vector missing: run `python tests/test_adapt.py regen`")
    base = learned.load_model(GOLDEN_MODEL.read_bytes())
    payload = GOLDEN_DELTA.read_bytes()
    assert learned_adapt.delta_payload(golden_delta()) == payload
    header, payloads = unpack_stream(GOLDEN_ADAPTED.read_bytes())
    assert header[0] == 2 and header[-32:] == hashlib.sha256(payload).digest()
    pts = learned.decode_geometry(header, payloads, model=base, weights=payload)
    assert hashlib.sha256(pts.astype("<u4").tobytes()).hexdigest() == GOLDEN_POINTS_SHA256
    adapted = _core.learned_adapt_model(base, payload)
    enc = learned.encode_geometry(golden_points(), 7, model=adapted, refine=False)   # the version 2 vector
    assert pack_stream(enc.header, [c.payload for c in enc.chunks]) == GOLDEN_ADAPTED.read_bytes()


def _regen() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_learned import GOLDEN_MODEL, golden_points, pack_stream
    payload = learned_adapt.delta_payload(golden_delta())
    GOLDEN_DELTA.write_bytes(payload)
    adapted = _core.learned_adapt_model(learned.load_model(GOLDEN_MODEL.read_bytes()), payload)
    enc = learned.encode_geometry(golden_points(), 7, model=adapted, refine=False)   # the version 2 vector
    GOLDEN_ADAPTED.write_bytes(pack_stream(enc.header, [c.payload for c in enc.chunks]))


if __name__ == "__main__" and sys.argv[1:] == ["regen"]:
    _regen()


def test_refined_streams_keep_the_never_worse_rule():
    pts = lattice()
    e = learned.encode_geometry(pts, 9, adapt=True, adapt_steps=STEPS, progress=False)
    plain = learned.encode_geometry(pts, 9)
    size = len(e.header) + sum(map(len, payloads(e))) + len(e.weights or b"")
    assert size <= len(plain.header) + sum(map(len, payloads(plain)))
    assert learned.parse_header(e.header)["mixed"] and e.header[0] in (5, 6)
    out = learned.decode_geometry(e.header, payloads(e), weights=e.weights)
    assert np.array_equal(out, pts[e.order])
