"""Splat stream version 3: static-table rANS column coder; v1 and v2 streams still decode."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pcstream import _core, errors
from pcstream.splats import codec, decode, encode
from test_splats import synthetic


def test_v3_is_written_and_thread_independent():
    rng = np.random.default_rng(4)
    n = (1 << 17) * 2 + 77  # three slices
    data = np.c_[rng.integers(-3, 4, n) * (rng.random(n) < 0.1), rng.integers(-5000, 5000, n),
                 np.arange(n) % 11].astype(np.int32)
    side = (np.arange(n) % 4).astype(np.uint8)
    one = _core.splat_encode_columns_v3(data, side, 4, None, 1)
    assert _core.splat_encode_columns_v3(data, side, 4, None, 2) == one  # bytes never depend on threads
    for t in (1, 2, 3):
        np.testing.assert_array_equal(_core.splat_decode_columns_v3(one, n, 3, side, 4, None, t), data)
    with pytest.raises(errors.PcsError):  # appended garbage after the slices
        _core.splat_decode_columns_v3(one + b"\0", n, 3, side, 4)
    s = synthetic(800, 1, seed=1)
    assert codec._parse(encode(s, 0.5), allow_partial=False).header["v"] == 3


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 3000), st.integers(1, 6), st.integers(0, 40), st.integers(0, 2**31 - 1), st.integers(1, 8))
def test_v3_columns_roundtrip_property(n, cols, spread, seed, nside):
    rng = np.random.default_rng(seed)
    lo, hi = (-2**31, 2**31) if spread == 40 else (-(1 << (spread // 2)), 1 << (spread // 2))
    data = rng.integers(lo, hi, (n, cols), dtype=np.int64).astype(np.int32)
    side = rng.integers(0, nside, n).astype(np.uint8)
    p = _core.splat_encode_columns_v3(data, side, nside)
    np.testing.assert_array_equal(_core.splat_decode_columns_v3(p, n, cols, side, nside), data)


@pytest.mark.parametrize("old", [1, 2])
def test_old_versions_still_decode(monkeypatch, old):
    s = synthetic(2500, 2, seed=9)
    monkeypatch.setattr(codec, "FORMAT_VERSION", old)
    blob = encode(s, 0.3, importance=False)
    monkeypatch.undo()
    assert codec._parse(blob, allow_partial=False).header["v"] == old
    a = decode(blob)
    b = decode(encode(s, 0.3, importance=False))  # same quantisation, different entropy coding
    for k in ("positions", "f_dc", "opacity", "log_scales", "rotations", "sh_rest"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_v3_corrupt_streams_give_typed_errors():
    s = synthetic(3000, 2, seed=3)
    blob = encode(s, 0.4)
    rng = np.random.default_rng(0)
    for cut in rng.integers(13, len(blob), 25):
        with pytest.raises(errors.PcsError):
            decode(blob[:cut])
    for pos in rng.integers(40, len(blob), 60):
        bad = bytearray(blob)
        bad[pos] ^= int(rng.integers(1, 256))
        try:
            d = decode(bytes(bad))
            assert len(d) == len(s)
        except errors.PcsError:
            pass
