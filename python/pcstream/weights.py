"""Neural-network weight coder: the payload of a ``WGHT`` chunk (codec id 5).

DeepCABAC-style coding of uniformly quantized tensors (format:
``formats/weights-chunk.md``)::

    payload = encode({"fc.weight": w, "fc.bias": b}, qp=-32)   # step 2**(-32/4) = 2**-8
    restored = decode(payload)          # same names, shapes and dtypes; |error| <= step/2

``qp`` sets the step ``2**(qp/4)``; ``qp_offsets`` moves single tensors to other steps.
``dependent=True`` selects dependent (trellis-coded) quantization for floating tensors:
about 4% fewer bits at the mean squared error of uniform quantization, but the error of
a single weight is no longer bounded by step/2.
Integer and boolean tensors are coded losslessly (step 1). Torch tensors are accepted
when torch is installed; torch is never required. ``decode_quantized`` gives the coded
integers themselves (lossless).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from . import _core
from .errors import InvalidArgumentError

CHUNK_TYPE = b"WGHT"
CODEC_ID = 5
CODEC_VERSION = 1

#: Decoder limits (all tensors together); raise them for bigger models.
DEFAULT_MAX_ELEMENTS = 1 << 26
DEFAULT_MAX_TENSORS = 1 << 16
MAX_MAGNITUDE = (1 << 47) - 1

_FLOAT_CODES = {np.dtype(np.float16): 1, np.dtype(np.float32): 2, np.dtype(np.float64): 3}
_INT_CODES = {
    np.dtype(np.int8): 16, np.dtype(np.int16): 17, np.dtype(np.int32): 18, np.dtype(np.int64): 19,
    np.dtype(np.uint8): 20, np.dtype(np.bool_): 21,
}
_BFLOAT16 = 4
_CODE_DTYPES = {v: k for k, v in {**_FLOAT_CODES, **_INT_CODES}.items()}
_CODE_DTYPES[_BFLOAT16] = np.dtype(np.float32)  # numpy has no bfloat16: decoded as float32


@dataclass
class QuantizedTensor:
    """A tensor as coded: integers ``values`` (int64, original shape) at step ``step``."""

    values: np.ndarray   # reconstruction levels: x = values * step
    qp: int
    step: float          # distance between levels (9/16 of 2**(qp/4) for dependent quantization)
    dtype: np.dtype      # dtype of the tensor the integers came from (float32 for bfloat16)
    dtype_code: int
    quantizer: int = 0   # 0 uniform, 1 dependent (trellis)


def step_for_qp(qp: int) -> float:
    """Quantization step ``2**(qp/4)``, bit-identical to the decoder's."""
    return float(_core.weights_step_for_qp(int(qp)))


def _to_numpy(x) -> tuple[np.ndarray, int | None]:
    """numpy view of an array or torch tensor; second item is a dtype code override (bfloat16)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch
        t = x.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            return t.float().numpy(), _BFLOAT16
        return t.numpy(), None
    return np.asarray(x), None


def quantize(x, qp: int) -> np.ndarray:
    """Uniform quantization ``rint(x / step)`` as int64; rejects non-finite or too large values."""
    q = np.array(x, dtype=np.float64)  # a private copy, quantized in place
    np.divide(q, step_for_qp(qp), out=q)
    np.rint(q, out=q)
    if q.size:
        peak = max(float(q.max()), -float(q.min()))  # NaN and infinity propagate into the peak
        if not np.isfinite(peak):
            raise InvalidArgumentError("weights: tensor contains NaN or infinity")
        if peak > MAX_MAGNITUDE:
            raise InvalidArgumentError(f"weights: quantized magnitude above 2**47 - 1 at qp {qp}; raise qp")
    return q.astype(np.int64)


def _entries(tensors: Mapping, qp: int, qp_offsets: Mapping[str, int] | None, dependent: bool = False):
    if not isinstance(tensors, Mapping):
        raise InvalidArgumentError("weights.encode expects a mapping name -> array")
    offsets = dict(qp_offsets or {})
    unknown = set(offsets) - set(tensors)
    if unknown:
        raise InvalidArgumentError(f"weights: qp_offsets for unknown tensors {sorted(unknown)}")
    out = []
    for name, x in tensors.items():
        if not isinstance(name, str):
            raise InvalidArgumentError("weights: tensor names must be str")
        a, code = _to_numpy(x)
        if code is None:
            code = _FLOAT_CODES.get(a.dtype) or _INT_CODES.get(a.dtype)
            if code is None:
                raise InvalidArgumentError(f"weights: unsupported dtype {a.dtype} of {name!r}")
        if code >= 16:
            if name in offsets:
                raise InvalidArgumentError(f"weights: integer tensor {name!r} cannot take a qp offset")
            tqp, q = 0, a.astype(np.int64)
        elif dependent:
            tqp = int(qp) + int(offsets.get(name, 0))
            if not -256 <= tqp <= 255:
                raise InvalidArgumentError(f"weights: qp {tqp} out of range")
            real = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
            out.append((name, code, tuple(int(d) for d in a.shape), tqp, np.zeros(0, np.int64), 1, real))
            continue
        else:
            tqp = int(qp) + int(offsets.get(name, 0))
            q = quantize(a, tqp)
        out.append((name, code, tuple(int(d) for d in a.shape), tqp, np.ascontiguousarray(q.reshape(-1))))
    return out


def encode(tensors: Mapping, qp: int = -32, *, qp_offsets: Mapping[str, int] | None = None,
           dependent: bool = False) -> bytes:
    """Quantize (floating tensors, step ``2**((qp + offset)/4)``) and code ``tensors`` into a WGHT payload.

    Integer/bool tensors are coded exactly. ``dependent=True`` uses dependent (trellis)
    quantization for the floating tensors. Raises :class:`InvalidArgumentError` for
    unsupported dtypes, NaN/inf, values beyond ``2**47 - 1`` steps or bad qp values.
    """
    return bytes(_core.weights_encode(_entries(tensors, qp, qp_offsets, dependent), int(qp)))


def encode_quantized(tensors: Mapping[str, np.ndarray], qp: int = -32, *, dtype=np.float32,
                     qp_offsets: Mapping[str, int] | None = None) -> bytes:
    """Code integer tensors that are already quantized at step ``2**((qp + offset)/4)``.

    ``dtype`` is the floating dtype :func:`decode` reconstructs them as.
    """
    code = _FLOAT_CODES.get(np.dtype(dtype))
    if code is None:
        raise InvalidArgumentError("weights: dtype must be float16, float32 or float64")
    offsets = dict(qp_offsets or {})
    entries = []
    for name, x in tensors.items():
        a = np.asarray(x)
        if a.dtype.kind not in "iub":
            raise InvalidArgumentError(f"weights: {name!r} is not an integer array")
        entries.append((name, code, tuple(int(d) for d in a.shape), int(qp) + int(offsets.get(name, 0)),
                        np.ascontiguousarray(a.astype(np.int64).reshape(-1))))
    return bytes(_core.weights_encode(entries, int(qp)))


def decode_quantized(payload: bytes, *, max_elements: int = DEFAULT_MAX_ELEMENTS,
                     max_tensors: int = DEFAULT_MAX_TENSORS) -> dict[str, QuantizedTensor]:
    """The coded integers of every tensor, in payload order (lossless)."""
    _, items = _core.weights_decode(payload, int(max_elements), int(max_tensors))
    out = {}
    for name, code, shape, qp, values, quantizer in items:
        step = float(_core.weights_reconstruction_step(qp, quantizer))
        out[name] = QuantizedTensor(values.reshape(shape), qp, step, _CODE_DTYPES[code], code, quantizer)
    return out


def decode(payload: bytes, *, max_elements: int = DEFAULT_MAX_ELEMENTS,
           max_tensors: int = DEFAULT_MAX_TENSORS) -> dict[str, np.ndarray]:
    """Reconstructed tensors ``q * step`` in their original dtypes (bfloat16 comes back as float32).

    Raises a :class:`pcstream.errors.PcsError` subclass for a corrupt or truncated payload
    and :class:`pcstream.errors.LimitError` beyond the limits.
    """
    out = {}
    for name, t in decode_quantized(payload, max_elements=max_elements, max_tensors=max_tensors).items():
        if t.dtype_code >= 16:
            out[name] = t.values.astype(t.dtype)
        else:
            out[name] = np.multiply(t.values, t.step, dtype=np.float64).astype(t.dtype, copy=False)
    return out
