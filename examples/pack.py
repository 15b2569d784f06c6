#!/usr/bin/env python3
"""Pack a point cloud file into .pcs from Python and check the round trip.

    python examples/pack.py [IN] [OUT.pcs] [--precision P]

Without arguments it packs the sample scene shipped with pcstream into sample.pcs.
"""
from __future__ import annotations

import argparse

import numpy as np

import pcstream


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", nargs="?", default=str(pcstream.sample_path()))
    ap.add_argument("output", nargs="?", default="sample.pcs")
    ap.add_argument("--precision", type=float, default=None)
    a = ap.parse_args(argv)

    pts = pcstream.read_points(a.input)                    # xyz (N,3) + attributes dict
    data = pcstream.encode(pts.xyz, pts.attributes, precision=a.precision)
    with open(a.output, "wb") as f:
        f.write(data)
    print(f"{a.input}: {len(pts)} points -> {a.output}: {len(data)} bytes "
          f"({8 * len(data) / max(1, len(pts)):.2f} bits/point)")

    cloud = pcstream.decode(data)                          # points come back in Morton order
    print(f"decoded {len(cloud)} points, attributes {sorted(cloud.attributes)}, "
          f"bbox {np.round(cloud.xyz.min(axis=0), 3)} .. {np.round(cloud.xyz.max(axis=0), 3)}")
    reader = pcstream.open(a.output)                       # random access: coarse levels only
    for level in (2, 4, 6):
        print(f"level {level}: {len(reader.decode(level=level))} voxels")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
