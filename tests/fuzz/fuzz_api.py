#!/usr/bin/env python3
"""Atheris fuzz harness for the API decode path (metadata checks, geometry and attribute
payload decoders behind pcstream.decode / ProgressiveDecoder).

The container's CRCs would reject random bytes before any payload decoder runs, so the
harness mutates one part of a valid file and re-wraps it with valid CRCs: the first input
byte picks the part (metadata, one chunk payload), the rest replaces or overwrites it.

    PYTHONPATH=python python3 tests/fuzz/fuzz_api.py -max_total_time=600

Checked: no crash or hang, only pcstream.errors exceptions from both decode paths.
"""
from __future__ import annotations


import atheris
from atheris_main import run  # noqa: E402  (the shared main, beside this file)

with atheris.instrument_imports():
    import msgpack
    import numpy as np

    import pcstream
    from pcstream import container, errors

LIMITS = container.Limits(max_points=1 << 16, max_chunk_bytes=1 << 20, max_decoded_bytes=1 << 24)


def _seed():
    rng = np.random.default_rng(0)
    xyz = rng.integers(0, 64, (200, 3))
    attrs = {"rgb": rng.integers(0, 256, (200, 3)).astype(np.uint8), "v": rng.random(200).astype(np.float32)}
    # "c": RAHT colour in one ATTR chunk per level range (codec 4 version 2).
    attrs["c"] = np.clip(xyz * 4, 0, 255).astype(np.uint8)
    return container.read_pcs(pcstream.encode(xyz, attrs, attribute_codec={"c": "raht"},
                                              attribute_options={"c": {"levels": "geometry"}}))


META, CHUNKS = _seed()
META_BYTES = msgpack.packb(META, use_bin_type=True)


def build(data: bytes) -> bytes | None:
    if not data:
        return None
    which, body = data[0] % (len(CHUNKS) + 2), data[1:]
    chunks = [container.Chunk(**{**c.__dict__}) for c in CHUNKS]
    meta = META
    if which == 0:            # replace the metadata block
        try:
            meta = msgpack.unpackb(body, raw=False, strict_map_key=False)
        except Exception:
            return None
        if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
            return None
    elif which == 1:          # overwrite the start of the geometry header
        hdr = bytearray(META["geometry_header"])
        hdr[: len(body)] = body[: len(hdr)]
        meta = dict(META, geometry_header=bytes(hdr))
    else:                     # replace one chunk payload
        chunks[which - 2].payload = bytes(body)
    try:
        return container.write_pcs(meta, chunks)
    except errors.PcsError:
        return None


def TestOneInput(data: bytes) -> None:
    blob = build(data)
    if blob is None:
        return
    try:
        out = pcstream.decode(blob, limits=LIMITS)
        assert out.xyz.ndim == 2 and out.xyz.shape[1] == 3
    except errors.PcsError:
        pass
    dec = pcstream.ProgressiveDecoder(limits=LIMITS)
    try:
        dec.feed(blob)
        dec.close()
    except errors.PcsError:
        pass


def seeds() -> list:
    """One valid input per part: the selector byte followed by the part's original bytes."""
    out = [bytes([0]) + META_BYTES, bytes([1]) + META["geometry_header"]]
    out += [bytes([i + 2]) + c.payload for i, c in enumerate(CHUNKS)]
    return out


def main() -> None:
    run(TestOneInput, seeds(), "pcs-api-corpus-")

if __name__ == "__main__":
    main()
