"""Train the occupancy model of the learned geometry codec.

    python -m pcstream.learn.train --out runs/occd32 --id occd32-v1 --channels 32 --kinds dense [--resume] [--minutes 80]

Each step draws one piece (at most --budget children of one scale) from a shuffle pool
filled with every scale of fresh augmented clouds (``data.cloud_samples``) and minimises the coding cost in bits of the children's occupancy codes
(four steps: checkerboard group × nibble). Checkpoints (``checkpoint.pt``) are
written every --ckpt-seconds and at the end; ``--resume`` continues from them
(the CPU-time budget counts across resumes, so a
busy machine slows training down but does not shorten it). At the end the model is exported to
``OUT/<id>.pcsm``, the file the codec loads.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import data
from .export import export_model
from .model import OccupancyModel, make_batch


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--id", default="occ16-v1", help="model id recorded in bitstreams")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--kernel", type=int, default=3, choices=(3, 5))
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--minutes", type=float, default=15.0,
                    help="training budget in CPU minutes of this process (all runs together)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--budget", type=int, default=16000, help="max child voxels per step")
    ap.add_argument("--pool", type=int, default=96,
                    help="pieces kept in the shuffle pool (each augmented cloud adds all its scales)")
    ap.add_argument("--kinds", default="dense,lidar,indoor", help="cloud kinds to train on (comma list)")
    ap.add_argument("--synthetic", type=float, default=0.15, help="fraction of synthetic surfaces")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--ckpt-seconds", type=float, default=60.0)
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = a.out / "checkpoint.pt"
    model = OccupancyModel(a.channels, a.kernel)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    step, elapsed, rng = 0, 0.0, np.random.default_rng(a.seed)
    torch.manual_seed(a.seed)
    if a.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model = OccupancyModel(ck["channels"], ck["kernel"])
        model.load_state_dict(ck["model"])
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        rng.bit_generator.state = ck["rng"]
        print(f"resumed at step {step} ({elapsed / 60:.1f} min)")

    kinds = set(a.kinds.split(","))
    clouds = [c for c in data.load_training_clouds(a.data) if c.kind in kinds]
    if not clouds:
        raise SystemExit("no training data found (set PCSTREAM_DATA or --data)")
    print(f"{len(clouds)} training clouds; held out: {', '.join(data.HELD_OUT)}")

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed,
                    "rng": rng.bit_generator.state, "channels": model.channels, "kernel": model.kernel},
                   ckpt_path.with_suffix(".tmp"))
        ckpt_path.with_suffix(".tmp").replace(ckpt_path)

    budget_s = a.minutes * 60.0
    bar = tqdm(total=a.steps, initial=step, unit="step", dynamic_ncols=True)
    ema = None
    last_ckpt = time.time()
    pool: list = []
    while step < a.steps and elapsed < budget_s:
        t0 = time.process_time()
        while len(pool) < a.pool:   # refill with every scale of fresh augmented clouds
            synth = "dense" in kinds and rng.uniform() < a.synthetic
            cloud = None if synth else clouds[rng.integers(len(clouds))]
            pool.extend(data.cloud_samples(*data.augment_voxelize(cloud, rng), a.budget))
        s = pool.pop(int(rng.integers(len(pool))))
        batch = make_batch(*s, a.kernel)
        frac = min(1.0, max(elapsed / budget_s, step / a.steps))
        for g in opt.param_groups:
            g["lr"] = a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        bits = model.loss_bits(batch)
        loss = bits / max(1, len(batch.child_codes))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        bpp = float(bits.detach()) / max(1, batch.points)
        ema = bpp if ema is None else 0.98 * ema + 0.02 * bpp
        step += 1
        elapsed += time.process_time() - t0
        bar.update(1)
        bar.set_postfix(bits_per_point=f"{ema:.3f}", cpu_min=f"{elapsed / 60:.1f}")
        if time.time() - last_ckpt > a.ckpt_seconds:
            save()
            last_ckpt = time.time()
    bar.close()
    save()
    out = a.out / f"{a.id}.pcsm"
    out.write_bytes(export_model(model, a.id))
    print(f"step {step}, {elapsed / 60:.1f} min; exported {out}")


if __name__ == "__main__":
    main()
