"""Tests of the .pcs v1 container (formats/pcs-v1.md): golden files, broken corpus,
round trips, non-seekable writing, footer/index access, limits, truncation and bit flips."""
from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import threading
from pathlib import Path

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcstream import container as pc
from pcstream import errors

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "formats" / "testvectors"
GOLDEN = json.loads((VECTORS / "manifest.json").read_text())["files"]
BROKEN = json.loads((VECTORS / "broken" / "manifest.json").read_text())["files"]

sys.path.insert(0, str(VECTORS))
import make_vectors  # noqa: E402  (the spec encoder, independent of the C++ writer)


def _unjson(v):
    if isinstance(v, dict):
        if set(v) == {"$bin"}:
            return bytes.fromhex(v["$bin"])
        return {k: _unjson(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unjson(x) for x in v]
    return v


def _chunks(n_geom=3, attr=True):
    out = []
    lo = 0
    for i in range(n_geom):
        out.append(pc.Chunk(b"GEOM", 1, 1, bytes([i]) * (10 + 17 * i), level_lo=lo, level_hi=lo + 2,
                            point_count=8 ** (i + 1), decoded_size=12 * 8 ** (i + 1),
                            bounds=(-1.0, -2.0, -3.0, 1.0, 2.0, 3.5) if i % 2 == 0 else None))
        lo += 3
    if attr:
        out.append(pc.Chunk(b"ATTR", 2, 1, b"attribute bytes", level_lo=0, level_hi=lo - 1, point_count=8 ** n_geom,
                            stream_id=0))
    return out


META = {"producer": "pcstream 0.1.0", "point_count": 512, "depth": 9, "units": "m", "axes": "unknown",
        "bbox": [-1.0, -2.0, -3.0, 1.0, 2.0, 3.5], "geometry_header": b"\x00\x01"}


# ------------------------------------------------------------ golden files

def test_vectors_match_generator():
    """The committed files are exactly what make_vectors.py writes (nothing edited by hand)."""
    files = make_vectors.generate()
    for rel, data in files.items():
        assert (VECTORS / rel).read_bytes() == data, rel


@pytest.mark.parametrize("entry", GOLDEN, ids=[g["file"] for g in GOLDEN])
def test_golden_file_decodes(entry):
    data = (VECTORS / entry["file"]).read_bytes()
    assert len(data) == entry["size"]
    with pc.PcsReader(VECTORS / entry["file"]) as r:
        assert list(r.version) == entry["version"]
        assert r.metadata == _unjson(entry["metadata"])
        assert len(r.entries) == len(entry["chunks"])
        for e, want in zip(r.entries, entry["chunks"]):
            assert e.offset == want["offset"]
            assert e.type == want["type"].encode()
            assert e.known == want["known"]
            for k in ("critical", "codec_id", "codec_version", "level_lo", "level_hi", "stream_id",
                      "payload_length", "point_count", "decoded_size"):
                assert getattr(e, k) == want[k], k
            assert e.bounds == (tuple(want["bounds"]) if want["bounds"] is not None else None)
            payload = r.read_payload(e.index)
            assert make_vectors.crc32c(payload) == want["payload_crc32c"]
        assert r.verify().ok
    # Streaming in odd pieces gives the known chunks in the same order.
    p = pc.StreamParser()
    events = []
    for i in range(0, len(data), 7):
        events += p.feed(data[i:i + 7])
    p.finish()
    assert events[0] == ("metadata", _unjson(entry["metadata"]))
    assert events[-1] == ("end", None)
    got = [c for k, c in events if k == "chunk"]
    known = [w for w in entry["chunks"] if w["known"]]
    assert [make_vectors.crc32c(c.payload) for c in got] == [w["payload_crc32c"] for w in known]
    assert p.last_good_offset == len(data)


@pytest.mark.parametrize("entry", [g for g in GOLDEN if g["pcswriter_identical"]],
                         ids=[g["file"] for g in GOLDEN if g["pcswriter_identical"]])
def test_writer_reproduces_golden_bytes(entry):
    """PcsWriter (C++ core) and the spec encoder of make_vectors.py agree byte for byte."""
    data = (VECTORS / entry["file"]).read_bytes()
    r = pc.PcsReader(data)
    chunks = list(r.chunks(include_unknown=True))
    assert pc.write_pcs(r.metadata, chunks) == data


# ------------------------------------------------------------ recorded real-codec files

GEOM_MANIFEST = VECTORS / "geometry-manifest.json"
GEOM_GOLDEN = json.loads(GEOM_MANIFEST.read_text())["files"] if GEOM_MANIFEST.exists() else []


def _points_sha(points):
    import numpy as np
    return __import__("hashlib").sha256(np.ascontiguousarray(points, dtype="<u4").tobytes()).hexdigest()


@pytest.mark.parametrize("entry", GEOM_GOLDEN, ids=[g["file"] for g in GEOM_GOLDEN])
def test_geometry_golden_file(entry):
    """Frozen files with real GEOM payloads: each chunk decodes to the recorded level and points."""
    geometry = pytest.importorskip("pcstream.geometry")
    data = (VECTORS / entry["file"]).read_bytes()
    assert __import__("hashlib").sha256(data).hexdigest() == entry["sha256"]
    assert pc.verify(data).ok
    r = pc.PcsReader(data)
    geo = [e for e in r.entries if e.type == b"GEOM"]
    assert len(geo) == len(entry["steps"])
    dec = geometry.GeometryDecoder(r.metadata["geometry_header"])
    for e, step in zip(geo, entry["steps"]):
        assert (e.codec_id, e.codec_version) == (entry["geometry_codec"], entry["codec_version"])
        dec.feed(r.read_payload(e.index))
        pts = dec.points()
        assert (dec.level, len(pts), _points_sha(pts)) == (step["level"], step["points"], step["points_sha256"])
    assert dec.done


@pytest.mark.parametrize("entry", GEOM_GOLDEN[:1], ids=[g["file"] for g in GEOM_GOLDEN[:1]])
def test_geometry_every_prefix_decodes_complete_levels(entry):
    """Prefixes of a real file: the stream parser plus the geometry decoder give exactly the
    levels of the chunks complete in the prefix."""
    geometry = pytest.importorskip("pcstream.geometry")
    data = (VECTORS / entry["file"]).read_bytes()
    ends = [e.end for e in pc.PcsReader(data).entries]
    for n in sorted(set(list(range(0, len(data), 41)) + [x - 1 for x in ends] + ends)):
        p = pc.StreamParser()
        events = p.feed(data[:n])
        if n < len(data):
            with pytest.raises(errors.TruncatedError):
                p.finish()
        meta = [v for k, v in events if k == "metadata"]
        chunks = [c for k, c in events if k == "chunk"]
        assert len(chunks) == sum(end <= n for end in ends)
        if not chunks:
            continue
        dec = geometry.GeometryDecoder(meta[0]["geometry_header"])
        for c in chunks:
            dec.feed(c.payload)
        step = entry["steps"][len(chunks) - 1]
        assert (dec.level, _points_sha(dec.points())) == (step["level"], step["points_sha256"])


# ------------------------------------------------------------ broken corpus

def _read_all(data):
    try:
        r = pc.PcsReader(data)
        for e in r.entries:
            r.read_payload(e.index)
        return 0
    except errors.PcsError as exc:
        return exc.code


def _stream_all(data):
    p = pc.StreamParser()
    events = []
    try:
        events += p.feed(data)
        p.finish()
        return 0, sum(k == "chunk" for k, _ in events), p
    except errors.PcsError as exc:
        events += exc.partial or []
        assert exc.last_good_offset == p.last_good_offset
        return exc.code, sum(k == "chunk" for k, _ in events), p


@pytest.mark.parametrize("entry", BROKEN, ids=[b["file"] for b in BROKEN])
def test_broken_file(entry):
    path = VECTORS / "broken" / entry["file"]
    data = path.read_bytes()
    rep = pc.verify(path)
    assert [rep.code, rep.check] == entry["verify"], rep.message
    assert rep.ok == (entry["verify"][0] == 0)
    assert _read_all(data) == entry["read"]
    code, nchunks, parser = _stream_all(data)
    assert code == entry["stream"]
    assert nchunks == entry["stream_chunks"]


def test_error_names_unknown_critical_type():
    data = (VECTORS / "broken" / "unknown-critical-chunk.pcs").read_bytes()
    with pytest.raises(errors.UnknownChunkError, match="XTRA"):
        pc.PcsReader(data)
    assert "XTRA" in pc.verify(data).message


def test_verify_report_raise():
    rep = pc.verify((VECTORS / "broken" / "bitflip-payload.pcs").read_bytes())
    with pytest.raises(errors.ChecksumError):
        rep.raise_for_error()
    assert not rep


# ------------------------------------------------------------ round trips

@pytest.mark.parametrize("source", ["bytes", "bytearray", "path", "file", "bytesio"])
def test_round_trip_sources(tmp_path, source):
    chunks = _chunks()
    data = pc.write_pcs(META, chunks)
    path = tmp_path / "x.pcs"
    path.write_bytes(data)
    src = {"bytes": data, "bytearray": bytearray(data), "path": path, "file": None,
           "bytesio": io.BytesIO(data)}[source]
    f = open(path, "rb") if source == "file" else None
    try:
        r = pc.PcsReader.open(f if f else src)
        assert r.metadata == META
        assert r.version == pc.FORMAT_VERSION == (1, 0)
        assert [r.read_chunk(i) for i in range(len(r.entries))] == chunks
        assert r.verify().ok
        assert pc.verify(f if f else src).ok
    finally:
        if f:
            f.close()


def test_path_writer_and_context(tmp_path):
    path = tmp_path / "w.pcs"
    with pc.PcsWriter(path, META) as w:
        for c in _chunks():
            w.add_chunk(c)
    meta, chunks = pc.read_pcs(path)
    assert meta == META and chunks == _chunks()
    # An exception inside the block leaves the file unfinished: no footer.
    bad = tmp_path / "bad.pcs"
    with pytest.raises(RuntimeError):
        with pc.PcsWriter(bad, META) as w:
            w.add_chunk(_chunks()[0])
            raise RuntimeError("producer died")
    with pytest.raises(errors.TruncatedError):
        pc.PcsReader(bad)


class _Unseekable(io.RawIOBase):
    """A write-only sink that cannot seek or tell, like a pipe or socket."""

    def __init__(self):
        self.parts = []

    def writable(self):
        return True

    def seekable(self):
        return False

    def write(self, b):
        n = min(len(b), 5)  # short writes, as raw streams may do
        self.parts.append(bytes(b[:n]))
        return n

    def seek(self, *a):
        raise io.UnsupportedOperation("seek")

    def tell(self):
        raise io.UnsupportedOperation("tell")


def test_non_seekable_writer():
    sink = _Unseekable()
    w = pc.PcsWriter(sink, META)
    written = [w.add_chunk(c) for c in _chunks()]
    w.close()
    data = b"".join(sink.parts)
    assert written == pc.PcsReader(data).entries
    assert [e.raw for e in written] == [e.raw for e in pc.PcsReader(data).entries]
    assert data == pc.write_pcs(META, _chunks())
    assert pc.verify(data).ok


def test_writer_through_os_pipe():
    r_fd, w_fd = os.pipe()
    received = []

    def reader():
        with os.fdopen(r_fd, "rb") as f:
            received.append(f.read())

    t = threading.Thread(target=reader)
    t.start()
    with os.fdopen(w_fd, "wb") as f:
        with pc.PcsWriter(f, META) as w:
            for c in _chunks():
                w.add_chunk(c)
    t.join(10)
    assert received[0] == pc.write_pcs(META, _chunks())


def test_reader_rejects_unseekable_source():
    with pytest.raises(errors.InvalidArgumentError):
        pc.PcsReader(_Unseekable())


def test_writer_rejects_bad_chunks_and_metadata():
    buf = io.BytesIO()
    w = pc.PcsWriter(buf, {})
    for bad in (pc.Chunk(b"GEO", 1, 1, b""), pc.Chunk(b"GE M", 1, 1, b""), pc.Chunk(b"INDX", 0, 1, b""),
                pc.Chunk(b"GEOM", 70000, 1, b""), pc.Chunk(b"GEOM", 1, 1, b"", level_lo=3, level_hi=2),
                pc.Chunk(b"GEOM", 1, 1, b"", bounds=(0, 0, 0, -1, 1, 1)),
                pc.Chunk(b"GEOM", 1, 1, b"", bounds=(0, 0, 0, float("nan"), 1, 1))):
        with pytest.raises(errors.InvalidArgumentError):
            w.add_chunk(bad)
    w.add_chunk(pc.Chunk(b"GEOM", 1, 1, b"x", level_lo=3, level_hi=5))
    with pytest.raises(errors.InvalidArgumentError, match="coarse level first"):
        w.add_chunk(pc.Chunk(b"GEOM", 1, 1, b"x", level_lo=0, level_hi=2))
    w.close()
    assert pc.verify(buf.getvalue()).ok  # the rejected chunks left no trace
    for meta in ({1: "int key"}, {"depth": "x"}, {"bbox": [1, 2]}, {"f": object()}):
        with pytest.raises(errors.InvalidArgumentError):
            pc.PcsWriter(io.BytesIO(), meta)


def test_writer_enforces_attributes_after_geometry():
    w = pc.PcsWriter(io.BytesIO(), {})
    w.add_chunk(pc.Chunk(b"GEOM", 1, 1, b"g", level_lo=0, level_hi=3))
    with pytest.raises(errors.InvalidArgumentError, match="before the GEOM chunk"):
        w.add_chunk(pc.Chunk(b"ATTR", 2, 1, b"a", level_lo=0, level_hi=5))
    w.add_chunk(pc.Chunk(b"ATTR", 2, 1, b"a", level_lo=0, level_hi=3))
    w2 = pc.PcsWriter(io.BytesIO(), {})
    w2.add_chunk(pc.Chunk(b"ATTR", 2, 1, b"a", level_lo=0, level_hi=5))
    with pytest.raises(errors.InvalidArgumentError, match="before any GEOM"):
        w2.add_chunk(pc.Chunk(b"GEOM", 1, 1, b"g", level_lo=0, level_hi=8))
    # Files without geometry (weights, splats) have no such constraint.
    assert pc.verify(pc.write_pcs({}, [pc.Chunk(b"SPLT", 6, 1, b"s", level_lo=0, level_hi=4)])).ok


def test_empty_payloads_and_private_ancillary():
    chunks = [pc.Chunk(b"GEOM", 1, 1, b""), pc.Chunk(b"tHmb", 99, 3, b"thumbnail", critical=False)]
    data = pc.write_pcs({}, chunks)
    r = pc.PcsReader(data)
    assert [e.known for e in r.entries] == [True, False]
    assert list(r.chunks()) == chunks[:1]
    assert list(r.chunks(include_unknown=True)) == chunks
    assert [k for k, _ in pc.StreamParser().feed(data)] == ["metadata", "chunk", "end"]


# ------------------------------------------------------------ footer / index

def test_footer_and_index_from_one_suffix_request():
    data = pc.write_pcs(META, _chunks())
    version, meta_len, meta_crc = pc.parse_head(data[:24])
    assert version == (1, 0)
    meta = pc.check_metadata_block(data[24:24 + meta_len], meta_len, meta_crc)
    assert meta == META
    tail = data[-4096:]  # Range: bytes=-4096
    footer, entries = pc.index_from_tail(tail, len(data), 24 + meta_len)
    assert entries == pc.PcsReader(data).entries
    assert footer.entry_count == 4 and footer.index_offset + footer.index_length + 32 == len(data)
    # A suffix holding only the footer: the index needs a second range request.
    footer2, none = pc.index_from_tail(data[-40:], len(data), 24 + meta_len)
    assert footer2 == footer and none is None
    idx = data[footer.index_offset:footer.index_offset + footer.index_length]
    entries2 = pc.parse_index(idx, footer, 24 + meta_len)
    for e, want in zip(entries2, _chunks()):
        assert pc.check_chunk(data[e.offset:e.end], e) == want
    # Memory planning from the index alone.
    assert sum(e.decoded_size for e in entries2) == sum(c.decoded_size for c in _chunks())


def test_layout_constants():
    data = pc.write_pcs({}, [])
    assert data[:8] == b"\x81PCS\r\n\x1a\n"
    assert data[-8:] == b"\x81PCSEND\n"
    assert len(data) == 8 + 16 + 1 + 96 + 4 + 32  # {} packs to one msgpack byte


# ------------------------------------------------------------ limits

@pytest.mark.parametrize("field,value", [("max_chunk_bytes", 10), ("max_points", 63), ("max_chunks", 2),
                                         ("max_total_bytes", 300), ("max_metadata_bytes", 8), ("max_depth", 4),
                                         ("max_decoded_bytes", 100)])
def test_limits(field, value):
    data = pc.write_pcs(META, _chunks())
    lim = pc.Limits(**{field: value})
    assert pc.verify(data, lim).code == errors.LimitError.code
    with pytest.raises(errors.LimitError):
        r = pc.PcsReader(data, lim)
        for e in r.entries:
            r.read_payload(e.index)
    with pytest.raises(errors.LimitError):
        p = pc.StreamParser(lim)
        p.feed(data)
        p.finish()
    assert pc.verify(data, pc.Limits()).ok


def test_limit_defaults_are_safe():
    lim = pc.Limits()
    assert lim.max_points == 1 << 28 and lim.max_chunk_bytes == 1 << 30 and lim.max_depth == 30
    with pytest.raises(errors.InvalidArgumentError):
        pc.Limits(max_points=-1)._core()


# ------------------------------------------------------------ truncation and bit flips

def test_truncation_sweep_every_prefix():
    """Every prefix: the chunks complete in it, then Truncated with the last good offset."""
    data = (VECTORS / "v1.0-ancillary.pcs").read_bytes()
    full = pc.PcsReader(data)
    for n in range(len(data)):
        prefix = data[:n]
        p = pc.StreamParser()
        events = p.feed(prefix)
        with pytest.raises(errors.TruncatedError) as ei:
            p.finish()
        got = [c for k, c in events if k == "chunk"]
        want = [e for e in full.entries if e.end <= n and e.known]
        assert len(got) == len(want)
        assert ei.value.last_good_offset == p.last_good_offset <= n
        assert ei.value.offset == p.last_good_offset
        ends = [24 + struct.unpack_from("<I", data, 12)[0]] + [e.end for e in full.entries] + [len(data) - 32]
        if n >= ends[0]:
            assert p.last_good_offset == max(x for x in ends if x <= n)
        assert pc.verify(prefix).code == errors.TruncatedError.code
        with pytest.raises(errors.PcsError) as ei2:
            pc.PcsReader(prefix)
        assert ei2.value.code == errors.TruncatedError.code


def test_random_bit_flips_never_crash():
    data = (VECTORS / "v1.0-progressive.pcs").read_bytes()
    rng = random.Random(1234)
    results = {}
    for _ in range(600):
        b = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 8))):
            bit = rng.randrange(len(b) * 8)
            b[bit // 8] ^= 1 << (bit % 8)
        b = bytes(b)
        rep = pc.verify(b)
        results[rep.code] = results.get(rep.code, 0) + 1
        try:
            r = pc.PcsReader(b)
            for e in r.entries:
                r.read_payload(e.index)
        except errors.PcsError:
            pass
        p = pc.StreamParser()
        try:
            p.feed(b)
            p.finish()
        except errors.PcsError as exc:
            assert exc.last_good_offset <= len(b)
    assert results.get(errors.ChecksumError.code, 0) > 300


# ------------------------------------------------------------ hypothesis

_levels = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=0, max_size=6)


@st.composite
def chunk_lists(draw):
    """Chunk lists in progressive order (spec section 9 rules 1 and 2)."""
    out = []
    per_stream = {}
    geom_max = -1
    for _ in range(draw(st.integers(0, 8))):
        t = draw(st.sampled_from([b"GEOM", b"ATTR", b"WGHT", b"SPLT", b"aNcl"]))
        sid = draw(st.integers(0, 2)) if t == b"ATTR" else 0
        plo, phi = per_stream.get((t, sid), (0, 0))
        if t == b"GEOM":
            lo = plo + draw(st.integers(0, 3))
            hi = min(max(lo, phi) + draw(st.integers(0, 3)), 30)
            if lo > hi:
                continue
            geom_max = max(geom_max, hi)
        elif geom_max < 0:
            lo = hi = 0
            if (plo, phi) != (0, 0):
                continue
        else:
            hi = draw(st.integers(phi, max(phi, geom_max)))
            lo = draw(st.integers(plo, hi)) if plo <= hi else hi
        per_stream[(t, sid)] = (lo, hi)
        bounds = None
        if draw(st.booleans()):
            lo3 = draw(st.lists(st.floats(-1e9, 1e9), min_size=3, max_size=3))
            ext = draw(st.lists(st.floats(0, 1e6), min_size=3, max_size=3))
            bounds = tuple(lo3) + tuple(a + e for a, e in zip(lo3, ext))
        out.append(pc.Chunk(t, draw(st.integers(0, 65535)), draw(st.integers(0, 65535)),
                            draw(st.binary(max_size=300)), critical=t != b"aNcl", level_lo=lo, level_hi=hi,
                            point_count=draw(st.integers(0, 1 << 28)), decoded_size=draw(st.integers(0, 1 << 34)),
                            bounds=bounds, stream_id=sid))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=chunk_lists(), meta=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=20),
                                                  max_size=4),
       cuts=st.lists(st.integers(0, 4000), max_size=5))
def test_property_round_trip(chunks, meta, cuts):
    meta = {k: v for k, v in meta.items() if k not in ("point_count", "depth", "geometry_codec", "producer",
                                                        "units", "axes", "bbox", "transform", "source",
                                                        "geometry_header", "attributes")}
    meta = {k: (v if not isinstance(v, int) or -(1 << 63) <= v < (1 << 64) else 0) for k, v in meta.items()}
    data = pc.write_pcs(meta, chunks)
    r = pc.PcsReader(data)
    assert r.metadata == meta
    assert list(r.chunks(include_unknown=True)) == chunks
    assert r.verify().ok
    known = [c for c in chunks if c.type != b"aNcl"]
    p = pc.StreamParser()
    events = []
    prev = 0
    for cut in sorted(set(min(c, len(data)) for c in cuts)) + [len(data)]:
        events += p.feed(data[prev:cut])
        prev = cut
    p.finish()
    assert [c for k, c in events if k == "chunk"] == known
    assert events[0] == ("metadata", meta) and events[-1] == ("end", None)


def test_atheris_short_run(tmp_path):
    """A bounded run of the atheris harness (run it by hand for long: see its docstring)."""
    pytest.importorskip("atheris")
    import pcstream
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in list(VECTORS.glob("*.pcs")) + list(VECTORS.glob("broken/*.pcs")):
        (corpus / (f.parent.name + "-" + f.name)).write_bytes(f.read_bytes())
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(pcstream.__file__).resolve().parent.parent),
                                         env.get("PYTHONPATH", "")])
    harness = ROOT / "tests" / "fuzz" / "fuzz_container.py"
    r = subprocess.run([sys.executable, str(harness), str(corpus), "-runs=20000", "-max_total_time=20", "-seed=1",
                        "-rss_limit_mb=2048"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stdout[-4000:]


def test_metadata_is_msgpack_map():
    data = pc.write_pcs(META, [])
    meta_len = struct.unpack_from("<I", data, 12)[0]
    assert msgpack.unpackb(data[24:24 + meta_len], raw=False) == META
