"""Atomic output folders and streaming Parquet output.

Tables arrive chunk by chunk and leave as Parquet row groups, so memory is bounded by the chunk, not
the dataset. Everything is built in a staging folder and committed only when the whole run succeeded:
an error, Ctrl-C or SIGTERM never leaves a partial output that looks complete, and a previous good
output survives a failed run.

The replace rule: a run replaces or removes only the files listed in the folder's trusted manifest
(manifest.py) and keeps everything else. A file of another origin standing where this run must write
makes it refuse, before any work, naming that file; nothing is ever deleted by folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from datagen.errors import GenerationError, InputError
from datagen.io import staging
from datagen.io.jsonfile import write_json_atomic
from datagen.io.manifest import (
    MANIFEST_FILE,
    Manifest,
    Ownership,
    UntrustedManifest,
    entry_allowed,
    kind_name,
    looks_like_kind,
    ownership,
    read_manifest,
    write_manifest,
)
from datagen.io.names import table_file_stem
from datagen.io.row_groups import JoinedFile, Part, encode
from datagen.io.signals import deferred_signals

__all__ = [
    "METADATA_FILE",
    "PART_PATTERN",
    "AtomicOutputDir",
    "TableWriter",
    "WrittenTable",
    "table_files",
    "write_json_atomic",
]

METADATA_FILE = ".metadata.json"
PART_PATTERN = "part-{:05d}.parquet"
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_SHOWN = 10  # foreign files named in a refusal


class AtomicOutputDir:
    """Context manager that builds an output folder aside and commits it by the replace rule.

    `.path` is the staging folder while inside the `with` block. `kind` is the manifest kind
    (`dataset`, `csv-export`); `claims` are the top-level names the run may write (a table's
    `<id>.parquet` *and* `<id>` folder, since either shadows the other for readers), checked for
    foreign files before any work and again at commit.

    A missing target is built beside it and renamed into place whole. An existing folder keeps its
    own mode and every file that is not ours: the staging folder is made inside it, and at commit
    the manifest is first rewritten to claim old and new files (marked incomplete), our old files are
    removed, the new ones renamed in, and the complete manifest written last.
    """

    def __init__(
        self, target: Path, *, kind: str, claims: Iterable[str] = (), keep_others: bool = False
    ) -> None:
        self.target = Path(os.path.abspath(target))
        self.kind = kind
        self.claims = {MANIFEST_FILE, *claims}
        # keep_others: files of ours that this run neither writes nor claims stay (and stay listed), so
        # one folder can hold the outputs of several runs (the CSV files and the Excel workbook)
        self.keep_others = keep_others
        self._tmp: Path | None = None

    @property
    def path(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("AtomicOutputDir.path is only available inside the `with` block")
        return self._tmp

    def __enter__(self) -> AtomicOutputDir:
        target = self.target
        if os.path.lexists(target) and not target.is_dir():
            raise InputError(
                f"output path {target} exists and is not a folder",
                hint="choose another -o, or remove that file",
            )
        staging.clean_leftovers(target.parent, staging.beside_prefix(target))
        if target.is_dir():
            staging.clean_leftovers(target, staging.INSIDE_PREFIX)
            self._refuse_foreign(self.claims, self._owned())
            where, prefix = target, staging.INSIDE_PREFIX
        else:
            where, prefix = target.parent, staging.beside_prefix(target)
        try:
            where.mkdir(parents=True, exist_ok=True)
            self._tmp = staging.create(where, prefix)
        except OSError as exc:
            raise InputError(
                f"cannot write the output folder {target}: {where} is not a writable folder "
                f"({exc.strerror or exc})",
                hint="choose another -o, or create that folder and make it writable",
            ) from exc
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return False
        if exc is None:
            try:
                self._commit(tmp)
            except BaseException as commit_exc:
                staging.remove(tmp)
                if isinstance(commit_exc, OSError) and commit_exc.errno in _DISK_FULL:
                    raise self._disk_full(commit_exc) from commit_exc
                raise
            staging.remove(tmp)
            return False
        staging.remove(tmp)
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            raise self._disk_full(exc) from exc
        return False

    # --- ownership -----------------------------------------------------------------------------------
    def _owned(self) -> Ownership:
        """What in the existing target is ours; InputError when its manifest is not one we trust or
        belongs to another kind of output (an export never replaces generated data, nor the reverse)."""
        target = self.target
        try:
            manifest = read_manifest(target)
        except UntrustedManifest as exc:
            raise InputError(
                f"output folder {target} has a {MANIFEST_FILE} that this datagen did not write "
                f"({exc.reason}); refusing to write into it",
                hint="choose another -o, or remove that file if you know it is not needed",
            ) from None
        if manifest is not None and manifest.kind != self.kind:
            raise InputError(
                f"output folder {target} holds a datagen {kind_name(manifest.kind)}; refusing to write a "
                f"{kind_name(self.kind)} over it",
                hint="choose another -o",
            )
        return ownership(target, manifest)

    def _refuse_foreign(self, names: Iterable[str], owned: Ownership) -> None:
        """InputError naming every file not ours that stands where this run writes: at one of `names`,
        or inside a folder of ours the run will write into."""
        foreign: list[str] = []
        for name in sorted(set(names)):
            path = self.target / name
            if not os.path.lexists(path):
                continue
            if name in owned.folders:
                foreign += sorted(
                    f"{name}/{p.name}" for p in path.iterdir() if f"{name}/{p.name}" not in owned.files
                )
            elif not owned.owns(name):
                foreign.append(name)
        if not foreign:
            return
        more = len(foreign) - _SHOWN
        shown = ", ".join(foreign[:_SHOWN]) + (f" and {more} more" if more > 0 else "")
        older = ""
        if owned.manifest is None and looks_like_kind(self.kind, foreign):
            older = f" (it looks like the output of an older datagen, which wrote no {MANIFEST_FILE})"
        raise InputError(
            f"output folder {self.target} holds file(s) datagen did not write where this run must write: "
            f"{shown}{older}; refusing to replace them",
            hint="choose another -o, or move those files away yourself (an older datagen's output can be "
            "deleted and generated again)",
        )

    # --- commit --------------------------------------------------------------------------------------
    def _contents(self, tmp: Path) -> tuple[set[str], set[str]]:
        """The files and folders the run left in staging, as manifest entries."""
        files: set[str] = set()
        folders: set[str] = set()
        for entry in tmp.iterdir():
            if entry.name == staging.IN_PROGRESS_FILE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                folders.add(entry.name)
                files.update(f"{entry.name}/{p.name}" for p in entry.iterdir())
            else:
                files.add(entry.name)
        bad = sorted(f for f in files if not entry_allowed(self.kind, f, frozenset(folders)))
        if bad:
            raise GenerationError(f"internal: the run wrote names a {self.kind} output cannot own: {bad[:5]}")
        return files, folders

    def _commit(self, tmp: Path) -> None:
        """Held against Ctrl-C and SIGTERM: they are delivered once the folder is consistent."""
        with deferred_signals():
            self._commit_now(tmp)

    def _commit_now(self, tmp: Path) -> None:
        files, folders = self._contents(tmp)
        done = Manifest(self.kind, True, tuple(sorted(files)), tuple(sorted(folders)))
        if tmp.parent != self.target:  # a new folder: complete it in staging, then rename it whole
            write_manifest(tmp, done)
            (tmp / staging.IN_PROGRESS_FILE).unlink()
            staging.release(tmp)
            try:
                tmp.rename(self.target)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                raise InputError(
                    f"output folder {self.target} appeared while this run was writing; nothing was changed",
                    hint="run again, or choose another -o",
                ) from exc
            return
        self._swap_in(tmp, files, folders, done)

    def _swap_in(self, tmp: Path, files: set[str], folders: set[str], done: Manifest) -> None:
        """Every step inside the target goes through directory descriptors opened without following
        symlinks, so a folder swapped for a link mid-commit can never steer a deletion or a write
        outside the target."""
        target = self.target
        owned = self._owned()  # the folder may have changed during the run
        self._refuse_foreign({f.split("/")[0] for f in files} | self.claims, owned)
        kept = (
            {f for f in owned.files if f not in files and f not in self.claims} if self.keep_others else set()
        )
        if kept:
            done = Manifest(self.kind, True, tuple(sorted(files | kept)), done.folders)
        claim_all = Manifest(
            self.kind, False, tuple(sorted(owned.files | files)), tuple(sorted(owned.folders | folders))
        )
        write_manifest(target, claim_all)
        root = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for rel in sorted(owned.files - kept):
                with _parent_fd(root, rel) as (fd, name):
                    if fd is not None:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(name, dir_fd=fd)
            for name in owned.folders:
                with contextlib.suppress(OSError):  # kept when something not ours is inside
                    os.rmdir(name, dir_fd=root)
            for name in folders:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=root)
            for rel in sorted(files):
                with _parent_fd(root, rel) as (fd, name):
                    if fd is None:
                        raise InputError(
                            f"{target / rel.split('/')[0]} changed into something not ours during the run",
                            hint="run again",
                        )
                    os.replace(tmp / rel, name, dst_dir_fd=fd)
        finally:
            os.close(root)
        write_manifest(target, done)

    def _disk_full(self, exc: OSError) -> GenerationError:
        where = exc.filename or self.target
        return GenerationError(f"disk full while writing {where}; free space or choose another -o")


@contextlib.contextmanager
def _parent_fd(root: int, rel: str) -> Iterator[tuple[int | None, str]]:
    """(descriptor of the folder holding `rel`, its last name): `root` itself for a top-level name;
    for `folder/name`, that folder opened without following a symlink (None when it is not a plain
    folder any more)."""
    if "/" not in rel:
        yield root, rel
        return
    folder, name = rel.split("/", 1)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root)
    except OSError:
        yield None, name
        return
    try:
        yield fd, name
    finally:
        os.close(fd)


@dataclass
class WrittenTable:
    """What one table left on disk; `files` are relative to the data folder, in row order."""

    table_id: str
    rows: int
    files: list[str] = field(default_factory=list)
    bytes: int = 0


class TableWriter:
    """Writes one table as Parquet, a row group at a time: each is encoded alone and joined into the
    file without re-encoding (row_groups.py), so a row group a worker encoded (`add_part`) is the same
    bytes as one encoded here.

    `row_group_rows` says where row groups end: a number cuts buffered chunks into groups of that size
    (the last one shorter), a sequence gives each group's rows in turn (the engine's runs of whole
    blocks, Options.row_group_rows), so the bytes do not depend on how the rows arrived; without it,
    each chunk becomes one row group.

    The table is `<id>.parquet` until a file holds `max_rows_per_file` rows; then that file is moved to
    `<id>/part-00000.parquet` and the next row groups go to `part-00001…`, so readers see either a
    single file or a folder of parts, never both. A row group is never split between files.
    """

    def __init__(
        self,
        folder: Path,
        table_id: str,
        schema: pa.Schema,
        *,
        max_rows_per_file: int = 50_000_000,
        row_group_rows: int | Sequence[int] | None = None,
        compression: str = "zstd",
    ) -> None:
        if max_rows_per_file < 1:
            raise ValueError("max_rows_per_file must be at least 1")
        if isinstance(row_group_rows, int) and row_group_rows < 1:
            raise ValueError("row_group_rows must be at least 1")
        self.folder = Path(folder)
        self.table_id = table_file_stem(table_id)
        self.schema = schema
        self.max_rows_per_file = max_rows_per_file
        self.row_group_rows = row_group_rows
        self._sizes = iter(row_group_rows) if isinstance(row_group_rows, Sequence) else None
        self._next_size = 0
        self.compression = compression
        self._files: list[Path] = []
        self._file: JoinedFile | None = None
        self._rows_in_file = 0
        self._bytes = 0
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
    ) -> Literal[False]:
        if exc is None:
            self.close()
        else:
            self.abort()
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
        while self._pending_rows >= (size := self._group_size()):
            buffered = pa.concat_tables(self._pending)
            self._emit(buffered.slice(0, size))
            self._next_size = 0
            rest = buffered.slice(size)
            self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows

    def add_part(self, part: Part) -> None:
        """Add a row group another process encoded into a part file (removed once copied)."""
        if self._pending:
            raise RuntimeError(f"table writer for {self.table_id!r} has rows waiting before a part")
        if self.row_group_rows is not None and part.rows != self._group_size():
            raise GenerationError(
                f"internal: a part of {self.table_id!r} has {part.rows} rows, not {self._group_size()}"
            )
        self._next_size = 0
        self._joined().append_file(Path(part.path))
        self._rows_in_file += part.rows
        self._rows += part.rows
        os.unlink(part.path)

    def _group_size(self) -> int:
        """Rows of the row group being filled."""
        if isinstance(self.row_group_rows, int):
            return self.row_group_rows
        if not self._next_size:
            assert self._sizes is not None
            self._next_size = next(self._sizes, 0) or max(1, self._pending_rows)
        return self._next_size

    def _emit(self, table: pa.Table) -> None:
        """Write rows as one row group."""
        if table.num_rows == 0:
            return
        self._joined().append(encode(table, self.compression))
        self._rows_in_file += table.num_rows
        self._rows += table.num_rows

    def close(self) -> WrittenTable:
        """Finish the last file and report; calling it again returns the same report."""
        if self._result is not None:
            return self._result
        if self._pending:
            self._emit(pa.concat_tables(self._pending))
            self._pending, self._pending_rows = [], 0
        if self._file is not None:
            self._bytes += self._file.close()
            self._file = None
        elif not self._files:  # an empty table still gets a file, so readers find its schema
            path = self.folder / f"{self.table_id}.parquet"
            pq.ParquetWriter(path, self.schema, compression=self.compression).close()
            self._files.append(path)
            self._bytes += path.stat().st_size
        self._result = WrittenTable(
            table_id=self.table_id,
            rows=self._rows,
            files=[p.relative_to(self.folder).as_posix() for p in self._files],
            bytes=self._bytes,
        )
        return self._result

    def _joined(self) -> JoinedFile:
        """The file the next row group goes to: a new one once the current holds enough rows."""
        if self._file is not None and self._rows_in_file < self.max_rows_per_file:
            return self._file
        if self._file is not None:
            self._bytes += self._file.close()
            self._file = None
        if len(self._files) == 1:
            parts = self.folder / self.table_id
            parts.mkdir()
            first = self._files[0].rename(parts / PART_PATTERN.format(0))
            self._files[0] = first
        if self._files:
            path = self.folder / self.table_id / PART_PATTERN.format(len(self._files))
        else:
            path = self.folder / f"{self.table_id}.parquet"
        self._file = JoinedFile(path)
        self._files.append(path)
        self._rows_in_file = 0
        return self._file

    def abort(self) -> None:
        """Release the open file; the half-written table is removed with the temporary folder."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.abort()
            self._file = None


def table_files(data_dir: Path, table_id: str) -> list[Path]:
    """The Parquet file(s) holding a table, in row order, or [] when it was never written."""
    table_file_stem(table_id)
    single = Path(data_dir) / f"{table_id}.parquet"
    if single.is_file():
        return [single]
    parts = Path(data_dir) / table_id
    if parts.is_dir():
        return sorted(parts.glob("part-*.parquet"))
    return []
