"""Reading and writing learned model files (.pcsm, ``formats/learned-model.md``) with numpy only.

Also the tensor layout of the ``occ-sparse-v1`` architecture (shared by the torch
model and the C++ runtime) and a random-weight model for tests.
"""
from __future__ import annotations

import hashlib
import re
import struct

import numpy as np

ARCH = "occ-sparse-v1"
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


def tensor_shapes(channels: int, kernel: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor of an occ-sparse-v1 model."""
    c, kk = channels, kernel ** 3
    s: dict[str, tuple[int, ...]] = {
        "prior.emb_code": (256, c),
        "target.emb_octant": (8, c),
        "ctx.emb_code": (257, c),
        "head1.emb_low": (16, c),
        "head3.emb_low": (16, c),
        "ctx.conv.weight": (kk, c, c),
        "ctx.conv.bias": (c,),
    }
    for net in ("prior", "target"):
        for conv in ("conv0", "res.conv1", "res.conv2"):
            s[f"{net}.{conv}.weight"] = (kk, c, c)
            s[f"{net}.{conv}.bias"] = (c,)
    for h in range(4):
        s[f"head{h}.fc1.weight"] = (c, c)
        s[f"head{h}.fc1.bias"] = (c,)
        s[f"head{h}.fc2.weight"] = (c, 16)
        s[f"head{h}.fc2.bias"] = (16,)
    return s


def _name(s: str) -> bytes:
    if not _NAME.match(s):
        raise ValueError(f"invalid name {s!r} (1-255 of A-Z a-z 0-9 . _ -)")
    b = s.encode("ascii")
    return struct.pack("<B", len(b)) + b


def write_model(model_id: str, tensors: dict[str, np.ndarray], *, channels: int, kernel: int,
                arch: str = ARCH) -> bytes:
    """Serialise a model; tensors are stored in name order as float32 little-endian."""
    if len(model_id) > 64:
        raise ValueError("model id longer than 64 characters")
    params = {"channels": int(channels), "kernel": int(kernel)}
    body = bytearray(_name(arch))
    body += struct.pack("<H", len(params))
    for k in sorted(params):
        body += _name(k) + struct.pack("<i", params[k])
    body += struct.pack("<H", len(tensors))
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k], dtype="<f4")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"tensor {k} has non-finite values")
        body += _name(k) + struct.pack("<B", a.ndim) + struct.pack(f"<{a.ndim}I", *a.shape) + a.tobytes()
    digest = hashlib.sha256(bytes(body)).digest()
    return b"PCSM" + struct.pack("<HH", 1, 0) + _name(model_id) + digest + bytes(body)


def read_header(data: bytes) -> tuple[str, bytes]:
    """(model id, SHA-256 content hash) of a model file (not verified; the C++ loader verifies)."""
    if data[:4] != b"PCSM":
        raise ValueError("not a pcstream model file")
    n = data[8]
    return data[9:9 + n].decode("ascii"), bytes(data[9 + n:41 + n])


def random_model(model_id: str = "test-rand", channels: int = 8, kernel: int = 3, seed: int = 0) -> bytes:
    """A model with random weights (uniform in ±0.4), for tests and golden vectors."""
    rng = np.random.default_rng(seed)
    shapes = tensor_shapes(channels, kernel)
    tensors = {k: rng.uniform(-0.4, 0.4, size=v).astype(np.float32) for k, v in sorted(shapes.items())}
    return write_model(model_id, tensors, channels=channels, kernel=kernel)
