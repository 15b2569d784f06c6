#!/usr/bin/env python3
"""Seed inputs for the scan-order fuzzers (GEOM codec 8, ATTR codec 9).

``file_seed()``: a small scan-order ``.pcs`` file whose attributes use every codec-9
model (constant, pulse reference, symbol, residual, time), some carried inline in the
metadata; ``tests/fuzz/fuzz_scan_order.py`` mutates its parts.
``cpp_seeds()``: inputs in the layout of ``csrc/fuzz/fuzz_scan_order.cpp``.

    PYTHONPATH=python python3 tests/fuzz/scan_order_seeds.py DIR   # write the C++ seeds to DIR
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np


def scan(n: int = 240, seed: int = 3):
    """A deterministic scan: (N, 3) uint32 in [0, 2^12), (N, 2) uint8 pulses, GPS-like times."""
    rng = np.random.default_rng(seed)
    nr = rng.integers(1, 4, n)
    pulse = np.stack([np.minimum(rng.integers(1, 4, n), nr), nr], 1).astype(np.uint8)
    q = (np.cumsum(rng.integers(0, 12, (n, 3)), axis=0) % 4096).astype(np.uint32)
    t = np.cumsum(rng.integers(0, 3, n)).astype(np.uint64) + 10**6
    return q, pulse, t


def fields(n: int = 240, seed: int = 3) -> dict:
    """LAS-like attributes for ``scan(n, seed)`` covering every codec-9 model."""
    q, pulse, t = scan(n, seed)
    rng = np.random.default_rng(seed + 1)
    return {"return_number": pulse[:, 0].copy(), "number_of_returns": pulse[:, 1].copy(),   # pulse references
            "withheld": np.zeros(n, np.uint8),                                            # constant (inline)
            "classification": rng.integers(0, 6, n).astype(np.uint8),                     # symbol
            "intensity": (q[:, 2] * 3 % 700).astype(np.uint16),                          # residual
            "rgb": (q[:, :3] * 11 % 65536).astype(np.uint16),                             # residual, 3 comps
            "gps_time": t.astype(np.float64) * 1e-6}                                       # time


def file_seed() -> bytes:
    import pcstream
    q, _, _ = scan()
    return pcstream.encode(q.astype(np.int64), fields(), codec="scan")


class FileCase:
    """A valid scan-order file and the damaged copies fuzz inputs make of it.

    The container's CRCs would reject random bytes before a payload decoder runs, so
    an input damages one part and the file is re-wrapped with valid CRCs. The first
    byte picks the part: 0 the geometry header (metadata; the rest of the input
    overwrites its start and may extend it), 1 .. A the inline payload of attribute
    A-1 (metadata ``params["inline"]``, added where absent), then the chunk payloads
    (replaced by the rest of the input)."""

    def __init__(self, limits=None):
        from pcstream import container
        self.container = container
        self.limits = limits or container.Limits(max_points=1 << 16, max_chunk_bytes=1 << 20,
                                                 max_decoded_bytes=1 << 24)
        self.meta, self.chunks = container.read_pcs(file_seed())
        self.attrs = self.meta["attributes"]

    def build(self, data: bytes):
        """The damaged file for input ``data``, or None when the input makes none."""
        from pcstream import errors
        if not data:
            return None
        nparts = 1 + len(self.attrs) + len(self.chunks)
        which, body = data[0] % nparts, bytes(data[1:])
        chunks = [self.container.Chunk(**{**c.__dict__}) for c in self.chunks]
        meta = self.meta
        if which == 0:
            hdr = bytearray(meta["geometry_header"])
            hdr[: len(body)] = body[: len(hdr)]
            meta = dict(meta, geometry_header=bytes(hdr) + body[len(hdr):])
        elif which <= len(self.attrs):
            attrs = [dict(a, params=dict(a.get("params") or {})) for a in self.attrs]
            attrs[which - 1]["params"]["inline"] = body
            attrs[which - 1]["codec"] = 9
            meta = dict(meta, attributes=attrs)
        else:
            chunks[which - 1 - len(self.attrs)].payload = body
        try:
            return self.container.write_pcs(meta, chunks)
        except errors.PcsError:
            return None

    def check(self, data: bytes) -> None:
        """Decode the damaged file both ways: only pcstream.errors; a file that decodes
        also strips (up to 3 attributes, one at a time) to files that decode to the same
        points without the stripped attribute."""
        import pcstream
        from pcstream import errors
        from pcstream.attr_strip import strip_attributes

        blob = self.build(data)
        if blob is None:
            return
        out = None
        try:
            out = pcstream.decode(blob, limits=self.limits)
            assert out.xyz.ndim == 2 and out.xyz.shape[1] == 3
        except errors.PcsError:
            pass
        dec = pcstream.ProgressiveDecoder(limits=self.limits)
        try:
            dec.feed(blob)
            dec.close()
        except errors.PcsError:
            pass
        if out is None:
            return
        for name in list(out.attributes)[: 1 + data[-1] % 3]:
            small = pcstream.decode(strip_attributes(blob, [name], limits=self.limits), limits=self.limits)
            assert name not in small.attributes and np.array_equal(small.xyz, out.xyz)
            for k, v in small.attributes.items():
                assert v.tobytes() == out.attributes[k].tobytes(), k

    def seeds(self) -> list:
        """One valid input per part: the selector byte followed by the part's original bytes."""
        out = [bytes([0]) + self.meta["geometry_header"]]
        out += [bytes([i + 1]) + bytes(a["params"]["inline"]) for i, a in enumerate(self.attrs)
                if "inline" in (a.get("params") or {})]
        out += [bytes([1 + len(self.attrs) + i]) + c.payload for i, c in enumerate(self.chunks)]
        return out


def _attr_input(q, pulse, payload: bytes, comps: int) -> bytes:
    n = len(q)
    head = bytes([1, comps - 1, 1 if pulse is not None else 0]) + struct.pack("<H", n)
    geo = q.astype("<u2").tobytes() + (pulse.tobytes() if pulse is not None else b"")
    return head + geo + payload


def cpp_seeds() -> dict:
    """name -> input for csrc/fuzz/fuzz_scan_order.cpp (geometry and attribute modes)."""
    from pcstream import _core
    out = {}
    q, pulse, t = scan()
    for zm in (0, 1, 2):
        for name, pl in (("pulse", pulse), ("nopulse", None)):
            header, payload = _core.scan_geometry_encode(q, 12, pl, z_mode=zm)
            out[f"geom-z{zm}-{name}"] = bytes([0, len(header)]) + header + payload
    for n in (0, 1):
        header, payload = _core.scan_geometry_encode(q[:n], 12, pulse[:n])
        out[f"geom-n{n}"] = bytes([0, len(header)]) + header + payload
    q, pulse, t = scan(120, 5)
    f = fields(120, 5)
    for name, values, model in (("const", np.full((120, 2), 7, np.uint64), 0),
                                ("pulseref", pulse[:, :1].astype(np.uint64), 1),
                                ("symbol", f["classification"].astype(np.uint64).reshape(-1, 1), 2),
                                ("residual", f["rgb"].astype(np.uint64), 3),
                                ("time", t.reshape(-1, 1), 4)):
        payload = _core.scan_attr_encode(q, pulse, values, model=model)
        out[f"attr-{name}"] = _attr_input(q, pulse, payload, values.shape[1])
    payload = _core.scan_attr_encode(q, None, f["intensity"].astype(np.uint64).reshape(-1, 1))
    out["attr-nopulse"] = _attr_input(q, None, payload, 1)
    return out


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = Path(argv[1])
    d.mkdir(parents=True, exist_ok=True)
    for name, blob in cpp_seeds().items():
        (d / name).write_bytes(blob)
    print(f"wrote {len(cpp_seeds())} seeds to {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
