"""3D Gaussian splat scenes: IO (INRIA PLY, SPZ, .splat), the SPLT codec and fidelity measures."""
from __future__ import annotations

from .scene import SH_C0, SplatScene  # noqa: F401
from .io_inria import is_inria_ply, read_inria_ply, write_inria_ply  # noqa: F401
from .io_spz import read_spz, write_spz  # noqa: F401
from .io_splat import read_splat, write_splat  # noqa: F401
from .codec import decode, decode_prefix, encode, steps_for_quality  # noqa: F401
from .fidelity import fidelity, fidelity_report  # noqa: F401


def load(path) -> SplatScene:
    """Read a scene by extension: .ply (INRIA), .spz, .splat."""
    p = str(path)
    if p.endswith(".spz"):
        return read_spz(p)
    if p.endswith(".splat"):
        return read_splat(p)
    return read_inria_ply(p)
