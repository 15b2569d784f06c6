"""Entropy coders from Python: round trips, determinism, typed errors."""
from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from pcstream import coders
from pcstream.errors import CorruptPayloadError, InvalidArgumentError, PcsError

SETTINGS = dict(max_examples=60, deadline=None)


def test_doctests():
    result = doctest.testmod(coders, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0


# ---------------------------------------------------------------- binary coder

@settings(**SETTINGS)
@given(st.integers(0, 3000), st.floats(0.0, 1.0), st.integers(1, 8), st.integers(0, 2**32 - 1),
       st.integers(1, 15), st.integers(1, 15))
def test_bits_roundtrip(n, p, nctx, seed, fast, slow):
    rng = np.random.default_rng(seed)
    bits = (rng.random(n) < p).astype(np.uint8)
    ctx = rng.integers(0, nctx, n)
    data = coders.encode_bits(bits, ctx, num_contexts=nctx, shift_fast=fast, shift_slow=slow)
    out = coders.decode_bits(data, n, ctx, num_contexts=nctx, shift_fast=fast, shift_slow=slow)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, bits)


def test_bits_accepts_bool_and_lists():
    bits = np.array([True, False, True] * 100)
    assert np.array_equal(coders.decode_bits(coders.encode_bits(bits), 300), bits.astype(np.uint8))
    assert coders.encode_bits([1, 0, 1] * 100) == coders.encode_bits(bits)


def test_bits_near_entropy():
    rng = np.random.default_rng(3)
    for p, limit in ((0.1, 1.01), (0.3, 1.01), (0.5, 1.01), (0.01, 1.05)):
        bits = (rng.random(400_000) < p).astype(np.uint8)
        ones = bits.mean()
        ideal = -(ones * np.log2(p) + (1 - ones) * np.log2(1 - p)) * bits.size
        assert len(coders.encode_bits(bits)) * 8 < ideal * limit, p


def test_bits_errors():
    bits = np.zeros(100, np.uint8)
    with pytest.raises(InvalidArgumentError):
        coders.encode_bits(np.full(10, 2))
    with pytest.raises(InvalidArgumentError):
        coders.encode_bits(bits, np.full(100, 3), num_contexts=2)
    with pytest.raises(InvalidArgumentError):
        coders.encode_bits(bits, np.zeros(99, int))
    with pytest.raises(InvalidArgumentError):
        coders.encode_bits(bits, shift_fast=0)
    with pytest.raises(InvalidArgumentError):
        coders.encode_bits(np.zeros((2, 2), np.uint8))
    with pytest.raises(InvalidArgumentError):
        coders.decode_bits(b"\0" * 10, 10**12)   # refused before allocating


def test_bits_truncated_and_trailing():
    rng = np.random.default_rng(4)
    bits = (rng.random(20000) < 0.2).astype(np.uint8)
    data = coders.encode_bits(bits)
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptPayloadError):
            coders.decode_bits(data[:cut], bits.size)
    with pytest.raises(CorruptPayloadError):
        coders.decode_bits(data + b"\0", bits.size)


@settings(**SETTINGS)
@given(st.binary(max_size=200), st.integers(0, 5000))
def test_bits_garbage_never_crashes(data, n):
    try:
        out = coders.decode_bits(data, n)
        assert out.shape == (n,)
    except CorruptPayloadError:
        pass


# ---------------------------------------------------------- multi-symbol coder

def _rows(rng, n, k, peak=5.0):
    p = rng.random((n, k)).astype(np.float32)
    p[np.arange(n), rng.integers(0, k, n)] += peak
    return p


def _sample(rng, probs):
    cum = np.cumsum(probs / probs.sum(1, keepdims=True), axis=1)
    s = (rng.random((probs.shape[0], 1)) > cum).sum(1)
    return np.minimum(s, probs.shape[1] - 1)


@settings(**SETTINGS)
@given(st.integers(0, 300), st.integers(1, 300), st.integers(9, 16), st.integers(0, 2**32 - 1))
def test_symbols_roundtrip(n, k, precision, seed):
    rng = np.random.default_rng(seed)
    probs = _rows(rng, n, k, peak=float(rng.integers(0, 100)))
    probs[rng.random(probs.shape) < 0.2] = 0.0
    probs[:, 0] += 1e-3                          # keep every row non-empty
    symbols = rng.integers(0, k, n)
    data = coders.encode_symbols(symbols, probs, precision=precision)
    out = coders.decode_symbols(data, probs, precision=precision)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, symbols)
    cdf = coders.probs_to_cdf(probs, precision)
    assert coders.encode_symbols(symbols, cdf=cdf, precision=precision) == data
    np.testing.assert_array_equal(coders.decode_symbols(data, cdf=cdf, precision=precision), symbols)


@settings(**SETTINGS)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=40),
                  elements=st.floats(0, 2.0**99, width=32) | st.sampled_from([0.0, 2.0**-149, 2.0**-127, 1.0])))
def test_cdf_properties(probs):
    n, k = probs.shape
    try:
        cdf = coders.probs_to_cdf(probs, 16)
    except InvalidArgumentError:
        # only rows without usable mass may be refused
        sums = np.where(np.abs(probs) < np.float32(1.1754944e-38), 0, probs).astype(np.float64).sum(1)
        assert ((sums < 2.0**-100 * 1.01) | (sums > 2.0**100 * 0.99)).any()
        return
    assert cdf.shape == (n, k + 1) and cdf.dtype == np.uint32
    assert (cdf[:, 0] == 0).all() and (cdf[:, -1] == 65536).all()
    assert (np.diff(cdf.astype(np.int64), axis=1) >= 1).all()
    np.testing.assert_array_equal(coders.probs_to_cdf(probs, 16, threads=2), cdf)


def test_cdf_golden_values():
    # Frozen integers of the normative conversion (multisym.hpp): any change
    # here breaks every learned-model payload.
    x = np.arange(64, dtype=np.float64)
    probs = (((x * 7919) % 1009 / 1009.0) ** 3).astype(np.float32).reshape(4, 16)
    cdf = coders.probs_to_cdf(probs, 16)
    digest = int(np.bitwise_xor.reduce((cdf.astype(np.uint64) * np.arange(1, 69, dtype=np.uint64).reshape(4, 17))
                                       .ravel()))
    assert cdf[0, :5].tolist() == GOLDEN_ROW0
    assert digest == GOLDEN_DIGEST


GOLDEN_ROW0 = [0, 1, 10081, 15665, 18340]
GOLDEN_DIGEST = 1087066


def _reference_cdf(row: np.ndarray, precision: int) -> np.ndarray:
    """Plain numpy transcription of the normative algorithm in multisym.hpp."""
    k = row.shape[0]
    u = row.astype(np.float32).view(np.uint32)
    u = np.where((u & 0x7FFFFFFF) < 0x00800000, np.uint32(0), u)           # step 1
    if (u > 0x7F800000).any():
        return None
    q = u.view(np.float32)
    acc = np.zeros(32, np.float32)                                           # step 2
    for i in range(k):
        acc[i % 32] = np.float32(acc[i % 32] + q[i])
    w = 16
    while w >= 1:
        acc[:w] = acc[:w] + acc[w:2 * w]
        w //= 2
    S = acc[0]
    if not (np.float32(2.0**-100) <= S <= np.float32(2.0**100)):
        return None
    A = 2**precision - k                                                     # step 3
    c = np.float32(np.float32(A) / S)
    g = ((q * c) + np.float32(0.5)).astype(np.int64)                         # step 4
    R = A - int(g.sum())                                                     # step 5
    a = int(np.argmax(g))
    if g[a] + R >= 0:
        g[a] += R
    else:
        D = -R
        for i in range(k):
            t = min(int(g[i]), D)
            g[i] -= t
            D -= t
            if D == 0:
                break
    return np.concatenate([[0], np.cumsum(g + 1)])                           # step 6


@settings(**SETTINGS)
@given(st.integers(1, 80), st.sampled_from([8, 12, 16]), st.integers(0, 2**32 - 1), st.integers(-30, 30))
def test_cdf_matches_reference_transcription(k, precision, seed, exp10):
    rng = np.random.default_rng(seed)
    row = (rng.random(k) * 10.0**exp10).astype(np.float32)
    row[rng.random(k) < 0.3] = 0
    if rng.random() < 0.3:
        row[rng.integers(0, k)] = rng.choice(np.array([1e-45, -0.0, 1e-39, 3e38, -1.0, np.nan], np.float32))
    ref = _reference_cdf(row, precision)
    if ref is None:
        with pytest.raises(InvalidArgumentError):
            coders.probs_to_cdf(row[None, :], precision)
    else:
        np.testing.assert_array_equal(coders.probs_to_cdf(row[None, :], precision)[0], ref)


def test_cdf_remainder_fallback_matches_reference():
    row = np.ones(40000, np.float32)
    np.testing.assert_array_equal(coders.probs_to_cdf(row[None, :], 16)[0], _reference_cdf(row, 16))


def test_cdf_deterministic_across_threads_large():
    rng = np.random.default_rng(5)
    probs = _rows(rng, 20000, 33)
    a = coders.probs_to_cdf(probs, 15, threads=1)
    b = coders.probs_to_cdf(probs, 15, threads=2)
    np.testing.assert_array_equal(a, b)


def test_symbols_compression_close_to_cross_entropy():
    rng = np.random.default_rng(6)
    for k in (16, 256):
        probs = _rows(rng, 20000, k, peak=50.0)
        symbols = _sample(rng, probs)
        pn = probs / probs.sum(1, keepdims=True)
        ideal = -np.log2(pn[np.arange(len(symbols)), symbols]).sum()
        data = coders.encode_symbols(symbols, probs)
        assert len(data) * 8 < ideal * 1.005 + 64


@pytest.mark.parametrize("bad", [np.nan, -0.5, np.inf, -np.inf])
def test_invalid_probability_rows(bad):
    probs = np.full((3, 4), 0.25, np.float32)
    probs[1, 2] = bad
    with pytest.raises(InvalidArgumentError, match="row 1"):
        coders.probs_to_cdf(probs)
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([0, 0, 0], probs)
    with pytest.raises(InvalidArgumentError):
        coders.decode_symbols(b"\0" * 8, probs)


def test_invalid_arguments():
    probs = np.full((3, 4), 0.25, np.float32)
    with pytest.raises(InvalidArgumentError):
        coders.probs_to_cdf(np.zeros((2, 4), np.float32))          # all-zero rows
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([0, 4, 0], probs)                      # symbol >= K
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([0, -1, 0], probs)
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([0, 0], probs)                         # wrong count
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([0, 0, 0], probs, precision=17)
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([0, 0, 0], probs, precision=1)         # K > 2**precision
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([0, 0, 0])                             # neither probs nor cdf
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([0, 0, 0], probs, cdf=coders.probs_to_cdf(probs))
    with pytest.raises(InvalidArgumentError):
        coders.probs_to_cdf(np.ones(4, np.float32))                  # not 2-D
    bad_cdf = np.array([[0, 30000, 20000, 65536]])
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([1], cdf=bad_cdf)
    with pytest.raises(InvalidArgumentError):
        coders.decode_symbols(b"\0" * 8, cdf=bad_cdf)
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([1], cdf=np.array([[0, 10, 10, 65536]]))  # frequency 0
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([1], cdf=np.array([[0, -1, 10, 65536]]))
    with pytest.raises(InvalidArgumentError):
        coders.encode_symbols([1], cdf=np.array([[0.0, 1.0, 65536.0]]))


def test_float64_probs_are_rounded_to_float32_first():
    rng = np.random.default_rng(7)
    p64 = rng.random((50, 8))
    s = rng.integers(0, 8, 50)
    assert coders.encode_symbols(s, p64) == coders.encode_symbols(s, p64.astype(np.float32))


def test_symbols_truncated_trailing_and_corrupt():
    rng = np.random.default_rng(8)
    probs = _rows(rng, 3000, 16, peak=3.0)
    symbols = _sample(rng, probs)
    data = coders.encode_symbols(symbols, probs)
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptPayloadError):
            coders.decode_symbols(data[:cut], probs)
    with pytest.raises(CorruptPayloadError):
        coders.decode_symbols(data + b"x", probs)
    for i in range(0, len(data), max(1, len(data) // 40)):
        bad = bytearray(data)
        bad[i] ^= 0x10
        try:
            out = coders.decode_symbols(bytes(bad), probs)
            assert out.min() >= 0 and out.max() < 16
        except PcsError as e:
            assert isinstance(e, CorruptPayloadError)


@settings(**SETTINGS)
@given(st.binary(max_size=300), st.integers(0, 500), st.sampled_from([2, 16, 256]))
def test_symbols_garbage_never_crashes(data, n, k):
    probs = np.ones((n, k), np.float32)
    try:
        out = coders.decode_symbols(data, probs)
        assert out.shape == (n,) and (out < k).all() and (out >= 0).all()
    except CorruptPayloadError:
        pass


def test_encoding_is_deterministic():
    rng = np.random.default_rng(9)
    probs = _rows(rng, 5000, 64)
    symbols = _sample(rng, probs)
    a = coders.encode_symbols(symbols, probs)
    b = coders.encode_symbols(symbols.copy(), probs.copy())
    assert a == b
    bits = (rng.random(10000) < 0.3).astype(np.uint8)
    assert coders.encode_bits(bits) == coders.encode_bits(bits.copy())
