"""A faker column in one call, for the faker tests."""

from __future__ import annotations

from typing import Any


def fk(
    name: str, method: str, type_: str = "string", source: str | list[str] | None = None, **args: Any
) -> dict:
    """A `faker` column; `source` is the generator's `from` (a Python keyword)."""
    spec: dict[str, Any] = {"method": method, **args}
    if source is not None:
        spec["from"] = source
    return {"name": name, "type": type_, "generator": {"faker": spec}}
