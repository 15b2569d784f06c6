"""Context priors of the learned codec's mixer (header versions 7/8): building,
round trips, mismatches, damaged files, the golden stream and the shipped prior."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from pcstream import _core, errors, learned

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_learned import (GOLDEN_MODEL, GOLDEN_POINTS_SHA256, VECTORS, golden_points, pack_stream,  # noqa: E402
                          sphere, unpack_stream)

# A prior built with the golden model from another sphere, and the golden points coded with it.
GOLDEN_PRIOR = VECTORS / "learned-v7.0-prior-rand4.pcsp"
GOLDEN_PRIOR_STREAM = VECTORS / "learned-v7.0-sphere-prior.bin"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def training_clouds():
    return [(sphere(6000, 7, seed=s).astype(np.uint32), 7) for s in (7, 8)]


def golden_prior_bytes() -> bytes:
    model = _core.LearnedModel(GOLDEN_MODEL.read_bytes())
    return _core.learned_build_prior(model, training_clouds(), 1, [16, 16, 16, 16])


def model_with(prior: bytes | None):
    return _core.LearnedModel(GOLDEN_MODEL.read_bytes(), prior)


def test_building_is_deterministic_and_independent_of_threads():
    model = _core.LearnedModel(GOLDEN_MODEL.read_bytes())
    a = _core.learned_build_prior(model, training_clouds(), 1, [1, 1, 1, 1])
    b = _core.learned_build_prior(model, training_clouds(), 2, [1, 1, 1, 1])
    assert a == b and a[:4] == b"PCSP"
    assert model_with(a).prior_digest == hashlib.sha256(a).digest()
    assert model.prior_digest is None


def test_roundtrip_and_smaller_than_without():
    m = model_with(golden_prior_bytes())
    pts = sphere(5000, 7, seed=9)
    sizes = {}
    for prior in (False, True):
        encs = [learned.encode_geometry(pts, 7, model=m, prior=prior, threads=t) for t in (1, 2)]
        assert encs[0].header == encs[1].header
        assert [c.payload for c in encs[0].chunks] == [c.payload for c in encs[1].chunks]
        enc = encs[0]
        info = learned.parse_header(enc.header)
        assert enc.header[0] == (7 if prior else 5) and info["prior"] == prior and info["mixed"]
        out = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=m)
        assert np.array_equal(out, pts[enc.order])
        sizes[prior] = sum(len(c.payload) for c in enc.chunks)
    assert sizes[True] < sizes[False]


def test_prior_needs_the_mixer():
    m = model_with(golden_prior_bytes())
    enc = learned.encode_geometry(sphere(500, 6), 6, model=m, mix=False)
    assert enc.header[0] == 3


def test_decoding_without_or_with_another_prior_is_a_model_mismatch():
    prior = golden_prior_bytes()
    pts = sphere(3000, 7, seed=3)
    enc = learned.encode_geometry(pts, 7, model=model_with(prior))
    payloads = [c.payload for c in enc.chunks]
    other = _core.learned_build_prior(_core.LearnedModel(GOLDEN_MODEL.read_bytes()), training_clouds()[:1], 1,
                                      [1, 1, 1, 1])
    for wrong in (None, other):
        with pytest.raises(errors.ModelMismatchError):
            learned.decode_geometry(enc.header, payloads, model=model_with(wrong))
        with pytest.raises(errors.ModelMismatchError):  # the core refuses it as well
            _core.LearnedDecoder(enc.header, model_with(wrong), 10**6, 1)


def test_damaged_prior_files_raise_typed_errors():
    good = golden_prior_bytes()
    cases = [b"", good[:3], b"XXXX" + good[4:], good[:4] + b"\x09" + good[5:], good[:5] + b"\x1f" + good[6:],
             good + b"\x00", good[: len(good) // 2]]
    for bad in cases:
        with pytest.raises(errors.PcsError):
            model_with(bad)


def test_adapted_models_keep_the_prior():
    pytest.importorskip("torch")
    m = model_with(golden_prior_bytes())
    pts = sphere(4000, 7, seed=11)
    enc = learned.encode_geometry(pts, 7, model=m, adapt=True, adapt_steps=5)
    if enc.weights is None:
        assert enc.header[0] == 7
        out = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=m)
    else:
        assert enc.header[0] == 8
        out = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=m, weights=enc.weights)
    assert np.array_equal(out, pts[enc.order])


# ---------------------------------------------------------------- golden vectors

def test_golden_prior_stream_decodes_and_reencodes():
    if not (GOLDEN_PRIOR.exists() and GOLDEN_PRIOR_STREAM.exists()):
        pytest.fail("golden vectors missing: run `python tests/test_learned_prior.py regen`")
    assert golden_prior_bytes() == GOLDEN_PRIOR.read_bytes()
    m = model_with(GOLDEN_PRIOR.read_bytes())
    header, payloads = unpack_stream(GOLDEN_PRIOR_STREAM.read_bytes())
    assert header[0] == 7
    pts = learned.decode_geometry(header, payloads, model=m)
    assert hashlib.sha256(pts.astype("<u4").tobytes()).hexdigest() == GOLDEN_POINTS_SHA256
    enc = learned.encode_geometry(golden_points(), 7, model=m)
    assert pack_stream(enc.header, [c.payload for c in enc.chunks]) == GOLDEN_PRIOR_STREAM.read_bytes()


# ---------------------------------------------------------------- the shipped prior

def test_the_dense_model_ships_a_prior_and_uses_it():
    m = learned.load_model(learned.DENSE_MODEL_ID)
    path = learned.MODELS_DIR / f"{learned.DENSE_MODEL_ID}.pcsp"
    assert m.prior_digest == hashlib.sha256(path.read_bytes()).digest()
    assert learned.load_model(learned.DEFAULT_MODEL_ID).prior_digest is None
    pts = sphere(20000, 8, seed=1)
    for prior, version in ((True, 7), (False, 5)):
        enc = learned.encode_geometry(pts, 8, model=learned.DENSE_MODEL_ID, prior=prior)
        assert enc.header[0] == version
        out = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks])
        assert np.array_equal(out, pts[enc.order])


@pytest.mark.skipif(not (DATA / "dense" / "loot_vox10_1200.ply").exists(),
                    reason="needs ../shared/data (the 8i training frames)")
def test_the_shipped_prior_rebuilds_byte_identically():
    from pcstream.learn.prior import build_prior, training_sequence
    blob = build_prior(learned.DENSE_MODEL_ID, training_sequence(DATA))
    assert blob == (learned.MODELS_DIR / f"{learned.DENSE_MODEL_ID}.pcsp").read_bytes()


def _regen() -> None:
    prior = golden_prior_bytes()
    GOLDEN_PRIOR.write_bytes(prior)
    enc = learned.encode_geometry(golden_points(), 7, model=model_with(prior))
    GOLDEN_PRIOR_STREAM.write_bytes(pack_stream(enc.header, [c.payload for c in enc.chunks]))
    print(f"wrote {GOLDEN_PRIOR} ({len(prior)} bytes) and {GOLDEN_PRIOR_STREAM}")


if __name__ == "__main__" and sys.argv[1:] == ["regen"]:
    _regen()
