"""The manifest: which files in an output folder this tool wrote, and whether the folder is complete.

Every folder datagen writes (generated data, a CSV export) holds `.datagen-manifest.json`:

    {"format": "datagen-output/1", "kind": "dataset", "complete": true,
     "files": [".metadata.json", "orders.parquet", "events/part-00000.parquet"],
     "folders": ["events"]}

`files` are the regular files datagen wrote, relative to the folder (POSIX separators); `folders` the
sub-folders it made for tables split into parts. It is the only proof of ownership: a re-run replaces
or removes exactly the files listed here and keeps everything else; a file merely *named* like ours
(`.metadata.json`, `dataset.json`) is not ours without it. `complete` is false only while a run is
swapping files in, so readers refuse a folder whose manifest is missing or incomplete.

A manifest is trusted only as far as it could have been written by us: every entry must be a name the
folder's `kind` writes (a `.parquet` file, a part inside a listed folder, …), one or two plain path
segments, never `..`, never absolute. One bad entry makes the whole manifest untrusted, so a hostile
or damaged manifest can never point a deletion outside the folder or at a user's file.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from datagen.errors import InputError
from datagen.io.jsonfile import write_json_atomic
from datagen.io.staging import INSIDE_PREFIX

MANIFEST_FILE = ".datagen-manifest.json"
FORMAT = "datagen-output/1"
DATASET = "dataset"
CSV_EXPORT = "csv-export"
SPREADSHEETS = "spreadsheets"
_STEM = r"[A-Za-z_][A-Za-z0-9_]{0,127}"
_SLUG = r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}"
# The names each kind of folder can own: anything else listed makes the manifest untrusted.
_TOP_FILES = {
    DATASET: re.compile(rf"\.metadata\.json|validation_report\.json|{_STEM}\.parquet"),
    CSV_EXPORT: re.compile(rf"dataset\.json|{_STEM}\.csv|{_STEM}\.csv\.manifest"),
    SPREADSHEETS: re.compile(rf"{_STEM}\.csv|{_SLUG}\.xlsx"),
}
_FOLDERS = {DATASET: re.compile(_STEM), CSV_EXPORT: None, SPREADSHEETS: None}
_PART = re.compile(r"part-\d{5,}\.parquet")
_KIND_NAMES = {DATASET: "generated dataset", CSV_EXPORT: "CSV export", SPREADSHEETS: "CSV/Excel copy"}
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


class UntrustedManifest(Exception):
    """The manifest exists but could not have been written by this tool; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Manifest:
    kind: str
    complete: bool
    files: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "complete": self.complete,
            "files": sorted(self.files),
            "folders": sorted(self.folders),
        }


def kind_name(kind: str) -> str:
    return _KIND_NAMES.get(kind, kind)


def entry_allowed(kind: str, rel: object, folders: tuple[str, ...] | frozenset[str] = ()) -> bool:
    """Whether `rel` is a file name a folder of `kind` can own (a part only inside a listed folder)."""
    if not isinstance(rel, str) or kind not in _TOP_FILES:
        return False
    parts = rel.split("/")
    if len(parts) == 1:
        return _TOP_FILES[kind].fullmatch(rel) is not None
    return len(parts) == 2 and parts[0] in folders and _PART.fullmatch(parts[1]) is not None


def looks_like_kind(kind: str, names: list[str]) -> bool:
    """Whether any of `names` is a top-level file a `kind` output writes (`.metadata.json`, …)."""
    return any(_TOP_FILES[kind].fullmatch(n) for n in names)


def folder_allowed(kind: str, rel: object) -> bool:
    pattern = _FOLDERS.get(kind)
    return isinstance(rel, str) and pattern is not None and pattern.fullmatch(rel) is not None


def parse_manifest(data: object) -> Manifest:
    """A Manifest from decoded JSON, or UntrustedManifest naming the first thing that is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UntrustedManifest(f"it is not in the {FORMAT} format")
    kind, complete = data.get("kind"), data.get("complete")
    files, folders = data.get("files"), data.get("folders", [])
    if kind not in _TOP_FILES:
        raise UntrustedManifest(f"unknown kind {kind!r}")
    if not isinstance(complete, bool) or not isinstance(files, list) or not isinstance(folders, list):
        raise UntrustedManifest("'complete', 'files' or 'folders' has the wrong type")
    for rel in folders:
        if not folder_allowed(kind, rel):
            raise UntrustedManifest(f"folder entry {str(rel)[:80]!r} is not one datagen writes")
    for rel in files:
        if not entry_allowed(kind, rel, tuple(folders)):
            raise UntrustedManifest(f"file entry {str(rel)[:80]!r} is not one datagen writes")
    return Manifest(kind, complete, tuple(files), tuple(folders))


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest; None when there is none; UntrustedManifest when it is not ours
    (not a regular file, unreadable, not JSON, another format, or an entry we would never write)."""
    path = Path(folder) / MANIFEST_FILE
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UntrustedManifest(f"it cannot be read ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise UntrustedManifest("it is not a regular file")
    if info.st_size > MAX_MANIFEST_BYTES:
        raise UntrustedManifest("it is far larger than any manifest datagen writes")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise UntrustedManifest("it is not readable JSON") from exc
    return parse_manifest(data)


@dataclass
class Ownership:
    """What in a folder belongs to datagen right now: the listed entries that are still the plain
    files and folders we made (a listed name now a symlink, or a file turned folder, is not ours)."""

    manifest: Manifest | None
    files: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)

    def owns(self, rel: str) -> bool:
        if rel == MANIFEST_FILE:
            return self.manifest is not None
        return rel in self.files or rel in self.folders


def _is(path: Path, kind: int) -> bool:
    try:
        return stat.S_IFMT(path.lstat().st_mode) == kind
    except OSError:
        return False


def ownership(folder: Path, manifest: Manifest | None) -> Ownership:
    owned = Ownership(manifest)
    if manifest is None:
        return owned
    owned.folders = {f for f in manifest.folders if _is(folder / f, stat.S_IFDIR)}
    for rel in manifest.files:
        parent = rel.split("/")[0] if "/" in rel else None
        if parent is not None and parent not in owned.folders:
            continue  # its folder is gone or was replaced by something else: not a path of ours
        if _is(folder / rel, stat.S_IFREG):
            owned.files.add(rel)
    return owned


def write_manifest(folder: Path, manifest: Manifest) -> None:
    write_json_atomic(Path(folder) / MANIFEST_FILE, manifest.to_dict())


def reusable_folder(path: Path, kind: str) -> bool:
    """True when a `kind` output belongs at `path`: it does not exist, or is an empty folder (but for
    staging folders left by a run into it), or a folder whose trusted manifest is of this kind."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    try:
        manifest = read_manifest(path)
    except UntrustedManifest:
        return False
    if manifest is not None:
        return manifest.kind == kind
    with os.scandir(path) as entries:  # staging folders of a run into it do not make it someone's
        return all(e.name.startswith(INSIDE_PREFIX) for e in entries)


def require_complete(folder: Path, kind: str) -> Manifest:
    """The manifest of a finished `kind` output in `folder`, or InputError saying what is wrong and
    what to do: readers never work on a folder that is half-swapped, foreign or another kind."""
    folder = Path(folder)
    generate = f"datagen generate SCHEMA -o {folder}"
    if not folder.is_dir():
        raise InputError(f"data folder {folder} does not exist", hint=f"generate it first: {generate}")
    try:
        manifest = read_manifest(folder)
    except UntrustedManifest as exc:
        raise InputError(
            f"{folder / MANIFEST_FILE} was not written by this datagen: {exc.reason}",
            hint="generate the data into a new folder: datagen generate SCHEMA -o NEW_FOLDER",
        ) from None
    if manifest is None:
        if looks_like_kind(kind, [p.name for p in folder.iterdir()]):
            raise InputError(
                f"{folder} is not a finished datagen output: it has no {MANIFEST_FILE} (an output of an "
                "older datagen has none)",
                hint=f"delete its old files and generate it again ({generate}), or use a new folder",
            )
        raise InputError(
            f"{folder} is not a datagen output: it has no {MANIFEST_FILE}",
            hint=f"point at a folder `datagen generate` wrote, or generate one: {generate}",
        )
    if manifest.kind != kind:
        raise InputError(
            f"{folder} holds a {kind_name(manifest.kind)}, not a {kind_name(kind)}",
            hint=f"point at the folder `datagen generate` wrote, or generate one: {generate}",
        )
    if not manifest.complete:
        raise InputError(
            f"{folder} is incomplete: the run writing it stopped before it finished",
            hint=f"generate it again: {generate}",
        )
    return manifest
