"""Shared pieces of the input readers: the result type and validation helpers."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputFileError


@dataclass
class PointData:
    """What a reader returns: coordinates, per-point attributes and facts about the source.

    ``precision``/``origin`` are set when the file format itself stores coordinates on a
    known grid (LAS scale and offset); the packer then quantizes exactly onto that grid.
    """

    xyz: np.ndarray
    attributes: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    precision: object = None
    origin: object = None

    def __len__(self) -> int:
        return int(self.xyz.shape[0])


def fail(path, what: str) -> InputFileError:
    """An InputFileError whose message names the file and what is wrong with it."""
    return InputFileError(f"{Path(path)}: {what}")


def check_size(path, nbytes: int, record: int, layout: str) -> int:
    """Number of fixed-size records in a raw binary file, or an error naming the layout."""
    if nbytes % record:
        raise fail(path, f"size {nbytes} bytes is not a multiple of {record} bytes ({layout})")
    return nbytes // record


def stack_xyz(path, x, y, z) -> np.ndarray:
    xyz = np.stack([np.asarray(x), np.asarray(y), np.asarray(z)], axis=1)
    if xyz.dtype.kind not in "fiu":
        raise fail(path, f"coordinates have unsupported type {xyz.dtype}")
    return xyz


def handle_nonfinite(path, data: PointData, drop_nonfinite: bool) -> PointData:
    """Reject (default) or drop points whose coordinates are NaN or infinite."""
    if data.xyz.dtype.kind != "f":
        return data
    ok = np.isfinite(data.xyz).all(axis=1)
    if ok.all():
        return data
    bad = int((~ok).sum())
    if not drop_nonfinite:
        first = int(np.flatnonzero(~ok)[0])
        raise fail(path, f"{bad} of {len(ok)} points have NaN or infinite coordinates "
                         f"(first at index {first}); use drop_nonfinite=True / --drop-nonfinite to skip them")
    data.xyz = data.xyz[ok]
    data.attributes = {k: v[ok] for k, v in data.attributes.items()}
    data.source = dict(data.source, dropped_nonfinite=bad)
    return data
