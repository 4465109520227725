"""Parquet files joined from row groups encoded apart, without re-encoding them.

A row group is encoded on its own as a complete one-row-group Parquet file (`encode`), by whichever
process generated its rows; `JoinedFile` then copies each part's column chunks into the table's file
in row order and writes one footer listing every row group, its offsets shifted to where its bytes
now sit. Because every row group of every file goes through `encode` — on a worker or on the driver —
the files are byte for byte the same however the rows were spread over processes (and the same as
pyarrow's own writer would make of those row groups).

The footer is Thrift's compact protocol; the codec here reads and writes it field by field, generically,
so fields this code does not know survive unchanged. Only the offsets of a row group's pages move."""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datagen.errors import GenerationError

MAGIC = b"PAR1"
SAMPLE = 8192  # rows a column's cardinality is estimated from
DICTIONARY_BYTES = 1 << 20  # pyarrow's dictionary page limit, past which it falls back to plain
_TAIL = 8  # the footer's length (4 bytes, little endian) and the closing magic

# Thrift compact protocol types
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)
# field ids of parquet.thrift
_FILE_NUM_ROWS, _FILE_ROW_GROUPS = 3, 4
_RG_COLUMNS, _RG_FILE_OFFSET, _RG_ORDINAL = 1, 5, 7
_CC_FILE_OFFSET, _CC_META, _CC_OFFSET_INDEX, _CC_COLUMN_INDEX = 2, 3, 4, 6
_META_PAGE_OFFSETS = (9, 10, 11)  # data, index and dictionary page offsets
_META_BLOOM_OFFSET = 14

Field = list  # [field id, compact type, value]: mutable, so an offset is shifted in place


def encode(table: pa.Table, compression: str = "zstd") -> bytes:
    """`table` as one row group: a complete Parquet file in memory. Its chunks are combined first:
    pyarrow cuts pages at points that depend on where chunks end, and the bytes must not."""
    table = table.combine_chunks()
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(
        sink, table.schema, compression=compression, use_dictionary=dictionary_columns(table)
    ) as writer:
        writer.write_table(table, row_group_size=max(1, table.num_rows))
    return sink.getvalue().to_pybytes()


def dictionary_columns(table: pa.Table) -> list[str]:
    """The columns of a row group worth dictionary encoding: few distinct values (at most a quarter of
    the rows, by the Chao1 estimate from a sample of SAMPLE rows spread over the row group) in a
    dictionary under pyarrow's 1 MB page limit. pyarrow's default tries a dictionary on every column
    and gives up past that limit; for unique ids, times and amounts the attempt cost 3-6x the plain
    encoding and left the file bigger (measured on the benchmark schema: a 262,144-row row group of
    orders took 69 ms and 5.1 MB by default, 21 ms and 4.2 MB so). Decided from the row group's own
    values, so every process decides the same."""
    n = table.num_rows
    chosen = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_boolean(field.type) or n == 0:
            continue  # booleans are bit-packed, never dictionary encoded
        sample = column.take(pa.array(np.arange(0, n, max(1, n // SAMPLE))))
        counts = pc.value_counts(sample).field("counts").to_numpy()
        once, twice = int((counts == 1).sum()), int((counts == 2).sum())
        distinct = len(counts) + (once * once / (2 * twice) if twice else once * (once - 1) / 2)
        width = sample.nbytes / max(1, len(sample))
        if distinct <= n / 4 and distinct * width <= DICTIONARY_BYTES:
            chosen.append(field.name)
    return chosen


@dataclass(frozen=True)
class Part:
    """A row group encoded and written to a file by whichever process generated it."""

    path: str
    rows: int


def write_part(path: Path, table: pa.Table, compression: str = "zstd") -> Part:
    """Encode `table` as one row group into `path`, whole or not at all (a temporary name renamed)."""
    data = encode(table, compression)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # no folder is made here: a part for a staging folder that is gone (a stopped run) fails
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return Part(str(path), table.num_rows)


@dataclass(frozen=True)
class PartWriter:
    """What a worker calls to write row group `index` of a table into the run's parts folder (sent to
    the worker, so it is plain data: the folder must be at the same path on every machine)."""

    folder: str
    stem: str
    compression: str = "zstd"

    def __call__(self, index: int, table: pa.Table) -> Part:
        path = Path(self.folder) / f"{self.stem}-{index:06d}.parquet"
        try:
            return write_part(path, table, self.compression)
        except OSError as exc:
            raise GenerationError(
                f"a worker on {socket.gethostname()} cannot write {path}: {exc.strerror or exc}",
                hint="-o must be on storage every worker machine mounts at the same path, writable by "
                "the workers",
            ) from None


class JoinedFile:
    """A Parquet file written as the concatenation of parts (each the output of `encode`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed by close/abort)
        self._file.write(MAGIC)
        self._offset = len(MAGIC)
        self._template: list[Field] | None = None
        self._row_groups: list[list[Field]] = []
        self.rows = 0

    def append(self, part: bytes) -> None:
        """Add the row group(s) of an encoded part held in memory."""
        body, footer = _split(part, self.path)
        self._add(footer)
        self._file.write(body)
        self._offset += len(body)

    def append_file(self, part: Path) -> None:
        """Add the row group(s) of an encoded part on disk, copied by the kernel where it can."""
        with open(part, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(len(MAGIC))
            f.seek(size - _TAIL)
            tail = f.read(_TAIL)
            if head != MAGIC or tail[4:] != MAGIC:
                raise GenerationError(f"internal: {part} is not a Parquet file")
            footer_len = struct.unpack("<I", tail[:4])[0]
            f.seek(size - _TAIL - footer_len)
            self._add(f.read(footer_len))
            body = size - _TAIL - footer_len - len(MAGIC)
            self._file.flush()
            _copy(f, self._file, len(MAGIC), body)
            self._offset += body

    def close(self) -> int:
        """Write the footer (a file without parts is refused: the caller writes an empty table);
        returns the file's size."""
        if self._template is None:
            raise GenerationError(f"internal: {self.path} was closed without any row group")
        meta = [list(f) for f in self._template]
        _set(meta, _FILE_NUM_ROWS, _I64, self.rows)
        _set(meta, _FILE_ROW_GROUPS, _LIST, (_STRUCT, self._row_groups))
        footer = _Writer().struct(meta)
        self._file.write(footer + struct.pack("<I", len(footer)) + MAGIC)
        self._file.close()
        return self._offset + len(footer) + _TAIL

    def abort(self) -> None:
        self._file.close()

    def _add(self, footer: bytes) -> None:
        meta = _Reader(footer).struct()
        groups = _get(meta, _FILE_ROW_GROUPS)
        if groups is None:
            raise GenerationError(f"internal: a part for {self.path} has no row groups")
        rest = [f for f in meta if f[0] not in (_FILE_NUM_ROWS, _FILE_ROW_GROUPS)]
        if self._template is None:
            self._template = meta
        elif rest != [f for f in self._template if f[0] not in (_FILE_NUM_ROWS, _FILE_ROW_GROUPS)]:
            raise GenerationError(
                f"a part of {self.path} was encoded differently (another pyarrow version or schema on a "
                "worker?)",
                hint="install the same datagen and pyarrow versions on the driver and every worker",
            )
        shift = self._offset - len(MAGIC)
        for group in groups[1]:
            _shift(group, _RG_FILE_OFFSET, shift)
            if _get(group, _RG_ORDINAL) is not None:
                _set(group, _RG_ORDINAL, _I16, len(self._row_groups))
            for chunk in _get(group, _RG_COLUMNS)[1]:
                if _get(chunk, _CC_OFFSET_INDEX) or _get(chunk, _CC_COLUMN_INDEX):
                    raise GenerationError("internal: parts with a page index cannot be joined")
                _shift(chunk, _CC_FILE_OFFSET, shift)
                column = _get(chunk, _CC_META)
                for fid in (*_META_PAGE_OFFSETS, _META_BLOOM_OFFSET):
                    _shift(column, fid, shift)
            self._row_groups.append(group)
        self.rows += _get(meta, _FILE_NUM_ROWS)


def _split(data: bytes, where: Path) -> tuple[bytes, bytes]:
    """(the column chunks, the footer) of an encoded part."""
    footer_len = struct.unpack("<I", data[-_TAIL:-4])[0]
    if data[:4] != MAGIC or data[-4:] != MAGIC:
        raise GenerationError(f"internal: a part for {where} is not a Parquet file")
    end = len(data) - _TAIL - footer_len
    return data[len(MAGIC) : end], data[end : len(data) - _TAIL]


def _copy(src: BinaryIO, dst: BinaryIO, offset: int, count: int) -> None:
    """Copy `count` bytes from `src` at `offset` to the end of `dst`, in the kernel when possible."""
    src_fd, dst_fd = src.fileno(), dst.fileno()
    done = 0
    try:
        while done < count:
            n = os.copy_file_range(src_fd, dst_fd, count - done, offset + done)
            if n == 0:
                break
            done += n
    except OSError:
        pass  # a file system without copy_file_range: copy the rest through Python
    if done < count:
        src.seek(offset + done)
        while done < count:
            chunk = src.read(min(1 << 24, count - done))
            if not chunk:
                raise GenerationError(f"internal: {src.name} ended early")
            dst.write(chunk)
            done += len(chunk)
        dst.flush()
    dst.seek(0, os.SEEK_END)


def _get(fields: list[Field], fid: int) -> Any:
    return next((f[2] for f in fields if f[0] == fid), None)


def _set(fields: list[Field], fid: int, kind: int, value: object) -> None:
    for f in fields:
        if f[0] == fid:
            f[2] = value
            return
    fields.append([fid, kind, value])
    fields.sort(key=lambda f: f[0])


def _shift(fields: list[Field], fid: int, by: int) -> None:
    """Move an absolute file offset by `by` (0 means unset: left so)."""
    for f in fields:
        if f[0] == fid and f[2]:
            f[2] += by


class _Reader:
    """Thrift compact protocol, generic: a struct is a list of [id, type, value] fields."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> object:
        if kind in (_TRUE, _FALSE):
            return kind == _TRUE
        if kind == _BYTE:
            return self.byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            self.pos += 8
            return self.data[self.pos - 8 : self.pos]
        if kind == _BINARY:
            n = self.varint()
            self.pos += n
            return self.data[self.pos - n : self.pos]
        if kind in (_LIST, _SET):
            header = self.byte()
            n, item = header >> 4, header & 0x0F
            if n == 15:
                n = self.varint()
            if item in (_TRUE, _FALSE):
                return (item, [self.byte() == 1 for _ in range(n)])
            return (item, [self.value(item) for _ in range(n)])
        if kind == _STRUCT:
            return self.struct()
        raise GenerationError(f"internal: a Parquet footer holds a Thrift type this reader lacks ({kind})")

    def struct(self) -> list[Field]:
        fields: list[Field] = []
        last = 0
        while True:
            header = self.byte()
            if header == _STOP:
                return fields
            delta, kind = header >> 4, header & 0x0F
            fid = last + delta if delta else self.zigzag()
            fields.append([fid, kind, self.value(kind)])
            last = fid


class _Writer:
    """The inverse of _Reader: the same value gives the same bytes (Thrift's own short forms)."""

    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n >= 0x80:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int, bits: Literal[16, 32, 64] = 64) -> None:
        self.varint((n << 1) ^ (n >> (bits - 1)))

    def value(self, kind: int, v: object) -> None:
        if kind in (_TRUE, _FALSE):
            return
        if kind == _BYTE:
            self.out.append(cast(int, v))
        elif kind in (_I16, _I32, _I64):
            self.zigzag(cast(int, v))
        elif kind == _DOUBLE:
            self.out += cast(bytes, v)
        elif kind == _BINARY:
            self.varint(len(cast(bytes, v)))
            self.out += cast(bytes, v)
        elif kind in (_LIST, _SET):
            item, items = cast(tuple[int, list[object]], v)
            self.out.append((len(items) << 4) | item if len(items) < 15 else 0xF0 | item)
            if len(items) >= 15:
                self.varint(len(items))
            for x in items:
                if item in (_TRUE, _FALSE):
                    self.out.append(1 if x else 2)
                else:
                    self.value(item, x)
        elif kind == _STRUCT:
            self.fields(cast(list[Field], v))

    def fields(self, fields: list[Field]) -> None:
        last = 0
        for fid, kind, v in fields:
            if kind in (_TRUE, _FALSE):
                kind = _TRUE if v else _FALSE
            delta = fid - last
            if 0 < delta <= 15:
                self.out.append((delta << 4) | kind)
            else:
                self.out.append(kind)
                self.zigzag(fid, 16)
            self.value(kind, v)
            last = fid
        self.out.append(_STOP)

    def struct(self, fields: list[Field]) -> bytes:
        self.fields(fields)
        return bytes(self.out)
