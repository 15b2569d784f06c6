"""Entropy coders of the pcstream core, callable on numpy arrays.

Two coders share one range-coding engine (``csrc/include/pcstream/range_coder.hpp``):

* **binary adaptive coding** -- :func:`encode_bits` / :func:`decode_bits` code a
  bit array, each bit with an adaptive probability kept per *context*;
* **multi-symbol coding with caller-supplied distributions** --
  :func:`encode_symbols` / :func:`decode_symbols` code symbols ``0..K-1``, each
  with its own distribution given as float probabilities (converted to integer
  CDFs by the exact, machine-independent algorithm documented in
  ``csrc/include/pcstream/multisym.hpp``) or as integer CDFs. This is the back
  end for learned entropy models: feed the decoder the same floats and it
  returns the same symbols.

Every invalid argument raises :class:`pcstream.errors.InvalidArgumentError`;
truncated or corrupt payloads raise :class:`pcstream.errors.CorruptPayloadError`.
The long loops run in C++ without the GIL.

>>> import numpy as np
>>> from pcstream import coders
>>> bits = (np.arange(1000) % 10 == 0).astype(np.uint8)
>>> data = coders.encode_bits(bits)
>>> bool(np.array_equal(coders.decode_bits(data, len(bits)), bits))
True
"""
from __future__ import annotations

import numpy as np

from . import _core
from .errors import InvalidArgumentError

__all__ = [
    "encode_bits",
    "decode_bits",
    "encode_symbols",
    "decode_symbols",
    "probs_to_cdf",
    "MAX_PRECISION",
]

_c = _core.coders

#: Largest CDF precision (total frequency ``2**precision``).
MAX_PRECISION = 16


def _bits_array(bits) -> np.ndarray:
    b = np.asarray(bits)
    if b.ndim != 1:
        raise InvalidArgumentError(f"bits must be a 1-D array, got shape {b.shape}")
    if b.dtype == np.bool_:
        return np.ascontiguousarray(b.view(np.uint8))
    if not np.issubdtype(b.dtype, np.integer):
        raise InvalidArgumentError(f"bits must be integers or booleans, got {b.dtype}")
    if b.size and (b.min() < 0 or b.max() > 1):
        raise InvalidArgumentError("bits must be 0 or 1")
    return np.ascontiguousarray(b, dtype=np.uint8)


def _contexts(contexts, n: int, num_contexts):
    if contexts is None:
        return None, 1 if num_contexts is None else int(num_contexts)
    c = np.asarray(contexts)
    if c.ndim != 1 or c.shape[0] != n:
        raise InvalidArgumentError(f"contexts must be a 1-D array of {n} entries, got shape {c.shape}")
    if not np.issubdtype(c.dtype, np.integer):
        raise InvalidArgumentError(f"contexts must be integers, got {c.dtype}")
    if c.size and (c.min() < 0 or c.max() >= 2**24):
        raise InvalidArgumentError("contexts must lie in [0, 2**24)")
    if num_contexts is None:
        num_contexts = int(c.max()) + 1 if c.size else 1
    return np.ascontiguousarray(c, dtype=np.int32), int(num_contexts)


def encode_bits(bits, contexts=None, *, num_contexts=None, shift_fast: int = 4, shift_slow: int = 8) -> bytes:
    """Code a bit array with adaptive binary contexts; returns the payload.

    ``contexts`` (optional, integers in ``[0, num_contexts)``, one per bit)
    selects the adaptive probability model of each bit; without it all bits
    share one context. ``shift_fast``/``shift_slow`` (1..15) set the two
    adaptation rates of every context (``BinContext`` in the C++ core). The
    decoder needs the same contexts, shifts and bit count.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> bits = (rng.random(10000) < 0.1).astype(np.uint8)
    >>> data = encode_bits(bits)
    >>> len(data)            # their empirical entropy (1033 ones) is 4794 bits = 599 bytes
    609
    >>> ctx = np.arange(10000) % 2
    >>> bool(np.array_equal(decode_bits(encode_bits(bits, ctx), 10000, ctx), bits))
    True
    """
    b = _bits_array(bits)
    c, nc = _contexts(contexts, b.shape[0], num_contexts)
    return _c.encode_bins(b, c, nc, int(shift_fast), int(shift_slow))


def decode_bits(data: bytes, n: int, contexts=None, *, num_contexts=None, shift_fast: int = 4,
                shift_slow: int = 8) -> np.ndarray:
    """Decode ``n`` bits coded by :func:`encode_bits` (same contexts and shifts).

    Returns a ``uint8`` array of zeros and ones. A truncated payload, or one
    with trailing bytes, raises :class:`~pcstream.errors.CorruptPayloadError`.

    >>> import numpy as np
    >>> decode_bits(encode_bits([1, 0, 1, 1]), 4)
    array([1, 0, 1, 1], dtype=uint8)
    """
    n = int(n)
    if n < 0:
        raise InvalidArgumentError("n must be non-negative")
    c, nc = _contexts(contexts, n, num_contexts)
    return _c.decode_bins(bytes(data), n, c, nc, int(shift_fast), int(shift_slow))


def _precision(precision) -> int:
    p = int(precision)
    if not 1 <= p <= MAX_PRECISION:
        raise InvalidArgumentError(f"precision must be in [1, {MAX_PRECISION}], got {p}")
    return p


def _probs(probs) -> np.ndarray:
    p = np.asarray(probs)
    if p.ndim != 2:
        raise InvalidArgumentError(f"probs must be a 2-D (N, K) array, got shape {p.shape}")
    if not (np.issubdtype(p.dtype, np.floating) or np.issubdtype(p.dtype, np.integer)):
        raise InvalidArgumentError(f"probs must be numeric, got {p.dtype}")
    if p.dtype != np.float32:
        # float64 inputs are rounded to float32 first: the conversion is
        # defined on binary32 values, so encoder and decoder must agree on them.
        p = p.astype(np.float32)
    return np.ascontiguousarray(p)


def _cdf(cdf, precision: int) -> np.ndarray:
    c = np.asarray(cdf)
    if c.ndim != 2 or c.shape[1] < 2:
        raise InvalidArgumentError(f"cdf must be a 2-D (N, K+1) array with K >= 1, got shape {c.shape}")
    if not np.issubdtype(c.dtype, np.integer):
        raise InvalidArgumentError(f"cdf must hold integers, got {c.dtype}")
    if c.size and (c.min() < 0 or c.max() > 2**precision):
        raise InvalidArgumentError(f"cdf values must lie in [0, 2**precision = {2**precision}]")
    return np.ascontiguousarray(c, dtype=np.uint32)


def _symbols(symbols, n: int) -> np.ndarray:
    s = np.asarray(symbols)
    if s.ndim != 1 or s.shape[0] != n:
        raise InvalidArgumentError(f"symbols must be a 1-D array of {n} entries (one per row), got shape {s.shape}")
    if not np.issubdtype(s.dtype, np.integer):
        raise InvalidArgumentError(f"symbols must be integers, got {s.dtype}")
    if s.size and (s.min() < 0 or s.max() >= 2**31):
        raise InvalidArgumentError("symbols must be non-negative")
    return np.ascontiguousarray(s, dtype=np.int32)


def _one_of(probs, cdf):
    if (probs is None) == (cdf is None):
        raise InvalidArgumentError("pass exactly one of probs= or cdf=")


def probs_to_cdf(probs, precision: int = 16, *, threads: int = 1) -> np.ndarray:
    """Convert float probabilities (N, K) into integer CDFs (N, K+1), ``uint32``.

    Rows need not be normalised; every symbol gets a frequency of at least 1
    and each row sums to exactly ``2**precision`` (``K <= 2**precision``).
    The integers are those the coder uses, identical on every machine and
    for any ``threads``. Rows with NaN, negative values, no mass, or a sum
    outside [2**-100, 2**100] raise :class:`~pcstream.errors.InvalidArgumentError`.

    >>> probs_to_cdf([[0.5, 0.25, 0.25]], precision=8)
    array([[  0, 128, 192, 256]], dtype=uint32)
    >>> probs_to_cdf([[1.0, 0.0]], precision=4)    # zero still gets frequency 1
    array([[ 0, 15, 16]], dtype=uint32)
    """
    p = _probs(probs)
    return _c.probs_to_cdf(p, _precision(precision), int(threads))


def encode_symbols(symbols, probs=None, cdf=None, precision: int = 16) -> bytes:
    """Code ``symbols[i]`` with distribution row ``i``; returns the payload.

    Give either ``probs`` (N, K) float weights, converted exactly as
    :func:`probs_to_cdf` does, or ``cdf`` (N, K+1) integer CDFs with
    ``cdf[:, 0] == 0``, ``cdf[:, K] == 2**precision``, non-decreasing rows
    (a symbol of frequency 0 cannot be coded).

    >>> import numpy as np
    >>> probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
    >>> data = encode_symbols([0, 2], probs)
    >>> decode_symbols(data, probs)
    array([0, 2], dtype=int32)
    >>> cdf = probs_to_cdf(probs)
    >>> encode_symbols([0, 2], cdf=cdf) == data    # same integers, same bytes
    True
    """
    _one_of(probs, cdf)
    prec = _precision(precision)
    if probs is not None:
        p = _probs(probs)
        return _c.encode_symbols_probs(_symbols(symbols, p.shape[0]), p, prec)
    c = _cdf(cdf, prec)
    return _c.encode_symbols_cdf(_symbols(symbols, c.shape[0]), c, prec)


def decode_symbols(data: bytes, probs=None, cdf=None, precision: int = 16) -> np.ndarray:
    """Decode the N symbols of :func:`encode_symbols` (``int32`` array).

    Takes the same ``probs`` or ``cdf`` as the encoder (N is their row
    count). A truncated payload or one with trailing bytes raises
    :class:`~pcstream.errors.CorruptPayloadError`; other corruption decodes
    to some valid symbols (the container's checksums catch it).

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> probs = rng.random((1000, 16)).astype(np.float32)
    >>> symbols = rng.integers(0, 16, 1000)
    >>> out = decode_symbols(encode_symbols(symbols, probs), probs)
    >>> bool(np.array_equal(out, symbols))
    True
    """
    _one_of(probs, cdf)
    prec = _precision(precision)
    if probs is not None:
        return _c.decode_symbols_probs(bytes(data), _probs(probs), prec)
    return _c.decode_symbols_cdf(bytes(data), _cdf(cdf, prec), prec)
