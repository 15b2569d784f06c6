"""Sparse 3-D convolution for training: neighbour maps from the C++ core, gather / matmul in torch.

The neighbour table (M, k^3) comes from ``_core.learned_neighbor_table`` (the same
hash map and offset order as the C++ runtime). A convolution gathers each output's
k^3 neighbour rows (a zero row for missing ones), multiplies by the weight laid out
(k^3, C_in, C_out), and torch's autograd scatters the gradients back.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import _core


def neighbor_table(in_xyz: np.ndarray, out_xyz: np.ndarray, kernel: int) -> torch.Tensor:
    """(M, k^3) int64 rows of in_xyz around each out_xyz, with -1 mapped to len(in_xyz) (the zero row)."""
    t = _core.learned_neighbor_table(np.ascontiguousarray(in_xyz, np.int32), np.ascontiguousarray(out_xyz, np.int32),
                                     kernel, 1)
    t = t.astype(np.int64)
    t[t < 0] = len(in_xyz)
    return torch.from_numpy(t)


def sparse_conv(x: torch.Tensor, table: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """out[o] = bias + sum_j x[table[o, j]] @ weight[j] (rows equal to len(x) read zeros)."""
    kk, cin, cout = weight.shape
    xp = torch.cat([x, x.new_zeros(1, cin)], 0)
    g = xp[table]  # (M, k^3, C_in)
    return g.reshape(-1, kk * cin) @ weight.reshape(kk * cin, cout) + bias


def neighbor_pairs(in_xyz: np.ndarray, out_xyz: np.ndarray, kernel: int):
    """(in_rows, out_rows, offset_start) as int64 tensors: the map as pairs grouped by kernel offset."""
    i, o, s = _core.learned_neighbor_pairs(np.ascontiguousarray(in_xyz, np.int32),
                                           np.ascontiguousarray(out_xyz, np.int32), kernel)
    return torch.from_numpy(i.astype(np.int64)), torch.from_numpy(o.astype(np.int64)), s.tolist()


def sparse_conv_pairs(x: torch.Tensor, pairs, n_out: int, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The same convolution as gather / matmul / scatter per kernel offset (less memory than
    ``sparse_conv`` for wide layers: no (M, k^3, C) intermediate)."""
    in_rows, out_rows, start = pairs
    out = bias.expand(n_out, -1).clone()
    for j in range(weight.shape[0]):
        a, b = start[j], start[j + 1]
        if a < b:
            out = out.index_add(0, out_rows[a:b], x[in_rows[a:b]] @ weight[j])
    return out


class SparseConv(torch.nn.Module):
    """A k×k×k sparse convolution with weight (k^3, C_in, C_out) and bias (C_out) (runtime layout)."""

    def __init__(self, cin: int, cout: int, kernel: int):
        super().__init__()
        kk = kernel ** 3
        self.weight = torch.nn.Parameter(torch.randn(kk, cin, cout) * (2.0 / (kk * cin)) ** 0.5 * 0.5)
        self.bias = torch.nn.Parameter(torch.zeros(cout))

    def forward(self, x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return sparse_conv(x, table, self.weight, self.bias)


class Linear(torch.nn.Module):
    """Linear layer with weight (C_in, C_out) (runtime layout)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(cin, cout) * (1.0 / cin) ** 0.5)
        self.bias = torch.nn.Parameter(torch.zeros(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight + self.bias
