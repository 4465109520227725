"""What a refinement changed, in the terms a person thinks in: tables, columns, rows, the period."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from datagen.nl.simplify import BEHAVIOURS


@dataclass
class TableChange:
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    changed_columns: list[str] = field(default_factory=list)
    rows: tuple[Any, Any] | None = None
    behaviours: list[str] = field(default_factory=list)  # "+segment_behavior", "-stage_config", "~…"

    def __bool__(self) -> bool:
        return bool(
            self.added_columns or self.removed_columns or self.changed_columns or self.rows or self.behaviours
        )


@dataclass
class SchemaDiff:
    added_tables: list[str] = field(default_factory=list)
    removed_tables: list[str] = field(default_factory=list)
    changed: dict[str, TableChange] = field(default_factory=dict)
    timeframe: tuple[str, str] | None = None
    other: list[str] = field(default_factory=list)  # top-level sections that changed

    def __bool__(self) -> bool:
        return bool(self.added_tables or self.removed_tables or self.changed or self.timeframe or self.other)

    def lines(self) -> list[str]:
        out = [f"+ table {t}" for t in self.added_tables]
        out += [f"- table {t}" for t in self.removed_tables]
        for table, change in self.changed.items():
            parts = [f"+ {c}" for c in change.added_columns]
            parts += [f"- {c}" for c in change.removed_columns]
            parts += [f"~ {c}" for c in change.changed_columns]
            if change.rows:
                parts.append(f"rows {change.rows[0]} → {change.rows[1]}")
            parts += [b[0] + " " + b[1:] for b in change.behaviours]
            out.append(f"{table}: {', '.join(parts)}")
        if self.timeframe:
            out.append(f"timeframe: {self.timeframe[0]} → {self.timeframe[1]}")
        out += [f"~ {name}" for name in self.other]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "added_tables": self.added_tables,
            "removed_tables": self.removed_tables,
            "changed": {
                t: {
                    "added_columns": c.added_columns,
                    "removed_columns": c.removed_columns,
                    "changed_columns": c.changed_columns,
                    "rows": list(c.rows) if c.rows else None,
                    "behaviours": c.behaviours,
                }
                for t, c in self.changed.items()
            },
            "timeframe": list(self.timeframe) if self.timeframe else None,
            "other": self.other,
        }


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _by_key(items: Any, key: str) -> dict[str, dict]:
    return {x[key]: x for x in items or [] if isinstance(x, dict) and isinstance(x.get(key), str)}


def _period(doc: dict) -> str:
    """`2024-01-01 – 2025-01-01`: midnight UTC is shown as the date alone."""
    tf = doc.get("timeframe") or {}
    ends = [
        str(tf.get(k)).removesuffix("T00:00:00Z").removesuffix("T00:00:00+00:00") for k in ("start", "end")
    ]
    return " – ".join(ends)


def _table_change(old: dict, new: dict) -> TableChange:
    before, after = _by_key(old.get("columns"), "name"), _by_key(new.get("columns"), "name")
    change = TableChange(
        added_columns=[c for c in after if c not in before],
        removed_columns=[c for c in before if c not in after],
        changed_columns=[c for c in after if c in before and not _same(before[c], after[c])],
    )
    if old.get("rows") != new.get("rows"):
        change.rows = (old.get("rows"), new.get("rows"))
    for key in (*BEHAVIOURS, "fanout", "parents", "modifiers"):
        a, b = old.get(key), new.get(key)
        if not _same(a, b):
            change.behaviours.append(("+" if a is None else "-" if b is None else "~") + key)
    return change


def schema_diff(old: dict, new: dict) -> SchemaDiff:
    """Tables added/removed/changed (columns, rows, behaviour), the period, and other sections."""
    before, after = _by_key(old.get("nodes"), "id"), _by_key(new.get("nodes"), "id")
    diff = SchemaDiff(
        added_tables=[t for t in after if t not in before],
        removed_tables=[t for t in before if t not in after],
    )
    for table in after:
        if table in before and (change := _table_change(before[table], after[table])):
            diff.changed[table] = change
    if not _same(old.get("timeframe"), new.get("timeframe")):
        diff.timeframe = (_period(old), _period(new))
    diff.other = [k for k in ("constraints", "targets", "dag") if not _same(old.get(k), new.get(k))]
    return diff
