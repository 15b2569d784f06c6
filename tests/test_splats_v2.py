"""Splat stream version 2: sliced column coder, rotation importance, v1 streams still decode."""
import msgpack
import numpy as np
import pytest

from pcstream import _core, errors
from pcstream.splats import codec, decode, encode, fidelity
from test_splats import synthetic


def test_sliced_columns_roundtrip_and_thread_independence():
    rng = np.random.default_rng(3)
    n = (1 << 17) + 1234  # two slices
    data = np.c_[rng.integers(-5, 6, n), rng.integers(-500, 500, n), np.arange(n) % 7].astype(np.int32)
    side = (np.arange(n) % 3).astype(np.uint8)
    one = _core.splat_encode_columns_v2(data, side, 3, None, 1)
    assert _core.splat_encode_columns_v2(data, side, 3, None, 2) == one  # bytes never depend on threads
    for t in (1, 2, 4):
        np.testing.assert_array_equal(_core.splat_decode_columns_v2(one, n, 3, side, 3, None, t), data)
    for cut in (3, len(one) // 2, len(one) - 1):
        with pytest.raises(errors.PcsError):
            _core.splat_decode_columns_v2(one[:cut], n, 3, side, 3)
    bad = bytearray(one)
    bad[-1] ^= 0xFF
    try:  # corrupt bits: a typed error or wrong-but-valid values, never a crash
        _core.splat_decode_columns_v2(bytes(bad), n, 3, side, 3)
    except errors.PcsError:
        pass
    with pytest.raises(errors.PcsError):  # appended garbage after the slices
        _core.splat_decode_columns_v2(one + b"\0", n, 3, side, 3)
    e = _core.splat_encode_columns_v2(np.zeros((0, 2), np.int32))
    assert _core.splat_decode_columns_v2(e, 0, 2).shape == (0, 2)


def test_rotation_importance_roundtrip_and_fidelity():
    s = synthetic(4000, 1, seed=5)
    blob, order = encode(s, 0.2, return_order=True)
    h = codec._parse(blob, allow_partial=False).header
    assert h["v"] == codec.FORMAT_VERSION and h["rot_imp"]["kmax"] > 0
    plain, order2 = encode(s, 0.2, return_order=True, importance=False)
    assert "rot_imp" not in codec._parse(plain, allow_partial=False).header
    assert len(blob) < len(plain)
    d = decode(blob)
    d.validate()
    np.testing.assert_allclose(np.linalg.norm(d.rotations, axis=1), 1, atol=1e-5)
    # the encoder's own dequantisation (encode -> quantise) and the decoder agree exactly
    assert encode(s, 0.2) == blob
    # splats with the base step (most important 5 %) keep the base accuracy
    ss = s.subset(order)
    nlev = h["opacity_levels"]
    mats = codec._quantise(ss, h["steps"], nlev, h["rot_imp"])
    kr = codec._rotation_shift(mats[0][:, 0], mats[1][:, 0:3], nlev, h["steps"]["scale"], h["rot_imp"])
    assert (kr == 0).mean() >= 0.04 and kr.max() > 0
    f0 = fidelity(ss.subset(np.flatnonzero(kr == 0)), d.subset(np.flatnonzero(kr == 0)), match="order")
    fall = fidelity(ss, d, match="order")
    assert f0["rotation_mean_deg"] < fall["rotation_mean_deg"]
    # no importance at quality >= 0.5 (mean-error fidelity presets)
    assert "rot_imp" not in codec._parse(encode(s, 0.5), allow_partial=False).header


def test_rotation_shift_is_exact_arithmetic():
    op = np.array([0, 1, 128, 255])
    sc = np.array([[-80, -80, -80], [-10, -40, -60], [0, 0, 1], [-50, -50, -50]])
    t = codec._rotation_t(op, sc, 255, 1 / 16)
    assert np.all(t * 4 == np.round(t * 4))  # multiples of 1/4: no rounding-sensitive libm calls
    k = codec._rotation_shift(op, sc, 255, 1 / 16, {"ref": float(t.min()), "kmax": 3})
    assert k.min() == 0 and k.max() <= 3


def test_v1_streams_still_decode(monkeypatch):
    s = synthetic(2500, 2, seed=9)
    monkeypatch.setattr(codec, "FORMAT_VERSION", 1)
    v1, order = encode(s, 0.3, return_order=True)
    monkeypatch.undo()
    assert codec._parse(v1, allow_partial=False).header["v"] == 1
    d1 = decode(v1)
    d2 = decode(encode(s, 0.3, importance=False))
    np.testing.assert_array_equal(d1.f_dc, d2.f_dc)
    np.testing.assert_array_equal(d1.rotations, d2.rotations)
    np.testing.assert_array_equal(d1.sh_rest, d2.sh_rest)


def _with_header(blob: bytes, fn) -> bytes:
    (hl,) = np.frombuffer(blob[8:12], "<u4")
    h = msgpack.unpackb(blob[12:12 + hl])
    fn(h)
    hb = msgpack.packb(h)
    return blob[:8] + np.uint32(len(hb)).tobytes() + hb + blob[12 + hl:]


def test_v2_corrupt_elements_give_typed_errors():
    s = synthetic(1500, 1, seed=2)
    blob = encode(s, 0.2)
    for mutate in (lambda h: h["rot_imp"].update(kmax=99), lambda h: h["rot_imp"].pop("ref"),
                   lambda h: h.update(rot_imp="x"), lambda h: h.update(v=1), lambda h: h.update(v=4)):
        with pytest.raises(errors.CorruptPayloadError):
            decode(_with_header(blob, mutate))
    # the scale/rotation chunk holds exactly two column payloads
    p = codec._parse(blob, allow_partial=False)
    g2 = next(c for t, c in p.chunks if t == b"SPLT" and c[0] == 2)
    bad = g2[:1] + codec._pack_list(codec._unpack_list(g2[1:], 2)[:1])
    with pytest.raises(errors.PcsError):
        decode(_replace_chunk(blob, g2, bad))


def _replace_chunk(blob: bytes, old: bytes, new: bytes) -> bytes:
    i = blob.index(old)
    import struct
    codec_id, ln = struct.unpack_from("<HI", blob, i - 6)
    assert ln == len(old)
    return blob[:i - 6] + struct.pack("<HI", codec_id, len(new)) + new + blob[i + len(old):]


def test_importance_knob_stays_monotone():
    s = synthetic(3000, 1, seed=4)
    sizes, rot = [], []
    for q in (0.05, 0.15, 0.25, 0.35, 0.45):
        blob, order = encode(s, q, return_order=True)
        sizes.append(len(blob))
        rot.append(fidelity(s.subset(order), decode(blob), match="order")["rotation_mean_deg"])
    assert sizes == sorted(sizes)
    assert rot == sorted(rot, reverse=True)


def test_mutated_v2_streams_give_typed_errors():
    """Bit flips, truncations and header bytes of a v2 stream with rotation importance and LoD:
    a PcsError or a finite scene (long runs: the same loop for minutes by hand)."""
    import random
    blob = encode(synthetic(300, 2, seed=3), 0.2, lod=True)
    rng = random.Random(7)
    for _ in range(60):
        b = bytearray(blob)
        k = rng.random()
        if k < 0.6:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif k < 0.8:
            b = b[:rng.randrange(len(b))]
        else:
            b[rng.randrange(12, 100)] = rng.randrange(256)
        try:
            d = decode(bytes(b))
            d.validate()
        except errors.PcsError:
            pass
