"""Build a model's context prior (``.pcsp``) from training clouds; needs no torch.

    python -m pcstream.learn.prior --model occd32-v1 --out python/pcstream/models/occd32-v1.pcsp

The learned codec's context mixer learns the local occupancy patterns of each
stream from scratch. A context prior is what its hashed counters know after
coding a fixed sequence of training clouds; streams coded with it read those
values as extra mixer inputs (formats/learned-geometry.md, "Context prior").
The shipped dense prior comes from the two 8i training frames (the held-out
frame is never used), each in five orientations that keep the y axis upright,
coded in the order of ``DENSE_SEQUENCE``: the same bytes on every machine.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from .data import HELD_OUT, default_data_dir, load_xyz

# (file, orientation): "p" swaps x and z, "x" / "z" mirror that axis, applied left to right.
_LOOT, _SOLDIER = "dense/loot_vox10_1200.ply", "dense/soldier_vox10_0690_partial.ply"
DENSE_SEQUENCE = (
    (_LOOT, "px"), (_SOLDIER, "pz"), (_LOOT, "p"), (_SOLDIER, "p"), (_LOOT, "x"),
    (_SOLDIER, "x"), (_LOOT, "z"), (_SOLDIER, "z"), (_LOOT, ""), (_SOLDIER, ""),
)
DEPTH = 10
#: Counters kept per hashed table (neighbourhood, with model confidence, block, lineage):
#: those that saw at least this many decisions (measured: the block table's rarer
#: patterns add 1.7 MB and no gain).
MIN_COUNT = (2, 2, 8, 2)


def orient(q: np.ndarray, how: str) -> np.ndarray:
    q = q.copy()
    for c in how:
        if c == "p":
            q = q[:, [2, 1, 0]].copy()
        elif c in "xz":
            a = 0 if c == "x" else 2
            q[:, a] = q[:, a].max() - q[:, a]
        else:
            raise ValueError(f"unknown orientation {c!r}")
    return q


def training_sequence(data_dir: Path, sequence=DENSE_SEQUENCE) -> list[tuple[np.ndarray, int]]:
    clouds, cache = [], {}
    for rel, how in sequence:
        if rel in HELD_OUT:
            raise ValueError(f"{rel} is held out of training")
        if rel not in cache:
            cache[rel] = np.round(load_xyz(data_dir / rel)).astype(np.int64)
        clouds.append((np.ascontiguousarray(orient(cache[rel], how).astype(np.uint32)), DEPTH))
    return clouds


def build_prior(model, clouds, threads: int = 2, min_count=MIN_COUNT) -> bytes:
    from .. import _core, learned
    return _core.learned_build_prior(learned.load_model(model), clouds, int(threads), list(min_count))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="occd32-v1", help="shipped model id or .pcsm path")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", type=Path, default=None, help="shared data folder (default ../shared/data)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    data = a.data or default_data_dir()
    missing = sorted({rel for rel, _ in DENSE_SEQUENCE if not (data / rel).exists()})
    if missing:
        sys.exit(f"missing training files under {data}: {missing}")
    t0 = time.perf_counter()
    blob = build_prior(a.model, training_sequence(data), a.threads)
    Path(a.out).write_bytes(blob)
    print(f"wrote {a.out}: {len(blob)} bytes, sha256 {hashlib.sha256(blob).hexdigest()[:16]}..., "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
