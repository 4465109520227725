"""Edits to a schema document addressed by the checker's own path syntax (`nodes[1].columns[3].type`), so
a test case reads as "put this value where the error should be reported"."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

Edit = Callable[[dict], None]
BASE_FILE = Path(__file__).with_name("shop.json")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def base_schema() -> dict:
    """A fresh copy of the valid two-table shop schema (customers -> orders) the cases edit."""
    return json.loads(BASE_FILE.read_text(encoding="utf-8"))


def parse_path(path: str) -> list[str | int]:
    if path == "(schema)":
        return []
    return [int(index) if index else key for key, index in _PART.findall(path)]


def get_at(doc: Any, path: str) -> Any:
    for part in parse_path(path):
        doc = doc[part]
    return doc


def _parent(doc: Any, path: str) -> tuple[Any, str | int]:
    parts = parse_path(path)
    for part in parts[:-1]:
        doc = doc[part]
    return doc, parts[-1]


def put(path: str, value: Any) -> Edit:
    """Set (or add) the value at `path`."""

    def edit(doc: dict) -> None:
        parent, key = _parent(doc, path)
        parent[key] = copy.deepcopy(value)

    return edit


def drop(path: str) -> Edit:
    def edit(doc: dict) -> None:
        parent, key = _parent(doc, path)
        del parent[key]

    return edit


def rename(path: str, new_key: str) -> Edit:
    """Rename the key at `path`, keeping its value (a typo in a key)."""

    def edit(doc: dict) -> None:
        parent, key = _parent(doc, path)
        parent[new_key] = parent.pop(key)

    return edit


def append(path: str, value: Any) -> Edit:
    """Append to the list at `path`, creating it when absent."""

    def edit(doc: dict) -> None:
        parent, key = _parent(doc, path)
        parent.setdefault(key, []).append(copy.deepcopy(value))

    return edit


def chain(*edits: Edit) -> Edit:
    def edit(doc: dict) -> None:
        for e in edits:
            e(doc)

    return edit


def edited(*edits: Edit) -> dict:
    doc = base_schema()
    chain(*edits)(doc)
    return doc
