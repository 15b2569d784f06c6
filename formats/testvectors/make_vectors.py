#!/usr/bin/env python3
"""Generate the .pcs v1 golden files, the broken-file corpus and their manifests.

    python formats/testvectors/make_vectors.py            # (re)write the files
    python formats/testvectors/make_vectors.py --check    # compare with the files on disk
    PYTHONPATH=python python formats/testvectors/make_vectors.py --record-geometry
                                                          # record v1.0-geometry-*.pcs (real codec)

The files are built by a small encoder written here from formats/pcs-v1.md alone,
independent of the C++ writer, so the tests also check that the two agree byte for
byte. Everything is deterministic: running this twice gives identical files.

Golden files are named after the format version that wrote them (``v1.0-*.pcs``)
and are decoded by the test suite forever: never change an existing one; add new
files when the format grows.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import msgpack

HERE = Path(__file__).resolve().parent

# ------------------------------------------------------------ spec encoder

_CRC_TABLE = []
for _b in range(256):
    _c = _b
    for _ in range(8):
        _c = (_c >> 1) ^ (0x82F63B78 if _c & 1 else 0)
    _CRC_TABLE.append(_c)


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC32C (Castagnoli), spec section 1; check value of b"123456789" is 0xE3069283."""
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ _CRC_TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

SIGNATURE = bytes([0x81]) + b"PCS\r\n\x1a\n"
FOOTER_MAGIC = b"\x81PCSEND\n"
KNOWN = {b"GEOM", b"ATTR", b"WGHT", b"SPLT"}


@dataclass
class C:
    """A chunk as the spec describes it, with knobs for damaged variants."""

    type: bytes
    codec_id: int
    codec_version: int
    payload: bytes
    critical: bool = True
    level_lo: int = 0
    level_hi: int = 0
    stream_id: int = 0
    point_count: int = 0
    decoded_size: int = 0
    bounds: Optional[tuple] = None
    unused_flags: int = 0          # flag bits 8-15
    reserved_flags: int = 0        # flag bits 2-7 (must be zero)
    unused_word: int = 0           # header bytes 88..91
    payload_length: Optional[int] = None  # override the stored length

    def fields(self) -> bytes:
        flags = (1 if self.critical else 0) | (2 if self.bounds is not None else 0) | (self.reserved_flags << 2) \
            | (self.unused_flags << 8)
        length = len(self.payload) if self.payload_length is None else self.payload_length
        b = self.bounds if self.bounds is not None else (0.0,) * 6
        return (self.type + struct.pack("<HHHBBIQQQ", flags, self.codec_id, self.codec_version, self.level_lo,
                                        self.level_hi, self.stream_id, length, self.point_count,
                                        self.decoded_size) + struct.pack("<6d", *b))

    def header(self) -> bytes:
        h = self.fields() + struct.pack("<I", self.unused_word)
        return h + struct.pack("<I", crc32c(h))

    def encode(self) -> bytes:
        body = self.header() + self.payload
        return body + struct.pack("<I", crc32c(body))


def file_start(meta: bytes, minor: int = 0, flags: int = 0, meta_length: Optional[int] = None) -> bytes:
    n = len(meta) if meta_length is None else meta_length
    h = SIGNATURE + struct.pack("<HHII", minor, flags, n, crc32c(meta))
    return h + struct.pack("<I", crc32c(h)) + meta


def build(meta: bytes, chunks: list, *, minor: int = 0, header_flags: int = 0,
          entry_patch: Optional[Callable[[int, bytes], bytes]] = None) -> bytes:
    """A whole file: start, chunks, INDX chunk built from the chunks as written, footer."""
    out = bytearray(file_start(meta, minor, header_flags))
    entries = []
    for c in chunks:
        entry = struct.pack("<Q", len(out)) + c.fields()
        entries.append(entry_patch(len(entries), entry) if entry_patch else entry)
        out += c.encode()
    index_offset = len(out)
    idx = C(b"INDX", 0, 1, b"".join(entries), point_count=len(entries), decoded_size=96 * len(entries))
    out += idx.encode()
    footer = struct.pack("<QQI", index_offset, len(out) - index_offset, len(entries))
    out += footer + struct.pack("<I", crc32c(footer)) + FOOTER_MAGIC
    return bytes(out)


def pack(meta: dict) -> bytes:
    return msgpack.packb(meta, use_bin_type=True)


def blob(seed: str, n: int) -> bytes:
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}/{i}".encode()).digest()
        i += 1
    return out[:n]


# ------------------------------------------------------------ golden files

META_FULL = {
    "producer": "pcstream 0.1.0",
    "point_count": 40,
    "depth": 8,
    "transform": {"scale": [0.001, 0.001, 0.001], "offset": [10.0, -5.0, 0.5]},
    "units": "m",
    "axes": "right-handed, z up",
    "bbox": [10.0, -5.0, 0.5, 10.255, -4.745, 0.755],
    "geometry_codec": 1,
    "geometry_header": b"\x08synthetic",
    "attributes": [{"name": "intensity", "dtype": "<u2", "components": 1, "codec": 2, "params": {}}],
}


def progressive_chunks() -> list:
    return [
        C(b"GEOM", 1, 1, blob("geom0", 5), level_lo=0, level_hi=2, point_count=8, decoded_size=96,
          bounds=(10.0, -5.0, 0.5, 10.255, -4.745, 0.755)),
        C(b"GEOM", 1, 1, blob("geom1", 33), level_lo=3, level_hi=5, point_count=20, decoded_size=240),
        C(b"GEOM", 1, 1, blob("geom2", 70), level_lo=6, level_hi=8, point_count=40, decoded_size=480,
          bounds=(10.0, -5.0, 0.5, 10.255, -4.745, 0.755)),
        C(b"ATTR", 2, 1, blob("attr0", 21), level_lo=0, level_hi=8, point_count=40, decoded_size=80, stream_id=0),
    ]


def golden() -> dict:
    """name -> (bytes, writable_by_PcsWriter, description)."""
    prog = progressive_chunks()
    with_note = prog[:1] + [C(b"nOTE", 0, 0, b"an ancillary note: readers skip it", critical=False)] + prog[1:]
    unused = [replace(c, unused_flags=0xA5, unused_word=0xDEADBEEF) for c in prog]
    return {
        "v1.0-minimal.pcs": (build(pack({"producer": "pcstream 0.1.0"}), []), True,
                             "metadata only, no chunks"),
        "v1.0-no-metadata.pcs": (build(b"", []), False, "zero-length metadata (an empty map), no chunks"),
        "v1.0-progressive.pcs": (build(pack(META_FULL), prog), True,
                                 "all metadata keys, three GEOM chunks coarse to fine, one ATTR chunk"),
        "v1.0-ancillary.pcs": (build(pack(META_FULL), with_note), True,
                               "as progressive plus an unknown ancillary chunk 'nOTE' that readers skip"),
        "v1.0-unused-bits.pcs": (build(pack(META_FULL), unused, header_flags=0x5A00), False,
                                 "unused flag bits and unused header words set: readers ignore them"),
        "v1.0-minor7.pcs": (build(pack({"producer": "future 1.7"}), prog[:1], minor=7), False,
                            "container version 1.7: a 1.0 reader accepts it"),
        "v1.0-weights.pcs": (build(pack({"producer": "pcstream 0.1.0"}),
                                   [C(b"WGHT", 5, 1, blob("w", 50), decoded_size=400)]), True,
                             "one WGHT chunk at level 0"),
    }


def _json_meta(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$bin": bytes(v).hex()}
    if isinstance(v, dict):
        return {k: _json_meta(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_meta(x) for x in v]
    return v


def describe(data: bytes) -> dict:
    """What a conforming reader must decode from a valid file (derived by the spec encoder's
    own parse: metadata and the chunk headers written above)."""
    meta_len = struct.unpack_from("<I", data, 12)[0]
    meta = msgpack.unpackb(data[24:24 + meta_len], raw=False) if meta_len else {}
    index_offset, _, count = struct.unpack_from("<QQI", data, len(data) - 32)
    chunks = []
    for i in range(count):
        e = data[index_offset + 96 + 96 * i: index_offset + 96 + 96 * (i + 1)]
        off = struct.unpack_from("<Q", e)[0]
        t = e[8:12]
        flags, cid, cver, lo, hi, sid, length, pts, dec = struct.unpack_from("<HHHBBIQQQ", e, 12)
        bounds = list(struct.unpack_from("<6d", e, 48)) if flags & 2 else None
        payload = data[off + 96: off + 96 + length]
        chunks.append({
            "offset": off, "type": t.decode("ascii"), "critical": bool(flags & 1), "known": t in KNOWN,
            "codec_id": cid, "codec_version": cver, "level_lo": lo, "level_hi": hi, "stream_id": sid,
            "payload_length": length, "point_count": pts, "decoded_size": dec, "bounds": bounds,
            "payload_crc32c": crc32c(payload), "payload_sha256": hashlib.sha256(payload).hexdigest(),
        })
    return {"version": [data[0] & 0x7F, struct.unpack_from("<H", data, 8)[0]], "metadata": _json_meta(meta),
            "chunks": chunks}


# ------------------------------------------------------------ broken corpus

TRUNCATED, BAD_SIGNATURE, UNSUPPORTED_VERSION, CHECKSUM, BAD_LENGTH, RESERVED, UNKNOWN_CRITICAL, BAD_INDEX, \
    BAD_METADATA, LIMIT = 1, 2, 3, 4, 5, 6, 7, 8, 9, 40
OK = 0


def _flip(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    b = bytearray(data)
    b[offset] ^= mask
    return bytes(b)


def broken() -> list:
    """(name, bytes, description, expected) with expected = {verify: [code, check], read, stream, stream_chunks}.

    verify: pcstream.container.verify (complete-file mode); read: PcsReader open + every payload;
    stream: StreamParser fed the whole file then finish(); stream_chunks: chunk events before the error.
    """
    prog = progressive_chunks()
    meta = pack(META_FULL)
    good = build(meta, prog)
    m = len(meta)
    c0 = 24 + m                      # first chunk
    c1 = c0 + 96 + len(prog[0].payload) + 4
    c2 = c1 + 96 + len(prog[1].payload) + 4
    index_offset = struct.unpack_from("<Q", good, len(good) - 32)[0]
    size = len(good)

    def v(code, check, read, stream, chunks):
        return {"verify": [code, check], "read": read, "stream": stream, "stream_chunks": chunks}

    out = []

    def add(name, data, desc, exp):
        out.append((name, data, desc, exp))

    add("empty.pcs", b"", "zero bytes", v(TRUNCATED, "signature", TRUNCATED, TRUNCATED, 0))
    add("truncated-signature.pcs", good[:5], "the first 5 bytes", v(TRUNCATED, "signature", TRUNCATED, TRUNCATED, 0))
    add("truncated-header.pcs", good[:20], "cut inside the file header",
        v(TRUNCATED, "header", TRUNCATED, TRUNCATED, 0))
    add("truncated-metadata.pcs", good[:c0 - 10], "cut inside the metadata",
        v(TRUNCATED, "footer", TRUNCATED, TRUNCATED, 0))
    add("truncated-mid-chunk.pcs", good[:c1 + 60], "cut inside the second GEOM chunk: one complete chunk",
        v(TRUNCATED, "footer", TRUNCATED, TRUNCATED, 1))
    add("truncated-before-index.pcs", good[:index_offset], "every data chunk present, index and footer missing",
        v(TRUNCATED, "footer", TRUNCATED, TRUNCATED, 4))
    add("truncated-footer.pcs", good[:-1], "last byte of the footer missing",
        v(TRUNCATED, "footer", TRUNCATED, TRUNCATED, 4))
    add("not-pcs.pcs", b"ply\nformat ascii 1.0\nelement vertex 0\nend_header\n", "a PLY file",
        v(BAD_SIGNATURE, "signature", BAD_SIGNATURE, BAD_SIGNATURE, 0))
    add("signature-high-bit-stripped.pcs", bytes([good[0] & 0x7F]) + good[1:], "7-bit transfer cleared bit 7",
        v(BAD_SIGNATURE, "signature", BAD_SIGNATURE, BAD_SIGNATURE, 0))
    add("signature-crlf-to-lf.pcs", good.replace(b"\r\n", b"\n"), "text-mode CR LF -> LF conversion",
        v(BAD_SIGNATURE, "signature", BAD_SIGNATURE, BAD_SIGNATURE, 0))
    add("signature-lf-to-crlf.pcs", good.replace(b"\n", b"\r\n"), "text-mode LF -> CR LF conversion",
        v(BAD_SIGNATURE, "signature", BAD_SIGNATURE, BAD_SIGNATURE, 0))
    add("unsupported-major.pcs", bytes([0x82]) + good[1:], "signature of major version 2",
        v(UNSUPPORTED_VERSION, "signature", UNSUPPORTED_VERSION, UNSUPPORTED_VERSION, 0))
    add("bitflip-header.pcs", _flip(good, 8), "bit flip in version_minor (header CRC fails)",
        v(CHECKSUM, "header", CHECKSUM, CHECKSUM, 0))
    add("bitflip-metadata.pcs", _flip(good, 30, 0x10), "bit flip in the metadata",
        v(CHECKSUM, "metadata", CHECKSUM, CHECKSUM, 0))
    add("bitflip-chunk-header.pcs", _flip(good, c1 + 24), "bit flip in a chunk header (point_count)",
        v(CHECKSUM, "chunk", CHECKSUM, CHECKSUM, 1))
    add("bitflip-payload.pcs", _flip(good, c1 + 96 + 7, 0x80), "bit flip in the second GEOM payload",
        v(CHECKSUM, "chunk", CHECKSUM, CHECKSUM, 1))
    add("bad-chunk-crc.pcs", _flip(good, c2 - 2), "wrong trailing CRC of the second chunk",
        v(CHECKSUM, "chunk", CHECKSUM, CHECKSUM, 1))
    add("bad-length-chunk.pcs",
        build(meta, [prog[0], replace(prog[1], payload_length=len(prog[1].payload) + 2048)] + prog[2:]),
        "second chunk's payload_length +2048 (header CRC and index entry consistent with it)",
        v(BAD_LENGTH, "chunk", BAD_INDEX, TRUNCATED, 1))
    lied = bytearray(good)
    struct.pack_into("<I", lied, 12, size + 100)
    struct.pack_into("<I", lied, 20, crc32c(bytes(lied[:20])))
    add("bad-length-metadata.pcs", bytes(lied), "metadata_length past the end of the file (header CRC fixed)",
        v(BAD_LENGTH, "header", BAD_LENGTH, TRUNCATED, 0))
    lied = bytearray(good)
    struct.pack_into("<I", lied, 12, 0xFFFFFFF0)
    struct.pack_into("<I", lied, 20, crc32c(bytes(lied[:20])))
    add("huge-metadata-length.pcs", bytes(lied), "metadata_length of 4 GiB (header CRC fixed)",
        v(LIMIT, "header", LIMIT, LIMIT, 0))

    def idx_len_patch(data: bytes) -> bytes:
        b = bytearray(data)
        struct.pack_into("<Q", b, index_offset + 16, 96 * 4 + 5)
        struct.pack_into("<I", b, index_offset + 92, crc32c(bytes(b[index_offset:index_offset + 92])))
        return bytes(b)
    add("bad-length-index.pcs", idx_len_patch(good), "INDX payload_length not a multiple of 96",
        v(BAD_LENGTH, "index", BAD_LENGTH, BAD_LENGTH, 4))
    add("unknown-critical-chunk.pcs",
        build(meta, prog[:2] + [C(b"XTRA", 9, 1, b"must understand", critical=True)] + prog[2:]),
        "a critical chunk of unknown type 'XTRA' after two GEOM chunks",
        v(UNKNOWN_CRITICAL, "chunk", UNKNOWN_CRITICAL, UNKNOWN_CRITICAL, 2))
    add("unknown-ancillary-chunk.pcs",
        build(meta, prog[:2] + [C(b"xTRA", 9, 1, b"may ignore", critical=False)] + prog[2:]),
        "VALID: an ancillary chunk of unknown type is skipped", v(OK, "", OK, OK, 4))
    add("billions-of-points.pcs",
        build(meta, [prog[0], replace(prog[1], point_count=5_000_000_000)] + prog[2:]),
        "a chunk (and its index entry) claiming 5e9 points", v(LIMIT, "chunk", LIMIT, LIMIT, 1))
    huge_meta = pack({**META_FULL, "point_count": 5_000_000_000})
    add("billions-of-points-metadata.pcs", build(huge_meta, prog), "metadata point_count of 5e9",
        v(LIMIT, "metadata", LIMIT, LIMIT, 0))
    add("huge-level.pcs", build(meta, [prog[0], replace(prog[1], level_lo=3, level_hi=200)]),
        "a chunk completing octree level 200", v(LIMIT, "chunk", LIMIT, LIMIT, 1))
    add("bad-metadata.pcs", build(pack([1, 2, 3]), prog), "metadata is a msgpack array, not a map",
        v(BAD_METADATA, "metadata", BAD_METADATA, BAD_METADATA, 0))
    add("bad-metadata-type.pcs", build(pack({**META_FULL, "depth": "eight"}), prog), "metadata depth is a string",
        v(BAD_METADATA, "metadata", BAD_METADATA, BAD_METADATA, 0))
    add("reserved-bit-header.pcs", build(meta, prog, header_flags=0x01), "reserved file header flag bit 0 set",
        v(RESERVED, "header", RESERVED, RESERVED, 0))
    add("reserved-bit-chunk.pcs", build(meta, [prog[0], replace(prog[1], reserved_flags=1)] + prog[2:]),
        "reserved chunk flag bit 2 set (CRCs and index consistent)", v(RESERVED, "chunk", RESERVED, RESERVED, 1))
    add("bad-levels.pcs", build(meta, [prog[0], replace(prog[1], level_lo=5, level_hi=3)] + prog[2:]),
        "level_lo > level_hi", v(BAD_LENGTH, "chunk", BAD_LENGTH, BAD_LENGTH, 1))
    add("out-of-order.pcs", build(meta, [prog[1], prog[0]] + prog[2:]), "GEOM levels 3-5 before levels 0-2",
        v(BAD_INDEX, "order", BAD_INDEX, BAD_INDEX, 1))
    add("attr-before-geometry.pcs", build(meta, [prog[0], prog[3], prog[1], prog[2]]),
        "ATTR for level 8 before the GEOM chunks of levels 3-8 (only verify checks rule 2)",
        v(BAD_INDEX, "order", OK, OK, 4))
    add("bad-footer-crc.pcs", _flip(good, size - 32), "bit flip in the footer's index_offset",
        v(CHECKSUM, "footer", CHECKSUM, CHECKSUM, 4))
    add("bad-footer-magic.pcs", _flip(good, size - 3), "footer magic damaged",
        v(TRUNCATED, "footer", TRUNCATED, BAD_INDEX, 4))
    moved = bytearray(good)
    struct.pack_into("<Q", moved, size - 32, index_offset - 96)
    struct.pack_into("<I", moved, size - 12, crc32c(bytes(moved[size - 32:size - 12])))
    add("bad-footer-offset.pcs", bytes(moved), "footer index_offset 96 bytes early (footer CRC fixed)",
        v(BAD_INDEX, "footer", BAD_INDEX, BAD_INDEX, 4))

    def outside(i, e):
        return struct.pack("<Q", 1 << 40) + e[8:] if i == 1 else e
    add("index-outside-file.pcs", build(meta, prog, entry_patch=outside),
        "index entry 1 points 1 TiB into the file (index CRC fixed)", v(BAD_INDEX, "index", BAD_INDEX, BAD_INDEX, 4))

    def level_lie(i, e):
        return e[:18] + bytes([e[18], 6]) + e[20:] if i == 1 else e
    add("index-disagrees.pcs", build(meta, prog, entry_patch=level_lie),
        "index entry 1 claims level_hi 6, the chunk says 5", v(BAD_INDEX, "index", BAD_INDEX, BAD_INDEX, 4))
    add("trailing-garbage.pcs", good + b"\x00" * 7, "seven bytes after the footer",
        v(TRUNCATED, "footer", TRUNCATED, BAD_LENGTH, 4))
    return out


# ------------------------------------------------- recorded real-codec files

GEOMETRY_MANIFEST = "geometry-manifest.json"


def _points_sha(points) -> str:
    import numpy as np
    return hashlib.sha256(np.ascontiguousarray(points, dtype="<u4").tobytes()).hexdigest()


def record_geometry() -> dict:
    """Files holding payloads of the real classic geometry codec (codec id 1). Unlike the
    synthetic files above they are recorded once and then frozen: a later codec change must
    still decode them (it gets a new codec_version), so they are never regenerated by default."""
    import numpy as np
    from pcstream.geometry import GeometryDecoder, encode_geometry

    rng = np.random.default_rng(20261121)
    d = rng.normal(size=(3000, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    sphere = np.floor((d * 0.45 + 0.5) * 1023).astype(np.uint32)
    sphere = np.concatenate([sphere, sphere[:40]])  # duplicates
    rng.shuffle(sphere)
    sparse = rng.integers(0, 1 << 16, size=(200, 3), dtype=np.uint32)
    cases = [
        ("v1.0-geometry-sphere.pcs", sphere, 10, None, "3040 points on a sphere (40 duplicates), depth 10, lossless"),
        ("v1.0-geometry-lossy.pcs", sphere, 10, 6, "the same sphere keeping 6 of 10 octree levels (lossy)"),
        ("v1.0-geometry-sparse.pcs", sparse, 16, None, "200 uniform random points, depth 16 (direct mode)"),
        ("v1.0-geometry-one-point.pcs", np.array([[5, 0, 7]], np.uint32), 3, None, "one point, depth 3"),
    ]
    files, entries = {}, []
    for name, pts, depth, levels, desc in cases:
        enc = encode_geometry(pts, depth, levels=levels)
        meta = {"producer": "pcstream 0.1.0", "point_count": int(len(pts)), "depth": depth,
                "transform": {"scale": [1.0, 1.0, 1.0], "offset": [0.0, 0.0, 0.0]}, "units": "unknown",
                "axes": "unknown", "bbox": [float(v) for v in list(pts.min(0)) + list(pts.max(0))],
                "geometry_codec": 1, "geometry_header": enc.header, "attributes": []}
        chunks = [C(b"GEOM", 1, 1, c.payload, level_lo=c.level_lo, level_hi=c.level_hi, point_count=c.point_count,
                    decoded_size=12 * c.point_count) for c in enc.chunks]
        data = build(pack(meta), chunks)
        dec = GeometryDecoder(enc.header)
        steps = []
        for c in enc.chunks:
            dec.feed(c.payload)
            p = dec.points()
            steps.append({"level": int(dec.level), "points": int(len(p)), "points_sha256": _points_sha(p)})
        files[name] = data
        entries.append({"file": name, "description": desc, "sha256": hashlib.sha256(data).hexdigest(),
                        "geometry_codec": 1, "codec_version": 1, "depth": depth, "levels": levels,
                        "decoded_points": steps[-1]["points"] if steps else 0, "steps": steps})
    man = {"what": "after feeding GEOM chunk i to pcstream.geometry.GeometryDecoder(metadata['geometry_header']),"
                   " .level and .points() (uint32 little-endian, C order) must match steps[i]", "files": entries}
    files[GEOMETRY_MANIFEST] = (json.dumps(man, indent=1) + "\n").encode()
    return files


# ------------------------------------------------------------------ driver

def generate() -> dict:
    """relative path -> bytes of every generated file (manifests included)."""
    files = {}
    manifest = {"format": "pcs", "spec": "formats/pcs-v1.md", "files": []}
    for name, (data, writable, desc) in golden().items():
        files[name] = data
        manifest["files"].append({"file": name, "description": desc, "size": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest(), "pcswriter_identical": writable,
                                  **describe(data)})
    files["manifest.json"] = (json.dumps(manifest, indent=1) + "\n").encode()
    bman = {"codes": "formats/pcs-v1.md section 12", "modes": {
        "verify": "pcstream.container.verify(): [code, failed check]",
        "read": "PcsReader(file) then read_payload() of every entry: first error code",
        "stream": "StreamParser().feed(whole file) then finish(): first error code",
        "stream_chunks": "chunk events delivered before the stream error"}, "files": []}
    for name, data, desc, exp in broken():
        files[f"broken/{name}"] = data
        bman["files"].append({"file": name, "description": desc, **exp})
    files["broken/manifest.json"] = (json.dumps(bman, indent=1) + "\n").encode()
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    ap.add_argument("--record-geometry", action="store_true",
                    help="(re)record the frozen v1.0-geometry-*.pcs files with the real codec")
    args = ap.parse_args(argv)
    files = record_geometry() if args.record_geometry else generate()
    bad = 0
    for rel, data in sorted(files.items()):
        path = HERE / rel
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                print(f"differs: {rel}")
                bad += 1
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    print(f"{len(files)} files {'checked' if args.check else 'written'} in {HERE}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
