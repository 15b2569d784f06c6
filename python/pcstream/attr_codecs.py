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


_REGISTRY: dict[int, AttributeCodec] = {}

#: Modules that register further codec ids when imported (owned by other components).
_PROVIDERS = {2: "pcstream.attr_raw", 3: "pcstream.attributes", 4: "pcstream.attributes",
              6: "pcstream.splats"}

#: Names accepted by pcstream.encode(attribute_codec=...) besides the numeric ids.
NAMES = {"raw": 2, "predictive": 3, "raht": 4}


def register(codec: AttributeCodec) -> None:
    _REGISTRY[codec.codec_id] = codec


def get(codec_id) -> AttributeCodec:
    """The codec for an id (or a name from NAMES); UnsupportedError when none is available."""
    if isinstance(codec_id, str):
        if codec_id not in NAMES:
            raise UnsupportedError(f"unknown attribute codec {codec_id!r} (known: {', '.join(NAMES)})")
        codec_id = NAMES[codec_id]
    codec_id = int(codec_id)
    if codec_id not in _REGISTRY and codec_id in _PROVIDERS:
        try:
            importlib.import_module(_PROVIDERS[codec_id])
        except ImportError:
            pass
    if codec_id not in _REGISTRY:
        raise UnsupportedError(f"attribute codec id {codec_id} is not available in this build")
    return _REGISTRY[codec_id]
