"""Atomic, streaming Parquet output.

Tables arrive chunk by chunk and leave as Parquet row groups, so memory is bounded by the chunk, not
the dataset. Everything is written into a hidden temporary sibling of the target folder and moved into
place only when the whole run succeeded: an error or Ctrl-C never leaves a partial output that looks
complete, and a previous good output survives a failed run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datagen.errors import GenerationError, InputError

METADATA_FILE = ".metadata.json"
PART_PATTERN = "part-{:05d}.parquet"
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


class AtomicOutputDir:
    """Context manager that builds an output folder aside and swaps it in on success.

    `.path` is the temporary folder while inside the `with` block. `marker` names the file that
    identifies a folder as a previous datagen output (`.metadata.json` for generated data,
    `dataset.json` for exports): only such folders, or empty ones, are ever replaced.
    """

    def __init__(self, target: Path, *, overwrite: bool = True, marker: str = METADATA_FILE) -> None:
        self.target = Path(target).absolute()
        self.overwrite = overwrite
        self.marker = marker
        self._tmp: Path | None = None

    @property
    def path(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("AtomicOutputDir.path is only available inside the `with` block")
        return self._tmp

    def __enter__(self) -> AtomicOutputDir:
        self._check_target()
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-{os.getpid()}-", dir=parent))
        except OSError as exc:
            raise InputError(
                f"cannot write the output folder {self.target}: {parent} is not a writable folder "
                f"({exc.strerror or exc})",
                hint="choose another -o, or create that folder and make it writable",
            ) from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return False
        if exc is None:
            try:
                self._commit(tmp)
            except BaseException as commit_exc:
                shutil.rmtree(tmp, ignore_errors=True)
                if isinstance(commit_exc, OSError) and commit_exc.errno in _DISK_FULL:
                    raise self._disk_full(commit_exc) from commit_exc
                raise
            return False
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            raise self._disk_full(exc) from exc
        return False

    def _check_target(self) -> None:
        """Refuse early, before any work, rather than after hours of generation."""
        target = self.target
        if not target.exists():
            return
        if not target.is_dir():
            raise InputError(
                f"output path {target} exists and is not a folder",
                hint="choose another -o, or remove that file",
            )
        if not self.overwrite:
            raise InputError(
                f"output folder {target} already exists", hint="choose another -o, or allow overwriting"
            )
        if not (target / self.marker).is_file() and any(target.iterdir()):
            raise InputError(
                f"output folder {target} is not empty and is not a previous datagen output "
                f"(no {self.marker} inside); refusing to replace it",
                hint="choose another -o, or empty that folder first",
            )

    def _commit(self, tmp: Path) -> None:
        """Swap the finished folder in; the target is missing only between two back-to-back renames."""
        target = self.target
        if not target.exists():
            tmp.rename(target)
            return
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-{os.getpid()}-", dir=target.parent))
        old = trash / target.name
        target.rename(old)
        try:
            tmp.rename(target)
        except BaseException:
            old.rename(target)
            shutil.rmtree(trash, ignore_errors=True)
            raise
        shutil.rmtree(trash, ignore_errors=True)

    def _disk_full(self, exc: OSError) -> GenerationError:
        where = exc.filename or self.target
        return GenerationError(f"disk full while writing {where}; free space or choose another -o")


@dataclass
class WrittenTable:
    """What one table left on disk; `files` are relative to the data folder, in row order."""

    table_id: str
    rows: int
    files: list[str] = field(default_factory=list)
    bytes: int = 0


class TableWriter:
    """Writes one table as Parquet. With `row_group_rows`, chunks are buffered and cut into row groups
    of exactly that size (the last one shorter), so the file's bytes do not depend on how the rows
    arrived; without it, each chunk becomes one row group.

    The table is `<id>.parquet` until it outgrows `max_rows_per_file`; then that file is moved to
    `<id>/part-00000.parquet` and further rows go to `part-00001…`, so readers see either a single
    file or a folder of parts, never both.
    """

    def __init__(
        self,
        folder: Path,
        table_id: str,
        schema: pa.Schema,
        *,
        max_rows_per_file: int = 50_000_000,
        row_group_rows: int | None = None,
        compression: str = "zstd",
    ) -> None:
        if max_rows_per_file < 1:
            raise ValueError("max_rows_per_file must be at least 1")
        if row_group_rows is not None and row_group_rows < 1:
            raise ValueError("row_group_rows must be at least 1")
        self.folder = Path(folder)
        self.table_id = table_id
        self.schema = schema
        self.max_rows_per_file = max_rows_per_file
        self.row_group_rows = row_group_rows
        self.compression = compression
        self._files: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._rows_in_file = 0
        self._rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._result: WrittenTable | None = None

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None:
            self.close()
        else:
            self._abort()
        return False

    def write(self, chunk: pa.Table | pa.RecordBatch) -> None:
        if self._result is not None:
            raise RuntimeError(f"table writer for {self.table_id!r} is already closed")
        table = pa.Table.from_batches([chunk]) if isinstance(chunk, pa.RecordBatch) else chunk
        if not table.schema.equals(self.schema):
            raise GenerationError(
                f"table {self.table_id!r}: chunk schema does not match the table schema\n"
                f"  expected: {self.schema}\n  got: {table.schema}"
            )
        if self.row_group_rows is None:
            self._emit(table)
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows >= self.row_group_rows:
            buffered = pa.concat_tables(self._pending)
            self._emit(buffered.slice(0, self.row_group_rows))
            rest = buffered.slice(self.row_group_rows)
            self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows

    def _emit(self, table: pa.Table) -> None:
        """Write rows as one row group, across file boundaries when a file is full."""
        offset = 0
        while offset < table.num_rows:
            writer = self._writer
            if writer is None or self._rows_in_file >= self.max_rows_per_file:
                writer = self._next_file()
            piece = table.slice(offset, self.max_rows_per_file - self._rows_in_file)
            writer.write_table(piece, row_group_size=piece.num_rows)
            self._rows_in_file += piece.num_rows
            self._rows += piece.num_rows
            offset += piece.num_rows

    def close(self) -> WrittenTable:
        """Finish the last file and report; calling it again returns the same report."""
        if self._result is not None:
            return self._result
        if self._pending:
            self._emit(pa.concat_tables(self._pending))
            self._pending, self._pending_rows = [], 0
        # an empty table still gets a file, so readers find its schema
        writer = self._writer if self._writer is not None else self._next_file()
        writer.close()
        self._writer = None
        self._result = WrittenTable(
            table_id=self.table_id,
            rows=self._rows,
            files=[p.relative_to(self.folder).as_posix() for p in self._files],
            bytes=sum(p.stat().st_size for p in self._files),
        )
        return self._result

    def _next_file(self) -> pq.ParquetWriter:
        if self._writer is not None:
            self._writer.close()
        if len(self._files) == 1:
            parts = self.folder / self.table_id
            parts.mkdir()
            first = self._files[0].rename(parts / PART_PATTERN.format(0))
            self._files[0] = first
        if self._files:
            path = self.folder / self.table_id / PART_PATTERN.format(len(self._files))
        else:
            path = self.folder / f"{self.table_id}.parquet"
        self._writer = pq.ParquetWriter(path, self.schema, compression=self.compression)
        self._files.append(path)
        self._rows_in_file = 0
        return self._writer

    def _abort(self) -> None:
        """Release the open file; the half-written table is removed with the temporary folder."""
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.close()
            self._writer = None


def table_files(data_dir: Path, table_id: str) -> list[Path]:
    """The Parquet file(s) holding a table, in row order, or [] when it was never written."""
    single = Path(data_dir) / f"{table_id}.parquet"
    if single.is_file():
        return [single]
    parts = Path(data_dir) / table_id
    if parts.is_dir():
        return sorted(parts.glob("part-*.parquet"))
    return []


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON (pretty, UTF-8, keys in the caller's order) so readers never see half a file."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
