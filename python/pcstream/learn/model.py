"""The occ-sparse-v1 occupancy model in torch (twin of csrc/src/geometry_learned_model.cpp).

Parameter names and layouts equal the runtime's tensor names, so export is the
state dict as float32 (see export.py). Architecture: learned_model.hpp.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .model_file import tensor_shapes
from .sparse_ops import Linear, SparseConv, neighbor_table


def _bit_matrix(n: int, bits: int) -> torch.Tensor:
    """(n, bits) float: row v holds the bits of v (rows >= 2^bits are zero)."""
    v = torch.arange(n).clamp(max=2 ** bits - 1) * (torch.arange(n) < 2 ** bits)
    return ((v[:, None] >> torch.arange(bits)) & 1).float()


class _BitEmbedding(torch.nn.Module):
    """An embedding table of occupancy codes trained as free table + (bits of the code) @ W.

    The bit term lets every code share what its set bits mean (a neighbour's child in a
    given octant), so training converges far faster than with 256 independent rows; the
    exported table is the sum, so the runtime and the file format see a plain table.
    """

    def __init__(self, n: int, bits: int, c: int, free_scale: float):
        super().__init__()
        self.table = torch.nn.Parameter(torch.randn(n, c) * free_scale)
        self.bits_w = torch.nn.Parameter(torch.randn(bits, c) * (1.0 / bits) ** 0.5)
        self.register_buffer("bits", _bit_matrix(n, bits), persistent=False)

    def weight(self) -> torch.Tensor:
        return self.table + self.bits @ self.bits_w


class _Head(torch.nn.Module):
    def __init__(self, c: int, with_low: bool):
        super().__init__()
        self.fc1 = Linear(c, c)
        self.fc2 = Linear(c, 16)
        if with_low:
            self.emb_low = _BitEmbedding(16, 4, c, 0.05)

    def forward(self, f, low=None):
        if low is not None:
            f = f + self.emb_low.weight()[low]
        return self.fc2(F.relu(self.fc1(f)))


@dataclass
class Batch:
    """One scale of one cloud: parents (level t-1, codes known) and children (level t, codes to predict)."""
    parent_codes: torch.Tensor   # (Np,) int64
    parent_table: torch.Tensor   # (Np, k^3)
    child_parent: torch.Tensor   # (Nc,)
    octant: torch.Tensor         # (Nc,)
    child_table: torch.Tensor    # (Nc, k^3)
    child_codes: torch.Tensor    # (Nc,) int64, 1..255
    group1: torch.Tensor
    group2: torch.Tensor
    points: int = 0              # voxels at level t+1 (for bits per point)


def make_batch(parent_xyz: np.ndarray, parent_codes: np.ndarray, child_xyz: np.ndarray, child_codes: np.ndarray,
               kernel: int) -> Batch:
    """Builds the index tensors with the C++ neighbour maps."""
    from .. import _core
    cp, octant = _core.learned_parent_map(np.ascontiguousarray(parent_xyz, np.int32),
                                          np.ascontiguousarray(child_xyz, np.int32), 1)
    if (cp < 0).any():
        raise ValueError("a child has no parent")
    parity = child_xyz.sum(1) & 1
    return Batch(
        parent_codes=torch.from_numpy(parent_codes.astype(np.int64)),
        parent_table=neighbor_table(parent_xyz, parent_xyz, kernel),
        child_parent=torch.from_numpy(cp.astype(np.int64)),
        octant=torch.from_numpy(octant.astype(np.int64)),
        child_table=neighbor_table(child_xyz, child_xyz, kernel),
        child_codes=torch.from_numpy(child_codes.astype(np.int64)),
        group1=torch.from_numpy(np.nonzero(parity == 0)[0]),
        group2=torch.from_numpy(np.nonzero(parity == 1)[0]),
        points=int(np.unpackbits(child_codes.astype(np.uint8)).sum()),
    )


class OccupancyModel(torch.nn.Module):
    def __init__(self, channels: int = 16, kernel: int = 3):
        super().__init__()
        self.channels, self.kernel = channels, kernel
        c = channels
        self.prior = torch.nn.Module()
        self.prior.emb_code = _BitEmbedding(256, 8, c, 0.1)
        self.prior.conv0 = SparseConv(c, c, kernel)
        self.prior.res = torch.nn.Module()
        self.prior.res.conv1 = SparseConv(c, c, kernel)
        self.prior.res.conv2 = SparseConv(c, c, kernel)
        self.target = torch.nn.Module()
        self.target.emb_octant = torch.nn.Parameter(torch.randn(8, c) * 0.5)
        self.target.conv0 = SparseConv(c, c, kernel)
        self.target.res = torch.nn.Module()
        self.target.res.conv1 = SparseConv(c, c, kernel)
        self.target.res.conv2 = SparseConv(c, c, kernel)
        self.ctx = torch.nn.Module()
        self.ctx.emb_code = _BitEmbedding(257, 8, c, 0.1)
        self.ctx.conv = SparseConv(c, c, kernel)
        for s in range(4):
            setattr(self, f"head{s}", _Head(c, with_low=s in (1, 3)))
        names = set(self.runtime_state())
        assert names == set(tensor_shapes(channels, kernel)), names ^ set(tensor_shapes(channels, kernel))

    @torch.no_grad()
    def load_runtime_tensors(self, tensors: dict) -> None:
        """Sets every weight from runtime tensors (a model file's contents or an old
        checkpoint without bit embeddings): tables go to the free part, bit weights to 0."""
        mods = dict(self.named_modules())
        params = dict(self.named_parameters())
        for name, shape in tensor_shapes(self.channels, self.kernel).items():
            t = torch.as_tensor(np.asarray(tensors[name], dtype=np.float32)).reshape(shape)
            if isinstance(mods.get(name), _BitEmbedding):
                mods[name].table.copy_(t)
                mods[name].bits_w.zero_()
            else:
                params[name].copy_(t)

    def runtime_state(self) -> dict[str, torch.Tensor]:
        """The tensors of the runtime's model file (bit embeddings materialised as tables)."""
        mods = dict(self.named_modules())
        params = dict(self.named_parameters())
        return {name: (mods[name].weight() if isinstance(mods.get(name), _BitEmbedding) else params[name]).detach()
                for name in tensor_shapes(self.channels, self.kernel)}

    @staticmethod
    def _net(mod, x, table):
        x = F.relu(mod.conv0(x, table))
        return x + mod.res.conv2(F.relu(mod.res.conv1(x, table)), table)

    def forward(self, b: Batch) -> list[torch.Tensor]:
        """Logits (rows, 16) of the four coding steps, teacher-forced with the true codes."""
        p = self._net(self.prior, self.prior.emb_code.weight()[b.parent_codes], b.parent_table)
        x = p[b.child_parent] + self.target.emb_octant[b.octant]
        x = self._net(self.target, x, b.child_table)
        lo = b.child_codes & 15
        f1 = x[b.group1]
        ctx_idx = torch.full_like(b.child_codes, 256)
        ctx_idx[b.group1] = b.child_codes[b.group1]
        z = F.relu(self.ctx.conv(self.ctx.emb_code.weight()[ctx_idx], b.child_table[b.group2]))
        f2 = x[b.group2] + z
        return [self.head0(f1), self.head1(f1, lo[b.group1]), self.head2(f2), self.head3(f2, lo[b.group2])]

    def loss_bits(self, b: Batch) -> torch.Tensor:
        """Total coding cost in bits of the children's codes."""
        codes = b.child_codes
        targets = [codes[b.group1] & 15, codes[b.group1] >> 4, codes[b.group2] & 15, codes[b.group2] >> 4]
        total = 0.0
        for lg, t in zip(self.forward(b), targets):
            if len(t):
                total = total + F.cross_entropy(lg, t, reduction="sum")
        return total / np.log(2.0)


def load_checkpoint(path) -> OccupancyModel:
    """The model of a training checkpoint (``train.py``), in eval mode. Checkpoints written
    before the bit embeddings (plain tables) load too."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    m = OccupancyModel(ck["channels"], ck["kernel"])
    if "prior.emb_code" in ck["model"]:
        m.load_runtime_tensors({k: v.numpy() for k, v in ck["model"].items()})
    else:
        m.load_state_dict(ck["model"])
    return m.eval()
