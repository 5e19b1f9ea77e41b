"""Fast reading of a GGUF file's metadata and tensor table, for checks made before llama.cpp opens it.

``gguf.GGUFReader`` builds numpy views for every element of every array; on CapRL-3B's 151,936-token
vocabulary that took 4.4 s on a 2-core machine, on each model load.  This reader walks the same layout
with ``struct`` on a buffered file, keeps scalars and short arrays, records only the length of long
ones, and takes its type codes and block sizes from the ``gguf`` package so the format stays defined
in one place (imported when a header is first read: with numpy and yaml it costs the window's start 0.3 s).

Every length and count in the header is checked against the bytes the file has left before anything is
read, allocated or looped over: a 123-byte file that claims an array of 2^32 values is damaged, not a
32 GiB read.
"""

from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import gguf


@functools.cache
def _scalar_formats() -> dict[gguf.GGUFValueType, str]:
    import gguf

    t = gguf.GGUFValueType
    return {t.UINT8: "<B", t.INT8: "<b", t.UINT16: "<H", t.INT16: "<h", t.UINT32: "<I", t.INT32: "<i",
            t.FLOAT32: "<f", t.BOOL: "<?", t.UINT64: "<Q", t.INT64: "<q", t.FLOAT64: "<d"}

# Arrays longer than this (token lists, merges, scores) are skipped; only their length is kept.
_KEEP_ARRAY_MAX = 64
# A string this long is no metadata (chat templates are a few KB), even in a file large enough to hold it.
_MAX_STRING = 64 * 1024 * 1024
# The fewest bytes one entry takes, so that a count can be checked against the bytes left: a key-value pair
# is a key's length, the key, a type and at least one byte of value; a tensor is a name's length, its
# dimensions' count, type and offset.
_MIN_KV_BYTES = 8 + 4 + 1
_MIN_TENSOR_BYTES = 8 + 4 + 4 + 8


class GGUFFormatError(ValueError):
    """The bytes are not a well-formed GGUF header."""


@dataclass(frozen=True)
class TensorEntry:
    name: str
    shape: tuple[int, ...]
    type_id: int
    offset: int  # relative to the data section
    n_bytes: int


@dataclass(frozen=True)
class GGUFHeader:
    path: Path
    version: int
    file_size: int
    data_offset: int
    metadata: dict[str, object]
    array_lengths: dict[str, int] = field(default_factory=dict)
    tensors: tuple[TensorEntry, ...] = ()

    @property
    def architecture(self) -> str:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else ""

    @property
    def expected_size(self) -> int:
        """The smallest file size that holds every tensor the header announces."""
        ends = [self.data_offset + t.offset + t.n_bytes for t in self.tensors]
        return max(ends, default=self.data_offset)

    def get_int(self, key: str) -> int | None:
        value = self.metadata.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def tensor(self, name: str) -> TensorEntry | None:
        return next((t for t in self.tensors if t.name == name), None)


_U64 = struct.Struct("<Q")


class _Stream:
    """The header's bytes in order; it counts its position itself, so that checking each length against the
    bytes left costs no system call (a vocabulary is 150,000 strings)."""

    def __init__(self, f: BinaryIO, size: int, pos: int) -> None:
        self._f = f
        self._size = size
        self._pos = pos

    def bound(self, n: int, each: int, what: str) -> int:
        """``n`` entries of at least ``each`` bytes, or ``GGUFFormatError`` when the rest of the file is shorter."""
        if n * each > self._size - self._pos:
            raise GGUFFormatError(f"{what} than the file holds")
        return n

    def read(self, n: int) -> bytes:
        data = self._f.read(n) if n <= self._size - self._pos else b""
        if len(data) != n:
            raise GGUFFormatError("the file ends inside its header")
        self._pos += n
        return data

    def skip(self, n: int, what: str) -> None:
        self._f.seek(self.bound(n, 1, what), 1)
        self._pos += n

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def u32(self) -> int:
        return int(self.unpack("<I"))

    def u64(self) -> int:
        return int(_U64.unpack(self.read(8))[0])

    def _string_length(self) -> int:
        n = self.u64()
        if n > _MAX_STRING:
            raise GGUFFormatError("a string length in the header is implausible")
        return self.bound(n, 1, "a string in the header is longer")

    def string(self) -> str:
        return self.read(self._string_length()).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self.skip(self._string_length(), "a string in the header is longer")

    def tell(self) -> int:
        return self._pos


def _value_type(code: int) -> gguf.GGUFValueType:
    import gguf

    try:
        return gguf.GGUFValueType(code)
    except ValueError:
        raise GGUFFormatError(f"unknown metadata value type {code}") from None


def _read_value(s: _Stream, vtype: gguf.GGUFValueType) -> object:
    import gguf

    if vtype == gguf.GGUFValueType.STRING:
        return s.string()
    fmt = _scalar_formats().get(vtype)
    if fmt is None:
        raise GGUFFormatError(f"unexpected metadata value type {vtype}")
    return s.unpack(fmt)


def _item_bytes(vtype: gguf.GGUFValueType) -> int:
    """The fewest bytes one array item of ``vtype`` takes (a string: its length field)."""
    import gguf

    if vtype == gguf.GGUFValueType.STRING:
        return 8
    if vtype == gguf.GGUFValueType.ARRAY:
        raise GGUFFormatError("nested arrays are not part of GGUF")
    fmt = _scalar_formats().get(vtype)
    if fmt is None:
        raise GGUFFormatError(f"unexpected metadata value type {vtype}")
    return struct.calcsize(fmt)


def _skip_values(s: _Stream, key: str, vtype: gguf.GGUFValueType, count: int) -> None:
    import gguf

    if vtype == gguf.GGUFValueType.STRING:
        for _ in range(count):
            s.skip_string()
    else:
        s.skip(_item_bytes(vtype) * count, f"array {key} claims more values")


def read_header(path: Path) -> GGUFHeader:
    """Read metadata and tensor table; raises ``GGUFFormatError`` or ``OSError``."""
    import gguf

    with open(path, "rb", buffering=1 << 20) as f:
        file_size = os.fstat(f.fileno()).st_size  # of the file read, not of whatever the path names later
        if f.read(4) != b"GGUF":
            raise GGUFFormatError("not a GGUF file")
        s = _Stream(f, file_size, 4)
        version = s.u32()
        if version not in (2, 3):
            raise GGUFFormatError(f"unsupported GGUF version {version}")
        n_tensors, n_kv = s.u64(), s.u64()
        s.bound(n_kv, _MIN_KV_BYTES, f"the header claims {n_kv:,} metadata keys, more")
        s.bound(n_tensors, _MIN_TENSOR_BYTES, f"the header claims {n_tensors:,} tensors, more")

        metadata: dict[str, object] = {}
        array_lengths: dict[str, int] = {}
        for _ in range(n_kv):
            key = s.string()
            vtype = _value_type(s.u32())
            if vtype != gguf.GGUFValueType.ARRAY:
                metadata[key] = _read_value(s, vtype)
                continue
            item_type = _value_type(s.u32())
            count = s.bound(s.u64(), _item_bytes(item_type), f"array {key} claims more values")
            array_lengths[key] = count
            if count <= _KEEP_ARRAY_MAX:
                metadata[key] = [_read_value(s, item_type) for _ in range(count)]
            else:
                _skip_values(s, key, item_type, count)

        tensors = []
        for _ in range(n_tensors):
            name = s.string()
            n_dims = s.u32()
            if n_dims > 8:
                raise GGUFFormatError(f"tensor {name} has {n_dims} dimensions")
            shape = tuple(s.u64() for _ in range(n_dims))
            type_id = s.u32()
            offset = s.u64()
            tensors.append(TensorEntry(name, shape, type_id, offset, _tensor_bytes(name, shape, type_id)))

        alignment = metadata.get("general.alignment", gguf.GGUF_DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0:
            raise GGUFFormatError("invalid general.alignment")
        pos = s.tell()
        data_offset = pos + (-pos % alignment)

    return GGUFHeader(path, version, file_size, data_offset, metadata, array_lengths, tuple(tensors))


def _tensor_bytes(name: str, shape: tuple[int, ...], type_id: int) -> int:
    import gguf

    try:
        block_size, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(type_id)]
    except (ValueError, KeyError):
        raise GGUFFormatError(f"tensor {name} has unknown type {type_id}") from None
    n = 1
    for dim in shape:
        n *= dim
    return int(n // block_size * type_size)
