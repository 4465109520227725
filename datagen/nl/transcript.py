"""A conversation on disk: one JSON record per line, written whole or not at all.

Records are what happened (the person's words, questions, answers, accepted schemas, events), never
credentials or endpoint settings, so a transcript can be shared and resumed against another model;
every record is redacted as it is written, whatever a server or a model put into it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from datagen.errors import InputError
from datagen.redact import redact_data

FORMAT = "datagen-conversation"
VERSION = 1


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace `path` atomically (a crash leaves the old transcript, never half a new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"kind": "format", "format": FORMAT, "version": VERSION}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for record in (header, *records):
                fh.write(json.dumps(redact_data(record), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a transcript, without the format header; bad files are InputError with the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read conversation {path}: {exc.strerror or exc}") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise InputError(f"{path}:{number}: not a JSON line; is this a datagen conversation?") from None
        if not isinstance(record, dict) or "kind" not in record:
            raise InputError(f"{path}:{number}: not a conversation record")
        records.append(record)
    if not records or records[0].get("format") != FORMAT:
        raise InputError(f"{path} is not a datagen conversation (no '{FORMAT}' header on the first line)")
    if records[0].get("version", 0) > VERSION:
        raise InputError(f"{path} was written by a newer datagen", hint="upgrade datagen to resume it")
    return records[1:]
