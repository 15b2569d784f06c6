"""Exception hierarchy of pcstream.

Every error raised for bad input derives from :class:`PcsError` and carries the
stable numeric ``code`` of the C++ core (see ``csrc/include/pcstream/error.hpp``
and ``formats/pcs-v1.md``) plus the byte ``offset`` where it was detected
(``-1`` if unknown).

    PcsError
    ├── FormatError            (structure of the container is wrong)
    │   ├── SignatureError
    │   ├── VersionError
    │   ├── ChecksumError
    │   ├── LengthError
    │   ├── ReservedBitsError
    │   ├── UnknownChunkError
    │   ├── IndexError_
    │   └── MetadataError
    ├── TruncatedError         (data ends early; may carry a partial result)
    ├── CorruptPayloadError    (an entropy-coded payload is inconsistent)
    ├── UnsupportedError       (codec id / version unknown)
    ├── ModelMismatchError     (learned model id or hash differs)
    ├── LimitError             (a decoder limit would be exceeded)
    ├── InvalidArgumentError   (also a ValueError)
    └── InputFileError         (a reader could not understand an input file)
"""
from __future__ import annotations


class PcsError(Exception):
    code = 99

    def __init__(self, message: str = "", offset: int = -1, *, partial=None, last_good_offset: int = -1):
        super().__init__(message)
        self.offset = offset
        #: For TruncatedError from progressive readers: the coarse result decoded so far.
        self.partial = partial
        #: Offset of the end of the last chunk that decoded completely.
        self.last_good_offset = last_good_offset


class FormatError(PcsError):
    code = 5


class TruncatedError(PcsError):
    code = 1


class SignatureError(FormatError):
    code = 2


class VersionError(FormatError):
    code = 3


class ChecksumError(FormatError):
    code = 4


class LengthError(FormatError):
    code = 5


class ReservedBitsError(FormatError):
    code = 6


class UnknownChunkError(FormatError):
    code = 7


class IndexError_(FormatError):
    code = 8


class MetadataError(FormatError):
    code = 9


class CorruptPayloadError(PcsError):
    code = 20


class UnsupportedError(PcsError):
    code = 21


class ModelMismatchError(PcsError):
    code = 22


class LimitError(PcsError):
    code = 40


class InvalidArgumentError(PcsError, ValueError):
    code = 41


class InputFileError(PcsError):
    code = 60


class InternalError(PcsError):
    code = 99


_BY_CODE = {
    cls.code: cls
    for cls in (
        TruncatedError, SignatureError, VersionError, ChecksumError, LengthError,
        ReservedBitsError, UnknownChunkError, IndexError_, MetadataError,
        CorruptPayloadError, UnsupportedError, ModelMismatchError, LimitError,
        InvalidArgumentError, InputFileError, InternalError,
    )
}


def from_code(code: int, message: str, offset: int = -1) -> PcsError:
    """Build the exception for a core error code (used by the C++ bindings)."""
    cls = _BY_CODE.get(int(code), PcsError)
    exc = cls(message, offset)
    return exc
