"""Runs NNCodec on tensors from an .npz file and prints the bitstream sizes as JSON.

Executed by bench/weights.py with the interpreter of a separate virtual environment
that holds nncodec 2.1.3 (it needs numpy<2); never imported by pcstream itself.
Usage: python _nncodec_runner.py tensors.npz qp
"""
from __future__ import annotations

import io
import json
import sys
import time
from contextlib import redirect_stdout

import numpy as np


def main() -> None:
    path, qp = sys.argv[1], int(sys.argv[2])
    from nncodec import nnc

    z = np.load(path)
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key in z.files:
        g, name = key.split("/", 1)
        groups.setdefault(g, {})[name] = z[key].astype(np.float32)
    result = {}
    for g, params in groups.items():
        best = None
        for row_skipping in (False, True):
            t = time.process_time()
            with redirect_stdout(io.StringIO()):
                bs = nnc.compress(dict(params), bitstream_path="/tmp/_pcstream_nnc.nnc", qp=qp, nonweight_qp=qp,
                                  use_dq=False, param_opt=True, row_skipping=row_skipping,
                                  return_bitstream=True, verbose=False)
            t = time.process_time() - t
            if best is None or len(bs) < best["bytes"]:
                best = {"bytes": len(bs), "encode_s": t, "row_skipping": row_skipping}
        result[g] = best
    print(json.dumps(result))


if __name__ == "__main__":
    main()
