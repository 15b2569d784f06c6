"""pcstream: streaming codec SDK for 3D point clouds and Gaussian splat scenes.

    data = pcstream.encode(xyz, attributes={"rgb": rgb}, precision=None)   # -> bytes
    cloud = pcstream.decode(data)          # cloud.xyz (N,3) float64, cloud.attributes
    reader = pcstream.open("scan.pcs")     # lazy random access through the index
    dec = pcstream.ProgressiveDecoder()    # for update in dec.feed(bytes): ...
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import errors  # noqa: F401,E402
from .errors import InputFileError, PcsError, TruncatedError  # noqa: F401,E402
from .api import (PointCloud, ProgressiveDecoder, Reader, Update, decode, encode,  # noqa: F401,E402
                  open)
from .io import read_points, write_points  # noqa: F401,E402
from .sample import sample_path  # noqa: F401,E402

__all__ = ["encode", "decode", "open", "ProgressiveDecoder", "PointCloud", "Reader", "Update",
           "read_points", "write_points", "sample_path", "errors", "PcsError", "TruncatedError",
           "InputFileError", "__version__"]
