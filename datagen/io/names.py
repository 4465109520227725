"""Names on disk that come from schema or model text.

A schema's `metadata.name` or a table id is text a person or a language model wrote; used raw as a
path it can climb out of the working folder (`../../x`), jump elsewhere (`/etc`), be empty, too long
for the file system, or name a folder the user already keeps other things in. Folder names are
therefore *derived* (a slug that is always safe), and table ids are *checked* before they become file
names (a slug could make two tables share a file, so an unsafe id is refused instead).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from datagen.errors import InputError

SLUG_MAX = 64
FILE_STEM_MAX = 128  # `<id>.csv.manifest` must stay under the usual 255-byte name limit
_NOT_SLUG = re.compile(r"[^A-Za-z0-9_-]+")
_FILE_STEM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def output_slug(text: str, *, fallback: str = "dataset") -> str:
    """A folder name made from free text: letters, digits, `_` and `-` only, at most 64 characters,
    never empty, never starting with `-` (it would read as a flag). Accents are kept as their base
    letter ("Café" -> "Cafe"); everything else becomes `_`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("_", ascii_text).strip("_-")[:SLUG_MAX].strip("_-")
    return slug or fallback


def default_output_dir(root: Path, name: str, kind: str) -> Path:
    """`root/<slug of name>`, or `root/<slug>-2`, `-3`, … when that path exists and is not an empty
    folder or a datagen output of this `kind` (see manifest.py).

    Used only where the tool picks the folder itself (nothing given on the command line), so a name a
    model chose can never steer data into a folder the user keeps other files in."""
    from datagen.io.manifest import reusable_folder

    slug = output_slug(name)
    for n in range(1, 1000):
        candidate = Path(root) / (slug if n == 1 else f"{slug}-{n}")
        if reusable_folder(candidate, kind):
            return candidate
    raise InputError(
        f"no free folder for {slug!r} under {root} ({slug}-2 … {slug}-999 are all taken)",
        hint="choose the output folder yourself",
    )


def default_file(root: Path, name: str, suffix: str) -> Path:
    """`root/<slug><suffix>`, or `<slug>-2<suffix>`, … when that name is taken: a file name offered by
    the tool itself never points at an existing file."""
    slug = output_slug(name)
    for n in range(1, 1000):
        candidate = Path(root) / f"{slug if n == 1 else f'{slug}-{n}'}{suffix}"
        if not os.path.lexists(candidate):
            return candidate
    raise InputError(
        f"no free file name for {slug!r}{suffix} in {root}", hint="choose the file name yourself"
    )


def table_file_stem(table_id: str) -> str:
    """A table id as the stem of its file names, or InputError when it cannot safely be one.

    The schema checker allows only identifiers; this is the last line of defence at the file system,
    for ids that reach the writer by another road (a library caller, a future checker change)."""
    if not _FILE_STEM.fullmatch(table_id) or len(table_id) > FILE_STEM_MAX:
        shown = table_id if len(table_id) <= 60 else table_id[:60] + "…"
        raise InputError(
            f"table id {shown!r} cannot be used as a file name",
            hint=f"use letters, digits and _ only (not starting with a digit), at most {FILE_STEM_MAX} "
            "characters",
        )
    return table_id


def check_distinct_on_disk(table_ids: list[str]) -> None:
    """Refuse ids that differ only in case: on a case-insensitive file system (macOS, Windows) their
    files would be one file, and one table would silently overwrite the other."""
    seen: dict[str, str] = {}
    for tid in table_ids:
        other = seen.setdefault(tid.casefold(), tid)
        if other != tid:
            raise InputError(
                f"tables {other!r} and {tid!r} differ only in upper/lower case, so their files would "
                "collide on some file systems",
                hint="rename one of them",
            )
