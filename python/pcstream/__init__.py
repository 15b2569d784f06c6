"""pcstream: streaming codec SDK for 3D point clouds and Gaussian splat scenes."""
from __future__ import annotations

__version__ = "0.1.0"

from . import errors  # noqa: F401
from .errors import PcsError  # noqa: F401
