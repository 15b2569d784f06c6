"""Registry of attribute codecs, keyed by the codec id stored in each ATTR chunk.

A codec is two functions working on one attribute stream in *decoded point order*
(canonical Morton order, see docs/interfaces.md):

    encode(values, *, points, params) -> (payload: bytes, params: dict)
    decode(payload, *, count, dtype, components, points, params) -> values (count, components)

``points`` are the decoded integer coordinates ((N,3) uint32/int64, same order) for codecs
that predict from geometry; ``params`` is the per-attribute dict stored in
``metadata["attributes"][i]["params"]``. Codecs register themselves with
:func:`register`; ids whose module is not imported yet are loaded on first use from
``_PROVIDERS`` so that ``pcstream.decode`` finds them without extra imports.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .errors import UnsupportedError


@dataclass(frozen=True)
class AttributeCodec:
    codec_id: int
    name: str
    encode: Callable
    decode: Callable
    lossless: bool = True
    version: int = 1       # codec version written to ATTR chunks; decoders accept <= version
    # Optional level-range coding (one ATTR chunk per octree level range, for progressive
    # colours): encode_levels(values, *, points, params, depth, level_his) ->
    # ([(level_lo, level_hi, payload)], params); level_decoder(dtype, components) -> an
    # object with set_points(points, level), feed(payload), values(), level, done.
    # Chunks of codec version >= levels_version go to level_decoder.
    encode_levels: Callable | None = None
    level_decoder: Callable | None = None
    levels_version: int = 0


_REGISTRY: dict[int, AttributeCodec] = {}

#: Modules that register further codec ids when imported (owned by other components).
_PROVIDERS = {2: "pcstream.attr_raw", 3: "pcstream.attributes", 4: "pcstream.attributes",
              6: "pcstream.splats", 9: "pcstream.scan_order"}

#: Names accepted by pcstream.encode(attribute_codec=...) besides the numeric ids.
NAMES = {"raw": 2, "predictive": 3, "raht": 4, "scan": 9}

#: Element types and component counts the predictive codec (3) accepts.
_PREDICTIVE_DTYPES = {"u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f4", "f8"}


def register(codec: AttributeCodec) -> None:
    _REGISTRY[codec.codec_id] = codec


def _adapt_attributes_module(mod) -> None:
    """Register codecs 3 (predictive lossless) and 4 (RAHT) from pcstream.attributes,
    whose functions take (points, values) and return (codec_id, payload)."""
    if not hasattr(mod, "encode_attribute"):
        return

    def make(codec_id: int, mode: str):
        def encode(values, *, points, params):
            opts = dict(params or {})
            opts.pop("levels", None)      # only for encode_levels
            cid, payload = mod.encode_attribute(points, values, mode=mode, **opts)
            if cid != codec_id:
                raise UnsupportedError(f"pcstream.attributes returned codec {cid}, expected {codec_id}")
            return payload, {k: v for k, v in opts.items() if k == "quality"}

        def decode(payload, *, count, dtype, components, points, params):
            return mod.decode_attribute(points, codec_id, payload, dtype, components)
        return encode, decode

    def encode_levels(values, *, points, params, depth, level_his):
        opts = {k: v for k, v in dict(params or {}).items() if k != "levels"}
        chunks = mod.encode_attribute_levels(points, values, depth, level_his, **opts)
        return chunks, {k: v for k, v in opts.items() if k == "quality"}

    for cid, name, mode, lossless in ((3, "predictive", "lossless", True), (4, "raht", "lossy", False)):
        if cid not in _REGISTRY:
            enc, dec = make(cid, mode)
            version = int(getattr(mod, "CODEC_VERSION", {}).get(cid, 1))
            extra = {}
            if cid == 4 and hasattr(mod, "RahtLevelDecoder"):
                extra = {"encode_levels": encode_levels, "level_decoder": mod.RahtLevelDecoder,
                         "levels_version": int(mod.RAHT_LEVELS_VERSION)}
                version = max(version, extra["levels_version"])
            register(AttributeCodec(cid, name, enc, dec, lossless=lossless, version=version, **extra))


def get(codec_id) -> AttributeCodec:
    """The codec for an id (or a name from NAMES); UnsupportedError when none is available."""
    if isinstance(codec_id, str):
        if codec_id not in NAMES:
            raise UnsupportedError(f"unknown attribute codec {codec_id!r} (known: {', '.join(NAMES)})")
        codec_id = NAMES[codec_id]
    codec_id = int(codec_id)
    if codec_id not in _REGISTRY and codec_id in _PROVIDERS:
        try:
            mod = importlib.import_module(_PROVIDERS[codec_id])
        except ImportError:
            mod = None
        if mod is not None and mod.__name__ == "pcstream.attributes":
            _adapt_attributes_module(mod)
    if codec_id not in _REGISTRY:
        raise UnsupportedError(f"attribute codec id {codec_id} is not available in this build")
    return _REGISTRY[codec_id]


def candidates(codec, values) -> list:
    """The codecs to try for one attribute: ``codec`` is an id or a name (one codec), or
    "auto": the lossless codecs that apply (predictive 3 when available and the values fit
    it, and raw 2); the encoder keeps the smallest payload. Predictive wins on colours and
    integers; raw zstd can win on quantized floats (KITTI intensity: 27 vs 40 bits/point)."""
    if codec != "auto":
        return [get(codec)]
    import numpy as np

    v = np.asarray(values)
    comps = 1 if v.ndim == 1 else v.shape[1]
    out = []
    if f"{v.dtype.kind}{v.dtype.itemsize}" in _PREDICTIVE_DTYPES and 1 <= comps <= 64:
        try:
            out.append(get(3))
        except UnsupportedError:
            pass
    out.append(get(2))
    return out
