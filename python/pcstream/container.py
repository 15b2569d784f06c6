"""The ``.pcs`` container, version 1 (spec: ``formats/pcs-v1.md``).

Thin Python layer over the C++ core (``pcstream._core``): the core checks every
structure, CRC32C and limit; this module adds msgpack metadata, dataclasses and
file handling.

- :class:`PcsWriter` writes front to back and works on non-seekable file objects
  (pipes, sockets, ``sys.stdout.buffer``); :func:`write_pcs` returns bytes.
- :class:`PcsReader` gives lazy random access through the index to paths, bytes
  and seekable files.
- :class:`StreamParser` parses a progressive stream fed in pieces.
- :func:`verify` checks every CRC, the index and the chunk order.

All errors are :mod:`pcstream.errors` exceptions with stable codes.
"""
from __future__ import annotations

import io
import math
import mmap
import os
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator, Optional, Union

import msgpack

from . import errors

try:
    from . import _core
except ImportError as exc:  # pragma: no cover - only without a built extension
    raise ImportError("pcstream._core is not built; run ./tools/dev_build.sh or pip install .") from exc

__all__ = [
    "Chunk", "IndexEntry", "Limits", "PcsWriter", "PcsReader", "StreamParser", "VerifyReport",
    "write_pcs", "read_pcs", "verify", "pack_metadata", "unpack_metadata", "KNOWN_CHUNK_TYPES",
    "FORMAT_VERSION", "Footer", "parse_head", "check_metadata_block", "parse_footer", "parse_index",
    "index_from_tail", "check_chunk",
]

FORMAT_VERSION = (_core.PCS_MAJOR, _core.PCS_MINOR)
KNOWN_CHUNK_TYPES = (b"GEOM", b"ATTR", b"WGHT", b"SPLT")
FILE_HEADER_SIZE = _core.PCS_FILE_HEADER_SIZE
CHUNK_HEADER_SIZE = _core.PCS_CHUNK_HEADER_SIZE
FOOTER_SIZE = _core.PCS_FOOTER_SIZE


@dataclass
class Chunk:
    """One data chunk: header fields plus payload (spec section 6.1)."""

    type: bytes            # b"GEOM", b"ATTR", ...
    codec_id: int
    codec_version: int
    payload: bytes
    critical: bool = True
    level_lo: int = 0
    level_hi: int = 0
    point_count: int = 0
    decoded_size: int = 0  # bytes of decoded output (for memory planning)
    bounds: Optional[tuple] = None  # (xmin,ymin,zmin,xmax,ymax,zmax) in original units
    stream_id: int = 0     # attribute index in metadata["attributes"]; 0 for geometry


@dataclass(frozen=True)
class IndexEntry:
    """One index entry: where a chunk is and what it holds, known before fetching it."""

    index: int
    offset: int            # file offset of the chunk header
    size: int              # bytes of the whole chunk (header + payload + CRC)
    type: bytes
    critical: bool
    codec_id: int
    codec_version: int
    level_lo: int
    level_hi: int
    stream_id: int
    payload_length: int
    point_count: int
    decoded_size: int
    bounds: Optional[tuple]
    known: bool            # False for ancillary chunk types this library does not know
    raw: bytes = field(repr=False, compare=False, default=b"")

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass
class Limits:
    """Decoder limits (spec section 11); the defaults are safe for untrusted input."""

    max_points: int = 1 << 28
    max_chunk_bytes: int = 1 << 30
    max_total_bytes: int = 1 << 36
    max_depth: int = 30
    max_metadata_bytes: int = 1 << 24
    max_chunks: int = 1 << 20
    max_decoded_bytes: int = 1 << 34

    def _core(self) -> "_core.PcsLimits":
        lim = _core.PcsLimits()
        for name in ("max_points", "max_chunk_bytes", "max_total_bytes", "max_metadata_bytes", "max_chunks",
                     "max_decoded_bytes"):
            value = int(getattr(self, name))
            if not 0 <= value < 1 << 64:
                raise errors.InvalidArgumentError(f"Limits.{name} must be in [0, 2**64)")
            setattr(lim, name, value)
        if not 0 <= int(self.max_depth) < 1 << 32:
            raise errors.InvalidArgumentError("Limits.max_depth must be in [0, 2**32)")
        lim.max_depth = int(self.max_depth)
        return lim


@dataclass
class VerifyReport:
    """Result of :func:`verify`: ``ok`` or the first failed check with its error code."""

    ok: bool
    code: int              # 0 when ok, else an ErrorCode of csrc/include/pcstream/error.hpp
    check: str             # "signature", "header", "footer", "metadata", "chunk", "index", "order"
    message: str
    offset: int
    chunks: int            # data chunks walked

    def __bool__(self) -> bool:
        return self.ok

    def raise_for_error(self) -> None:
        if not self.ok:
            raise errors.from_code(self.code, f"{self.check}: {self.message}", self.offset)


# ---------------------------------------------------------------- metadata

_KEY_TYPES = {
    "producer": str, "units": str, "axes": str, "transform": dict, "source": dict,
    "geometry_header": (bytes, bytearray), "attributes": list, "bbox": list,
}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_metadata(meta: Any, limits: Limits, exc=errors.MetadataError) -> dict:
    if not isinstance(meta, dict):
        raise exc(f"metadata must be a map, got {type(meta).__name__}")
    for key, value in meta.items():
        if not isinstance(key, str):
            raise exc(f"metadata key {key!r} is not a string")
        want = _KEY_TYPES.get(key)
        if want is not None and not isinstance(value, want):
            raise exc(f"metadata {key!r} has type {type(value).__name__}")
    for key in ("point_count", "depth", "geometry_codec"):
        if key in meta and (not _is_int(meta[key]) or meta[key] < 0):
            raise exc(f"metadata {key!r} must be a non-negative integer")
    if "bbox" in meta and (len(meta["bbox"]) != 6 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in meta["bbox"])):
        raise exc("metadata 'bbox' must be 6 numbers")
    if "attributes" in meta and not all(isinstance(a, dict) for a in meta["attributes"]):
        raise exc("metadata 'attributes' must be a list of maps")
    if meta.get("point_count", 0) > limits.max_points:
        raise errors.LimitError(f"metadata point_count {meta['point_count']} exceeds max_points {limits.max_points}")
    if meta.get("depth", 0) > limits.max_depth:
        raise errors.LimitError(f"metadata depth {meta['depth']} exceeds max_depth {limits.max_depth}")
    return meta


def pack_metadata(metadata: dict) -> bytes:
    """Serialize metadata (a dict with str keys) to msgpack; InvalidArgumentError if it cannot be."""
    if metadata is None:
        metadata = {}
    _check_metadata(metadata, Limits(max_points=1 << 63, max_depth=1 << 31), errors.InvalidArgumentError)
    try:
        return msgpack.packb(metadata, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise errors.InvalidArgumentError(f"metadata cannot be serialized: {exc}") from exc


def unpack_metadata(data: bytes, limits: Optional[Limits] = None) -> dict:
    """Parse a metadata block; MetadataError / LimitError when it is invalid."""
    limits = limits or Limits()
    if len(data) == 0:
        return {}
    try:
        # unpackb bounds every msgpack container and string by the block size.
        meta = msgpack.unpackb(bytes(data), raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types for corrupt input
        raise errors.MetadataError(f"metadata is not valid msgpack: {exc}", FILE_HEADER_SIZE) from None
    return _check_metadata(meta, limits)


# ------------------------------------------------------------------ chunks

def _chunk_info(c: Chunk) -> "_core.PcsChunkInfo":
    t = c.type.encode("ascii") if isinstance(c.type, str) else bytes(c.type)
    if len(t) != 4:
        raise errors.InvalidArgumentError(f"chunk type {c.type!r} must be 4 bytes")
    for name, bits in (("codec_id", 16), ("codec_version", 16), ("level_lo", 8), ("level_hi", 8),
                       ("stream_id", 32), ("point_count", 64), ("decoded_size", 64)):
        v = getattr(c, name)
        if not _is_int(v) or not 0 <= v < (1 << bits):
            raise errors.InvalidArgumentError(f"chunk {name}={v!r} must be an integer in [0, 2**{bits})")
    info = _core.PcsChunkInfo()
    info.type = t
    info.critical = bool(c.critical)
    info.codec_id = c.codec_id
    info.codec_version = c.codec_version
    info.level_lo = c.level_lo
    info.level_hi = c.level_hi
    info.stream_id = c.stream_id
    info.point_count = c.point_count
    info.decoded_size = c.decoded_size
    if c.bounds is not None:
        b = tuple(float(v) for v in c.bounds)
        if len(b) != 6 or not all(math.isfinite(v) for v in b) or any(b[a] > b[a + 3] for a in range(3)):
            raise errors.InvalidArgumentError("chunk bounds must be 6 finite numbers with min <= max")
        info.has_bounds = True
        info.bounds = list(b)
    return info


def _bounds(info) -> Optional[tuple]:
    return tuple(info.bounds) if info.has_bounds else None


def _chunk_from(info, payload: bytes) -> Chunk:
    return Chunk(type=info.type, codec_id=info.codec_id, codec_version=info.codec_version, payload=payload,
                 critical=info.critical, level_lo=info.level_lo, level_hi=info.level_hi,
                 point_count=info.point_count, decoded_size=info.decoded_size, bounds=_bounds(info),
                 stream_id=info.stream_id)


def _entry_from(i: int, offset: int, info, raw: bytes) -> IndexEntry:
    return IndexEntry(index=i, offset=offset, size=CHUNK_HEADER_SIZE + info.payload_length + 4, type=info.type,
                      critical=info.critical, codec_id=info.codec_id, codec_version=info.codec_version,
                      level_lo=info.level_lo, level_hi=info.level_hi, stream_id=info.stream_id,
                      payload_length=info.payload_length, point_count=info.point_count,
                      decoded_size=info.decoded_size, bounds=_bounds(info),
                      known=_core.pcs_is_known_chunk_type(info.type), raw=raw)


# ------------------------------------------------------------------ writer

class PcsWriter:
    """Writes a ``.pcs`` file front to back; never seeks, so pipes and sockets work.

    ``PcsWriter(path_or_fileobj, metadata)`` writes the header and metadata at
    once; :meth:`add_chunk` appends chunks (coarse levels first); :meth:`close`
    writes the index and footer. As a context manager it closes on success and
    leaves the file unfinished (no footer: readers report ``Truncated``) when the
    block raises.
    """

    def __init__(self, fileobj_or_path: Union[str, os.PathLike, BinaryIO], metadata: Optional[dict] = None):
        self._own = isinstance(fileobj_or_path, (str, os.PathLike))
        self._f = open(fileobj_or_path, "wb") if self._own else fileobj_or_path
        self._w = _core.PcsContainerWriter()
        self._closed = False
        self._count = 0
        try:
            self._write(self._w.begin(pack_metadata(metadata or {})))
        except BaseException:
            if self._own:
                self._f.close()
            raise

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):  # raw (unbuffered) streams may write less than asked
            n = self._f.write(view)
            if n is None:
                n = len(view)
            view = view[n:]

    def add_chunk(self, chunk: Chunk) -> IndexEntry:
        """Write one chunk; returns its index entry (offset, size, ...)."""
        if self._closed:
            raise errors.InvalidArgumentError("PcsWriter is closed")
        offset = self._w.bytes_written
        info = _chunk_info(chunk)
        header, crc = self._w.frame_chunk(info, chunk.payload)
        self._write(header)
        self._write(chunk.payload)
        self._write(crc)
        info.payload_length = memoryview(chunk.payload).nbytes
        self._count += 1
        return _entry_from(self._count - 1, offset, info, header[:88])

    @property
    def bytes_written(self) -> int:
        return self._w.bytes_written

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._write(self._w.finish())
            if hasattr(self._f, "flush"):
                self._f.flush()
        finally:
            if self._own:
                self._f.close()

    def abort(self) -> None:
        """Stop without writing index and footer (the output stays unfinished)."""
        if not self._closed:
            self._closed = True
            if self._own:
                self._f.close()

    def __enter__(self) -> "PcsWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_pcs(metadata: dict, chunks: list) -> bytes:
    """The bytes of a ``.pcs`` file holding ``metadata`` and ``chunks`` (in order)."""
    buf = io.BytesIO()
    with PcsWriter(buf, metadata) as w:
        for c in chunks:
            w.add_chunk(c)
    return buf.getvalue()


# ------------------------------------------- building blocks for remote readers

@dataclass(frozen=True)
class Footer:
    """The fixed 32-byte footer (spec section 8)."""

    index_offset: int
    index_length: int
    entry_count: int


def parse_head(head: bytes, limits: Optional[Limits] = None) -> tuple:
    """``(version, metadata_length, metadata_crc)`` from the first 24 bytes of a file."""
    major, minor, _flags, meta_len, meta_crc = _core.pcs_parse_file_header(head, (limits or Limits())._core())
    return (major, minor), meta_len, meta_crc


def check_metadata_block(data: bytes, metadata_length: int, metadata_crc: int,
                         limits: Optional[Limits] = None) -> dict:
    """CRC-check and parse the metadata block read from offset 24."""
    _core.pcs_check_metadata(data, metadata_length, metadata_crc)
    return unpack_metadata(data, limits)


def parse_footer(tail: bytes, file_size: int, limits: Optional[Limits] = None) -> Footer:
    """Footer from the last 32 bytes (or more: only the last 32 are used) of a file of ``file_size`` bytes.

    One HTTP suffix range request (``Range: bytes=-S``) gives ``tail``; if
    ``S >= 32 + footer.index_length`` it holds the whole index too (see :func:`index_from_tail`).
    """
    tail = bytes(tail[-FOOTER_SIZE:])
    return Footer(*_core.pcs_parse_footer(tail, file_size, (limits or Limits())._core()))


def parse_index(index: bytes, footer: Footer, data_start: int, limits: Optional[Limits] = None) -> list:
    """Index entries from the ``footer.index_length`` bytes at ``footer.index_offset``.
    ``data_start`` is ``24 + metadata_length``."""
    raw = _core.pcs_parse_index(index, footer.index_offset, footer.index_length, footer.entry_count, data_start,
                                (limits or Limits())._core())
    return [_entry_from(i, off, info, r) for i, (off, info, r) in enumerate(raw)]


def index_from_tail(tail: bytes, file_size: int, data_start: int, limits: Optional[Limits] = None):
    """``(footer, entries)`` from a suffix of the file; entries is None when the suffix
    does not reach back to the index (fetch ``footer.index_length`` bytes at ``footer.index_offset``)."""
    footer = parse_footer(tail, file_size, limits)
    need = footer.index_length + FOOTER_SIZE
    if len(tail) < need:
        return footer, None
    start = len(tail) - need
    return footer, parse_index(bytes(tail[start:start + footer.index_length]), footer, data_start, limits)


def check_chunk(data: bytes, entry: IndexEntry, limits: Optional[Limits] = None) -> Chunk:
    """Check the ``entry.size`` bytes of a chunk fetched at ``entry.offset`` and return it."""
    info = _core.PcsChunkInfo()
    # The entry's raw header copy is authoritative; rebuild the core view of it.
    info.type = entry.type
    info.critical = entry.critical
    info.codec_id, info.codec_version = entry.codec_id, entry.codec_version
    info.level_lo, info.level_hi, info.stream_id = entry.level_lo, entry.level_hi, entry.stream_id
    info.payload_length, info.point_count, info.decoded_size = entry.payload_length, entry.point_count, \
        entry.decoded_size
    if entry.bounds is not None:
        info.has_bounds = True
        info.bounds = list(entry.bounds)
    payload = _core.pcs_check_chunk(data, entry.offset, info, entry.raw, (limits or Limits())._core())
    return _chunk_from(info, payload)


# ------------------------------------------------------------------ reader

class _Source:
    """Random access to bytes, a path or a seekable binary file."""

    def __init__(self, source):
        self._own = None
        self._mem = None
        self._f = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._mem = memoryview(source).cast("B") if not isinstance(source, bytes) else memoryview(source)
            self.size = len(self._mem)
            self.name = "<bytes>"
        elif isinstance(source, (str, os.PathLike)):
            self._f = self._own = open(source, "rb")
            self.size = os.fstat(self._f.fileno()).st_size
            self.name = os.fspath(source)
        elif hasattr(source, "read") and hasattr(source, "seek"):
            if hasattr(source, "seekable") and not source.seekable():
                raise errors.InvalidArgumentError(
                    "PcsReader needs random access; use StreamParser for non-seekable streams")
            self._f = source
            self.size = source.seek(0, io.SEEK_END)
            self.name = getattr(source, "name", "<file>")
        else:
            raise errors.InvalidArgumentError(f"cannot read a .pcs file from {type(source).__name__}")

    def read(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise errors.TruncatedError(f"{self.name}: needs bytes {offset}..{offset + n}, file has {self.size}",
                                        min(max(offset, 0), self.size))
        if self._mem is not None:
            return self._mem[offset:offset + n]
        self._f.seek(offset)
        data = self._f.read(n)
        if len(data) != n:
            raise errors.TruncatedError(f"{self.name}: file shrank while reading", offset + len(data))
        return data

    def whole(self):
        """A buffer over the whole file (mmap for real files)."""
        if self._mem is not None:
            return self._mem
        try:
            fd = self._f.fileno()
            if self.size == 0:
                return b""
            return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return self.read(0, self.size)

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None


def _named(exc: errors.PcsError, name: str) -> errors.PcsError:
    """The same exception with the file name in front of its message (for path sources)."""
    if not name.startswith("<") and exc.args and not str(exc.args[0]).startswith(name):
        exc.args = (f"{name}: {exc.args[0]}",) + tuple(exc.args[1:])
    return exc


class PcsReader:
    """Random access to a ``.pcs`` file through its index; payloads are read lazily.

    ``PcsReader(source)`` (or ``PcsReader.open(source)``) accepts a path, bytes
    or a seekable binary file. Opening reads the header, metadata, footer and
    index (three small reads at the ends of the file) and checks them.
    ``entries`` lists every chunk (``known`` is False for skipped ancillary
    types); :meth:`read_payload` fetches and CRC-checks one chunk.
    """

    def __init__(self, source, limits: Optional[Limits] = None):
        self.limits = limits or Limits()
        self._lim = self.limits._core()
        self._src = _Source(source)
        try:
            self._open()
        except errors.PcsError as exc:
            self._src.close()
            raise _named(exc, self._src.name)
        except BaseException:
            self._src.close()
            raise

    @classmethod
    def open(cls, source, limits: Optional[Limits] = None) -> "PcsReader":
        return cls(source, limits)

    def _open(self) -> None:
        src, lim = self._src, self._lim
        if src.size > self.limits.max_total_bytes:
            raise errors.LimitError(f"{src.name}: {src.size} bytes exceed max_total_bytes")
        head = src.read(0, min(FILE_HEADER_SIZE, src.size))
        major, minor, _flags, meta_len, meta_crc = _core.pcs_parse_file_header(head, lim)
        self.version = (major, minor)
        tail_at = max(src.size - FOOTER_SIZE, 0)
        index_offset, index_length, count = _core.pcs_parse_footer(src.read(tail_at, src.size - tail_at),
                                                                   src.size, lim)
        data_start = FILE_HEADER_SIZE + meta_len
        if data_start > index_offset:
            raise errors.LengthError(f"{src.name}: metadata length {meta_len} runs past the index", 12)
        self.metadata_bytes = bytes(src.read(FILE_HEADER_SIZE, meta_len))
        _core.pcs_check_metadata(self.metadata_bytes, meta_len, meta_crc)
        self.metadata = unpack_metadata(self.metadata_bytes, self.limits)
        raw = _core.pcs_parse_index(src.read(index_offset, index_length), index_offset, index_length, count,
                                    data_start, lim)
        self.entries = [_entry_from(i, off, info, r) for i, (off, info, r) in enumerate(raw)]
        self._infos = [info for (_off, info, _r) in raw]
        self.index_offset = index_offset
        self.file_size = src.size

    def read_payload(self, i: int) -> bytes:
        """Payload of entry ``i``, after checking its header against the index and its CRC."""
        if not 0 <= i < len(self.entries):
            raise errors.InvalidArgumentError(f"chunk {i} out of range (file has {len(self.entries)})")
        e = self.entries[i]
        try:
            return _core.pcs_check_chunk(self._src.read(e.offset, e.size), e.offset, self._infos[i], e.raw,
                                         self._lim)
        except errors.PcsError as exc:
            raise _named(exc, self._src.name)

    def read_chunk(self, i: int) -> Chunk:
        payload = self.read_payload(i)
        return _chunk_from(self._infos[i], payload)

    def chunks(self, *, include_unknown: bool = False) -> Iterator[Chunk]:
        """Every chunk in file order (unknown ancillary chunks skipped unless asked for)."""
        for e in self.entries:
            if e.known or include_unknown:
                yield self.read_chunk(e.index)

    def verify(self) -> VerifyReport:
        """Check every CRC, the index and the chunk order of the whole file."""
        return _verify_source(self._src, self.limits)

    def close(self) -> None:
        self._src.close()

    def __enter__(self) -> "PcsReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_pcs(source, limits: Optional[Limits] = None) -> tuple:
    """``(metadata, [Chunk, ...])`` of a whole file (unknown ancillary chunks skipped)."""
    with PcsReader(source, limits) as r:
        return r.metadata, list(r.chunks())


def _verify_source(src: "_Source", limits: Limits) -> VerifyReport:
    buf = src.whole()
    try:
        code, check, message, offset, chunks = _core.pcs_verify(buf, limits._core())
        if code == 0:
            # The container core treats metadata as an opaque blob; parse it here.
            meta_len = int.from_bytes(bytes(buf[12:16]), "little")
            try:
                unpack_metadata(bytes(buf[FILE_HEADER_SIZE:FILE_HEADER_SIZE + meta_len]), limits)
            except errors.PcsError as exc:
                code, check, message, offset = exc.code, "metadata", str(exc), exc.offset
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()
    return VerifyReport(ok=code == 0, code=code, check=check, message=message, offset=offset, chunks=chunks)


def verify(source, limits: Optional[Limits] = None) -> VerifyReport:
    """Complete check of a file (path, bytes or seekable file): every CRC, the index,
    the chunk order, and that the metadata parses. Never raises for bad content."""
    limits = limits or Limits()
    try:
        src = _Source(source)
    except errors.PcsError as exc:
        return VerifyReport(False, exc.code, "open", str(exc), exc.offset, 0)
    try:
        return _verify_source(src, limits)
    finally:
        src.close()


# ---------------------------------------------------------------- streaming

class StreamParser:
    """Incremental parser for a progressive ``.pcs`` stream.

    ``feed(data)`` returns the events completed by these bytes, in order:
    ``("metadata", dict)``, ``("chunk", Chunk)`` (unknown ancillary chunks are
    skipped), and ``("end", None)`` after the footer. The first error is raised
    by ``feed``/``finish`` and stays: its ``partial`` attribute holds the events
    completed before it and ``last_good_offset`` the offset just past the last
    complete structure. Call ``finish()`` at the end of the input: it raises
    ``TruncatedError`` unless the footer was read.
    """

    def __init__(self, limits: Optional[Limits] = None):
        self.limits = limits or Limits()
        self._p = _core.PcsStreamParser(self.limits._core())
        self.metadata: Optional[dict] = None
        self._error: Optional[errors.PcsError] = None  # metadata errors found on this side

    def _convert(self, raw_events) -> list:
        out = []
        for kind, _offset, info, payload in raw_events:
            if kind == "metadata":
                try:
                    self.metadata = unpack_metadata(payload, self.limits)
                except errors.PcsError as exc:
                    exc.partial = out
                    exc.last_good_offset = 0  # nothing usable without valid metadata
                    self._error = exc
                    raise
                out.append(("metadata", self.metadata))
            elif kind == "chunk":
                out.append(("chunk", _chunk_from(info, payload)))
            else:
                out.append(("end", None))
        return out

    def feed(self, data) -> list:
        if self._error is not None:
            raise self._error
        try:
            raw = self._p.feed(data)
        except errors.PcsError as exc:
            exc.partial = self._convert(exc.partial or [])
            raise
        return self._convert(raw)

    def finish(self) -> None:
        if self._error is not None:
            raise self._error
        try:
            self._p.finish()
        except errors.PcsError as exc:
            exc.partial = self._convert(exc.partial or [])
            raise

    @property
    def last_good_offset(self) -> int:
        return self._error.last_good_offset if self._error is not None else self._p.last_good_offset

    @property
    def bytes_fed(self) -> int:
        return self._p.bytes_fed

    @property
    def done(self) -> bool:
        return self._p.done

    @property
    def entries(self) -> list:
        """Index entries of every chunk completed so far (unknown ancillary ones included)."""
        return [_entry_from(i, off, info, r) for i, (off, info, r) in enumerate(self._p.entries)]
