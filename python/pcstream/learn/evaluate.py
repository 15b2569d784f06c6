"""Coding cost of a checkpoint on whole clouds, in torch (no bitstream): a quick check of
training progress on the held-out files.

    python -m pcstream.learn.evaluate runs/x/checkpoint.pt [--files dense/redandblack_vox10_1550.ply ...]

Clouds are voxelised as the benches do: PLY files at their integer coordinates, LiDAR
``.bin`` sweeps at 1 mm. Every scale with at least 64 voxels is counted, in pieces of
--budget children (neighbours across piece borders are missing, so the figure is a
little above what the codec spends).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from . import data
from .model import OccupancyModel, load_checkpoint, make_batch


def voxelise(path: Path) -> tuple[np.ndarray, int]:
    xyz = data.load_xyz(path)
    if path.suffix == ".ply":
        q = np.round(xyz).astype(np.int64)
        if q.min() < 0:
            q -= q.min(0)
    else:
        q = np.round((xyz - xyz.min(0)) / 0.001).astype(np.int64)  # 1 mm, as bench/learned.py
    q = np.unique(q, axis=0)
    return q, max(2, int(q.max()).bit_length())


@torch.no_grad()
def cloud_bits(model: OccupancyModel, pts: np.ndarray, depth: int, budget: int = 30000) -> float:
    total = 0.0
    for s in data.cloud_samples(pts, depth, budget):
        total += float(model.loss_bits(make_batch(*s, model.kernel)))
    return total


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--files", nargs="*", default=list(data.HELD_OUT))
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model = load_checkpoint(a.checkpoint)
    for rel in a.files:
        pts, depth = voxelise(data.default_data_dir() / rel)
        print(f"{rel}: {cloud_bits(model, pts, depth) / len(pts):.4f} bpp ({len(pts)} points, depth {depth})", flush=True)


if __name__ == "__main__":
    main()
