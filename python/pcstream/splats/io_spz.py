"""Niantic SPZ: read versions 2-4 (gzip v2/v3, NGSP multi-stream zstd v4), write v2-v4.

SPZ stores a right-up-back (RUB) frame; INRIA PLY scenes are right-down-front
(RDF). Reading and writing flip y and z (positions, quaternion x/y signs... see
`_flip`) so scenes come out in the INRIA frame, like Niantic's loader does by default.
"""
from __future__ import annotations

import gzip
import struct
import zlib

import numpy as np

from ..errors import InputFileError, InvalidArgumentError
from .scene import SH_COEFFS, SplatScene, normalized_rotations, sigmoid

MAGIC = 0x5053474E  # "NGSP"
COLOR_SCALE = 0.15
_SH_FLIP = np.array([-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1], np.float32)
MAX_SPLATS = 1 << 26


def _flip(pos, q, sh):
    """Mirror y and z (RUB <-> RDF): involution."""
    pos = pos * np.array([1, -1, -1], pos.dtype)
    q = q * np.array([1, 1, -1, -1], q.dtype)  # (w,x,y,z): rotation under diag(1,-1,-1) conjugation
    k = sh.shape[1]
    sh = sh * _SH_FLIP[:k][None, :, None]
    return pos, q, sh


def _stream_sizes(version, n, k):
    rot = 4 if version >= 3 else 3
    return [n * 9, n, n * 3, n * 3, n * rot, n * k * 3]


def read_spz(data: bytes | str, *, to_rdf: bool = True) -> SplatScene:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        with open(data, "rb") as f:
            data = f.read()
    data = bytes(data)
    if data[:2] == b"\x1f\x8b":
        try:
            d = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise InputFileError(f"SPZ: gzip stream is corrupt ({e})") from e
        if len(d) < 16:
            raise InputFileError("SPZ: header truncated")
        magic, version, n, deg, fbits, flags, _ = struct.unpack_from("<IIIBBBB", d, 0)
        _check_header(magic, version, n, deg, fbits)
        sizes = _stream_sizes(version, n, SH_COEFFS[deg])
        if len(d) < 16 + sum(sizes):
            raise InputFileError("SPZ: body shorter than the header announces")
        parts, p = [], 16
        for s in sizes:
            parts.append(d[p:p + s])
            p += s
    else:
        if len(data) < 20:
            raise InputFileError("SPZ: header truncated")
        magic, version, n, deg, fbits, flags, nstreams, toc = struct.unpack_from("<IIIBBBBI", data, 0)
        _check_header(magic, version, n, deg, fbits)
        if version < 4:
            raise InputFileError(f"SPZ v{version} must be gzip-compressed")
        sizes = _stream_sizes(version, n, SH_COEFFS[deg])
        want = [s for s in sizes if s > 0]
        if nstreams != len(want) or toc + 16 * nstreams > len(data):
            raise InputFileError("SPZ v4: stream table inconsistent with the header")
        import zstandard
        dctx = zstandard.ZstdDecompressor()
        streams, p = [], toc + 16 * nstreams
        for i in range(nstreams):
            csz, usz = struct.unpack_from("<QQ", data, toc + 16 * i)
            if usz != want[i] or p + csz > len(data):
                raise InputFileError(f"SPZ v4: stream {i} sizes inconsistent")
            try:
                s = dctx.decompress(data[p:p + csz], max_output_size=usz)
            except zstandard.ZstdError as e:
                raise InputFileError(f"SPZ v4: stream {i} corrupt ({e})") from e
            if len(s) != usz:
                raise InputFileError(f"SPZ v4: stream {i} decompressed to {len(s)} bytes, expected {usz}")
            streams.append(s)
            p += csz
        it = iter(streams)
        parts = [next(it) if s > 0 else b"" for s in sizes]
    k = SH_COEFFS[deg]
    P, A, C, S, R, SH = [np.frombuffer(x, np.uint8) for x in parts]
    b = P.reshape(n, 3, 3).astype(np.int32)
    fixed = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
    fixed = np.where(fixed & 0x800000, fixed - (1 << 24), fixed)
    pos = fixed.astype(np.float64) / (1 << fbits)
    al = np.clip(A.astype(np.float64) / 255.0, 1e-6, 1 - 1e-6)
    op = np.log(al / (1 - al))
    col = (C.reshape(n, 3).astype(np.float64) / 255.0 - 0.5) / COLOR_SCALE
    sc = S.reshape(n, 3).astype(np.float64) / 16.0 - 10.0
    if version >= 3:
        q = _unpack_smallest3(R.reshape(n, 4))
    else:
        xyz = R.reshape(n, 3).astype(np.float64) / 127.5 - 1
        w = np.sqrt(np.clip(1 - (xyz ** 2).sum(1), 0, None))
        q = np.concatenate([w[:, None], xyz], 1)
    sh = (SH.reshape(n, k, 3).astype(np.float64) - 128.0) / 128.0
    if to_rdf:
        pos, q, sh = _flip(pos, q, sh)
    return SplatScene(pos.astype(np.float32), op.astype(np.float32), col.astype(np.float32),
                      sh.astype(np.float32), sc.astype(np.float32), q.astype(np.float32),
                      extra={"format": f"spz-v{version}", "antialiased": bool(flags & 1), "fractional_bits": fbits})


def _check_header(magic, version, n, deg, fbits):
    if magic != MAGIC:
        raise InputFileError("not an SPZ file (bad magic)")
    if version not in (2, 3, 4):
        raise InputFileError(f"SPZ version {version} not supported (2-4)")
    if n > MAX_SPLATS:
        raise InputFileError(f"SPZ: {n} splats exceed the reader limit")
    if deg not in SH_COEFFS:
        raise InputFileError(f"SPZ: SH degree {deg} not supported")
    if fbits > 23:
        raise InputFileError(f"SPZ: {fbits} fractional bits")


def _unpack_smallest3(r):
    """SPZ v3+: 2-bit index of the largest |component| (order x,y,z,w), then 3x(sign+9-bit magnitude)."""
    r = r.astype(np.uint32)
    comp = r[:, 0] | (r[:, 1] << 8) | (r[:, 2] << 16) | (r[:, 3] << 24)
    il = comp >> 30
    n = len(r)
    q = np.zeros((n, 4))  # x,y,z,w
    mask = 511
    ss = np.zeros(n)
    for i in range(3, -1, -1):
        sel = il != i
        val = np.sqrt(0.5) * (comp & mask) / mask
        val = np.where((comp >> 9) & 1, -val, val)
        q[sel, i] = val[sel]
        ss[sel] += val[sel] ** 2
        comp = np.where(sel, comp >> 10, comp)
    q[np.arange(n), il] = np.sqrt(np.clip(1 - ss, 0, None))
    return q[:, [3, 0, 1, 2]]


def _pack_smallest3(q_wxyz):
    q = normalized_rotations(q_wxyz)[:, [1, 2, 3, 0]]  # x,y,z,w
    il = np.argmax(np.abs(q), 1)
    n = len(q)
    q = q * np.where(q[np.arange(n), il] < 0, -1.0, 1.0)[:, None]
    comp = np.zeros(n, np.uint64)
    for i in range(4):
        sel = il != i
        mag = np.minimum(np.round(np.abs(q[:, i]) / np.sqrt(0.5) * 511), 511).astype(np.uint64)
        neg = (q[:, i] < 0).astype(np.uint64)
        v = mag | (neg << np.uint64(9))
        comp = np.where(sel, (comp << np.uint64(10)) | v, comp)
    comp |= il.astype(np.uint64) << np.uint64(30)
    comp = comp.astype(np.uint32)
    return np.stack([(comp >> s) & 0xFF for s in (0, 8, 16, 24)], 1).astype(np.uint8)


def _u8(x):
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def write_spz(scene: SplatScene, version: int = 4, *, fractional_bits: int = 12, antialiased: bool = False,
              from_rdf: bool = True, zstd_level: int = 12) -> bytes:
    """Encode like Niantic's writer: 24-bit fixed positions, 8-bit attributes, smallest-three
    rotations (v3+), SH quantised to 5 bits (band 1) / 4 bits (higher bands)."""
    if version not in (2, 3, 4):
        raise InvalidArgumentError("SPZ version must be 2, 3 or 4")
    scene.validate()
    n, k = len(scene), scene.sh_rest.shape[1]
    pos = scene.positions.astype(np.float64)
    q = normalized_rotations(scene.rotations)
    sh = scene.sh_rest.astype(np.float64)
    if from_rdf:
        pos, q, sh = _flip(pos, q, sh)
    fixed = np.round(pos * (1 << fractional_bits)).astype(np.int64)
    lim = (1 << 23) - 1
    if np.any(np.abs(fixed) > lim):
        raise InvalidArgumentError(f"positions exceed SPZ's range of +-{lim / (1 << fractional_bits):g}")
    fixed &= 0xFFFFFF
    P = np.stack([(fixed >> s) & 0xFF for s in (0, 8, 16)], 2).astype(np.uint8)
    A = _u8(sigmoid(scene.opacity) * 255)
    C = _u8((scene.f_dc.astype(np.float64) * COLOR_SCALE + 0.5) * 255)
    S = _u8((scene.log_scales.astype(np.float64) + 10) * 16)
    if version >= 3:
        R = _pack_smallest3(q)
    else:
        R = _u8(q[:, 1:] * 127.5 + 127.5)
    SHq = np.zeros((n, k, 3), np.uint8)
    if k:
        for j in range(k):
            bucket = 8 if j < 3 else 16
            v = np.round(sh[:, j] * 128 + 128)
            v = np.floor((v + bucket / 2) / bucket) * bucket
            SHq[:, j] = _u8(v)
    deg = scene.sh_degree
    flags = 1 if antialiased else 0
    parts = [P.tobytes(), A.tobytes(), C.tobytes(), S.tobytes(), R.tobytes(), SHq.tobytes()]
    if version < 4:
        head = struct.pack("<IIIBBBB", MAGIC, version, n, deg, fractional_bits, flags, 0)
        return gzip.compress(head + b"".join(parts), compresslevel=9, mtime=0)
    import zstandard
    cctx = zstandard.ZstdCompressor(level=zstd_level)
    streams = [cctx.compress(p) for p in parts if len(p)]
    raw_sizes = [len(p) for p in parts if len(p)]
    toc = 20
    head = struct.pack("<IIIBBBBI", MAGIC, version, n, deg, fractional_bits, flags, len(streams), toc)
    table = b"".join(struct.pack("<QQ", len(s), u) for s, u in zip(streams, raw_sizes))
    return head + table + b"".join(streams)
