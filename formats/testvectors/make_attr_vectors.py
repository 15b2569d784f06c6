#!/usr/bin/env python3
"""Record frozen golden payloads of the attribute codecs (ATTR codec 3 and codec 4).

    PYTHONPATH=python python formats/testvectors/make_attr_vectors.py --record NAME...

Each vector is a small deterministic synthetic cloud: ``attr-<name>.npz`` holds the
points (uint32 (N, 3), the order the decoder receives them in) and the expected decoded
values, ``attr-<name>*.bin`` the payload(s) exactly as an ATTR chunk stores them, and
``attributes-manifest.json`` says how to decode them. Like the geometry vectors they are
recorded once and then frozen: tests/test_attributes.py decodes them forever, so a codec
change that alters them needs a new codec_version (and new vectors, added under new names).
Without --record the script lists the vectors and checks them against this build.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MANIFEST = "attributes-manifest.json"


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _clouds():
    """name -> (points, values, codec mode, options, description); deterministic."""
    rng = np.random.default_rng(61121)
    # A noisy sphere shell of depth 7 with 30 duplicated points, coloured by position.
    d = rng.normal(size=(1500, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    shell = np.floor((d * 0.45 + 0.5) * 127).astype(np.uint32)
    shell = np.concatenate([shell, shell[:30]])
    shell = shell[np.lexsort(shell.T[::-1])]  # any order shared by encoder and decoder
    rgb = np.clip(shell * 2 + rng.integers(0, 12, shell.shape), 0, 255).astype(np.uint8)
    grey16 = (shell[:, 0].astype(np.uint32) * 400 + shell[:, 2] * 7).astype(np.uint16)
    gps = np.cumsum(rng.random(len(shell))) * 1e-3 + 4.0e5
    sint = (shell[:, 1].astype(np.int32) - 64).astype(np.int16)
    return {
        "c3-rgb": (shell, rgb, "lossless", {}, "codec 3, rgb uint8 x3 on a 1530-point sphere shell (depth 7)"),
        "c3-gps": (shell, gps, "lossless", {}, "codec 3, float64 GPS-like times (residual mode)"),
        "c3-int16": (shell, sint, "lossless", {}, "codec 3, int16 scalar"),
        "c4v1-rgb": (shell, rgb, "lossy", {"quality": 40}, "codec 4 version 1 (one payload), rgb at quality 40"),
        "c4v1-grey16": (shell, grey16, "lossy", {"quality": 30},
                        "codec 4 version 1 (one payload), uint16 scalar at quality 30"),
    }


def record(names) -> dict:
    from pcstream.attributes import decode_attribute, encode_attribute

    files = {}
    man_path = HERE / MANIFEST
    man = json.loads(man_path.read_text()) if man_path.exists() else {"vectors": []}
    man["what"] = ("decode each payload with pcstream.attributes.decode_attribute(points, codec_id, payload, "
                   "dtype, components) (codec_version 1) or, for chunked codec 4 version 2, feed the chunks in "
                   "order to pcstream.attributes.RahtLevelDecoder; the result must equal 'expected' of the npz")
    vectors = {v["name"]: v for v in man["vectors"]}
    clouds = _clouds()
    for name in names:
        pts, vals, mode, opts, desc = clouds[name]
        cid, payload = encode_attribute(pts, vals, mode=mode, **opts)
        out = decode_attribute(pts, cid, payload, vals.dtype, 1 if vals.ndim == 1 else vals.shape[1])
        buf = io.BytesIO()
        np.savez_compressed(buf, points=pts, expected=out)
        files[f"attr-{name}.npz"] = buf.getvalue()
        files[f"attr-{name}.bin"] = payload
        vectors[name] = {"name": name, "description": desc, "codec_id": cid, "codec_version": 1,
                         "dtype": np.dtype(vals.dtype).newbyteorder("<").str,
                         "components": 1 if vals.ndim == 1 else int(vals.shape[1]),
                         "payloads": [{"file": f"attr-{name}.bin", "sha256": _sha(payload)}],
                         "npz": f"attr-{name}.npz", "expected_sha256": _sha(np.ascontiguousarray(out).tobytes())}
    man["vectors"] = [vectors[k] for k in sorted(vectors)]
    files[MANIFEST] = (json.dumps(man, indent=1) + "\n").encode()
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--record", nargs="+", metavar="NAME", help="record these vectors (overwrites them)")
    args = ap.parse_args(argv)
    if not args.record:
        print("vectors:", ", ".join(_clouds()))
        return 0
    for rel, data in sorted(record(args.record).items()):
        (HERE / rel).write_bytes(data)
        print("wrote", rel, len(data), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
