"""An independent pure-Python decoder written from formats/weights-chunk.md only.

It decodes the golden payloads and fresh encoder output; agreement with the C++ decoder
checks that the format section really specifies the bytes.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pcstream import weights

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "formats" / "testvectors"
MASK32 = 0xFFFFFFFF


class Reader:
    def __init__(self, data: bytes):
        self.d, self.i = data, 0

    def u8(self) -> int:
        v = self.d[self.i]
        self.i += 1
        return v

    def varint(self) -> int:
        v = shift = 0
        while True:
            b = self.u8()
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v

    def svarint(self) -> int:
        u = self.varint()
        return (u >> 1) ^ -(u & 1)


class RangeDecoder:
    def __init__(self, data: bytes):
        self.d, self.i, self.range, self.code = data, 0, MASK32, 0
        for _ in range(5):
            self.code = ((self.code << 8) | self.byte()) & MASK32

    def byte(self) -> int:
        if self.i < len(self.d):
            self.i += 1
            return self.d[self.i - 1]
        return 0

    def norm(self):
        while self.range < (1 << 24):
            self.range = (self.range << 8) & MASK32
            self.code = ((self.code << 8) | self.byte()) & MASK32

    def bit(self, p1: int) -> int:
        bound = (self.range >> 16) * p1
        if self.code < bound:
            self.range, b = bound, 1
        else:
            self.code -= bound
            self.range -= bound
            b = 0
        self.norm()
        return b

    def bypass(self) -> int:
        self.range >>= 1
        b = 0
        if self.code >= self.range:
            self.code -= self.range
            b = 1
        self.norm()
        return b


class Ctx:
    """Count context of the spec: p1 = ((2*n1+1) * R[n0+n1]) >> 16, halving at 1024."""

    def __init__(self):
        self.n = [0, 0]

    def code(self, rd: RangeDecoder) -> int:
        t = self.n[0] + self.n[1]
        p1 = ((2 * self.n[1] + 1) * ((1 << 32) // (2 * t + 2))) >> 16
        p1 = min(max(p1, 32), 65504)
        b = rd.bit(p1)
        self.n[b] += 1
        if self.n[0] + self.n[1] >= 1024:
            self.n = [(self.n[0] + 1) >> 1, (self.n[1] + 1) >> 1]
        return b


def tdiv(a: int, b: int) -> int:
    """Division truncating toward zero (C semantics)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def sg(x: int) -> int:
    return 0 if x < 0 else (1 if x == 0 else 2)


def decode_tensor(rd, n, shape, K, k0, dependent):
    from collections import defaultdict
    ctx = defaultdict(Ctx)
    out = [0] * n
    if n == 0:
        return out
    rows, cols = (1, n) if len(shape) <= 1 else (shape[0], n // shape[0])
    cur, up, col = [0] * cols, [0] * cols, [0] * cols
    prev_zero, state = 0, 0
    nxt = [[0, 2], [2, 0], [1, 3], [3, 1]]
    for i in range(rows):
        z = ctx["rz", prev_zero].code(rd)
        prev_zero = z
        if z:
            if dependent:
                for _ in range(cols):
                    state = nxt[state][0]
            continue
        r_act = s_bal = 0
        seen = False
        for j in range(cols):
            a = cur[j - 1] if j >= 1 else 0
            b = cur[j - 2] if j >= 2 else 0
            u, c = up[j], col[j]
            qz = state >> 1
            C = 0 if c < 4 else 1 if c < 16 else 2 if c < 40 else 3
            Rr = 0 if r_act < 2 else 1 if r_act < 8 else 2
            ctx_sig = ((min(abs(a), 2) * 3 + min(abs(u), 2)) * 4 + C) * 3 + Rr
            sig = ctx["sig", qz, ctx_sig].code(rd) if (seen or j + 1 < cols) else 1
            q = 0
            if sig:
                seen = True
                S = 0 if s_bal < -64 else 2 if s_bal > 64 else 1
                neg = ctx["sign", (sg(a) * 3 + sg(u)) * 3 + S].code(rd)
                e = (32 * abs(a) + 16 * abs(b) + 16 * abs(u) + 2 * c) // 6
                cls = 0 if e < 4 else 1 if e < 12 else 2 if e < 32 else 3
                m, t, all_ones = 1, 1, True
                while t <= K:
                    if not ctx["gt", qz, neg, t - 1, cls].code(rd):
                        all_ones = False
                        break
                    m += 1
                    t += 1
                if all_ones:
                    k, p, base = k0, 0, 0
                    while ctx["prefix", neg, min(p, 11), cls >> 1].code(rd):
                        base += 1 << k
                        k += 1
                        p += 1
                    tree = min(k, 4)
                    node = 1
                    for _ in range(tree):
                        node = 2 * node + ctx["suffix", neg, k, node].code(rd)
                    r = node - (1 << tree)
                    for _ in range(k - tree):
                        r = 2 * r + rd.bypass()
                    m = K + 1 + base + r
                q = -m if neg else m
            if dependent:
                state = nxt[state][abs(q) & 1]
            out[i * cols + j] = q
            cur[j] = max(-32767, min(32767, q))
            r_act += tdiv(16 * min(abs(cur[j]), 4095) - r_act, 16)
            if q != 0:
                s_bal += tdiv(256 * (1 if q > 0 else -1) - s_bal, 8)
        for j in range(cols):
            col[j] += tdiv(16 * min(abs(cur[j]), 4095) - col[j], 8)
        cur, up = up, cur
    return out


def spec_decode(payload: bytes):
    r = Reader(payload)
    assert r.u8() == 1 and r.u8() == 0
    base_qp = r.svarint()
    descs = []
    for _ in range(r.varint()):
        ln = r.varint()
        name = r.d[r.i:r.i + ln].decode("utf-8")
        r.i += ln
        dtype, ndim = r.u8(), r.u8()
        shape = [r.varint() for _ in range(ndim)]
        qp = base_qp + r.svarint()
        quantizer, params = r.u8(), r.u8()
        descs.append((name, dtype, shape, qp, quantizer, params >> 4, params & 15))
    rd = RangeDecoder(payload[r.i:])
    out = {}
    for name, dtype, shape, qp, quantizer, K, k in descs:
        n = math.prod(shape)
        idx = decode_tensor(rd, n, shape, K, k, quantizer == 1)
        if quantizer == 1:  # indices -> reconstruction levels
            s, levels = 0, []
            for v in idx:
                levels.append(2 * v if s < 2 else 2 * v - (v > 0) + (v < 0))
                s = [[0, 2], [2, 0], [1, 3], [3, 1]][s][abs(v) & 1]
            idx = levels
        out[name] = (np.array(idx, dtype=np.int64).reshape(shape), qp, quantizer)
    return out


def check_against_core(payload: bytes):
    ref = spec_decode(payload)
    core = weights.decode_quantized(payload)
    assert list(ref) == list(core)
    for name, (vals, qp, quantizer) in ref.items():
        np.testing.assert_array_equal(vals, core[name].values)
        assert qp == core[name].qp and quantizer == core[name].quantizer


def test_spec_decoder_matches_golden_payloads():
    check_against_core((VECTORS / "weights-v1.0-basic.bin").read_bytes())
    check_against_core((VECTORS / "weights-v1.0-dq.bin").read_bytes())


def test_spec_decoder_matches_fresh_payloads():
    rng = np.random.default_rng(11)
    dense = rng.normal(0, 0.1, (12, 40))
    sparse = np.where(rng.random((10, 4, 3, 3)) < 0.9, 0.0, rng.normal(0, 0.02, (10, 4, 3, 3)))
    sparse[3] = 0.0
    big = np.array([0.0, 1e5, -2.0, 3e3])
    t = {"dense": dense, "sparse": sparse, "big": big, "flags": np.array([True, False])}
    check_against_core(weights.encode(t, qp=-32))
    check_against_core(weights.encode(t, qp=-26, dependent=True))
