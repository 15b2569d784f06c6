"""Weight coder (WGHT chunk, codec 5): round trips, error bound, golden payload, corrupt input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcstream import errors, weights

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "formats" / "testvectors" / "weights-v1.0-basic.bin"
GOLDEN_EXPECTED = ROOT / "formats" / "testvectors" / "weights-v1.0-basic.expected.npz"
GOLDEN_DQ = ROOT / "formats" / "testvectors" / "weights-v1.0-dq.bin"
GOLDEN_DQ_EXPECTED = ROOT / "formats" / "testvectors" / "weights-v1.0-dq.expected.npz"


def golden_dq_tensors() -> dict[str, np.ndarray]:
    """Float inputs of the dependent-quantization golden payload."""
    rng = np.random.default_rng(77)
    w = rng.normal(0, 0.02, (6, 20))
    w[2] = 0.0
    return {"dq.weight": w, "dq.bias": rng.normal(0, 0.01, 6), "count": np.array([3], np.int64)}


def golden_tensors() -> dict[str, np.ndarray]:
    """The integers of the golden payload (also written to GOLDEN_EXPECTED)."""
    rng = np.random.default_rng(2024)
    dense = np.clip(np.rint(rng.laplace(0, 6, (8, 12))), -60, 60).astype(np.int64)
    dense[3] = 0  # an all-zero row
    sparse = np.where(rng.random((4, 3, 3, 3)) < 0.9, 0, rng.integers(-2, 3, (4, 3, 3, 3)))
    return {
        "layer1.weight": dense,
        "conv.weight": sparse.astype(np.int64),
        "layer1.bias": np.array([0, 1, -1, 5, -300, 70000], dtype=np.int64),
        "scalar": np.array(-7, dtype=np.int64),
        "empty": np.zeros((0, 5), dtype=np.int64),
    }


def quantized(payload: bytes) -> dict[str, np.ndarray]:
    return {k: v.values for k, v in weights.decode_quantized(payload).items()}


def test_roundtrip_kinds_and_error_bound():
    rng = np.random.default_rng(0)
    t = {
        "dense": rng.normal(0, 0.05, (64, 48)).astype(np.float32),
        "sparse": np.where(rng.random((32, 32)) < 0.95, 0, rng.normal(0, 0.01, (32, 32))).astype(np.float32),
        "zeros": np.zeros((50, 20), np.float32),
        "huge": np.array([1e6, -3e5, 0.5, 2.0**30], np.float64),
        "one": np.array([0.123], np.float32),
        "conv": rng.normal(0, 0.1, (8, 4, 3, 3)).astype(np.float16),
        "scalar": np.float64(-0.75),
        "empty": np.zeros((0, 3), np.float32),
        "fortran": np.asfortranarray(rng.normal(0, 0.05, (5, 7))),
        "strided": rng.normal(0, 0.05, (6, 10))[:, ::3],
    }
    qp = -32
    payload = weights.encode(t, qp=qp)
    out = weights.decode(payload)
    q = weights.decode_quantized(payload)
    step = weights.step_for_qp(qp)
    assert step == 2.0 ** -8
    assert list(out) == list(t)
    for k, x in t.items():
        x = np.asarray(x)
        assert out[k].shape == x.shape and out[k].dtype == x.dtype, k
        np.testing.assert_array_equal(q[k].values, np.rint(x.astype(np.float64) / step))
        exact = q[k].values.astype(np.float64) * step
        assert np.all(np.abs(exact - x.astype(np.float64)) <= step / 2), k
        tol = step / 2 + np.abs(x.astype(np.float64)) * np.finfo(x.dtype).eps
        assert np.all(np.abs(out[k].astype(np.float64) - x.astype(np.float64)) <= tol), k


def test_qp_offsets_integers_and_bools():
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.1, (16, 16)).astype(np.float32)
    t = {"w": w, "b": w[0].copy(), "steps": np.array([0, 5, 2**40], np.int64), "mask": rng.random(10) < 0.5,
         "u8": np.arange(256, dtype=np.uint8)}
    payload = weights.encode(t, qp=-28, qp_offsets={"b": -8})
    q = weights.decode_quantized(payload)
    assert q["w"].qp == -28 and q["b"].qp == -36 and q["steps"].qp == 0
    out = weights.decode(payload)
    assert np.all(np.abs(out["b"] - w[0]) <= weights.step_for_qp(-36) / 2 + 1e-9)
    for k in ("steps", "mask", "u8"):
        assert out[k].dtype == t[k].dtype
        np.testing.assert_array_equal(out[k], t[k])


def test_encode_is_deterministic_and_sparse_is_small():
    rng = np.random.default_rng(2)
    # Structured like a fine-tuning delta: updates concentrate on some rows and columns.
    active = np.outer(rng.random(256) < 0.3, rng.random(256) < 0.2) & (rng.random((256, 256)) < 0.5)
    d = np.where(active, 2.0 ** -8 * rng.choice([-1, 1], (256, 256)), 0.0)
    p1 = weights.encode({"d": d}, qp=-32)
    assert p1 == weights.encode({"d": d}, qp=-32)
    q = np.rint(d / 2.0 ** -8).ravel()
    _, c = np.unique(q, return_counts=True)
    h0 = -(c / c.sum() * np.log2(c / c.sum())).sum()
    assert len(p1) * 8 / d.size < h0  # below order-0 entropy thanks to the contexts
    assert len(weights.encode({"z": np.zeros((1000, 1000), np.float32)})) < 64


def test_torch_tensors_accepted():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    lin = torch.nn.Linear(8, 4)
    payload = weights.encode(dict(lin.state_dict()), qp=-32)
    out = weights.decode(payload)
    assert out["weight"].shape == (4, 8)
    assert np.all(np.abs(out["weight"] - lin.weight.detach().numpy()) <= 2.0 ** -9 + 1e-7)
    bf = weights.decode(weights.encode({"x": torch.ones(3, dtype=torch.bfloat16)}, qp=-8))
    assert bf["x"].dtype == np.float32 and np.all(bf["x"] == 1.0)


def test_invalid_arguments():
    with pytest.raises(errors.InvalidArgumentError):
        weights.encode({"x": np.array([np.nan], np.float32)})
    with pytest.raises(errors.InvalidArgumentError):
        weights.encode({"x": np.array([1e30])}, qp=-32)
    with pytest.raises(errors.InvalidArgumentError):
        weights.encode({"x": np.array(["a"])})
    with pytest.raises(errors.InvalidArgumentError):
        weights.encode({"x": np.ones(2)}, qp=1000)
    with pytest.raises(errors.InvalidArgumentError):
        weights.encode({"x": np.ones(2)}, qp_offsets={"y": 1})
    with pytest.raises(ValueError):
        weights.encode({"x": np.ones(2, np.int32)}, qp_offsets={"x": 1})


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 7), min_size=0, max_size=4),
    scale=st.sampled_from([0.0, 0.5, 3.0, 40.0, 5000.0]),
    zero_fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_roundtrip_property(shape, scale, zero_fraction, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if shape else 1
    v = np.rint(rng.laplace(0, scale + 1e-9, n)) * (rng.random(n) >= zero_fraction)
    ints = v.astype(np.int64).reshape(shape)
    payload = weights.encode_quantized({"t": ints, "u": -ints}, qp=-20)
    got = quantized(payload)
    np.testing.assert_array_equal(got["t"], ints)
    np.testing.assert_array_equal(got["u"], -ints)


def test_golden_payload_decodes_forever():
    expected = golden_tensors()
    payload = GOLDEN.read_bytes()
    got = weights.decode_quantized(payload)
    assert list(got) == list(expected)
    for k, v in expected.items():
        np.testing.assert_array_equal(got[k].values, v)
        assert got[k].qp == (-32 if k != "layer1.bias" else -36)
    stored = np.load(GOLDEN_EXPECTED)
    for k, v in expected.items():
        np.testing.assert_array_equal(stored[k], v)
    # The encoder still writes the same bytes (format and encoder decisions frozen for v1).
    assert weights.encode_quantized(expected, qp=-32, qp_offsets={"layer1.bias": -4}) == payload


def test_truncated_payloads_give_typed_errors():
    payload = GOLDEN.read_bytes()
    for n in range(len(payload)):
        with pytest.raises(errors.PcsError):
            weights.decode(payload[:n])


def test_corrupt_payloads_give_typed_errors_or_decode():
    payload = bytearray(GOLDEN.read_bytes())
    rng = np.random.default_rng(3)
    for _ in range(300):
        bad = bytearray(payload)
        i = int(rng.integers(len(bad)))
        bad[i] ^= 1 << int(rng.integers(8))
        try:
            weights.decode(bytes(bad))
        except errors.PcsError:
            pass
    with pytest.raises(errors.UnsupportedError):
        weights.decode(b"\x07" + bytes(payload[1:]))
    with pytest.raises(errors.LimitError):
        weights.decode(bytes(payload), max_elements=10)
    with pytest.raises(errors.LimitError):
        weights.decode(b"\x01\x00\x00\xff\xff\xff\xff\x0f")
    with pytest.raises(errors.TruncatedError):
        weights.decode(b"")


def test_dependent_quantization_saves_bits_at_equal_error():
    rng = np.random.default_rng(5)
    t = {"w": rng.normal(0, 0.02, (128, 96)).astype(np.float32), "n": np.arange(4, dtype=np.int32)}
    pu = weights.encode(t, qp=-32)
    pd = weights.encode(t, qp=-32, dependent=True)
    assert pd == weights.encode(t, qp=-32, dependent=True)
    q = weights.decode_quantized(pd)
    assert q["w"].quantizer == 1 and q["n"].quantizer == 0
    assert q["w"].step == 2.0 ** -8 * 0.5625
    ru, rd = weights.decode(pu), weights.decode(pd)
    np.testing.assert_array_equal(rd["n"], t["n"])
    mse_u = np.mean((ru["w"].astype(np.float64) - t["w"]) ** 2)
    mse_d = np.mean((rd["w"].astype(np.float64) - t["w"]) ** 2)
    assert mse_d <= 1.02 * mse_u
    assert len(pd) < 0.98 * len(pu)
    np.testing.assert_allclose(rd["w"], q["w"].values * q["w"].step, rtol=1e-6)


def test_golden_dependent_payload():
    payload = GOLDEN_DQ.read_bytes()
    got = weights.decode_quantized(payload)
    stored = np.load(GOLDEN_DQ_EXPECTED)
    assert list(got) == list(stored.files)
    for k in stored.files:
        np.testing.assert_array_equal(got[k].values, stored[k])
    assert got["dq.weight"].quantizer == 1 and got["count"].quantizer == 0
    assert weights.encode(golden_dq_tensors(), qp=-30, dependent=True) == payload
    bad = bytearray(payload)
    # The quantizer byte of the first descriptor: version, flags, base qp, count, name, dtype, ndim, dims, qp offset.
    pos = 4 + 1 + len("dq.weight") + 2 + 2 + 1
    assert bad[pos] == 1
    bad[pos] = 2
    with pytest.raises(errors.UnsupportedError):
        weights.decode(bytes(bad))
