"""Bench models for the weight coder: an MLP 64-256-256-64 and a ~963k-parameter CNN,
each at initialisation, after 300 Adam steps on a synthetic regression task, and the
delta of a short fine-tuning on a shifted task (torch.manual_seed(0) everywhere).

Needs torch (``pip install torch==2.13.0``). Results are cached as .npz outside the
repository (``$PCSTREAM_BENCH_CACHE`` or ``~/.cache/pcstream-bench``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("PCSTREAM_BENCH_CACHE", Path.home() / ".cache" / "pcstream-bench"))
TRAIN_STEPS = 300
FT_STEPS = 30
FT_LR = 4e-4


def _mlp(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 64))


def _cnn(torch):
    nn = torch.nn
    ch = (3, 64, 128, 192, 192, 192)
    layers = []
    for i in range(5):
        layers += [nn.Conv2d(ch[i], ch[i + 1], 3, padding=1), nn.ReLU()]
        if i in (1, 3):
            layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(192, 10)]
    return nn.Sequential(*layers)


def _state(model) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().astype(np.float32).copy() for k, v in model.state_dict().items()}


def _train(torch, model, make_batch, steps, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        x, y = make_batch()
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def build(kind: str) -> dict[str, dict[str, np.ndarray]]:
    """{"init": state, "trained": state, "delta": finetuned - trained} for kind in {"mlp", "cnn"}."""
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    if kind == "mlp":
        model = _mlp(torch)
        teacher = _mlp(torch)
        shape = (64,)
    else:
        model = _cnn(torch)
        teacher = _cnn(torch)
        shape = (3, 16, 16)
    init = _state(model)
    for p in teacher.parameters():
        p.requires_grad_(False)

    def task(shift: float):
        def make_batch():
            x = torch.randn(32, *shape)
            y = teacher(x)
            return x, y + shift * torch.tanh(y)
        return make_batch

    _train(torch, model, task(0.0), TRAIN_STEPS, 1e-3)
    trained = _state(model)
    _train(torch, model, task(0.5), FT_STEPS, FT_LR)
    tuned = _state(model)
    delta = {k: tuned[k] - trained[k] for k in trained}
    return {"init": init, "trained": trained, "delta": delta}


def load(kind: str) -> dict[str, dict[str, np.ndarray]]:
    path = CACHE / f"{kind}_s0_t{TRAIN_STEPS}_f{FT_STEPS}_lr{FT_LR:g}.npz"
    if path.exists():
        z = np.load(path)
        out: dict[str, dict[str, np.ndarray]] = {}
        for key in z.files:
            state, name = key.split("/", 1)
            out.setdefault(state, {})[name] = z[key]
        return out
    out = build(kind)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{f"{s}/{n}": a for s, d in out.items() for n, a in d.items()})
    return out


if __name__ == "__main__":
    import time
    for kind in ("mlp", "cnn"):
        t = time.time()
        m = load(kind)
        n = sum(a.size for a in m["init"].values())
        step = 2.0 ** -8
        for s, d in m.items():
            q = np.concatenate([np.rint(a.ravel() / step) for a in d.values()]).astype(np.int64)
            _, c = np.unique(q, return_counts=True)
            p = c / c.sum()
            print(kind, s, n, "zeros %.3f" % np.mean(q == 0), "H0 %.3f" % float(-(p * np.log2(p)).sum()), "max", np.abs(q).max())
        print("%.1fs" % (time.time() - t))
