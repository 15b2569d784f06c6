"""Export a trained OccupancyModel (or a checkpoint) to the runtime's .pcsm file.

    python -m pcstream.learn.export CHECKPOINT.pt OUT.pcsm --id occ16-v1
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .model import OccupancyModel, load_checkpoint
from .model_file import write_model


def export_model(model: OccupancyModel, model_id: str) -> bytes:
    tensors = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.runtime_state().items()}
    return write_model(model_id, tensors, channels=model.channels, kernel=model.kernel)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--id", required=True, help="model id recorded in bitstreams (A-Z a-z 0-9 . _ -)")
    a = ap.parse_args(argv)
    Path(a.out).write_bytes(export_model(load_checkpoint(a.checkpoint), a.id))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
