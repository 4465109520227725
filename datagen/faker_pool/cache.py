"""Faker pools on disk, so a repeated run spends no time asking faker for the same values again.

A pool is a pure function of its key (faker's version, the kind of pool, method, arguments, locale,
pool size and seed), so it can be kept between runs. Each pool is one Arrow IPC file named by a hash
of its key; the full key sits in the file's schema metadata and is compared on every read, so a file
that is corrupt, truncated, written by another version, or simply not ours is ignored and rebuilt,
never trusted. Nothing is unpickled. Writes go to a temporary file in the same folder and are renamed
into place, so a reader (another process too) sees either no file or a whole one; two processes
building the same pool write the same bytes and the last rename wins.

Where: `DATAGEN_CACHE_DIR` if set, else the per-user cache folder (`platformdirs`), subfolder
`faker-pools`. `DATAGEN_NO_CACHE=1` turns the disk cache off. Deleting the folder is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import faker
import numpy as np
import platformdirs
import pyarrow as pa

# Bump when the way a pool is built changes, so pools built the old way are not reused.
FORMAT = 1
_KEY_FIELD = b"datagen.faker_pool.key"
_COLUMN = "values"


def cache_dir() -> Path | None:
    """The folder pools are kept in, or None when the disk cache is off."""
    if os.environ.get("DATAGEN_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no"):
        return None
    override = os.environ.get("DATAGEN_CACHE_DIR", "").strip()
    base = Path(override).expanduser() if override else Path(platformdirs.user_cache_dir("datagen"))
    return base / "faker-pools"


def _key_text(parts: dict[str, object]) -> str:
    return json.dumps(
        {"format": FORMAT, "faker": faker.VERSION, **parts}, sort_keys=True, separators=(",", ":")
    )


def _read(path: Path, key: str) -> np.ndarray | None:
    """The stored values when the file holds exactly this key in the expected shape, else None."""
    try:
        table = pa.ipc.open_file(pa.BufferReader(path.read_bytes())).read_all()
    except (OSError, pa.ArrowException):
        return None
    meta = table.schema.metadata or {}
    if meta.get(_KEY_FIELD) != key.encode() or table.column_names != [_COLUMN]:
        return None
    column = table.column(_COLUMN)
    kind = column.type
    if column.null_count:
        return None
    if pa.types.is_string(kind):
        return column.to_numpy().astype(object)
    if pa.types.is_date32(kind):
        return column.to_numpy().astype("datetime64[D]")
    if pa.types.is_timestamp(kind) and kind.unit == "us" and kind.tz is None:
        return column.to_numpy().astype("datetime64[us]")
    if kind in (pa.int64(), pa.float64(), pa.bool_()):
        return np.array(column.to_numpy())
    return None


def _write(path: Path, key: str, values: np.ndarray) -> None:
    """Write atomically; a cache that cannot be written (read-only, full disk) is simply skipped."""
    kind = pa.string() if values.dtype == object else None
    array = pa.array(values, type=kind)
    table = pa.table({_COLUMN: array}).replace_schema_metadata({_KEY_FIELD: key.encode()})
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".arrow")
        with os.fdopen(fd, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def cached(parts: dict[str, object], build: Callable[[], np.ndarray]) -> np.ndarray:
    """The pool for `parts`, read from disk when a valid copy is there, else built and stored.

    `parts` must hold everything the pool depends on besides faker's version (JSON-able values)."""
    folder = cache_dir()
    if folder is None:
        return build()
    key = _key_text(parts)
    path = folder / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.arrow"
    found = _read(path, key)
    if found is not None:
        return found
    values = build()
    _write(path, key, values)
    return values
