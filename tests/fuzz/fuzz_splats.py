#!/usr/bin/env python3
"""Mutation fuzzing of the splat decode path, for long runs by hand:

    PYTHONPATH=python python3 tests/fuzz/fuzz_splats.py SECONDS

Mutates one chunk payload or the splat stream header of a valid file, re-wraps it with
valid CRCs and decodes it; reports any exception that is not a pcstream.errors.PcsError.
"""
import sys, time, random
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
import numpy as np, msgpack
from test_splats import synthetic
from pcstream import container, errors
from pcstream.splats import container_io

scene = synthetic(n=600, degree=3, seed=1)
data = container_io.pack(scene, quality=0.5, lod=True)
if not isinstance(data, (bytes, bytearray)):
    import io
    buf = io.BytesIO(); container_io.pack(scene, buf, quality=0.5, lod=True); data = buf.getvalue()
META, CHUNKS = container.read_pcs(data)
print("chunks", len(CHUNKS), [c.type for c in CHUNKS])
rng = random.Random(0)
n = bad = 0
t0 = time.time()
other = {}
while time.time() - t0 < float(sys.argv[1]):
    chunks = [container.Chunk(**{**c.__dict__}) for c in CHUNKS]
    meta = dict(META)
    which = rng.randrange(len(chunks) + 1)
    if which == len(chunks):
        sp = msgpack.packb(meta["splats"], use_bin_type=True)
        b = bytearray(sp)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            meta["splats"] = msgpack.unpackb(bytes(b), raw=False, strict_map_key=False)
        except Exception:
            continue
    else:
        p = bytearray(chunks[which].payload)
        mode = rng.randrange(3)
        if mode == 0 and p:
            for _ in range(rng.randint(1, 8)):
                p[rng.randrange(len(p))] ^= 1 << rng.randrange(8)
        elif mode == 1:
            p = p[: rng.randrange(len(p) + 1)]
        else:
            p = bytearray(rng.randbytes(rng.randrange(1, 64))) + p[rng.randrange(len(p) + 1):]
        chunks[which].payload = bytes(p)
    blob = container.write_pcs(meta, chunks)
    n += 1
    try:
        container_io.unpack(blob)
    except errors.PcsError:
        pass
    except Exception as e:
        key = f"{type(e).__name__}: {str(e)[:80]}"
        if key not in other:
            print("NON-PCS", which, key, flush=True)
        other[key] = other.get(key, 0) + 1
print("iterations", n, "non-pcs kinds", len(other))
