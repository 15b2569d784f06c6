"""Learned lossy geometry (codec id 10): top-k upsampling, rate choice, corrupt input,
torch-free decode. Synthetic data only (fast)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pcstream
from pcstream import _core, errors, lossy

ROOT = Path(__file__).resolve().parent.parent
PKG_PARENT = str(Path(pcstream.__file__).resolve().parent.parent)   # where the tested pcstream lives

try:                                    # D1 (nearest neighbours) needs scipy: the encoder's rate search only
    import scipy.spatial  # noqa: F401
    HAVE_SCIPY = True
except ImportError:  # pragma: no cover
    HAVE_SCIPY = False
needs_scipy = pytest.mark.skipif(not HAVE_SCIPY, reason="scipy not installed (pip install scipy)")


def _shell(n=60000, r=40.0, c=64.0, seed=0) -> np.ndarray:
    """Integer points on a sphere shell: a small dense-surface stand-in (7-bit grid)."""
    u = np.random.default_rng(seed).normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return np.unique(np.round(u * r + c).astype(np.int64), axis=0)


@pytest.fixture(scope="module")
def shell():
    return _shell()


def test_topk_exact_counts_and_deterministic(shell):
    coarse = np.unique(shell >> 2, axis=0).astype(np.uint32)
    k1 = len(np.unique(shell >> 1, axis=0))
    k2 = len(shell)
    m = lossy._load_model(None)
    out1 = _core.learned_topk_upsample(m, coarse, 5, [k1, k2], 1)
    out2 = _core.learned_topk_upsample(m, coarse, 5, [k1, k2], 2)
    assert out1.shape == (k2, 3)
    assert np.array_equal(out1, out2)                        # thread count never changes the result
    mid = _core.learned_topk_upsample(m, coarse, 5, [k1], 2)
    assert mid.shape == (k1, 3)
    # Every kept child descends from a decoded voxel, every voxel keeps at least one child.
    par = np.unique(mid.astype(np.int64) >> 1, axis=0)
    assert np.array_equal(par, np.unique(coarse.astype(np.int64), axis=0))
    assert len(np.unique(out1, axis=0)) == k2


@needs_scipy
def test_topk_beats_centre_reconstruction(shell):
    e0 = lossy.encode_geometry(shell, 7, step=4, omit=0)
    e2 = lossy.encode_geometry(shell, 7, step=4, omit=2)
    assert abs(e2.nbytes - e0.nbytes) < 64    # the counts and the model id/hash
    p0 = lossy.d1_psnr(shell, e0.xyz(), 127)
    p2 = lossy.d1_psnr(shell, e2.xyz(), 127)
    assert p2 > p0 + 1.0


@pytest.mark.parametrize("step,omit,inner", [(2, 1, "classic"), (4, 2, "learned"), (4, 0, "auto"), (3, 1, "classic")])
def test_encoder_and_decoder_agree(shell, step, omit, inner):
    e = lossy.encode_geometry(shell, 7, step=step, omit=omit, inner=inner)
    dec = lossy.decode_geometry(e.header, [c.payload for c in e.chunks])
    assert np.array_equal(dec, e.points)
    h = lossy.parse_header(e.header)
    assert h.depth == e.depth and len(h.ks) == omit


@needs_scipy
@pytest.mark.parametrize("attr_codec", ["auto", "raht"])
def test_api_round_trip_with_attributes(shell, attr_codec):
    rgb = (shell * 2 % 256).astype(np.uint8)
    blob = pcstream.encode(shell, {"rgb": rgb}, lossy=True, rate=(4, 2), attribute_codec=attr_codec)
    cloud = pcstream.decode(blob)
    assert cloud.metadata["geometry_codec"] == lossy.CODEC_ID
    assert cloud.complete and cloud.attributes["rgb"].shape == (len(cloud), 3)
    assert lossy.d1_psnr(shell, cloud.xyz, 127) > 40
    # Progressive: a prefix of the levels decodes to voxel centres.
    coarse = pcstream.open(blob).decode(level=3)
    assert 0 < len(coarse) < len(cloud)


@needs_scipy
def test_bpp_and_psnr_choose_valid_points(shell):
    n = len(shell)
    for target in (0.5, 2.0, 6.0):
        e, _ = lossy.choose(shell, 7, bpp=target)
        assert 8.0 * e.nbytes / n <= target
    e_lo, _ = lossy.choose(shell, 7, bpp=0.5)
    e_hi, _ = lossy.choose(shell, 7, bpp=6.0)
    assert e_hi.nbytes >= e_lo.nbytes
    for target in (45.0, 55.0):
        e, rows = lossy.choose(shell, 7, psnr=target, peak=127)
        assert lossy.d1_psnr(shell, e.xyz(), 127) >= target
        # No coarser step reached it.
        assert all(r[3] < target for r in rows if r[0] > e.step)
    with pytest.raises(errors.InvalidArgumentError):
        lossy.choose(shell, 7, bpp=1e-6)


@needs_scipy
def test_cli_pack_lossy(tmp_path, shell):
    src = tmp_path / "s.npy"
    np.save(src, shell.astype(np.int32))
    out = tmp_path / "s.pcs"
    env = dict(os.environ, PYTHONPATH=PKG_PARENT)   # the pcstream under test (dev tree or installed)
    r = subprocess.run([sys.executable, "-m", "pcstream", "pack", str(src), str(out), "--lossy", "--bpp", "3"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    cloud = pcstream.decode(out.read_bytes())
    assert cloud.metadata["geometry_codec"] == lossy.CODEC_ID
    assert 8.0 * len(out.read_bytes()) / len(shell) <= 3.0 + 8.0 * 400 / len(shell)   # + container overhead
    r = subprocess.run([sys.executable, "-m", "pcstream", "pack", str(src), str(out), "--bpp", "3"],
                       capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "--lossy" in r.stderr


def test_corrupt_streams_raise_typed_errors(shell):
    e = lossy.encode_geometry(shell, 7, step=4, omit=2, inner="classic")
    payloads = [c.payload for c in e.chunks]
    h = lossy.parse_header(e.header)
    bad_k = lossy.write_header(lossy.LossyHeader(h.inner_codec, h.coded_depth, [h.ks[0], 10 ** 9],
                                                 h.model_id, h.model_hash, h.inner_header))
    with pytest.raises(errors.PcsError):
        lossy.decode_geometry(bad_k, payloads)
    too_few = lossy.write_header(lossy.LossyHeader(h.inner_codec, h.coded_depth, [1, 1],
                                                   h.model_id, h.model_hash, h.inner_header))
    with pytest.raises(errors.CorruptPayloadError):
        lossy.decode_geometry(too_few, payloads)
    wrong_model = lossy.write_header(lossy.LossyHeader(h.inner_codec, h.coded_depth, h.ks,
                                                       h.model_id, bytes(32), h.inner_header))
    with pytest.raises(errors.ModelMismatchError):
        lossy.decode_geometry(wrong_model, payloads)
    for cut in range(len(e.header)):
        with pytest.raises(errors.PcsError):
            lossy.parse_header(e.header[:cut])
    with pytest.raises(errors.CorruptPayloadError):
        lossy.parse_header(e.header + b"\0")
    with pytest.raises(errors.UnsupportedError):
        lossy.parse_header(b"\x02" + e.header[1:])
    rng = np.random.default_rng(1)
    for _ in range(20):
        p = bytearray(payloads[-1])
        p[int(rng.integers(len(p)))] ^= 1 << int(rng.integers(8))
        try:
            lossy.decode_geometry(e.header, payloads[:-1] + [bytes(p)])
        except errors.PcsError:
            pass


def test_decode_without_torch(tmp_path, shell):
    blob = pcstream.encode(shell, lossy=True, rate=(4, 2))
    f = tmp_path / "s.pcs"
    f.write_bytes(blob)
    expect = pcstream.decode(blob).xyz
    np.save(tmp_path / "expect.npy", expect)
    code = f"""
import sys
sys.path.insert(0, {str(ROOT / 'tests')!r})
from torchless import block_torch
block_torch()
class _NoScipy:                         # decoding needs neither torch nor scipy
    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ImportError("scipy blocked")
sys.meta_path.insert(0, _NoScipy())
sys.path.insert(0, {PKG_PARENT!r})
import numpy as np, pcstream
c = pcstream.decode(open({str(f)!r}, 'rb').read())
assert np.array_equal(c.xyz, np.load({str(tmp_path / 'expect.npy')!r}))
assert "torch" not in sys.modules and "scipy" not in sys.modules
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


@needs_scipy
def test_tune_k_never_worse_and_decodes(shell):
    plain = lossy.encode_geometry(shell, 7, step=4, omit=2, inner="classic")
    tuned = lossy.encode_geometry(shell, 7, step=4, omit=2, inner="classic", tune_k=True)
    assert lossy.d1_mse(shell, tuned.xyz()) <= lossy.d1_mse(shell, plain.xyz())
    assert np.array_equal(lossy.decode_geometry(tuned.header, [c.payload for c in tuned.chunks]), tuned.points)


# ---------------------------------------------------------------- golden stream (format freeze)
VECTORS = ROOT / "formats" / "testvectors"
GOLDEN_MODEL = VECTORS / "learned-v1.0-model-rand4.pcsm"      # the learned codec's random-weight test model
GOLDEN_LOSSY = VECTORS / "learned-lossy-v1.0-sphere.bin"
# SHA-256 of the decoded golden points (uint32 little-endian, (N,3) row-major).
GOLDEN_LOSSY_SHA256 = "d33e849c67ac3dbb74ec80bfc5bf6b6b6452b16cb7bec40eddc987b2ecea56d7"


def _golden_input() -> np.ndarray:
    return _shell(20000, 24.0, 32.0, seed=5)


def _golden_encode():
    return lossy.encode_geometry(_golden_input(), 6, step=4, omit=2, inner="classic",
                                 model=GOLDEN_MODEL.read_bytes())


def test_golden_lossy_stream():
    sys.path.insert(0, str(ROOT / "tests"))
    from test_learned import pack_stream, unpack_stream
    header, payloads = unpack_stream(GOLDEN_LOSSY.read_bytes())
    pts = lossy.decode_geometry(header, payloads, model=GOLDEN_MODEL.read_bytes())
    import hashlib
    assert hashlib.sha256(pts.astype("<u4").tobytes()).hexdigest() == GOLDEN_LOSSY_SHA256
    e = _golden_encode()
    assert pack_stream(e.header, [c.payload for c in e.chunks]) == GOLDEN_LOSSY.read_bytes()


def _regen() -> None:
    import hashlib
    sys.path.insert(0, str(ROOT / "tests"))
    from test_learned import pack_stream
    e = _golden_encode()
    GOLDEN_LOSSY.write_bytes(pack_stream(e.header, [c.payload for c in e.chunks]))
    print("GOLDEN_LOSSY_SHA256 =", hashlib.sha256(e.points.astype("<u4").tobytes()).hexdigest(), len(e.points))


if __name__ == "__main__" and sys.argv[1:] == ["regen"]:
    _regen()
