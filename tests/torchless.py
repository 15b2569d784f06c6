"""Block `import torch` in a subprocess, to prove that decoding never needs it.

    import sys; sys.path.insert(0, "<repo>/tests")
    from torchless import block_torch
    block_torch()          # before importing pcstream
"""
from __future__ import annotations

import sys


class _BlockTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
        return None


def block_torch() -> None:
    sys.modules.pop("torch", None)
    sys.meta_path.insert(0, _BlockTorch())
